"""Property: the customer's account statement adds up, whatever happened to the account.

For any sequence of payments (on various days), allocations, credit notes, write-offs,
chargebacks with fees and refunds:

* each entry's balance is the previous balance plus its amount, to the cent;
* the closing balance equals today's balance, which equals
  open receivables − credit on invoices − customer credit + fees charged, the figures
  the invoice and payment selectors derive on their own;
* a statement from any day starts where the one before it ends.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from faktura.core.errors import DomainError
from faktura.invoicing import services as invoicing
from faktura.payments import refunds
from faktura.payments import services as payments
from faktura.payments.account_statement import account_statement
from faktura.payments.models import FeeItem, Payment
from tests.conftest import TODAY
from tests.payments.helpers import finalized, pay

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
cents = st.integers(min_value=1, max_value=20_000).map(lambda c: Decimal(c) / 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), cents, st.integers(0, 20)),
        st.tuples(st.just("allocate"), st.integers(0, 5), st.integers(0, 1), cents),
        st.tuples(st.just("credit_note"), st.integers(0, 1), cents),
        st.tuples(st.just("write_off"), st.integers(0, 1), st.integers(1, 100)),
        st.tuples(st.just("chargeback"), st.integers(0, 5), st.integers(0, 2000)),
        st.tuples(st.just("refund"), cents),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture
def invoices(business_customer, actor):
    return [
        finalized(business_customer, actor, price="100.00"),  # 119.00
        finalized(business_customer, actor, price="50.00"),  # 59.50
    ]


def _apply(step, customer, actor, invoices) -> None:
    payment_ids = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
    kind = step[0]
    if kind == "pay":
        pay(actor, str(step[1]), customer, day=TODAY - dt.timedelta(days=step[2]))
    elif kind == "allocate" and payment_ids:
        payments.allocate_payment(
            payment_id=payment_ids[step[1] % len(payment_ids)],
            allocations=[(invoices[step[2]].pk, str(step[3]))],
            actor=actor,
            overpayment=True,
        )
    elif kind == "credit_note":
        note = invoicing.create_credit_note(
            invoice_id=invoices[step[1]].pk, actor=actor, amount=str(step[2]), tax_rate="de-19"
        )
        invoicing.finalize_invoice(invoice_id=note.pk, actor=actor)
    elif kind == "write_off":
        payments.write_off(
            invoice_id=invoices[step[1]].pk,
            amount=str(Decimal(step[2]) / 100),
            reason="Rundung",
            actor=actor,
        )
    elif kind == "chargeback" and payment_ids:
        payment_id = payment_ids[step[1] % len(payment_ids)]
        payments.record_chargeback(
            actor=actor,
            source_reference=f"cb-{payment_id}-{step[2]}",
            payment_id=payment_id,
            fee=str(Decimal(step[2]) / 100),
        )
    elif kind == "refund":
        refunds.refund_credit(customer_id=customer.pk, actor=actor, amount=str(step[1]))


def _check(customer) -> None:
    statement = account_statement(customer.pk)
    totals = statement.totals
    assert totals is not None
    balance = ZERO
    for entry in statement.entries:
        balance += entry.amount
        assert entry.balance == balance
        assert entry.amount == entry.amount.quantize(Decimal("0.01"))
    fees = sum((f.amount for f in FeeItem.objects.filter(customer=customer)), ZERO)
    assert statement.closing_balance == balance == totals.balance
    assert totals.balance == (
        totals.open_receivables - totals.invoice_credits - totals.customer_credit + fees
    )
    assert totals.open_receivables >= 0
    assert totals.invoice_credits >= 0
    for days in (0, 3, 10):
        start = TODAY - dt.timedelta(days=days)
        before = account_statement(customer.pk, date_to=start - dt.timedelta(days=1))
        after = account_statement(customer.pk, date_from=start)
        assert after.opening_balance == before.closing_balance
        assert after.closing_balance == statement.closing_balance
        assert len(before.entries) + len(after.entries) == len(statement.entries)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_the_statement_adds_up_to_the_derived_figures(business_customer, actor, invoices, steps):
    with transaction.atomic():
        for step in steps:
            try:
                with transaction.atomic():
                    _apply(step, business_customer, actor, invoices)
                event(f"{step[0]} done")
            except DomainError as error:
                event(f"{step[0]} refused: {error.code}")
        _check(business_customer)
        transaction.set_rollback(True)
