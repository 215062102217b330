"""Rechnungen: search, filters, sorting and pages of the document list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User

from faktura.core import clock
from faktura.payments import services as payments
from faktura.web.backoffice.views import invoices
from tests.payments.helpers import finalized, pay


@pytest.fixture
def staff_client(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def issued(customer, actor, day: dt.date, price: str):
    with clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)):
        return finalized(customer, actor, price=price)


def listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-invoice="(\d+)"', html)]


@pytest.fixture
def documents(business_customer, consumer, actor):
    late = issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")  # overdue
    current = issued(consumer, actor, dt.date(2026, 11, 10), "10.00")  # open, not due
    paid = issued(business_customer, actor, dt.date(2026, 10, 1), "100.00")
    payment = pay(actor, "119.00", business_customer, external_id="p1")
    payments.allocate_payment(payment_id=payment.pk, allocations=[(paid.pk, "119.00")], actor=actor)
    return late, current, paid


@pytest.mark.django_db
def test_newest_first_with_amount_open_amount_and_state(staff_client, documents):
    late, current, paid = documents
    html = staff_client.get("/rechnungen/").content.decode()
    assert listed(html) == [current.pk, paid.pk, late.pk]
    row = html.split(f'data-invoice="{late.pk}"')[1].split("</tr>")[0]
    assert "1.190,00\xa0€" in row
    assert "Überfällig" in row
    assert "3 Dokumente" in html


@pytest.mark.django_db
def test_filters_search_and_sorting(staff_client, documents, consumer):
    late, current, paid = documents
    assert listed(staff_client.get("/rechnungen/?status=overdue").content.decode()) == [late.pk]
    assert listed(staff_client.get(f"/rechnungen/?q={consumer.name}").content.decode()) == [
        current.pk
    ]
    assert listed(staff_client.get("/rechnungen/?q=1.190,00").content.decode()) == [late.pk]
    by_amount = staff_client.get("/rechnungen/?sort=-amount").content.decode()
    assert listed(by_amount) == [late.pk, paid.pk, current.pk]
    period = staff_client.get("/rechnungen/?issued_from=2026-10-01&issued_to=2026-10-31")
    assert listed(period.content.decode()) == [paid.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sort",
    [
        "",
        "number",
        "-number",
        "due_date",
        "-due_date",
        "amount",
        "-amount",
        "open",
        "-open",
        "issue_date",
    ],
)
def test_open_list_pages_as_the_database_sorts(
    staff_client, business_customer, consumer, actor, sort, monkeypatch
):
    monkeypatch.setattr(invoices, "PER_PAGE", 4)
    # The open list sorts the cached open items in Python; with a narrowing filter that
    # changes nothing (kind) the database sorts: both orders must agree, across pages.
    documents = [
        issued(customer, actor, dt.date(2026, 8, day), price)
        for day, customer, price in [
            (3, business_customer, "50.00"),
            (3, consumer, "50.00"),
            (20, consumer, "7.00"),
            (11, business_customer, "300.00"),
            (25, consumer, "300.00"),
            (9, consumer, "1.00"),
        ]
    ]
    payment = pay(actor, "20.00", consumer, external_id="part")
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(documents[4].pk, "20.00")], actor=actor
    )
    for state in ("open", "overdue"):
        pages = {}
        for extra in ("", "&kind=invoice"):
            pages[extra] = [
                staff_client.get(
                    f"/rechnungen/?status={state}&sort={sort}&page={number}{extra}"
                ).content.decode()
                for number in (1, 2)
            ]
        by_python, by_database = pages[""], pages["&kind=invoice"]
        assert [len(listed(html)) for html in by_python] == [4, 2]
        assert [listed(html) for html in by_python] == [listed(html) for html in by_database]
        assert "6 Dokumente" in by_python[0]


@pytest.mark.django_db
def test_a_reversed_period_is_refused_with_a_clear_message(staff_client, documents):
    html = staff_client.get("/rechnungen/?issued_from=2026-12-01&issued_to=2026-10-01").content
    assert "Das Startdatum liegt nach dem Enddatum." in html.decode()


@pytest.mark.django_db
def test_htmx_gets_only_the_table(staff_client, documents):
    html = staff_client.get("/rechnungen/?status=overdue", HTTP_HX_REQUEST="true").content
    assert b"<html" not in html
    assert len(listed(html.decode())) == 1


@pytest.mark.django_db
def test_pages_of_fifty(staff_client, business_customer, actor, monkeypatch):
    from faktura.web.backoffice.views import invoices

    monkeypatch.setattr(invoices, "PER_PAGE", 2)
    made = [issued(business_customer, actor, dt.date(2026, 10, d), "1.00") for d in (1, 2, 3)]
    first = staff_client.get("/rechnungen/").content.decode()
    assert listed(first) == [made[2].pk, made[1].pk]
    assert "Seite 1 von 2" in first
    second = staff_client.get("/rechnungen/?page=2").content.decode()
    assert listed(second) == [made[0].pk]


@pytest.mark.django_db
def test_the_overdue_list_follows_a_payment_at_once(business_customer, actor, client, company):
    """The open invoices' ids are kept between requests until something is recorded."""
    user = User.objects.create_user("liste", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    with clock.frozen(dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC)):
        late = finalized(business_customer, actor)
    assert late.number in client.get("/rechnungen/?status=overdue").content.decode()
    payment = pay(actor, str(late.payable_amount), business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(late.pk, str(late.payable_amount))], actor=actor
    )
    assert late.number not in client.get("/rechnungen/?status=overdue").content.decode()
    assert late.number not in client.get("/rechnungen/?status=open").content.decode()
