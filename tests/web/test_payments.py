"""Zahlungen in the back office: the list with what is allocated, one payment with its
allocations, allocating the rest, refunding credit, returned debits and chargebacks,
manual payments waiting for a second person; a viewer sees no action and a forged
request changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faktura.payments import refunds, returns
from faktura.payments import services as payments
from faktura.payments.models import Allocation, PaymentRequest, PaymentSettings, Refund
from tests.payments.helpers import CASHIER, counts, finalized, open_amount, pay


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def approver(client, company):
    return _client(client, "freigabe", "approver")


@pytest.fixture
def viewer(client, company):
    return _client(client, "ansicht", "viewer")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def invoice(business_customer, actor):
    return finalized(business_customer, actor)  # 119,00


@pytest.fixture
def unallocated(business_customer, actor):
    """200,00 € received from the customer, nothing allocated yet."""
    return pay(actor, "200.00", business_customer, external_id="line-1")


@pytest.mark.django_db
def test_the_list_shows_amount_allocated_unallocated_method_and_source(
    accountant, business_customer, actor, invoice, unallocated
):
    payments.allocate_payment(
        payment_id=unallocated.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    payments.request_manual_payment(
        actor=actor, amount="50.00", date="2026-11-16", method="cash", reference="Kasse"
    )
    page = accountant.get("/zahlungen/").content.decode()
    assert "2 Zahlungen" in page
    row = page.split(f'data-payment="{unallocated.pk}"')[1].split("</tr>")[0]
    assert "200,00\xa0€" in row
    assert "119,00\xa0€" in row
    assert "81,00\xa0€" in row
    assert "Kontoauszug" in row
    assert "Überweisung" in row
    assert "Beispiel Handel AG" in row
    assert "Manuelle Erfassung" in page
    assert "Bar" in page
    only_open = accountant.get("/zahlungen/", {"state": "unallocated"}).content.decode()
    assert "2 Zahlungen" in only_open  # 81,00 left, and the cash nobody assigned
    manual = accountant.get("/zahlungen/", {"source": "manual"}).content.decode()
    assert "1 Zahlung" in manual
    assert "Kontoauszug" not in manual.split("<tbody>")[1]


@pytest.mark.django_db
def test_the_list_takes_a_fixed_number_of_queries(
    accountant, business_customer, actor, django_assert_max_num_queries
):
    pay(actor, "10.00", business_customer, external_id="first")
    with CaptureQueriesContext(connection) as one:
        accountant.get("/zahlungen/")
    for n in range(29):
        pay(actor, "10.00", business_customer, external_id=f"line-{n}")
    with django_assert_max_num_queries(len(one)):
        response = accountant.get("/zahlungen/")
    assert "30 Zahlungen" in response.content.decode()


@pytest.mark.django_db
def test_the_rest_of_a_payment_is_allocated_to_an_invoice(accountant, invoice, unallocated):
    page = accountant.get(f"/zahlungen/{unallocated.pk}/").content.decode()
    assert "<dd data-unallocated>200,00\xa0€</dd>" in page
    assert 'value="200,00"' in page
    unknown = accountant.post(
        f"/zahlungen/{unallocated.pk}/zuordnen", {"invoice": "RE-0000", "amount": "10,00"}
    )
    assert "Keine Rechnung mit der Nummer RE-0000." in unknown.content.decode()
    too_much = accountant.post(
        f"/zahlungen/{unallocated.pk}/zuordnen",
        {"invoice": invoice.number, "amount": "150,00"},
        follow=True,
    )
    assert messages_of(too_much) == ["Der Betrag ist höher als der offene Betrag."]
    assert not Allocation.objects.exists()
    response = accountant.post(
        f"/zahlungen/{unallocated.pk}/zuordnen",
        {"invoice": invoice.number, "amount": "100,00"},
        follow=True,
    )
    assert messages_of(response) == ["Die Zahlung ist der Rechnung zugeordnet."]
    assert open_amount(invoice) == 19
    page = response.content.decode()
    assert "<dd data-unallocated>100,00\xa0€</dd>" in page
    assert invoice.number in page.split("data-allocations")[1]


@pytest.mark.django_db
def test_the_customers_credit_is_refunded_for_approval(accountant, unallocated):
    page = accountant.get(f"/zahlungen/{unallocated.pk}/").content.decode()
    assert "<dd data-credit>200,00\xa0€</dd>" in page
    refused = accountant.post(
        f"/zahlungen/{unallocated.pk}/erstatten", {"refund-amount": "250,00"}, follow=True
    )
    assert messages_of(refused) == ["Das Guthaben des Kunden reicht dafür nicht."]
    assert not Refund.objects.exists()
    response = accountant.post(
        f"/zahlungen/{unallocated.pk}/erstatten",
        {"refund-amount": "80,00", "refund-reason": "Überzahlung"},
        follow=True,
    )
    assert messages_of(response) == ["Die Erstattung ist beantragt; sie wartet auf die Freigabe."]
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.iban) == (80, "requested", unallocated.payer_iban)
    assert "<dd data-credit>120,00\xa0€</dd>" in response.content.decode()


@pytest.mark.django_db
def test_returned_debits_and_chargebacks_are_listed_with_their_state(
    accountant, actor, business_customer, invoice
):
    payment = pay(actor, "119.00", business_customer, external_id="debit")
    [allocation] = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    returns.record_chargeback(
        actor=actor, source_reference="dispute-1", allocation_id=allocation.pk, reason_code="FR"
    )
    page = accountant.get("/zahlungen/ruecklastschriften/").content.decode()
    assert "1 Rückbuchung" in page
    row = page.split("data-return=")[1].split("</tr>")[0]
    assert "Rückbelastung" in row
    assert invoice.number in row
    assert "119,00\xa0€" in row
    assert "Widerspruch offen" in row


@pytest.mark.django_db
def test_a_cashiers_payment_waits_and_is_confirmed_by_the_accountant(
    accountant, business_customer, invoice
):
    PaymentSettings.objects.create(require_payment_confirmation=True)
    request = payments.request_manual_payment(
        actor=CASHIER, amount="119.00", date="2026-11-16", method="cash", invoice_id=invoice.pk
    )
    page = accountant.get("/zahlungen/").content.decode()
    waiting = page.split("data-requests")[1].split("</section>")[0]
    assert invoice.number in waiting
    assert "119,00\xa0€" in waiting
    assert "user:kai" in waiting
    assert "Bestätigen" in waiting
    response = accountant.post(f"/zahlungen/anfragen/{request.pk}/bestaetigen", follow=True)
    assert messages_of(response) == ["Die Zahlung ist bestätigt und gebucht."]
    assert open_amount(invoice) == 0
    request.refresh_from_db()
    assert request.status == "confirmed"
    again = accountant.post(f"/zahlungen/anfragen/{request.pk}/bestaetigen", follow=True)
    assert messages_of(again) == ["Über diese Zahlung wurde schon entschieden."]


@pytest.mark.django_db
def test_rejecting_a_waiting_payment_needs_a_reason(accountant, business_customer):
    PaymentSettings.objects.create(require_payment_confirmation=True)
    request = payments.request_manual_payment(
        actor=CASHIER, amount="20.00", date="2026-11-16", method="cash"
    )
    without = accountant.post(f"/zahlungen/anfragen/{request.pk}/ablehnen", follow=True)
    assert messages_of(without) == ["Bitte geben Sie einen Grund an."]
    response = accountant.post(
        f"/zahlungen/anfragen/{request.pk}/ablehnen", {"reason": "Doppelt"}, follow=True
    )
    assert messages_of(response) == ["Die Zahlung ist abgelehnt; nichts wurde gebucht."]
    request.refresh_from_db()
    assert (request.status, request.payment_id) == ("rejected", None)


@pytest.mark.django_db
def test_a_viewer_sees_no_action_and_a_forged_post_changes_nothing(
    viewer, business_customer, invoice, unallocated
):
    PaymentSettings.objects.create(require_payment_confirmation=True)
    request = payments.request_manual_payment(
        actor=CASHIER, amount="20.00", date="2026-11-16", method="cash"
    )
    page = viewer.get(f"/zahlungen/{unallocated.pk}/").content.decode()
    actions = page.split('class="card actions"')[1].split("</section>")[0]
    assert "<button" not in actions
    listing = viewer.get("/zahlungen/").content.decode()
    assert "Bestätigen" not in listing
    before = counts()
    response = viewer.post(
        f"/zahlungen/{unallocated.pk}/zuordnen",
        {"invoice": invoice.number, "amount": "100,00"},
        follow=True,
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    viewer.post(f"/zahlungen/{unallocated.pk}/erstatten", {"refund-amount": "80,00"})
    viewer.post(f"/zahlungen/anfragen/{request.pk}/bestaetigen")
    viewer.post(f"/zahlungen/anfragen/{request.pk}/ablehnen", {"reason": "x"})
    assert counts() == before
    assert PaymentRequest.objects.get(pk=request.pk).status == "pending"


@pytest.mark.django_db
def test_the_detail_names_where_the_money_came_from(accountant, actor, business_customer):
    request = payments.request_manual_payment(
        actor=actor,
        amount="50.00",
        date="2026-11-16",
        method="cash",
        customer_id=business_customer.pk,
    )
    page = accountant.get(f"/zahlungen/{request.payment_id}/").content.decode()
    source = page.split("<dd data-source>")[1].split("</dd>")[0]
    assert "Manuelle Erfassung" in source
    assert "erfasst von user:anna" in source


@pytest.mark.django_db
def test_the_returns_list_takes_a_fixed_number_of_queries(
    accountant, actor, business_customer, django_assert_max_num_queries
):
    def chargeback(n: int) -> None:
        invoice = finalized(business_customer, actor)
        payment = pay(actor, "119.00", business_customer, external_id=f"card-{n}")
        [allocation] = payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
        )
        returns.record_chargeback(
            actor=actor, source_reference=f"dispute-{n}", allocation_id=allocation.pk
        )

    chargeback(0)
    with CaptureQueriesContext(connection) as one:
        accountant.get("/zahlungen/ruecklastschriften/")
    for n in range(1, 4):
        chargeback(n)
    with django_assert_max_num_queries(len(one)):
        response = accountant.get("/zahlungen/ruecklastschriften/")
    assert "4 Rückbuchungen" in response.content.decode()


@pytest.mark.django_db
def test_an_approver_releases_or_rejects_a_requested_refund(approver, actor, unallocated):
    first = refunds.refund_credit(customer_id=unallocated.customer_id, actor=actor, amount="80.00")
    second = refunds.refund_credit(customer_id=unallocated.customer_id, actor=actor, amount="20.00")
    page = approver.get("/zahlungen/").content.decode()
    row = page.split(f'data-refund="{first.pk}"')[1].split("</tr>")[0]
    assert "80,00\xa0€" in row
    assert "Beispiel Handel AG" in row
    assert "user:anna" in row
    assert "Freigeben" in row
    response = approver.post(f"/zahlungen/erstattungen/{first.pk}/freigeben", follow=True)
    assert messages_of(response) == [
        "Die Erstattung ist freigegeben; sie geht mit der nächsten Überweisungsdatei."
    ]
    first.refresh_from_db()
    assert first.status == "approved"
    without = approver.post(f"/zahlungen/erstattungen/{second.pk}/ablehnen", follow=True)
    assert messages_of(without) == ["Bitte geben Sie einen Grund an."]
    rejected = approver.post(
        f"/zahlungen/erstattungen/{second.pk}/ablehnen", {"reason": "Konto falsch"}, follow=True
    )
    assert messages_of(rejected) == [
        "Die Erstattung ist abgelehnt; der Betrag ist wieder Guthaben des Kunden."
    ]
    second.refresh_from_db()
    assert second.status == "rejected"


@pytest.mark.django_db
def test_who_may_not_approve_refunds_sees_no_button_and_changes_nothing(
    accountant, actor, unallocated
):
    refund = refunds.refund_credit(customer_id=unallocated.customer_id, actor=actor, amount="80.00")
    page = accountant.get("/zahlungen/").content.decode()
    row = page.split(f'data-refund="{refund.pk}"')[1].split("</tr>")[0]
    assert "<button" not in row
    response = accountant.post(f"/zahlungen/erstattungen/{refund.pk}/freigeben", follow=True)
    assert messages_of(response) == ["Freigeben dürfen nur Personen mit der Rolle Freigabe."]
    accountant.post(f"/zahlungen/erstattungen/{refund.pk}/ablehnen", {"reason": "x"})
    refund.refresh_from_db()
    assert refund.status == "requested"


@pytest.mark.django_db
def test_a_wrong_filter_date_is_named_and_nothing_is_filtered(accountant, unallocated):
    page = accountant.get("/zahlungen/", {"date_from": "32.13.2026"}).content.decode()
    assert "Bitte prüfen Sie die Filter." in page
    assert "1 Zahlung" in page


@pytest.mark.django_db
def test_the_viewer_gets_no_empty_action_card(viewer, unallocated):
    page = viewer.get(f"/zahlungen/{unallocated.pk}/").content.decode()
    assert 'aria-label="Aktionen"></section>' in page
