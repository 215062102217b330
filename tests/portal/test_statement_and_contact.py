"""The account statement (Kontoauszug) with its running balance and as PDF; the customer's
own billing address and e-mail, changed with the master data's validation and audited."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, PermissionRefused
from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.customers.services import change_own_contact
from faktura.payments import services as payments
from tests.payments.helpers import finalized, pay
from tests.portal.conftest import page

pytestmark = pytest.mark.django_db


def test_the_statement_lists_documents_and_payments_with_the_running_balance(
    portal, business_customer, actor
):
    invoice = finalized(business_customer, actor)  # 119,00
    second = finalized(business_customer, actor, price="200.00")  # 238,00
    payment = pay(actor, "50.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "50.00")], actor=actor
    )
    html = page(portal.get("/portal/kontoauszug/"))
    assert "data-balance>307,00 €" in html
    assert "Diesen Betrag schulden Sie uns." in html
    rows = html.split("data-statement>")[1].split("<tbody>")[1].split("</tr>")[:-1]
    assert len(rows) == 3
    assert f"Rechnung {invoice.number}" in rows[0]
    assert rows[0].count("119,00 €") == 2  # the debit and the balance after it
    assert f"Rechnung {second.number}" in rows[1]
    assert "357,00 €" in rows[1]
    assert "Zahlung" in rows[2]
    assert "50,00 €" in rows[2]
    assert "307,00 €" in rows[2]
    assert f'href="/portal/rechnungen/{invoice.pk}/"' in rows[0]
    assert 'href="/portal/kontoauszug/pdf"' in html


def test_the_statement_pdf_is_the_letter_of_the_same_figures(portal, business_customer, actor):
    finalized(business_customer, actor)
    response = portal.get("/portal/kontoauszug/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="Kontoauszug-{business_customer.number}-2026-11-16.pdf"'
    )
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages)
        .replace("\xa0", " ")
        .split()
    )
    assert "Kontoauszug" in text
    assert "119,00 €" in text


def test_an_empty_account_says_so(portal):
    html = page(portal.get("/portal/kontoauszug/"))
    assert "Noch keine Buchungen." in html
    assert "Ihr Konto ist ausgeglichen." in html


# --- billing address and e-mail -------------------------------------------------------------

ADDRESS = {
    "contact_name": "Petra Beispiel",
    "street": "Neuer Wall",
    "house_number": "10",
    "postcode": "20354",
    "city": "Hamburg",
    "country": "de",
    "email": "rechnungen@beispiel.de",
    "additional_emails": "chef@beispiel.de",
}


def test_the_customer_changes_their_billing_address_and_email(portal, business_customer):
    form = page(portal.get("/portal/kontaktdaten/"))
    assert 'value="buchhaltung@beispiel.de"' in form
    assert '<label for="id_postcode">PLZ' in form
    response = portal.post("/portal/kontaktdaten/", ADDRESS, follow=True)
    assert "Ihre Kontaktdaten sind gespeichert." in page(response)
    customer = Customer.objects.get(pk=business_customer.pk)
    assert (customer.street, customer.house_number, customer.postcode, customer.city) == (
        "Neuer Wall",
        "10",
        "20354",
        "Hamburg",
    )
    assert customer.country == "DE"
    assert customer.email == "rechnungen@beispiel.de"
    assert customer.additional_emails == "chef@beispiel.de"
    assert customer.name == "Beispiel Handel AG"
    entry = AuditEntry.objects.get(action="customer.contact_changed")
    assert entry.actor == f"customer:{business_customer.number}"
    assert entry.data["before"]["email"] == "buchhaltung@beispiel.de"
    assert entry.data["after"]["email"] == "rechnungen@beispiel.de"
    assert "name" not in entry.data["after"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "keine-adresse", "Bitte gültige E-Mail-Adresse eingeben."),
        ("postcode", "", "Dieses Feld ist zwingend erforderlich."),
        ("city", "Ham\x07burg", "Das Zeichen"),
    ],
)
def test_bad_input_is_refused_in_german_and_changes_nothing(
    portal, business_customer, field, value, message
):
    before = Customer.objects.values().get(pk=business_customer.pk)
    response = portal.post("/portal/kontaktdaten/", {**ADDRESS, field: value})
    html = page(response)
    assert message in html
    assert 'role="alert"' in html
    assert "Ihre Kontaktdaten sind gespeichert." not in html
    assert Customer.objects.values().get(pk=business_customer.pk) == before
    assert not AuditEntry.objects.filter(action="customer.contact_changed").exists()


def test_a_forged_name_field_is_ignored(portal, business_customer):
    portal.post("/portal/kontaktdaten/", {**ADDRESS, "name": "Übernommen GmbH", "vat_id": "x"})
    customer = Customer.objects.get(pk=business_customer.pk)
    assert customer.name == "Beispiel Handel AG"
    assert customer.vat_id == business_customer.vat_id


def test_the_service_lets_a_customer_change_only_their_own_contact_fields(
    business_customer, other_customer
):
    me = Actor.for_customer(business_customer.pk, business_customer.number)
    with pytest.raises(PermissionRefused):
        change_own_contact(customer_id=other_customer.pk, actor=me, city="Bremen")
    with pytest.raises(InvalidInput) as error:
        change_own_contact(customer_id=business_customer.pk, actor=me, credit_limit="99999")
    assert error.value.code == "field_not_allowed"
    staff = Actor(label="user:anna", roles=frozenset({"accountant"}))
    with pytest.raises(PermissionRefused):
        change_own_contact(customer_id=business_customer.pk, actor=staff, city="Bremen")
    assert Customer.objects.get(pk=other_customer.pk).city == "Köln"
    assert Customer.objects.get(pk=business_customer.pk).city == "Hamburg"
    assert not AuditEntry.objects.filter(action="customer.contact_changed").exists()
