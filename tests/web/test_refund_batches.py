"""Erstattungsdateien under Zahlungen: the approved refunds waiting for a file, a pain.001
file made for them and downloaded byte for byte, released by a second person (never by who
made it), or discarded; who may not do an action sees no button and a forged request is
refused and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
from django.contrib.auth.models import Group, User
from django.test import Client
from lxml import etree

from faktura.payments import refunds
from faktura.payments import services as payments
from faktura.payments.models import Refund, RefundBatch
from tests.payments.helpers import IBAN, OTHER_IBAN, counts, credit, finalized, pay

COMPANY_IBAN = "DE02120300000000202051"  # the company's default account (tests/conftest.py)
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
LIST = "/zahlungen/erstattungsdateien/"


def _login(name: str, *roles: str) -> Client:
    user = User.objects.create_user(name, password="geheim-123")
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def accountant(company):
    return _login("buchhaltung", "accountant")


@pytest.fixture
def approving(company):
    """A person who may release refund files (the approver role only)."""
    return _login("freigabe", "approver")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _credited(customer, actor, amount: str):
    """The customer paid ``amount`` on an invoice of less: the rest is credit."""
    invoice = finalized(customer, actor)
    payment = pay(actor, amount, customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor, overpayment=True
    )


@pytest.fixture
def waiting(business_customer, consumer, actor, approver):
    """Two refunds approved by a second person: 31,00 € to the business customer's paying
    account and 20,00 € to another account of the consumer."""
    _credited(business_customer, actor, "150.00")
    _credited(consumer, actor, "150.00")
    first = refunds.refund_credit(customer_id=business_customer.pk, actor=actor)
    second = refunds.refund_credit(
        customer_id=consumer.pk,
        actor=actor,
        amount="20.00",
        iban=OTHER_IBAN,
        account_holder="Max Mustermann",
        reason="Erstattung Guthaben",
    )
    for refund in (first, second):
        refunds.approve_refund(refund_id=refund.pk, actor=approver)
    return first, second


def _create(client, day: str = "2026-11-18"):
    return client.post(LIST, {"execution_date": day}, follow=True)


def _xsd() -> etree.XMLSchema:
    path = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.mark.django_db
def test_the_page_lists_the_approved_refunds_and_makes_their_file(accountant, waiting):
    first, second = waiting
    page = accountant.get(LIST).content.decode()
    assert "2 Erstattungen über 51,00\xa0€ warten auf die nächste Erstattungsdatei." in page
    row = page.split(f'data-refund="{first.pk}"')[1].split("</tr>")[0]
    assert "Beispiel Handel AG" in row
    assert IBAN in row
    assert "31,00\xa0€" in row
    assert "user:bernd" in row  # who approved it
    row = page.split(f'data-refund="{second.pk}"')[1].split("</tr>")[0]
    assert (OTHER_IBAN in row, "20,00\xa0€" in row) == (True, True)
    assert 'value="2026-11-17"' in page  # the next TARGET2 business day proposed
    assert "Ausgezahlt wird vom Firmenkonto DE02120300000000202051 (Musterbank)." in page
    assert "Noch keine Erstattungsdateien." in page

    response = _create(accountant)
    batch = RefundBatch.objects.get()
    assert response.redirect_chain[-1][0] == f"{LIST}{batch.pk}/"
    assert messages_of(response) == [
        "Erstattungsdatei mit 2 Überweisungen erstellt; eine zweite Person gibt sie frei."
    ]
    detail = response.content.decode()
    assert "data-count>2<" in detail
    assert "data-total>51,00\xa0€<" in detail
    assert 'data-status="created">Erstellt<' in detail
    assert "18.11.2026" in detail
    assert "user:buchhaltung" in detail.split("data-created>")[1]
    assert detail.count("In Überweisungsdatei") == 2
    assert "pain.001 herunterladen" in detail
    assert "data-discard" in detail
    assert "data-release" not in detail  # an accountant does not release
    listed = accountant.get(LIST).content.decode()
    assert "Keine freigegebenen Erstattungen warten auf eine Datei." in listed
    assert "data-new-batch" not in listed  # nothing left to put into a file
    row = listed.split(f'data-batch="{batch.pk}"')[1].split("</tr>")[0]
    assert (f"FAKTURA-RF-{batch.pk:06d}" in row, "51,00\xa0€" in row, "Erstellt" in row) == (
        True,
        True,
        True,
    )


@pytest.mark.django_db
def test_the_download_is_the_stored_pain001_with_the_sum_and_the_accounts(accountant, waiting):
    first, second = waiting
    _create(accountant)
    batch = RefundBatch.objects.get()
    response = accountant.get(f"{LIST}{batch.pk}/pain001.xml")
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == (
        f'attachment; filename="pain001-erstattungen-20261118-{batch.pk:06d}.xml"'
    )
    assert response.content == batch.file_bytes()
    root = etree.fromstring(response.content)
    assert _xsd().validate(root)
    assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}Document"
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "51.00"
    assert root.findtext(".//p:PmtInf/p:ReqdExctnDt/p:Dt", namespaces=NS) == "2026-11-18"
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == COMPANY_IBAN
    transfers = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): (
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
        )
        for tx in root.iterfind(".//p:CdtTrfTxInf", namespaces=NS)
    }
    assert transfers == {
        f"ERSTATTUNG-{first.pk}": (IBAN, "31.00"),
        f"ERSTATTUNG-{second.pk}": (OTHER_IBAN, "20.00"),
    }


@pytest.mark.django_db
def test_who_made_the_file_cannot_release_it_a_second_person_does(
    company, waiting, approving, business_customer
):
    # One person with both roles makes the file and tries to release it.
    both = _login("anna", "accountant", "approver")
    _create(both)
    batch = RefundBatch.objects.get()
    detail = both.get(f"{LIST}{batch.pk}/").content.decode()
    assert "data-release" in detail  # the role may release; the service knows the person
    assert "Freigeben muss eine zweite Person, nicht wer die Datei erstellt hat." in detail
    before = counts()
    refused = both.post(f"{LIST}{batch.pk}/freigeben", follow=True)
    assert messages_of(refused) == [
        "Freigeben muss eine zweite Person: Wer die Erstattungsdatei erstellt hat, kann sie "
        "nicht freigeben (Vier-Augen-Prinzip)."
    ]
    assert 'data-status="created"' in refused.content.decode()
    assert counts() == before
    assert set(Refund.objects.values_list("status", flat=True)) == {"batched"}

    released = approving.post(f"{LIST}{batch.pk}/freigeben", follow=True)
    assert messages_of(released) == [
        "Die Erstattungsdatei ist freigegeben und die Erstattungen als ausgezahlt gebucht; "
        "reichen Sie die Datei bei der Bank ein."
    ]
    page = released.content.decode()
    assert 'data-status="released">Freigegeben<' in page
    assert "user:freigabe" in page
    assert page.count("Ausgezahlt") == 2
    assert "data-release" not in page
    assert "data-discard" not in page
    assert "pain.001 herunterladen" in page
    batch.refresh_from_db()
    assert (batch.status, batch.released_by) == ("released", "user:freigabe")
    assert set(Refund.objects.values_list("status", flat=True)) == {"paid"}
    assert credit(business_customer) == Decimal("0.00")
    again = approving.post(f"{LIST}{batch.pk}/freigeben", follow=True)
    assert messages_of(again) == ["Die Erstattungsdatei ist schon freigegeben oder verworfen."]


@pytest.mark.django_db
def test_a_discarded_file_frees_its_refunds_for_the_next_one(accountant, approving, waiting):
    _create(accountant)
    batch = RefundBatch.objects.get()
    response = accountant.post(f"{LIST}{batch.pk}/verwerfen", follow=True)
    assert messages_of(response) == [
        "Die Erstattungsdatei ist verworfen; ihre Erstattungen warten auf die nächste Datei."
    ]
    page = response.content.decode()
    assert 'data-status="discarded">Verworfen<' in page
    assert "diese Datei nicht bei der Bank einreichen" in page
    assert "pain.001 herunterladen" not in page
    assert set(Refund.objects.values_list("status", "batch")) == {("approved", None)}
    listed = accountant.get(LIST).content.decode()
    assert "2 Erstattungen über 51,00\xa0€ warten auf die nächste Erstattungsdatei." in listed
    before = counts()
    late = approving.post(f"{LIST}{batch.pk}/freigeben", follow=True)  # forged: no button
    assert messages_of(late) == ["Die Erstattungsdatei ist schon freigegeben oder verworfen."]
    assert counts() == before
    _create(accountant)
    assert RefundBatch.objects.filter(status="created").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "text"),
    [
        ("2026-11-13", "Nächster möglicher Tag: 16.11.2026."),  # in the past
        ("2026-11-21", "Nächster möglicher Tag: 23.11.2026."),  # a Saturday
        ("2026-12-25", "Nächster möglicher Tag: 28.12.2026."),  # Christmas (TARGET2)
    ],
)
def test_an_execution_date_the_bank_cannot_use_is_refused_at_the_field(
    accountant, waiting, day, text
):
    before = counts()
    page = _create(accountant, day).content.decode()
    error = page.split('data-error="execution_date"')[1].split("</p>")[0]
    assert "Der Ausführungstag liegt in der Vergangenheit oder ist kein TARGET2-Geschäftstag" in (
        error
    )
    assert text in error
    assert counts() == before


@pytest.mark.django_db
def test_without_approved_refunds_there_is_nothing_to_make(accountant, company):
    page = accountant.get(LIST).content.decode()
    assert "Keine freigegebenen Erstattungen warten auf eine Datei." in page
    assert "data-new-batch" not in page
    response = _create(accountant)
    assert messages_of(response) == ["Es warten keine freigegebenen Erstattungen auf eine Datei."]
    assert not RefundBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "cashier", "approver"])
def test_who_may_not_make_a_file_sees_no_form_and_a_forged_post_changes_nothing(waiting, role):
    other = _login(role, role)
    page = other.get(LIST).content.decode()
    assert 'method="post"' not in page.split("<main")[1]
    assert "31,00\xa0€" in page  # the waiting refunds are shown all the same
    before = counts()
    refused = _create(other)
    assert messages_of(refused) == ["Das darf Ihre Rolle nicht."]
    assert counts() == before
    assert set(Refund.objects.values_list("status", flat=True)) == {"approved"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "release", "discard"),
    [
        (
            "viewer",
            "Freigeben dürfen nur Personen mit der Rolle Freigabe.",
            "Das darf Ihre Rolle nicht.",
        ),
        (
            "cashier",
            "Freigeben dürfen nur Personen mit der Rolle Freigabe.",
            "Das darf Ihre Rolle nicht.",
        ),
        ("accountant", "Freigeben dürfen nur Personen mit der Rolle Freigabe.", None),
        ("approver", None, "Das darf Ihre Rolle nicht."),
    ],
)
def test_a_file_offers_each_role_only_its_decisions_and_forged_ones_change_nothing(
    accountant, waiting, role, release, discard
):
    _create(accountant)
    batch = RefundBatch.objects.get()
    other = _login(f"{role}-2", role)
    page = other.get(f"{LIST}{batch.pk}/").content.decode()
    assert ("data-release" in page) == (release is None)
    assert ("data-discard" in page) == (discard is None)
    assert other.get(f"{LIST}{batch.pk}/pain001.xml").content == batch.file_bytes()
    before = counts()
    if release is not None:
        refused = other.post(f"{LIST}{batch.pk}/freigeben", follow=True)
        assert messages_of(refused) == [release]
    if discard is not None:
        refused = other.post(f"{LIST}{batch.pk}/verwerfen", follow=True)
        assert messages_of(refused) == [discard]
    assert counts() == before
    batch.refresh_from_db()
    assert batch.status == "created"
    assert set(Refund.objects.values_list("status", flat=True)) == {"batched"}


@pytest.mark.django_db
def test_the_payments_page_leads_to_the_refund_files(accountant, waiting, business_customer, actor):
    refunds.refund_credit(customer_id=waiting[1].customer_id, actor=actor, amount="5.00")
    page = accountant.get("/zahlungen/").content.decode()
    tabs = page.split('class="tabs"')[1].split("</nav>")[0]
    assert f'href="{LIST}"' in tabs
    assert "Erstattungsdateien" in tabs
    requested = page.split("data-refunds>")[1].split("</section>")[0]
    assert f'href="{LIST}"' in requested
    waiting_note = page.split("data-refunds-waiting>")[1].split("</p>")[0]
    assert "2 freigegebene Erstattungen über 51,00\xa0€ warten auf eine Erstattungsdatei." in (
        waiting_note
    )
    assert f'href="{LIST}"' in waiting_note


@pytest.mark.django_db
def test_an_unknown_file_is_not_found(accountant, company):
    assert accountant.get(f"{LIST}999/").status_code == 404
    assert accountant.get(f"{LIST}999/pain001.xml").status_code == 404
    assert accountant.post(f"{LIST}999/verwerfen").status_code == 404
