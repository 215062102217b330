"""Kunden: the list with receivables and search, and the page of one customer."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User

from faktura.access import services as access
from faktura.core import clock
from tests.payments.helpers import finalized


@pytest.fixture
def staff_client(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def issued(customer, actor, day: dt.date, price: str):
    with clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)):
        return finalized(customer, actor, price=price)


@pytest.mark.django_db
def test_the_list_shows_open_and_overdue_per_customer(
    staff_client, business_customer, consumer, actor
):
    issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")  # 1.190,00 overdue
    issued(business_customer, actor, dt.date(2026, 11, 10), "100.00")  # 119,00 not due
    html = staff_client.get("/kunden/").content.decode()
    row = html.split(f'data-customer="{business_customer.pk}"')[1].split("</tr>")[0]
    cells = re.findall(r'<td class="num">(.*?)</td>', row)
    assert "1.309,00\xa0€" in cells[0]
    assert "1.190,00\xa0€" in cells[1]
    consumer_row = html.split(f'data-customer="{consumer.pk}"')[1].split("</tr>")[0]
    assert "€" not in consumer_row


@pytest.mark.django_db
def test_search_by_name_number_and_mail(staff_client, business_customer, consumer):
    def found(q: str) -> list[int]:
        html = staff_client.get("/kunden/", {"q": q}).content.decode()
        return [int(pk) for pk in re.findall(r'data-customer="(\d+)"', html)]

    assert found(consumer.number) == [consumer.pk]
    assert found(business_customer.name[:6]) == [business_customer.pk]
    assert found(consumer.email) == [consumer.pk]
    assert found("gibt es nicht") == []


@pytest.mark.django_db
def test_the_customer_page_shows_balance_and_access(staff_client, business_customer, actor):
    invoice = issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")
    access.block(
        customer_id=business_customer.pk,
        reason="manual",
        level=None,
        effect="block",
        invoice_ids=[invoice.pk],
        why="Kartenbetrug",
        actor=actor.__class__(label="admin", user_id=None, roles=frozenset({"admin"})),
    )
    html = staff_client.get(f"/kunden/{business_customer.pk}/").content.decode()
    balance = html.split('data-figure="balance"')[1].split("</article>")[0]
    assert "1.190,00\xa0€" in balance
    access_card = html.split("data-access")[1].split("</section>")[0]
    assert "Gesperrt" in access_card
    assert "Kartenbetrug" in access_card
    assert invoice.number in access_card
    assert staff_client.get("/kunden/999999/").status_code == 404
