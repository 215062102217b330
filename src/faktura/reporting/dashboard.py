"""The figures of the back office's start page, each one SQL aggregate.

``overview`` reads them all and keeps them (cache ``figures``) until the audit log's last
entry changes, which every change of money writes: repeated views of an unchanged
business cost one indexed lookup instead of a pass over every open invoice.

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

from faktura.core import audit
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.reporting import receivables as receivables_report
from faktura.reporting import revenue
from faktura.reporting.open_items import invoices_at

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


@dataclass(frozen=True)
class CustomerOpen:
    customer_id: int
    name: str
    open_total: Decimal
    open_count: int
    overdue: Decimal
    overdue_count: int
    oldest_due: dt.date | None


def open_by_customer(on: dt.date) -> list[CustomerOpen]:
    """What each customer owes at the end of ``on`` (the receivables report's open
    amounts): one pass over the invoices, grouped by customer."""
    overdue = Q(due_date__lt=on)
    rows = (
        invoices_at(on, unsettled=True)
        .filter(open_at__gt=0)
        .values("customer_id", "customer__name")
        .annotate(
            open_total=Sum("open_at"),
            open_count=Count("pk"),
            overdue=Coalesce(Sum("open_at", filter=overdue), Value(ZERO)),
            overdue_count=Count("pk", filter=overdue),
            oldest_due=Min("due_date", filter=overdue),
        )
        .order_by()
    )
    return [
        CustomerOpen(
            customer_id=row["customer_id"],
            name=row["customer__name"],
            open_total=round_money(row["open_total"]),
            open_count=row["open_count"],
            overdue=round_money(row["overdue"]),
            overdue_count=row["overdue_count"],
            oldest_due=row["oldest_due"],
        )
        for row in rows
    ]


def receivables(on: dt.date, customers: list[CustomerOpen] | None = None) -> Receivables:
    """The totals of ``open_by_customer`` (pass it when already read)."""
    rows = open_by_customer(on) if customers is None else customers
    return Receivables(
        open_total=sum((r.open_total for r in rows), ZERO),
        open_count=sum(r.open_count for r in rows),
        overdue_total=sum((r.overdue for r in rows), ZERO),
        overdue_count=sum(r.overdue_count for r in rows),
        overdue_customers=sum(1 for r in rows if r.overdue_count),
    )


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


def days_sales_outstanding(on: dt.date, receivables_at_end: Decimal | None = None) -> int:
    figure = receivables_report.dso(
        on - dt.timedelta(days=DSO_DAYS - 1), on, receivables=receivables_at_end
    ).dso
    return 0 if figure is None else int(figure.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def most_overdue(
    on: dt.date, limit: int = 5, customers: list[CustomerOpen] | None = None
) -> list[OverdueCustomer]:
    """The customers who owe the most past due, with their oldest due date and the
    highest dunning level their overdue invoices reached."""
    rows = open_by_customer(on) if customers is None else customers
    top = sorted((r for r in rows if r.overdue_count), key=lambda r: (-r.overdue, r.customer_id))
    top = top[:limit]
    levels = dict(
        Invoice.objects.filter(
            customer_id__in=[r.customer_id for r in top],
            status=Status.FINALIZED,
            kind=Kind.INVOICE,
            due_date__lt=on,
            dunning_case__isnull=False,
        )
        .values("customer_id")
        .annotate(level=Max("dunning_case__level"))
        .values_list("customer_id", "level")
    )
    return [
        OverdueCustomer(
            customer_id=row.customer_id,
            name=row.name,
            overdue=row.overdue,
            oldest_due=row.oldest_due,  # type: ignore[arg-type]
            level=levels.get(row.customer_id),
        )
        for row in top
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


@dataclass(frozen=True)
class Overview:
    day: dt.date
    receivables: Receivables
    received: Decimal  # the last 30 days
    received_before: Decimal  # the 30 days before them
    dso: int
    months: list[MonthRevenue]
    most_overdue: list[OverdueCustomer]
    debits: list[UpcomingDebit]


def overview(on: dt.date) -> Overview:
    """Everything the start page shows, as of ``on``."""
    from django.core.cache import caches

    key = f"start-page:{on.isoformat()}:{audit.version()}"
    cache = caches["figures"]
    figures = cache.get(key)
    if figures is None:
        figures = _overview(on)
        cache.set(key, figures)
    return figures


def _overview(on: dt.date) -> Overview:
    month = dt.timedelta(days=30)
    # One pass over the open invoices for the receivables, the DSO and the top debtors.
    customers = open_by_customer(on)
    totals = receivables(on, customers)
    return Overview(
        day=on,
        receivables=totals,
        received=received(on - month + dt.timedelta(days=1), on),
        received_before=received(on - 2 * month + dt.timedelta(days=1), on - month),
        dso=days_sales_outstanding(on, totals.open_total),
        months=revenue_by_month(on),
        most_overdue=most_overdue(on, customers=customers),
        debits=upcoming_debits(on),
    )
