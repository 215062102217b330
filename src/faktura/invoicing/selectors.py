"""Derived figures of invoices: open amount, payment status, overdue.

Open amount = payable − finalized credit notes and cancellations − allocated payments
− write-offs (reversed allocations and write-offs no longer count). Never stored, always
derived.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from faktura.core.money import ZERO
from faktura.invoicing.models import Invoice, InvoiceQuerySet, Kind, Status

_MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)


def _sum_subquery(queryset: QuerySet, group: str, field: str) -> Coalesce:
    summed = queryset.order_by().values(group).annotate(total=Sum(field)).values("total")
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def with_open_amounts(queryset: InvoiceQuerySet) -> QuerySet[Any]:
    """Annotate credited_amount, allocated_amount and open_amount in one query."""
    from faktura.payments.models import Allocation, WriteOff

    credited = _sum_subquery(
        Invoice.objects.filter(original=OuterRef("pk"), status=Status.FINALIZED),
        "original",
        "grand_total",
    )
    allocated = _sum_subquery(
        Allocation.objects.filter(invoice=OuterRef("pk"), reversed_at__isnull=True),
        "invoice",
        "amount",
    )
    written_off = _sum_subquery(
        WriteOff.objects.filter(invoice=OuterRef("pk"), reversed_at__isnull=True),
        "invoice",
        "amount",
    )
    return queryset.annotate(
        credited_amount=credited, allocated_amount=allocated, written_off_amount=written_off
    ).annotate(
        # Round: SQLite evaluates the difference in floating point (3.55e-15 for 0.00).
        open_amount=Round(
            Coalesce("payable_amount", Value(ZERO))
            - Coalesce("credited_amount", Value(ZERO))
            - Coalesce("allocated_amount", Value(ZERO))
            - Coalesce("written_off_amount", Value(ZERO)),
            2,
            output_field=_MONEY,
        )
    )


def open_amount(invoice: Invoice) -> Decimal:
    row = with_open_amounts(Invoice.objects.filter(pk=invoice.pk)).values("open_amount").get()
    return row["open_amount"]


def payment_status(
    *, payable: Decimal, credited: Decimal, allocated: Decimal, cancelled: bool
) -> str:
    """Classify an invoice: cancelled, unpaid, partially_paid, paid, overpaid."""
    if cancelled:
        return "cancelled"
    due = payable - credited
    if allocated > due:
        return "overpaid"
    if allocated == due:
        return "paid"
    if allocated > 0:
        return "partially_paid"
    return "unpaid"


def is_overdue(*, due_date: dt.date | None, open_amount: Decimal, today: dt.date) -> bool:
    return due_date is not None and open_amount > 0 and due_date < today


def settlement(invoice: Invoice, *, today: dt.date) -> dict[str, object]:
    """Return open amount, payment status and overdue flag of one finalized invoice."""
    row = (
        with_open_amounts(Invoice.objects.filter(pk=invoice.pk))
        .values("credited_amount", "allocated_amount", "written_off_amount", "open_amount")
        .get()
    )
    cancelled = Invoice.objects.filter(
        original=invoice, kind=Kind.CANCELLATION, status=Status.FINALIZED
    ).exists()
    status = payment_status(
        payable=invoice.payable_amount,
        credited=row["credited_amount"],
        # A written-off difference is settled like a payment.
        allocated=row["allocated_amount"] + row["written_off_amount"],
        cancelled=cancelled,
    )
    return {
        "open_amount": row["open_amount"],
        "payment_status": status,
        "overdue": invoice.kind == Kind.INVOICE
        and is_overdue(due_date=invoice.due_date, open_amount=row["open_amount"], today=today),
    }


def filter_by_payment_state(queryset: InvoiceQuerySet, state: str, today: dt.date) -> QuerySet[Any]:
    """Filter invoices for the API's ``status`` parameter (open, paid, overdue …)."""
    annotated = with_open_amounts(queryset)
    if state == "open":
        return annotated.filter(status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__gt=0)
    if state == "paid":
        return annotated.filter(
            status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__lte=0
        ).exclude(corrections__kind=Kind.CANCELLATION, corrections__status=Status.FINALIZED)
    if state == "cancelled":
        return annotated.filter(
            corrections__kind=Kind.CANCELLATION, corrections__status=Status.FINALIZED
        )
    if state == "overdue":
        return annotated.filter(
            Q(status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__gt=0, due_date__lt=today)
        )
    return annotated.filter(status=state)
