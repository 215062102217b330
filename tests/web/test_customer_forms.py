"""Kunden anlegen und bearbeiten, and what the 360° page adds: payments, risk, credit limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.payments import services as payments
from faktura.reporting import inbox
from tests.payments.helpers import finalized


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


VALID = {
    "kind": "business",
    "name": "Nordlicht Software GmbH",
    "street": "Deichstraße",
    "house_number": "9",
    "postcode": "20459",
    "city": "Hamburg",
    "country": "DE",
    "email": "rechnung@nordlicht.example",
    "language": "de",
    "vat_id": "DE 136 695 976",
    "xrechnung_syntax": "cii",
    "preferred_payment_method": "transfer",
    "credit_limit": "5.000,00",
}


@pytest.mark.django_db
def test_an_accountant_creates_a_customer(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    assert 'href="/kunden/neu/"' in accountant.get("/kunden/").content.decode()
    response = accountant.post("/kunden/neu/", VALID, follow=True)
    customer = Customer.objects.get(name="Nordlicht Software GmbH")
    assert response.redirect_chain[-1][0] == f"/kunden/{customer.pk}/"
    assert customer.vat_id == "DE136695976"
    assert customer.credit_limit == Decimal("5000.00")
    html = response.content.decode()
    assert f"Kunde {customer.number} ist angelegt." in html
    assert "5.000,00\xa0€" in html.split("data-risk")[1].split("</section>")[0]
    assert AuditEntry.objects.filter(action="customer.created", object_id=str(customer.pk)).exists()


@pytest.mark.django_db
def test_bad_input_names_each_field_in_german_and_saves_nothing(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    response = accountant.post(
        "/kunden/neu/",
        {
            **VALID,
            "vat_id": "DE123",
            "email": "keine-adresse",
            "kind": "public_body",
            "leitweg_id": "",
            "credit_limit": "viel",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    errors = {
        name: html.split(f'data-error="{name}">')[1].split("</p>")[0]
        for name in ("vat_id", "email", "leitweg_id", "credit_limit")
    }
    assert errors["vat_id"].startswith("Ungültige USt-IdNr. DE123")
    assert "gültige E-Mail-Adresse" in errors["email"]
    assert "Leitweg-ID" in errors["leitweg_id"]
    assert errors["credit_limit"] == "Bitte geben Sie einen Betrag wie 5.000,00 ein."
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_wrong_leitweg_id_is_refused(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    html = accountant.post(
        "/kunden/neu/", {**VALID, "kind": "public_body", "leitweg_id": "991-12345-99"}
    ).content.decode()
    assert "Ungültige Leitweg-ID 991-12345-99" in html.split('data-error="leitweg_id">')[1]
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_an_accountant_changes_master_data(client, business_customer):
    accountant = _client(client, "buchhaltung", "accountant")
    page = accountant.get(f"/kunden/{business_customer.pk}/bearbeiten/").content.decode()
    assert 'value="Beispiel Handel AG"' in page
    data = {**VALID, "name": "Beispiel Handel AG", "city": "Bremen", "credit_limit": ""}
    response = accountant.post(f"/kunden/{business_customer.pk}/bearbeiten/", data, follow=True)
    assert "Die Stammdaten sind gespeichert." in response.content.decode()
    business_customer.refresh_from_db()
    assert business_customer.city == "Bremen"
    assert business_customer.email == "rechnung@nordlicht.example"
    entry = AuditEntry.objects.get(action="customer.updated")
    assert entry.data["after"]["city"] == "Bremen"
    assert "name" not in entry.data["after"]  # unchanged fields are not recorded


@pytest.mark.django_db
def test_a_bad_change_changes_nothing(client, business_customer):
    accountant = _client(client, "buchhaltung", "accountant")
    data = {**VALID, "city": "Bremen", "vat_id": "DE999999999"}
    html = accountant.post(f"/kunden/{business_customer.pk}/bearbeiten/", data).content.decode()
    assert "Ungültige USt-IdNr." in html.split('data-error="vat_id">')[1]
    business_customer.refresh_from_db()
    assert business_customer.city == "Hamburg"
    assert not AuditEntry.objects.filter(action="customer.updated").exists()


@pytest.mark.django_db
def test_a_viewer_sees_no_action_and_a_forged_post_changes_nothing(client, business_customer):
    viewer = _client(client, "ansicht", "viewer")
    assert "data-create" not in viewer.get("/kunden/").content.decode()
    detail = viewer.get(f"/kunden/{business_customer.pk}/").content.decode()
    assert "data-edit" not in detail
    form = viewer.get(f"/kunden/{business_customer.pk}/bearbeiten/").content.decode()
    assert "Speichern" not in form
    response = viewer.post(
        f"/kunden/{business_customer.pk}/bearbeiten/", {**VALID, "city": "Bremen"}, follow=True
    )
    assert "Das darf Ihre Rolle nicht." in response.content.decode()
    business_customer.refresh_from_db()
    assert business_customer.city == "Hamburg"
    viewer.post("/kunden/neu/", VALID)
    assert Customer.objects.count() == 1
    assert viewer.get("/kunden/999999/bearbeiten/").status_code == 404


@pytest.mark.django_db
def test_the_360_page_shows_payments_risk_and_dunning_block(client, business_customer, actor):
    from faktura.customers.services import update_customer

    viewer = _client(client, "ansicht", "viewer")
    invoice = finalized(business_customer, actor, price="1000.00")  # 1.190,00
    payment = payments.record_payment(
        actor=actor,
        customer_id=business_customer.pk,
        amount="190.00",
        date=dt.date(2026, 11, 14),
        method="transfer",
        source="manual",
        reference=invoice.number,
    )
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "190.00")], actor=actor
    )
    update_customer(
        customer_id=business_customer.pk,
        actor=actor,
        credit_limit=Decimal("500.00"),
        dunning_block=True,
        dunning_block_reason="Reklamation offen",
    )
    html = viewer.get(f"/kunden/{business_customer.pk}/").content.decode()
    paid = html.split("data-payments")[1].split("</section>")[0]
    assert "190,00\xa0€" in paid
    assert invoice.number in paid
    risk = html.split("data-risk")[1].split("</section>")[0]
    assert "500,00\xa0€" in risk
    assert "(eigenes Limit)" in risk
    assert "Offene Forderungen 1.000,00 EUR übersteigen das Kreditlimit von 500,00 EUR" in risk
    assert "-500,00\xa0€" in risk
    block = html.split("data-dunning-block")[1].split("</p>")[0]
    assert "Mahnsperre" in block
    assert "Reklamation offen" in block


@pytest.mark.django_db
def test_the_list_is_bounded_in_queries(client, company, actor, django_assert_max_num_queries):
    from faktura.customers.services import create_customer

    viewer = _client(client, "ansicht", "viewer")
    for n in range(12):
        create_customer(
            actor=actor,
            name=f"Kunde {n}",
            street="Weg",
            postcode="10115",
            city="Berlin",
            email=f"k{n}@example.org",
        )
    # Session and user, one count per source of the inbox badge, the page and one sum of
    # receivables.
    with django_assert_max_num_queries(len(inbox.SOURCES) + 10):
        html = viewer.get("/kunden/").content.decode()
    assert html.count("data-customer=") == 12
