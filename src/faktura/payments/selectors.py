"""Derived money figures of payments and customer accounts; never stored, always summed.

* unallocated amount of a payment = amount − active allocations (to invoices and, through
  ``faktura.payments.claims``, to dunning costs) − amounts returned
  (a returned debit or chargeback takes the money back);
* customer credit = Σ unallocated amounts of the customer's payments − refunds that
  hold money (requested, approved, batched, paid).

A payment without a customer is not credit but an unmatched payment (to-do list).
Negative credit means the customer owes money that was refunded and then returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.models import BankAccount
from faktura.core.money import ZERO, round_money
from faktura.payments import claims
from faktura.payments.models import (
    Allocation,
    Dispute,
    FeeItem,
    Payment,
    PaymentSettings,
    Refund,
    ReturnEvent,
)

_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


def _summed(queryset: QuerySet, group: str) -> Coalesce:
    summed = queryset.order_by().values(group).annotate(total=Sum("amount")).values("total")
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def with_unallocated(queryset: QuerySet[Payment]) -> QuerySet[Any]:
    """Annotate allocated_amount (invoices and cost claims), returned_amount and
    unallocated_amount."""
    ledger = claims.ledger()
    costs = (
        _summed(ledger.active_allocations().filter(payment=OuterRef("pk")), "payment")
        if ledger is not None
        else Value(ZERO, output_field=_MONEY)
    )
    return queryset.annotate(
        invoice_allocated_amount=_summed(
            Allocation.objects.filter(payment=OuterRef("pk"), reversed_at__isnull=True), "payment"
        ),
        cost_allocated_amount=costs,
        returned_amount=_summed(ReturnEvent.objects.filter(payment=OuterRef("pk")), "payment"),
    ).annotate(
        allocated_amount=Coalesce("invoice_allocated_amount", Value(ZERO))
        + Coalesce("cost_allocated_amount", Value(ZERO)),
        # Round: SQLite evaluates the difference in floating point (3.55e-15 for 0.00).
        unallocated_amount=Round(
            Coalesce("amount", Value(ZERO))
            - Coalesce("invoice_allocated_amount", Value(ZERO))
            - Coalesce("cost_allocated_amount", Value(ZERO))
            - Coalesce("returned_amount", Value(ZERO)),
            2,
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
    )


def unallocated_amount(payment_id: int) -> Decimal:
    row = with_unallocated(Payment.objects.filter(pk=payment_id)).values("unallocated_amount")
    return round_money(row.get()["unallocated_amount"])


def credit_balance(customer_id: int) -> Decimal:
    """The customer's credit: money received and not allocated, minus refunds holding it."""
    return credit_balances([customer_id])[customer_id]


