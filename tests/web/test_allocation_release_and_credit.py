"""Undo a wrong allocation (Zuordnung lösen) from the payment and from the invoice: a
confirmation page with the reason; the invoice is open again and the money is the
customer's credit. Apply that credit to an open invoice from the invoice and from the
customer page. Roles the matrix refuses see no button, and a forged request changes
nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.payments import services as payments
from faktura.payments.models import Allocation
from tests.payments.helpers import counts, credit, finalized, open_amount, pay


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _login(client, "buchhaltung", "accountant")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def wrong(business_customer, actor):
    """119,00 € received and allocated to the wrong invoice (the right one is open)."""
    wrong_invoice = finalized(business_customer, actor)
    payment = pay(actor, "119.00", business_customer)
    [allocation] = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(wrong_invoice.pk, "119.00")], actor=actor
    )
    return allocation


# --- Zuordnung lösen -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_allocation_is_released_from_the_payment_after_confirming_the_reason(
    accountant, business_customer, wrong
):
    page = accountant.get(f"/zahlungen/{wrong.payment_id}/").content.decode()
    row = page.split(f'data-allocation="{wrong.pk}"')[1].split("</tr>")[0]
    assert f'href="/zahlungen/zuordnungen/{wrong.pk}/loesen"' in row

    confirm = accountant.get(f"/zahlungen/zuordnungen/{wrong.pk}/loesen").content.decode()
    assert f"Zuordnung zu Rechnung {wrong.invoice.number} lösen" in confirm
    assert "<dd data-amount>119,00\xa0€</dd>" in confirm
    assert "<dd data-credit>0,00\xa0€</dd>" in confirm
    assert "werden Guthaben des Kunden" in confirm

    before = counts()
    without = accountant.post(f"/zahlungen/zuordnungen/{wrong.pk}/loesen", {"reason": " "})
    assert without.status_code == 200
    assert 'role="alert"' in without.content.decode()
    assert counts() == before

    response = accountant.post(
        f"/zahlungen/zuordnungen/{wrong.pk}/loesen",
        {"reason": "Falsche Rechnung erwischt", "back": "payment"},
        follow=True,
    )
    assert response.redirect_chain == [(f"/zahlungen/{wrong.payment_id}/", 302)]
    assert messages_of(response) == [
        f"Die Zuordnung ist gelöst: Rechnung {wrong.invoice.number} ist wieder um "
        "119,00\xa0€ offen, der Betrag ist Guthaben des Kunden (jetzt 119,00\xa0€)."
    ]
    page = response.content.decode()
    row = page.split(f'data-allocation="{wrong.pk}"')[1].split("</tr>")[0]
    assert "gelöst" in row
    assert "Falsche Rechnung erwischt" in row
    assert "/loesen" not in row
    assert "<dd data-credit>119,00\xa0€</dd>" in page
    assert "<dd data-unallocated>119,00\xa0€</dd>" in page
    assert open_amount(wrong.invoice) == Decimal("119.00")
    assert credit(business_customer) == Decimal("119.00")
    released = Allocation.objects.get(pk=wrong.pk)
    assert (released.reversed_by, released.reversal_reason) == (
        "user:buchhaltung",
        "Falsche Rechnung erwischt",
    )


@pytest.mark.django_db
def test_an_allocation_is_released_from_the_invoice_and_back_there(
    accountant, business_customer, wrong
):
    invoice = wrong.invoice
    page = accountant.get(f"/rechnungen/{invoice.pk}/").content.decode()
    row = page.split(f'data-allocation="{wrong.pk}"')[1].split("</tr>")[0]
    assert f'href="/zahlungen/zuordnungen/{wrong.pk}/loesen?back=invoice"' in row
    confirm = accountant.get(
        f"/zahlungen/zuordnungen/{wrong.pk}/loesen", {"back": "invoice"}
    ).content.decode()
    assert 'name="back" value="invoice"' in confirm
    assert f'href="/rechnungen/{invoice.pk}/">Abbrechen' in confirm
    response = accountant.post(
        f"/zahlungen/zuordnungen/{wrong.pk}/loesen",
        {"reason": "Doppelt zugeordnet", "back": "invoice"},
        follow=True,
    )
    assert response.redirect_chain == [(f"/rechnungen/{invoice.pk}/", 302)]
    page = response.content.decode()
    assert "data-open>119,00\xa0€<" in page
    row = page.split(f'data-allocation="{wrong.pk}"')[1].split("</tr>")[0]
    assert "zurückgebucht" in row
    assert "/loesen" not in row
    # The credit can now settle the invoice it belongs to: the button names it.
    assert "Guthaben verrechnen (119,00\xa0€ verfügbar)" in page

    # Twice is refused in words, and nothing more happens.
    before = counts()
    again = accountant.post(
        f"/zahlungen/zuordnungen/{wrong.pk}/loesen", {"reason": "noch einmal"}, follow=True
    )
    assert messages_of(again) == ["Die Zuordnung ist schon gelöst."]
    assert "wurde am 16.11.2026 von user:buchhaltung gelöst" in again.content.decode()
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["cashier", "approver", "viewer"])
def test_who_may_not_release_sees_no_link_and_a_forged_post_changes_nothing(
    client, company, wrong, role
):
    other = _login(client, "jemand", role)
    for path in (f"/zahlungen/{wrong.payment_id}/", f"/rechnungen/{wrong.invoice_id}/"):
        assert "/loesen" not in other.get(path).content.decode()
    assert other.get(f"/zahlungen/zuordnungen/{wrong.pk}/loesen").status_code == 403
    before = counts()
    response = other.post(f"/zahlungen/zuordnungen/{wrong.pk}/loesen", {"reason": "x"})
    assert response.status_code == 403
    assert counts() == before
    assert open_amount(wrong.invoice) == 0


# --- Guthaben verrechnen -------------------------------------------------------------------


@pytest.mark.django_db
def test_credit_settles_an_invoice_from_its_page(accountant, business_customer, actor):
    invoice = finalized(business_customer, actor)  # 119,00
    pay(actor, "50.00", business_customer)  # nothing to allocate it to: credit
    page = accountant.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "Guthaben verrechnen (50,00\xa0€ verfügbar)" in page
    response = accountant.post(f"/rechnungen/{invoice.pk}/guthaben-verrechnen", follow=True)
    assert messages_of(response) == [
        f"50,00\xa0€ Guthaben sind mit Rechnung {invoice.number} verrechnet; "
        "offen bleiben 69,00\xa0€."
    ]
    assert "data-open>69,00\xa0€<" in response.content.decode()
    assert "Guthaben verrechnen" not in response.content.decode()  # no credit left
    assert open_amount(invoice) == Decimal("69.00")
    assert credit(business_customer) == 0
    # Without credit a forged request is refused in words.
    before = counts()
    refused = accountant.post(f"/rechnungen/{invoice.pk}/guthaben-verrechnen", follow=True)
    assert messages_of(refused) == ["Der Kunde hat kein Guthaben."]
    assert counts() == before


@pytest.mark.django_db
def test_credit_settles_a_chosen_invoice_from_the_customer_page(
    accountant, business_customer, actor
):
    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor, price="50.00")  # 59,50
    pay(actor, "200.00", business_customer)
    page = accountant.get(f"/kunden/{business_customer.pk}/").content.decode()
    card = page.split("data-apply-credit")[1].split("</section>")[0]
    assert "Guthaben des Kunden: 200,00\xa0€" in card
    assert f"{first.number} · offen 119,00\xa0€" in card
    assert f"{second.number} · offen 59,50\xa0€" in card
    path = f"/kunden/{business_customer.pk}/guthaben-verrechnen"

    before = counts()
    typo = accountant.post(
        path, {"credit-invoice": second.pk, "credit-amount": "zwanzig"}, follow=True
    )
    assert messages_of(typo) == ["Bitte geben Sie einen Betrag wie 119,00 ein."]
    too_much = accountant.post(
        path, {"credit-invoice": second.pk, "credit-amount": "60,00"}, follow=True
    )
    assert messages_of(too_much) == ["Der Betrag ist höher als der offene Betrag."]
    assert counts() == before

    response = accountant.post(
        path, {"credit-invoice": second.pk, "credit-amount": "30,00"}, follow=True
    )
    assert messages_of(response) == [
        f"30,00\xa0€ Guthaben sind mit Rechnung {second.number} verrechnet; "
        "offen bleiben 29,50\xa0€."
    ]
    assert open_amount(second) == Decimal("29.50")
    assert open_amount(first) == Decimal("119.00")
    page = response.content.decode()
    assert "Guthaben des Kunden: 170,00\xa0€" in page
    figure = page.split('data-figure="credit"')[1].split("</article>")[0]
    assert '<p class="amount">170,00\xa0€</p>' in figure
    # Without an amount: as much as possible (the whole open rest of the first).
    response = accountant.post(path, {"credit-invoice": first.pk, "credit-amount": ""}, follow=True)
    assert messages_of(response)[-1].startswith("119,00\xa0€ Guthaben sind mit Rechnung")
    assert open_amount(first) == 0
    assert credit(business_customer) == Decimal("51.00")


@pytest.mark.django_db
def test_a_cashier_may_apply_credit_a_viewer_may_not(client, company, business_customer, actor):
    invoice = finalized(business_customer, actor)
    pay(actor, "50.00", business_customer)
    viewer = _login(client, "ansicht", "viewer")
    for path in (f"/kunden/{business_customer.pk}/", f"/rechnungen/{invoice.pk}/"):
        page = viewer.get(path).content.decode()
        assert "guthaben-verrechnen" not in page
        assert "Guthaben verrechnen" not in page
    before = counts()
    for path in (
        f"/rechnungen/{invoice.pk}/guthaben-verrechnen",
        f"/kunden/{business_customer.pk}/guthaben-verrechnen",
    ):
        response = viewer.post(path, {"credit-invoice": invoice.pk}, follow=True)
        assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    assert counts() == before
    assert open_amount(invoice) == Decimal("119.00")

    cashier = _login(client, "kasse", "cashier")
    page = cashier.get(f"/kunden/{business_customer.pk}/").content.decode()
    assert "data-apply-credit" in page
    cashier.post(
        f"/kunden/{business_customer.pk}/guthaben-verrechnen", {"credit-invoice": invoice.pk}
    )
    assert open_amount(invoice) == Decimal("69.00")
