"""Finding documents by what a person knows: number, customer, e-mail, amount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faktura.invoicing.models import Invoice
from faktura.invoicing.selectors import parse_amount, search
from tests.payments.helpers import finalized

AMOUNTS = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2)


@given(AMOUNTS)
def test_amounts_typed_the_german_or_the_english_way_are_read_exactly(amount):
    english = f"{amount:,.2f}"
    german = english.translate(str.maketrans(",.", ".,"))
    assert parse_amount(english) == amount
    assert parse_amount(german) == amount
    assert parse_amount(f"{german} €") == amount
    assert parse_amount(f"{amount:.2f}".replace(".", ",")) == amount


@pytest.mark.parametrize("text", ["RE-2026-00001", "1.2.3", "12,345", "abc", "", "€", "1,2,3"])
def test_what_is_no_amount_is_not_read_as_one(text):
    assert parse_amount(text) is None


@pytest.mark.django_db
def test_documents_are_found_by_number_customer_mail_and_amount(business_customer, consumer, actor):
    big = finalized(business_customer, actor, price="1000.00")  # 1.190,00
    small = finalized(consumer, actor, price="10.00")
    every = Invoice.objects.all()
    assert list(search(every, big.number)) == [big]
    assert list(search(every, "1.190,00")) == [big]
    assert list(search(every, business_customer.name[:5].lower())) == [big]
    assert list(search(every, consumer.number)) == [small]
    assert list(search(every, consumer.email.upper())) == [small]
    assert set(search(every, "  ")) == {big, small}
    assert list(search(every, "999,99")) == []


@pytest.mark.django_db
def test_open_amounts_work_inside_a_correlated_subquery(business_customer, actor):
    from django.db.models import Exists, OuterRef

    from faktura.customers.models import Customer
    from faktura.invoicing.selectors import with_open_amounts

    finalized(business_customer, actor)
    unpaid = with_open_amounts(Invoice.objects.filter(customer=OuterRef("pk"))).filter(
        open_amount__gt=0
    )
    owing = Customer.objects.annotate(owes=Exists(unpaid)).filter(owes=True)
    assert list(owing) == [business_customer]