def credit_balances(customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """``credit_balance`` of many customers, in four (five with dunning costs) grouped
    queries."""
    ids = sorted(set(customer_ids))
    balances = dict.fromkeys(ids, ZERO)
    ledger = claims.ledger()
    spent_on_costs = (
        [
            (
                ledger.active_allocations().filter(payment__customer_id__in=ids),
                "payment__customer_id",
                -1,
            )
        ]
        if ledger is not None
        else []
    )
    for queryset, group, sign in (
        *spent_on_costs,
        (Payment.objects.filter(customer_id__in=ids), "customer_id", 1),
        (
            Allocation.objects.filter(payment__customer_id__in=ids, reversed_at__isnull=True),
            "payment__customer_id",
            -1,
        ),
        (ReturnEvent.objects.filter(payment__customer_id__in=ids), "payment__customer_id", -1),
        (
            Refund.objects.filter(customer_id__in=ids, status__in=Refund.RESERVING),
            "customer_id",
            -1,
        ),
    ):
        grouped = queryset.order_by().values(group).annotate(total=Sum("amount"))
        for row in grouped.values_list(group, "total"):
            balances[row[0]] += sign * round_money(row[1] or ZERO)
    return balances


def credit_sources(customer_id: int) -> list[Payment]:
    """The customer's payments with money left to allocate, oldest first (FIFO)."""
    return list(
        with_unallocated(Payment.objects.filter(customer_id=customer_id))
        .filter(unallocated_amount__gt=0)
        .order_by("date", "pk")
    )


def open_amounts(invoice_ids: list[int]) -> dict[int, Decimal]:
    """Open amount per invoice (DESIGN invariant 8, see invoicing.selectors)."""
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts

    rows = with_open_amounts(Invoice.objects.filter(pk__in=invoice_ids)).values("pk", "open_amount")
    return {row["pk"]: round_money(row["open_amount"]) for row in rows}


def open_fees(customer_id: int) -> QuerySet[FeeItem]:
    return FeeItem.objects.filter(customer_id=customer_id, state=FeeItem.State.OPEN)


def needs_confirmation(actor: Actor) -> bool:
    """Does a manual payment entered by ``actor`` wait for a second person?"""
    return PaymentSettings.load().require_payment_confirmation and not actor.has_role("accountant")


def is_disputed(invoice_id: int) -> bool:
    return Dispute.objects.filter(invoice_id=invoice_id, cleared_at__isnull=True).exists()


def unmatched_payments() -> QuerySet[Any]:
    """Payments nobody has assigned to a customer yet (the to-do list)."""
    return with_unallocated(Payment.objects.filter(customer__isnull=True)).filter(
        unallocated_amount__gt=0
    )


# --- the back office's lists -----------------------------------------------------------------


def payment_list(
    *,
    text: str = "",
    source: str = "",
    method: str = "",
    state: str = "",
    date_from: Any = None,
    date_to: Any = None,
) -> QuerySet[Any]:
    """Payments with their allocated and unallocated amounts, newest first; ``state`` is
    ``allocated`` (nothing left) or ``unallocated`` (money left to assign)."""
    from django.db.models import Q

    queryset = Payment.objects.select_related("customer")
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(payer_name__icontains=text)
            | Q(reference__icontains=text)
            | Q(customer__name__icontains=text)
            | Q(customer__number__iexact=text)
            | Q(payer_iban=text.replace(" ", "").upper())
        )
    if source:
        queryset = queryset.filter(source=source)
    if method:
        queryset = queryset.filter(method=method)
    if date_from:
        queryset = queryset.filter(date__gte=date_from)
    if date_to:
        queryset = queryset.filter(date__lte=date_to)
    annotated = with_unallocated(queryset)
    if state == "unallocated":
        annotated = annotated.filter(unallocated_amount__gt=0)
    elif state == "allocated":
        annotated = annotated.filter(unallocated_amount__lte=0)
    return annotated.order_by("-date", "-pk")


def returns_list() -> QuerySet[ReturnEvent]:
    """Returned debits and chargebacks, newest first, with what they concern and their
    disputes (prefetched)."""
    return (
        ReturnEvent.objects.select_related("customer", "invoice", "payment")
        .prefetch_related("disputes")
        .order_by("-created_at", "-pk")
    )


def pending_requests() -> QuerySet[Any]:
    """Manual payments entered by the cashier that wait for a second person."""
    from faktura.payments.models import PaymentRequest

    return (
        PaymentRequest.objects.filter(status=PaymentRequest.Status.PENDING)
        .select_related("customer", "invoice")
        .order_by("requested_at", "pk")
    )


def pending_refunds() -> QuerySet[Refund]:
    """Refunds of customer credit requested and waiting for an approver."""
    return (
        Refund.objects.filter(status=Refund.Status.REQUESTED)
        .select_related("customer")
        .order_by("requested_at", "pk")
    )


def approved_refunds() -> QuerySet[Refund]:
    """Refunds approved and waiting for the next refund file (pain.001)."""
    return (
        Refund.objects.filter(status=Refund.Status.APPROVED, batch__isnull=True)
        .select_related("customer")
        .order_by("approved_at", "pk")
    )


def approved_refunds_sum() -> tuple[int, Decimal]:
    """How many approved refunds wait for a refund file, and their sum."""
    found = approved_refunds().aggregate(count=Count("pk"), total=Sum("amount"))
    return found["count"], found["total"] or ZERO


def refund_execution_date() -> dt.date:
    """The execution date of a new refund file unless one is given: the next TARGET2
    business day."""
    from faktura.collection.calendar import next_business_day

    return next_business_day(clock.today())


def paying_account() -> BankAccount | None:
    """The company's account that pays refunds out: its default account, else the first."""
    accounts = BankAccount.objects.order_by("pk")
    return accounts.filter(is_default=True).first() or accounts.first()
