"""Receivables figures beside the open items: DSO, payment history, overdue by dunning
level, cash-in forecast. Every figure is an SQL aggregate (GROUP BY / SUM).

DSO (days sales outstanding) of the period from A to B:

    DSO = receivables at the end of B / revenue of A…B × days of A…B

receivables = Σ open amounts of the invoices open at the end of B (``open_items``, the
positive items); revenue = Σ payable amounts of the invoices issued in A…B − Σ totals of
the credit notes and cancellations issued in A…B (gross, as the receivables are); days =
B − A + 1. No revenue in the period: no DSO (``None``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate

from faktura.collection.models import DirectDebitItem
from faktura.core.errors import InvalidInput, NotFound
from faktura.core.models import Company
from faktura.core.money import ZERO, round_money
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments.models import Allocation, Payment, ReturnEvent
from faktura.reporting.open_items import invoices_at

ONE_DECIMAL = Decimal("0.1")


def check_period(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise InvalidInput(
            f"The period starts ({start}) after it ends ({end}).",
            code="invalid_period",
            field="from",
        )


@dataclass(frozen=True)
class Dso:
    start: dt.date
    end: dt.date
    days: int
    receivables: Decimal
    revenue: Decimal
    dso: Decimal | None  # days, one decimal


def dso(start: dt.date, end: dt.date, *, receivables: Decimal | None = None) -> Dso:
    """Days sales outstanding of ``start``…``end`` (formula in the module docstring);
    ``receivables`` at the end of ``end`` when the caller has read them already."""
    check_period(start, end)
    if receivables is None:
        open_invoices = invoices_at(end, unsettled=True).filter(open_at__gt=0)
        receivables = round_money(open_invoices.aggregate(s=Sum("open_at"))["s"] or ZERO)
    issued = Invoice.objects.filter(status=Status.FINALIZED, issue_date__range=(start, end))
    sums = issued.aggregate(
        invoiced=Sum("payable_amount", filter=Q(kind=Kind.INVOICE)),
        credited=Sum("grand_total", filter=~Q(kind=Kind.INVOICE)),
    )
    revenue = round_money((sums["invoiced"] or ZERO) - (sums["credited"] or ZERO))
    days = (end - start).days + 1
    figure = (
        (receivables / revenue * days).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        if revenue > 0
        else None
    )
    return Dso(start, end, days, receivables, revenue, figure)


# --- payment history of one customer ---------------------------------------------------


@dataclass(frozen=True)
class PaymentHistory:
    customer: Customer
    payments: list[dict[str, Any]]
    returns: list[dict[str, Any]]  # returned debits and chargebacks
    payment_count: int
    payment_total: Decimal
    returned_debit_count: int
    returned_debit_total: Decimal
    chargeback_count: int
    chargeback_total: Decimal
    allocation_count: int
    average_days_from_issue: Decimal | None  # to the allocation, one decimal
    average_days_after_due: Decimal | None  # negative: paid before the due date


_RETURN_FIELDS = (
    "pk", "kind", "booking_date", "created_at", "amount", "reason_code", "invoice__number",
)  # fmt: skip


def payment_history(customer_id: int) -> PaymentHistory:
    """The customer's payments, returns and chargebacks, and how long invoices took to pay.

    Days to pay count from the invoice's issue date (and its due date) to the day its
    active allocations were made (company time zone), averaged over the allocations.
    Raises NotFound.
    """
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    payments = Payment.objects.filter(customer_id=customer_id).order_by("date", "pk")
    returns = ReturnEvent.objects.filter(customer_id=customer_id).order_by("created_at", "pk")
    totals = payments.aggregate(n=Count("pk"), s=Sum("amount"))
    by_kind = {
        row["kind"]: row
        for row in returns.order_by().values("kind").annotate(n=Count("pk"), s=Sum("amount"))
    }
    zone = ZoneInfo(Company.time_zone_or_default())
    # Grouped by (allocation day, issue date, due date): the averages fold the groups.
    groups = (
        Allocation.objects.filter(invoice__customer_id=customer_id, reversed_at__isnull=True)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day", "invoice__issue_date", "invoice__due_date")
        .annotate(n=Count("pk"))
    )
    count = from_issue = after_due = due_count = 0
    for row in groups:
        count += row["n"]
        from_issue += (row["day"] - row["invoice__issue_date"]).days * row["n"]
        if row["invoice__due_date"] is not None:
            due_count += row["n"]
            after_due += (row["day"] - row["invoice__due_date"]).days * row["n"]

    def average(total: int, n: int) -> Decimal | None:
        return (Decimal(total) / n).quantize(ONE_DECIMAL, ROUND_HALF_UP) if n else None

    def kind(name: str) -> tuple[int, Decimal]:
        row = by_kind.get(name)
        return (row["n"], round_money(row["s"])) if row else (0, ZERO)

    returned_n, returned_s = kind(ReturnEvent.Kind.RETURNED_DEBIT)
    chargeback_n, chargeback_s = kind(ReturnEvent.Kind.CHARGEBACK)
    return PaymentHistory(
        customer=customer,
        payments=[
            dict(row) for row in payments.values("pk", "date", "amount", "method", "reference")
        ],
        returns=list(returns.values(*_RETURN_FIELDS)),
        payment_count=totals["n"],
        payment_total=round_money(totals["s"] or ZERO),
        returned_debit_count=returned_n,
        returned_debit_total=returned_s,
        chargeback_count=chargeback_n,
        chargeback_total=chargeback_s,
        allocation_count=count,
        average_days_from_issue=average(from_issue, count),
        average_days_after_due=average(after_due, due_count),
    )


# --- overdue by customer and dunning level ---------------------------------------------


@dataclass(frozen=True)
class OverdueRow:
    customer_id: int
    customer_number: str
    customer_name: str
    level: int  # 0: no dunning notice yet
    count: int
    open_amount: Decimal


def overdue_by_level(day: dt.date) -> list[OverdueRow]:
    """Open invoices past their due date at ``day``, summed per customer and dunning level.

    The level is the invoice's ``DunningCase.level`` now (0 without a case).
    """
    rows = (
        with_open_amounts(
            Invoice.objects.filter(status=Status.FINALIZED, kind=Kind.INVOICE, due_date__lt=day)
        )
        .filter(open_amount__gt=0)
        .annotate(level=Coalesce("dunning_case__level", Value(0), output_field=IntegerField()))
        .order_by()
        .values("customer_id", "customer__number", "customer__name", "level")
        .annotate(n=Count("pk"), s=Sum("open_amount"))
    )
    result = [
        OverdueRow(
            customer_id=row["customer_id"],
            customer_number=row["customer__number"],
            customer_name=row["customer__name"],
            level=row["level"],
            count=row["n"],
            open_amount=round_money(row["s"]),
        )
        for row in rows
    ]
    result.sort(key=lambda r: (r.customer_number, r.level))
    return result


# --- cash-in forecast ------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastPeriod:
    start: dt.date
    end: dt.date
    due_invoices: Decimal  # open amounts due in the period, not in a direct debit
    direct_debits: Decimal  # direct debits to be collected in the period
    total: Decimal


@dataclass(frozen=True)
class Forecast:
    start: dt.date
    overdue: Decimal  # open amounts already past due at ``start`` (not in a debit)
    periods: list[ForecastPeriod]


def forecast_periods(
    start: dt.date, *, weeks: int = 0, months: int = 0
) -> list[tuple[dt.date, dt.date]]:
    """Weeks from ``start`` (7 days each), or calendar months (the first from ``start``)."""
    if weeks:
        return [
            (start + dt.timedelta(days=7 * i), start + dt.timedelta(days=7 * i + 6))
            for i in range(weeks)
        ]
    periods = []
    first = start
    for _ in range(months):
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        periods.append((first, last))
        first = last + dt.timedelta(days=1)
    return periods


def _period_case(column: str, periods: list[tuple[dt.date, dt.date]]) -> Case:
    return Case(
        *[When(**{f"{column}__range": (a, b)}, then=Value(i)) for i, (a, b) in enumerate(periods)],
        default=Value(-1),
        output_field=IntegerField(),
    )


def cash_forecast(start: dt.date, *, weeks: int = 0, months: int = 0) -> Forecast:
    """Expected money in per week (or month) from ``start``, from what is known today.

    Direct debits in a batch not yet settled (pending, submitted) count on the batch's
    collection date; every other open invoice on its due date. Invoices already in such a
    debit are not counted twice.
    """
    periods = forecast_periods(start, weeks=weeks, months=months)
    holding = DirectDebitItem.objects.filter(
        invoice=OuterRef("pk"),
        state__in=(DirectDebitItem.State.PENDING, DirectDebitItem.State.SUBMITTED),
    )
    open_invoices = with_open_amounts(
        Invoice.objects.filter(status=Status.FINALIZED, kind=Kind.INVOICE).filter(
            ~Exists(holding), due_date__isnull=False, due_date__lte=periods[-1][1]
        )
    ).filter(open_amount__gt=0)
    overdue = open_invoices.filter(due_date__lt=start).aggregate(s=Sum("open_amount"))["s"]
    due = dict(
        open_invoices.filter(due_date__gte=start)
        .annotate(period=_period_case("due_date", periods))
        .order_by()
        .values_list("period")
        .annotate(s=Sum("open_amount"))
    )
    debits = dict(
        DirectDebitItem.objects.filter(
            state__in=(DirectDebitItem.State.PENDING, DirectDebitItem.State.SUBMITTED),
            batch__collection_date__range=(periods[0][0], periods[-1][1]),
        )
        .annotate(period=_period_case("batch__collection_date", periods))
        .order_by()
        .values_list("period")
        .annotate(s=Sum("amount"))
    )
    result = []
    for i, (a, b) in enumerate(periods):
        from_due = round_money(due.get(i) or ZERO)
        from_debits = round_money(debits.get(i) or ZERO)
        result.append(ForecastPeriod(a, b, from_due, from_debits, from_due + from_debits))
    return Forecast(start=start, overdue=round_money(overdue or ZERO), periods=result)
