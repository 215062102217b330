"""/reports: revenue, the VAT advance return's figures, dunning and subscription figures.

Read-only. Each report answers as JSON, or as a CSV or XLSX file with ``format``. The
period defaults to the current month; ``to`` before ``from`` is refused.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api.auth import read_auth
from faktura.api.fields import MoneyOut
from faktura.api.report_files import MIME, file_response
from faktura.api.schemas import ErrorOut
from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.core.money import format_amount
from faktura.reporting import dunning_figures as dunning
from faktura.reporting import revenue as revenue_report
from faktura.reporting import subscription_figures as subscriptions
from faktura.reporting import vat

router = Router(tags=["reports"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 422: ErrorOut}
Format = Literal["json", "csv", "xlsx"]


def _or_files(schema: type[Schema]) -> dict[str, Any]:
    """The 200 answer: the JSON schema, or the file ``format=csv|xlsx`` asks for."""
    files = {
        media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
        for media in (MIME["csv"], MIME["xlsx"])
    }
    json = {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}
    return {"responses": {"200": {"content": {"application/json": json, **files}}}}


class PeriodQuery(Schema):
    date_from: dt.date | None = Field(
        None, alias="from", description="First day (YYYY-MM-DD); default: 1st of this month"
    )
    date_to: dt.date | None = Field(
        None, alias="to", description="Last day, included; default: end of this month"
    )
    format: Format = Field("json", description="json, or a csv / xlsx file")


class RevenueQuery(PeriodQuery):
    by: revenue_report.Dimension = Field("month", description="How the revenue is grouped")


def _period(query: PeriodQuery) -> tuple[dt.date, dt.date]:
    today = clock.today()
    start = query.date_from or today.replace(day=1)
    end = query.date_to or today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if end < start:
        raise InvalidInput(
            "to: the period ends before it begins.", code="invalid_period", field="to"
        )
    return start, end


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else format_amount(value)


class RevenueRowOut(Schema):
    key: str = Field(description="2026-11 (month), the SKU (product; '' without product, "
                     "'document_allowances' for document discounts), S-19.00 (category and "
                     "rate), business (customer kind)")  # fmt: skip
    label: str
    invoiced: MoneyOut = Field(description="Net of the invoices")
    corrected: MoneyOut = Field(description="Net of the credit notes and cancellations")
    net: MoneyOut = Field(description="invoiced − corrected")


class RevenueOut(Schema):
    object: Literal["revenue_report"] = "revenue_report"
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    by: str
    currency: str = "EUR"
    rows: list[RevenueRowOut]
    total: MoneyOut

    model_config = {"populate_by_name": True}


@router.get(
    "/revenue",
    response={200: RevenueOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
    openapi_extra=_or_files(RevenueOut),
)
def get_revenue(request: HttpRequest, params: Query[RevenueQuery]) -> Any:
    """Net revenue of finalized documents issued in the period: invoices − credit notes −
    cancellations, by month, product, tax rate or customer kind."""
    start, end = _period(params)
    if params.format != "json":
        return file_response(revenue_report.revenue_table(start, end, params.by), params.format)
    rows = revenue_report.revenue(start, end, params.by)
    return RevenueOut.model_validate(
        {
            "from": start,
            "to": end,
            "by": params.by,
            "rows": [
                RevenueRowOut(
                    key=r.key,
                    label=r.label,
                    invoiced=format_amount(r.invoiced),
                    corrected=format_amount(r.corrected),
                    net=format_amount(r.net),
                )
                for r in rows
            ],
            "total": format_amount(revenue_report.total(rows)),
        }
    )


class VatRowOut(Schema):
    kennzahl: str = Field(examples=["81"], description="Kennzahl of the form USt 1 A")
    label: str
    category: str = Field(examples=["S"], description="EN 16931 VAT category")
    rate: str = Field(examples=["19.00"])
    taxable_amount: MoneyOut = Field(description="Net, corrections subtracted")
    form_amount: int = Field(description="The taxable amount in full euros, as the form takes it")
    tax_amount: MoneyOut = Field(description="The VAT the documents charged")


class VatSummaryOut(Schema):
    object: Literal["vat_summary"] = "vat_summary"
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    currency: str = "EUR"
    rows: list[VatRowOut]
    taxable_total: MoneyOut
    tax_total: MoneyOut

    model_config = {"populate_by_name": True}


@router.get(
    "/vat-summary",
    response={200: VatSummaryOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
    openapi_extra=_or_files(VatSummaryOut),
)
def get_vat_summary(request: HttpRequest, params: Query[PeriodQuery]) -> Any:
    """The output side of the VAT advance return: taxable amounts and VAT per Kennzahl."""
    start, end = _period(params)
    if params.format != "json":
        return file_response(vat.vat_summary_table(start, end), params.format)
    summary = vat.vat_summary(start, end)
    return VatSummaryOut.model_validate(
        {
            "from": start,
            "to": end,
            "rows": [
                VatRowOut(
                    kennzahl=r.kennzahl,
                    label=r.label,
                    category=r.category,
                    rate=format_amount(r.rate),
                    taxable_amount=format_amount(r.taxable_amount),
                    form_amount=int(r.form_amount),
                    tax_amount=format_amount(r.tax_amount),
                )
                for r in summary.rows
            ],
            "taxable_total": format_amount(summary.taxable_total),
            "tax_total": format_amount(summary.tax_total),
        }
    )


class LevelNoticesOut(Schema):
    level: int
    notices: int
    principal: MoneyOut
    fees: MoneyOut
    interest: MoneyOut


class CostsOut(Schema):
    kind: Literal["fee", "flat_40", "interest"]
    charged: MoneyOut
    paid: MoneyOut
    waived: MoneyOut


class CollectionOut(Schema):
    cases_handed_over: int
    amount_handed_over: MoneyOut
    collected: MoneyOut
    agency_costs: MoneyOut


class LevelRecoveryOut(Schema):
    level: int
    invoices: int = Field(description="Invoices whose dunning reached this level in the period")
    recovered: int = Field(description="Of those, settled since without collection")
    recovered_amount: MoneyOut
    rate: str | None = Field(description="recovered ÷ invoices in percent")


class DunningFiguresOut(Schema):
    object: Literal["dunning_figures"] = "dunning_figures"
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    notices: list[LevelNoticesOut]
    costs: list[CostsOut]
    collection: CollectionOut
    recovery: list[LevelRecoveryOut]

    model_config = {"populate_by_name": True}


@router.get(
    "/dunning",
    response={200: DunningFiguresOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
    openapi_extra=_or_files(DunningFiguresOut),
)
def get_dunning_figures(request: HttpRequest, params: Query[PeriodQuery]) -> Any:
    """Notices per level, dunning costs charged/paid/waived, collection, recovery per level."""
    start, end = _period(params)
    if params.format != "json":
        return file_response(dunning.dunning_figures_table(start, end), params.format)
    figures = dunning.dunning_figures(start, end)
    money = format_amount
    return DunningFiguresOut.model_validate(
        {
            "from": start,
            "to": end,
            "notices": [
                LevelNoticesOut(
                    level=n.level,
                    notices=n.notices,
                    principal=money(n.principal),
                    fees=money(n.fees),
                    interest=money(n.interest),
                )
                for n in figures.notices
            ],
            "costs": [
                CostsOut(
                    kind=c.kind,  # type: ignore[arg-type]
                    charged=money(c.charged),
                    paid=money(c.paid),
                    waived=money(c.waived),
                )
                for c in figures.costs
            ],
            "collection": CollectionOut(
                cases_handed_over=figures.collection.cases_handed_over,
                amount_handed_over=money(figures.collection.amount_handed_over),
                collected=money(figures.collection.collected),
                agency_costs=money(figures.collection.agency_costs),
            ),
            "recovery": [
                LevelRecoveryOut(
                    level=r.level,
                    invoices=r.invoices,
                    recovered=r.recovered,
                    recovered_amount=money(r.recovered_amount),
                    rate=_percent(r.rate),
                )
                for r in figures.recovery
            ],
        }
    )


class MrrMovementOut(Schema):
    mrr_start: MoneyOut = Field(description="MRR at the end of the day before `from`")
    new: MoneyOut
    expansion: MoneyOut
    contraction: MoneyOut
    churn: MoneyOut
    churn_voluntary: MoneyOut = Field(description="Customers who gave notice")
    churn_failed_payment: MoneyOut = Field(description="Blocked for arrears or in collection")
    churn_other: MoneyOut
    reactivation: MoneyOut
    mrr_end: MoneyOut = Field(
        description="= mrr_start + new + expansion − contraction − churn + reactivation"
    )
    customers: dict[str, int] = Field(description="Customers per movement and churn reason")


class SubscriptionFiguresOut(Schema):
    object: Literal["subscription_figures"] = "subscription_figures"
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    currency: str = "EUR"
    mrr: MrrMovementOut
    trials_ended: int
    trials_converted: int
    trial_conversion_rate: str | None = Field(description="In percent; null without trials")
    card_payments_failed: int
    recovered_by_retries: int
    recovered_by_retries_rate: str | None
    recovered_by_dunning: int
    recovered_by_dunning_rate: str | None

    model_config = {"populate_by_name": True}


@router.get(
    "/subscriptions",
    response={200: SubscriptionFiguresOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
    openapi_extra=_or_files(SubscriptionFiguresOut),
)
def get_subscription_figures(request: HttpRequest, params: Query[PeriodQuery]) -> Any:
    """MRR and its movement, churn by reason, trial conversion and failed card payments
    recovered by retries and by dunning."""
    start, end = _period(params)
    if params.format != "json":
        return file_response(subscriptions.subscription_figures_table(start, end), params.format)
    movement = subscriptions.mrr_movement(start, end)
    trials = subscriptions.trial_conversion(start, end)
    recovery = subscriptions.payment_recovery(start, end)
    money = format_amount
    return SubscriptionFiguresOut.model_validate(
        {
            "from": start,
            "to": end,
            "mrr": MrrMovementOut(
                mrr_start=money(movement.mrr_start),
                new=money(movement.new),
                expansion=money(movement.expansion),
                contraction=money(movement.contraction),
                churn=money(movement.churn),
                churn_voluntary=money(movement.churn_by_reason["voluntary"]),
                churn_failed_payment=money(movement.churn_by_reason["failed_payment"]),
                churn_other=money(movement.churn_by_reason["other"]),
                reactivation=money(movement.reactivation),
                mrr_end=money(movement.mrr_end),
                customers=movement.customers,
            ),
            "trials_ended": trials.trials_ended,
            "trials_converted": trials.converted,
            "trial_conversion_rate": _percent(trials.rate),
            "card_payments_failed": recovery.failed,
            "recovered_by_retries": recovery.recovered_by_retries,
            "recovered_by_retries_rate": _percent(recovery.share(recovery.recovered_by_retries)),
            "recovered_by_dunning": recovery.recovered_by_dunning,
            "recovered_by_dunning_rate": _percent(recovery.share(recovery.recovered_by_dunning)),
        }
    )
