"""/reports: the receivables reports (read-only) as JSON, or as CSV/XLSX with ``format``.

Open items and aging at a date, DSO of a period, a customer's payment history, overdue
amounts by dunning level, the cash-in forecast. The figures come from
``faktura.reporting.open_items`` and ``faktura.reporting.receivables``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api.auth import read_auth
from faktura.api.fields import MoneyOut
from faktura.api.report_files import file_response
from faktura.api.schemas import ErrorOut
from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.core.money import format_amount
from faktura.reporting import open_items as items_selectors
from faktura.reporting import receivables
from faktura.reporting import receivables_tables as tables

router = Router(tags=["reports"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
FILE = {
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        },
    }
}
ReportFormat = Literal["json", "csv", "xlsx"]
DSO_DEFAULT_DAYS = 90
FORMAT_DOC = "json (default), csv (German spreadsheet: ; and decimal comma) or xlsx"


class FormatQuery(Schema):
    format: ReportFormat = Field("json", description=FORMAT_DOC)


class DateQuery(FormatQuery):
    date: dt.date | None = Field(None, description="YYYY-MM-DD, the end of that day; default today")


def _money(value: Decimal) -> str:
    return format_amount(value)


def _day(value: dt.date | None) -> dt.date:
    return value if value is not None else clock.today()


# --- open items ----------------------------------------------------------------------


class OpenItemOut(Schema):
    kind: Literal["invoice", "credit_note", "cancellation", "payment", "refund"]
    object_id: int = Field(description="The invoice, payment or refund")
    customer: int
    customer_number: str
    customer_name: str
    reference: str = Field(description="Document number, remittance text or refund reference")
    document_date: dt.date
    due_date: dt.date | None
    amount: MoneyOut = Field(description="The document's amount (− for credits)")
    open_amount: MoneyOut = Field(description="Open at the end of the date (− owed back)")
    days_overdue: int


class OpenItemsOut(Schema):
    object: Literal["open_items"] = "open_items"
    date: dt.date
    currency: str = "EUR"
    total: MoneyOut = Field(description="Σ open_amount")
    count: int
    data: list[OpenItemOut]


@router.get(
    "/open-items",
    response={200: OpenItemsOut, **READ_ERRORS},
    auth=read_auth,
    openapi_extra={"responses": {200: FILE}},
)
def get_open_items(request: HttpRequest, params: Query[DateQuery]) -> Any:
    """Open items (OP-Liste) at the end of ``date``: open invoices, credit notes owing money
    back, unallocated payments and refunds, as they stood then (later payments, allocations
    and credit notes not counted). Fees and dunning costs are not items."""
    day = _day(params.date)
    found = items_selectors.open_items(day)
    if params.format != "json":
        return file_response(tables.open_items_table(day, found), params.format)
    return OpenItemsOut(
        date=day,
        total=_money(sum((i.open_amount for i in found), Decimal("0.00"))),
        count=len(found),
        data=[
            OpenItemOut(
                kind=i.kind,  # type: ignore[arg-type]
                object_id=i.object_id,
                customer=i.customer_id,
                customer_number=i.customer_number,
                customer_name=i.customer_name,
                reference=i.reference,
                document_date=i.document_date,
                due_date=i.due_date,
                amount=_money(i.amount),
                open_amount=_money(i.open_amount),
                days_overdue=i.days_overdue,
            )
            for i in found
        ],
    )


# --- aging ---------------------------------------------------------------------------


class AgingQuery(DateQuery):
    by_customer: bool = Field(False, description="One row per customer besides the total")


class BucketOut(Schema):
    bucket: Literal["not_due", "days_1_30", "days_31_60", "days_61_90", "over_90", "credits"]
    amount: MoneyOut
    count: int


class AgingRowOut(Schema):
    customer: int | None
    customer_number: str
    customer_name: str
    buckets: list[BucketOut]
    total: MoneyOut
    count: int


class AgingOut(Schema):
    object: Literal["aging"] = "aging"
    date: dt.date
    currency: str = "EUR"
    total: AgingRowOut = Field(description="All customers; Σ buckets = the open items' total")
    customers: list[AgingRowOut] = Field(description="Per customer (with by_customer=true)")


def _aging_row(row: items_selectors.Aging) -> AgingRowOut:
    return AgingRowOut(
        customer=row.customer_id,
        customer_number=row.customer_number,
        customer_name=row.customer_name,
        buckets=[
            BucketOut(bucket=b.key, amount=_money(b.amount), count=b.count)  # type: ignore[arg-type]
            for b in row.buckets
        ],
        total=_money(row.total),
        count=row.count,
    )


@router.get(
    "/aging",
    response={200: AgingOut, **READ_ERRORS},
    auth=read_auth,
    openapi_extra={"responses": {200: FILE}},
)
def get_aging(request: HttpRequest, params: Query[AgingQuery]) -> Any:
    """The open items at the end of ``date`` by days past due: not yet due, 1–30, 31–60,
    61–90, over 90 days, and credits (no due date); sums and counts."""
    day = _day(params.date)
    (total,) = items_selectors.aging(day)
    customers = items_selectors.aging(day, by_customer=True) if params.by_customer else []
    if params.format != "json":
        return file_response(tables.aging_table(day, [*customers, total]), params.format)
    return AgingOut(date=day, total=_aging_row(total), customers=[_aging_row(c) for c in customers])


# --- DSO -----------------------------------------------------------------------------


class PeriodQuery(FormatQuery):
    date_from: dt.date | None = Field(
        None, alias="from", description="YYYY-MM-DD; default 90 days up to `to`"
    )
    date_to: dt.date | None = Field(None, alias="to", description="YYYY-MM-DD; default today")


class DsoOut(Schema):
    object: Literal["dso"] = "dso"
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    days: int
    receivables: MoneyOut = Field(description="Σ open invoices at the end of `to`")
    revenue: MoneyOut = Field(description="Invoiced − credited in the period (gross)")
    dso: str | None = Field(
        description="receivables / revenue × days, one decimal; null without revenue",
        examples=["42.5"],
    )
    currency: str = "EUR"

    model_config = {"populate_by_name": True}


@router.get(
    "/dso",
    response={200: DsoOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
    openapi_extra={"responses": {200: FILE}},
)
def get_dso(request: HttpRequest, params: Query[PeriodQuery]) -> Any:
    """Days sales outstanding = receivables at the end of the period / revenue of the
    period × days of the period (default: the 90 days up to today)."""
    end = _day(params.date_to)
    start = params.date_from or end - dt.timedelta(days=DSO_DEFAULT_DAYS - 1)
    figure = receivables.dso(start, end)
    if params.format != "json":
        return file_response(tables.dso_table(figure), params.format)
    return DsoOut.model_validate(
        {
            "from": figure.start,
            "to": figure.end,
            "days": figure.days,
            "receivables": _money(figure.receivables),
            "revenue": _money(figure.revenue),
            "dso": None if figure.dso is None else str(figure.dso),
        }
    )


# --- payment history -----------------------------------------------------------------


class HistoryPaymentOut(Schema):
    id: int
    date: dt.date
    amount: MoneyOut
    method: str
    reference: str


class HistoryReturnOut(Schema):
    id: int
    kind: Literal["returned_debit", "chargeback"]
    date: dt.date
    amount: MoneyOut
    reason_code: str
    invoice_number: str | None


class PaymentHistoryOut(Schema):
    object: Literal["payment_history"] = "payment_history"
    customer: int
    customer_number: str
    currency: str = "EUR"
    payment_count: int
    payment_total: MoneyOut
    returned_debit_count: int
    returned_debit_total: MoneyOut
    chargeback_count: int
    chargeback_total: MoneyOut
    allocation_count: int = Field(description="Active allocations the averages are over")
    average_days_from_issue: str | None = Field(
        description="Days from the invoice date to the allocation, one decimal",
        examples=["12.5"],
    )
    average_days_after_due: str | None = Field(
        description="Days from the due date to the allocation (negative: early)"
    )
    payments: list[HistoryPaymentOut]
    returns: list[HistoryReturnOut]


@router.get(
    "/customers/{customer_id}/payment-history",
    response={200: PaymentHistoryOut, **READ_ERRORS},
    auth=read_auth,
    openapi_extra={"responses": {200: FILE}},
)
def get_payment_history(request: HttpRequest, customer_id: int, params: Query[FormatQuery]) -> Any:
    """A customer's payments, returned debits and chargebacks, and the average days to pay."""
    history = receivables.payment_history(customer_id)
    if params.format != "json":
        return file_response(tables.payment_history_table(history), params.format)

    def days(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return PaymentHistoryOut(
        customer=history.customer.pk,
        customer_number=history.customer.number,
        payment_count=history.payment_count,
        payment_total=_money(history.payment_total),
        returned_debit_count=history.returned_debit_count,
        returned_debit_total=_money(history.returned_debit_total),
        chargeback_count=history.chargeback_count,
        chargeback_total=_money(history.chargeback_total),
        allocation_count=history.allocation_count,
        average_days_from_issue=days(history.average_days_from_issue),
        average_days_after_due=days(history.average_days_after_due),
        payments=[
            HistoryPaymentOut(
                id=p["pk"],
                date=p["date"],
                amount=_money(p["amount"]),
                method=p["method"],
                reference=p["reference"][:140],
            )
            for p in history.payments
        ],
        returns=[
            HistoryReturnOut(
                id=r["pk"],
                kind=r["kind"],
                date=r["booking_date"] or r["created_at"].date(),
                amount=_money(r["amount"]),
                reason_code=r["reason_code"],
                invoice_number=r["invoice__number"],
            )
            for r in history.returns
        ],
    )


# --- overdue by dunning level --------------------------------------------------------


class OverdueRowOut(Schema):
    customer: int
    customer_number: str
    customer_name: str
    level: int = Field(description="Dunning level reached (0: none yet)")
    count: int
    open_amount: MoneyOut


class OverdueLevelOut(Schema):
    level: int
    count: int
    open_amount: MoneyOut


class OverdueOut(Schema):
    object: Literal["overdue_by_level"] = "overdue_by_level"
    date: dt.date
    currency: str = "EUR"
    total: MoneyOut
    levels: list[OverdueLevelOut] = Field(description="Σ over customers, per level")
    data: list[OverdueRowOut]


@router.get(
    "/overdue-by-level",
    response={200: OverdueOut, **READ_ERRORS},
    auth=read_auth,
    openapi_extra={"responses": {200: FILE}},
)
def get_overdue_by_level(request: HttpRequest, params: Query[DateQuery]) -> Any:
    """Open invoices past due at ``date``, per customer and the dunning level they reached."""
    day = _day(params.date)
    rows = receivables.overdue_by_level(day)
    if params.format != "json":
        return file_response(tables.overdue_table(day, rows), params.format)
    levels: dict[int, list[Any]] = {}
    for row in rows:  # the grouped rows, not the invoices
        entry = levels.setdefault(row.level, [0, Decimal("0.00")])
        entry[0] += row.count
        entry[1] += row.open_amount
    return OverdueOut(
        date=day,
        total=_money(sum((r.open_amount for r in rows), Decimal("0.00"))),
        levels=[
            OverdueLevelOut(level=level, count=n, open_amount=_money(s))
            for level, (n, s) in sorted(levels.items())
        ],
        data=[
            OverdueRowOut(
                customer=r.customer_id,
                customer_number=r.customer_number,
                customer_name=r.customer_name,
                level=r.level,
                count=r.count,
                open_amount=_money(r.open_amount),
            )
            for r in rows
        ],
    )


# --- cash-in forecast ----------------------------------------------------------------


class ForecastQuery(FormatQuery):
    date_from: dt.date | None = Field(None, alias="from", description="YYYY-MM-DD; default today")
    weeks: int | None = Field(None, ge=1, le=104, description="Weeks of 7 days from `from`")
    months: int | None = Field(
        None, ge=1, le=24, description="Calendar months instead (the first from `from`)"
    )


class ForecastPeriodOut(Schema):
    start: dt.date
    end: dt.date
    due_invoices: MoneyOut = Field(description="Open amounts due in the period (no debit)")
    direct_debits: MoneyOut = Field(description="Scheduled direct debits collected then")
    total: MoneyOut


class ForecastOut(Schema):
    object: Literal["cash_forecast"] = "cash_forecast"
    date_from: dt.date = Field(alias="from")
    currency: str = "EUR"
    overdue: MoneyOut = Field(description="Already past due at `from` (not in a debit)")
    total: MoneyOut = Field(description="Σ periods")
    periods: list[ForecastPeriodOut]

    model_config = {"populate_by_name": True}


@router.get(
    "/cash-forecast",
    response={200: ForecastOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
    openapi_extra={"responses": {200: FILE}},
)
def get_cash_forecast(request: HttpRequest, params: Query[ForecastQuery]) -> Any:
    """Expected money in per week (``weeks``, default 8) or month (``months``) from
    ``from``: open invoices on their due date, scheduled direct debits on their collection
    date."""
    if params.weeks is not None and params.months is not None:
        raise InvalidInput("Give weeks or months, not both.", code="invalid_period", field="months")
    forecast = receivables.cash_forecast(
        _day(params.date_from),
        weeks=params.weeks or (0 if params.months else 8),
        months=params.months or 0,
    )
    if params.format != "json":
        return file_response(tables.forecast_table(forecast), params.format)
    return ForecastOut.model_validate(
        {
            "from": forecast.start,
            "overdue": _money(forecast.overdue),
            "total": _money(sum((p.total for p in forecast.periods), Decimal("0.00"))),
            "periods": [
                ForecastPeriodOut(
                    start=p.start,
                    end=p.end,
                    due_invoices=_money(p.due_invoices),
                    direct_debits=_money(p.direct_debits),
                    total=_money(p.total),
                )
                for p in forecast.periods
            ],
        }
    )
