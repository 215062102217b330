"""Suche in der Kopfzeile: by number, name, amount, IBAN or e-mail; one exact hit opens it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User

from faktura.banking import services as banking
from faktura.reporting import inbox
from tests.banking.camt_builder import camt, transfer
from tests.collection.helpers import mandate
from tests.payments.helpers import IBAN, finalized, pay


@pytest.fixture
def viewer(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def hits(response) -> dict[str, list[str]]:
    html = response.content.decode()
    found: dict[str, list[str]] = {}
    for group, key in re.findall(r'data-hit="((\w+)-\d+)"', html):
        found.setdefault(key, []).append(group)
    return found


@pytest.mark.django_db
def test_the_search_field_is_in_the_top_bar(viewer):
    html = viewer.get("/").content.decode()
    header = html.split('<header class="topbar">')[1].split("</header>")[0]
    assert 'action="/suche/"' in header
    assert '<label for="global-search"' in header
    nav = html.split('<nav class="sidebar"')[1].split("</nav>")[0]
    assert "global-search" not in nav


@pytest.mark.django_db
def test_an_invoice_number_opens_the_invoice(viewer, business_customer, actor):
    invoice = finalized(business_customer, actor)
    response = viewer.get("/suche/", {"q": f" {invoice.number.lower()} "})
    assert response.status_code == 302
    assert response["Location"] == f"/rechnungen/{invoice.pk}/"


@pytest.mark.django_db
def test_a_customer_number_or_email_opens_the_customer(viewer, business_customer, consumer):
    for text in (consumer.number, "MAX@example.org"):
        response = viewer.get("/suche/", {"q": text})
        assert response["Location"] == f"/kunden/{consumer.pk}/"


@pytest.mark.django_db
def test_an_amount_finds_invoices_payments_and_bank_lines_in_both_notations(
    viewer, business_customer, actor
):
    invoice = finalized(business_customer, actor, price="1037.44")  # 1.234,55 gross
    assert str(invoice.payable_amount) == "1234.55"
    payment = pay(actor, "1234.55", business_customer)
    banking.import_statement(
        data=camt([transfer("1234.55", "Danke", name="Fremd GmbH", booked=dt.date(2026, 11, 16))]),
        filename="a.xml",
        actor=actor,
    )
    for text in ("1.234,55", "1234.55", "1234,55 €"):
        found = hits(viewer.get("/suche/", {"q": text}))
        assert found["invoice"] == [f"invoice-{invoice.pk}"]
        assert f"payment-{payment.pk}" in found["payment"]
        assert len(found["bank_line"]) == 1
    html = viewer.get("/suche/", {"q": "1.234,55"}).content.decode()
    assert 'data-group="invoices"' in html
    assert "1.234,55\xa0€" in html.split('data-group="invoices"')[1]


@pytest.mark.django_db
def test_an_iban_with_or_without_spaces_finds_the_customer_and_the_lines(
    viewer, business_customer, consumer, actor
):
    mandate(business_customer, actor)
    banking.import_statement(
        data=camt([transfer("50.00", "Abo", name="Beispiel", iban=IBAN)]),
        filename="b.xml",
        actor=actor,
    )
    spaced = " ".join(IBAN[i : i + 4] for i in range(0, len(IBAN), 4))
    for text in (IBAN, spaced, spaced.lower()):
        found = hits(viewer.get("/suche/", {"q": text}))
        assert found["customer"] == [f"customer-{business_customer.pk}"]
        assert len(found["bank_line"]) == 1


@pytest.mark.django_db
def test_a_name_lists_the_customers_grouped(viewer, business_customer, consumer, actor):
    finalized(business_customer, actor)
    found = hits(viewer.get("/suche/", {"q": "beispiel"}))
    assert found["customer"] == [f"customer-{business_customer.pk}"]
    html = viewer.get("/suche/", {"q": "gibt es nicht"}).content.decode()
    assert "Nichts gefunden für „gibt es nicht“." in html
    assert "mindestens zwei Zeichen" in viewer.get("/suche/", {"q": "x"}).content.decode()


@pytest.mark.django_db
def test_the_search_is_bounded_in_queries(
    viewer, business_customer, actor, django_assert_max_num_queries
):
    for _ in range(5):
        finalized(business_customer, actor, price="10.00")
    with django_assert_max_num_queries(len(inbox.SOURCES) + 11):  # the badge: one per source
        response = viewer.get("/suche/", {"q": "11,90"})
    assert len(hits(response)["invoice"]) == 5
