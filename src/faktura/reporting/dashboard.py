"""The figures of the back office's start page, each one SQL aggregate.

Open receivables count what customers owe on finalized invoices (open amount > 0);
overdue is the part past its due date. DSO is the receivables report's figure
(``reporting.receivables.dso``) for the last 90 days, in whole days (0 without revenue).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce

from faktura.core.money import ZERO
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.reporting import receivables as receivables_report
from faktura.reporting import revenue

DSO_DAYS = 90


@dataclass(frozen=True)
class Receivables:
    open_total: Decimal
    open_count: int
    overdue_total: Decimal
    overdue_count: int
    overdue_customers: int


@dataclass(frozen=True)
class MonthRevenue:
    month: dt.date  # the first day of the month
    net: Decimal


@dataclass(frozen=True)
class OverdueCustomer:
    customer_id: int
    name: str
    overdue: Decimal
    oldest_due: dt.date
    level: int | None  # the highest dunning level reached, None before the first notice


@dataclass(frozen=True)
class UpcomingDebit:
    collection_date: dt.date
    scheme: str
    count: int
    total: Decimal


def _open_invoices() -> object:
    return with_open_amounts(
        Invoice.objects.filter(status=Status.FINALIZED, kind=Kind.INVOICE)
    ).filter(open_amount__gt=0)


def receivables(on: dt.date) -> Receivables:
    overdue = Q(due_date__lt=on)
    totals = _open_invoices().aggregate(  # type: ignore[attr-defined]
        open_total=Coalesce(Sum("open_amount"), Value(ZERO)),
        open_count=Count("pk"),
        overdue_total=Coalesce(Sum("open_amount", filter=overdue), Value(ZERO)),
        overdue_count=Count("pk", filter=overdue),
        overdue_customers=Count("customer", filter=overdue, distinct=True),
    )
    return Receivables(**totals)


def received(start: dt.date, end: dt.date) -> Decimal:
    """Money that came in between the two days (both included)."""
    from faktura.payments.models import Payment

    total = Payment.objects.filter(date__gte=start, date__lte=end, amount__gt=0).aggregate(
        total=Sum("amount")
    )["total"]
    return total or ZERO


def revenue_by_month(last_month: dt.date, months: int = 12) -> list[MonthRevenue]:
    """Net revenue of each of ``months`` calendar months up to the one of ``last_month``
    (months without documents show 0)."""
    first = _month_start(last_month, -(months - 1))
    end = _month_start(last_month, 1) - dt.timedelta(days=1)
    sums = {row.key: row.net for row in revenue.revenue(first, end, "month")}
    return [
        MonthRevenue(month, sums.get(f"{month:%Y-%m}", ZERO))
        for month in (_month_start(first, n) for n in range(months))
    ]


def days_sales_outstanding(on: dt.date) -> int:
    figure = receivables_report.dso(on - dt.timedelta(days=DSO_DAYS - 1), on).dso
    return 0 if figure is None else int(figure.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def most_overdue(on: dt.date, limit: int = 5) -> list[OverdueCustomer]:
    """The customers who owe the most past due, with their oldest due date and the
    highest dunning level their overdue invoices reached."""
    rows = (
        _open_invoices()
        .filter(due_date__lt=on)  # type: ignore[attr-defined]
        .values("customer_id", "customer__name")
        .annotate(
            overdue=Sum("open_amount"),
            oldest_due=Min("due_date"),
            level=Max("dunning_case__level"),
        )
        .order_by("-overdue", "customer_id")[:limit]
    )
    return [
        OverdueCustomer(
            customer_id=row["customer_id"],
            name=row["customer__name"],
            overdue=row["overdue"],
            oldest_due=row["oldest_due"],
            level=row["level"],
        )
        for row in rows
    ]


def upcoming_debits(on: dt.date, limit: int = 3) -> list[UpcomingDebit]:
    """The next direct-debit batches not yet credited, by collection date."""
    from faktura.collection.models import DirectDebitBatch, DirectDebitItem

    rows = (
        DirectDebitItem.objects.filter(
            batch__collection_date__gte=on,
            batch__status__in=(DirectDebitBatch.Status.CREATED, DirectDebitBatch.Status.SUBMITTED),
        )
        .values("batch__collection_date", "batch__scheme")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("batch__collection_date", "batch__scheme")[:limit]
    )
    return [
        UpcomingDebit(r["batch__collection_date"], r["batch__scheme"], r["count"], r["total"])
        for r in rows
    ]


def _month_start(day: dt.date, offset: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)
