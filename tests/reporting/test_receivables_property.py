"""Property: the open items and aging at any date equal an independent recomputation.

Random invoices, credit notes, payments (partial, full, over) and returned debits for two
customers on days between August and today; then for a date D:

* the aging buckets (credits included) sum to the open items' total;
* the invoices' items equal Σ open amounts recomputed in Python from the raw rows
  (payable − corrections issued by D − allocations made by D and not reversed by D), the
  payments' items Σ money received by D not allocated or returned by D;
* the total equals Σ of the customers' balances at the end of D (account statement)
  less the returned-debit fees charged by D (fees are not open items);
* on PostgreSQL, where triggers keep each invoice's open amount and each payment's
  unallocated money now (``InvoiceOpenNow``, ``PaymentCreditNow``) and the reports read
  only what was open or changed after D: the kept amounts equal a recomputation, and the
  items equal those of a read over every row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faktura.core import clock
from faktura.core.errors import DomainError
from faktura.core.models import Company
from faktura.core.money import ZERO
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments import services as payments
from faktura.payments.account_statement import account_statement
from faktura.payments.models import Allocation, FeeItem, Payment, ReturnEvent
from faktura.payments.returns import record_returned_debit
from faktura.reporting import open_items
from faktura.reporting.models import InvoiceOpenNow, PaymentCreditNow
from tests.payments.helpers import finalized, pay

pytestmark = pytest.mark.django_db

FIRST = dt.date(2026, 8, 1)
LAST = dt.date(2026, 11, 16)
SPAN = (LAST - FIRST).days

cents = st.integers(min_value=1, max_value=30_000).map(lambda c: Decimal(c) / 100)
step = st.one_of(
    st.tuples(st.just("invoice"), st.integers(0, 1), cents),
    st.tuples(
        st.just("pay"), st.integers(0, 9), st.sampled_from(["partial", "full", "over"]), cents
    ),
    st.tuples(st.just("credit"), st.integers(0, 9), cents),
    st.tuples(st.just("return"), st.integers(0, 9)),
)
scenario = st.tuples(
    st.lists(st.tuples(st.integers(0, SPAN), step), min_size=1, max_size=10),
    st.integers(0, SPAN),
)


def _at(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC))


def _apply(step, customers, actor, counter) -> None:
    invoices = list(Invoice.objects.filter(kind="invoice").order_by("pk"))
    kind = step[0]
    if kind == "invoice":
        finalized(customers[step[1]], actor, price=str(step[2]))
    elif kind == "pay" and invoices:
        invoice = invoices[step[1] % len(invoices)]
        open_ = open_items.invoices_at(clock.today()).get(pk=invoice.pk).open_at
        if open_ <= 0:
            return
        amount = {
            "partial": min(step[3], open_),
            "full": open_,
            "over": open_ + step[3],
        }[step[2]]
        payment = pay(actor, str(amount), invoice.customer, day=clock.today())
        payments.allocate_payment(
            payment_id=payment.pk,
            allocations=[(invoice.pk, str(min(amount, open_)))],
            actor=actor,
            overpayment=step[2] == "over",
        )
    elif kind == "credit" and invoices:
        invoice = invoices[step[1] % len(invoices)]
        draft = invoicing.create_credit_note(
            invoice_id=invoice.pk, actor=actor, amount=str(step[2]), tax_rate="de-19"
        )
        invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    elif kind == "return":
        active = list(Allocation.objects.filter(reversed_at__isnull=True).order_by("pk"))
        if active:
            counter[0] += 1
            record_returned_debit(
                actor=actor,
                reason_code="MD06" if counter[0] % 2 else "AM04",
                source_reference=f"R-{counter[0]}",
                allocation_id=active[step[1] % len(active)].pk,
            )


def _local(value: dt.datetime | None) -> dt.date | None:
    zone = ZoneInfo(Company.time_zone_or_default())
    return value.astimezone(zone).date() if value is not None else None


def _by(day: dt.date, created: dt.datetime, reversed_: dt.datetime | None) -> bool:
    undone = _local(reversed_)
    return _local(created) <= day and (undone is None or undone > day)  # type: ignore[operator]


def _recomputed(day: dt.date) -> tuple[Decimal, Decimal]:
    """Σ invoices' open amounts and Σ payments' unallocated money at ``day``, from rows."""
    documents = list(Invoice.objects.finalized())
    allocations = list(Allocation.objects.all())
    invoices_open = ZERO
    for invoice in documents:
        if invoice.kind != "invoice" or invoice.issue_date > day:
            continue
        credited = sum(
            (
                c.grand_total
                for c in documents
                if c.original_id == invoice.pk and c.issue_date <= day
            ),
            ZERO,
        )
        allocated = sum(
            (
                a.amount
                for a in allocations
                if a.invoice_id == invoice.pk and _by(day, a.created_at, a.reversed_at)
            ),
            ZERO,
        )
        invoices_open += invoice.payable_amount - credited - allocated
    credit = ZERO
    for payment in Payment.objects.filter(date__lte=day, customer__isnull=False):
        allocated = sum(
            (
                a.amount
                for a in allocations
                if a.payment_id == payment.pk and _by(day, a.created_at, a.reversed_at)
            ),
            ZERO,
        )
        returned = sum(
            (
                r.amount
                for r in ReturnEvent.objects.filter(payment=payment)
                if (r.booking_date or _local(r.created_at)) <= day
            ),
            ZERO,
        )
        credit += payment.amount - allocated - returned
    return invoices_open, credit


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario)
def test_open_items_and_aging_equal_an_independent_recomputation(
    business_customer, consumer, actor, case
):
    steps, offset = case
    customers = [business_customer, consumer]
    with transaction.atomic():
        counter = [0]
        for days, one in sorted(steps, key=lambda s: s[0]):
            with _at(FIRST + dt.timedelta(days=days)):
                try:
                    with transaction.atomic():
                        _apply(one, customers, actor, counter)
                except DomainError:
                    pass  # refused (e.g. more credited than creditable): nothing written
        for day in (FIRST + dt.timedelta(days=offset), LAST):
            items = open_items.open_items(day)
            total = sum((i.open_amount for i in items), ZERO)
            (aging,) = open_items.aging(day)
            assert sum((b.amount for b in aging.buckets), ZERO) == aging.total == total
            assert aging.count == len(items)
            per_customer = open_items.aging(day, by_customer=True)
            assert sum((row.total for row in per_customer), ZERO) == total

            invoices_open, credit = _recomputed(day)
            documents = sum(
                (i.open_amount for i in items if i.kind not in ("payment", "refund")), ZERO
            )
            assert documents == invoices_open
            assert -sum((i.open_amount for i in items if i.kind == "payment"), ZERO) == credit

            balances = sum(
                (account_statement(c.pk, date_to=day).closing_balance for c in customers), ZERO
            )
            fees = sum(
                (
                    f.amount
                    for f in FeeItem.objects.exclude(state="cancelled")
                    if _local(f.created_at) <= day  # type: ignore[operator]
                ),
                ZERO,
            )
            assert total == balances - fees
            if connection.vendor == "postgresql":
                with mock.patch.object(open_items, "_kept_now", return_value=False):
                    assert open_items.open_items(day) == items
                    assert open_items.aging(day) == [aging]
        if connection.vendor == "postgresql":
            _assert_kept_amounts_equal_a_recomputation()
        transaction.set_rollback(True)


def _assert_kept_amounts_equal_a_recomputation() -> None:
    finalized_invoices = Invoice.objects.filter(status="finalized", kind="invoice")
    recomputed = {
        pk: (credited, open_amount)
        for pk, credited, open_amount in with_open_amounts(finalized_invoices).values_list(
            "pk", "credited_amount", "open_amount"
        )
    }
    kept = {row.invoice_id: (row.credited, row.open_amount) for row in InvoiceOpenNow.objects.all()}
    assert kept == recomputed
    unallocated = {}
    for payment in Payment.objects.all():
        allocated = sum(
            (a.amount for a in Allocation.objects.filter(payment=payment, reversed_at=None)), ZERO
        )
        returned = sum((r.amount for r in ReturnEvent.objects.filter(payment=payment)), ZERO)
        unallocated[payment.pk] = payment.amount - allocated - returned
    assert {row.payment_id: row.unallocated for row in PaymentCreditNow.objects.all()} == (
        unallocated
    )
