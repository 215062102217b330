"""Typed shapes of the subscription resources: plans, courses, coupons, subscriptions,
charges, quotes, next-invoice previews and billing runs."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from faktura.api.fields import (
    Amount,
    InputSchema,
    MoneyOut,
    Percent,
    Quantity,
    Timestamp,
    UnitPrice,
)
from faktura.api.schemas import InvoiceTaxOut, Page, ServicePeriodOut

Interval = Literal["week", "month", "quarter", "half_year", "year"]
Timing = Literal["in_advance", "in_arrears"]
PriceMode = Literal["net", "gross"]
NoticeUnit = Literal["days", "months"]
AfterMinimumTerm = Literal["indefinite", "renews"]
PaymentMethod = Literal["transfer", "direct_debit", "provider"]
SubscriptionStatus = Literal["trialing", "active", "paused", "cancelling", "ended"]

__all__ = ["Page"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


# --- plans -----------------------------------------------------------------------------------


class PlanIn(InputSchema):
    code: str = Field(max_length=50, description="Letters, digits, - and _", examples=["pro"])
    name: str = Field(max_length=200, examples=["Mitgliedschaft Pro"])
    sku: str = Field(max_length=50, description="The product: tax rate, unit and kind of the lines")
    interval: Interval
    price: UnitPrice = Field(description="Price per interval, in price_mode")
    timing: Timing = Field("in_advance", description="Bill each period at its start or end")
    price_mode: PriceMode = "net"
    setup_fee: Amount = Field("0.00", description="Billed once with the first period")
    trial_days: int = Field(0, ge=0, le=366)
    minimum_term_months: int = Field(0, ge=0, le=120)
    notice_value: int = Field(1, ge=0, le=366)
    notice_unit: NoticeUnit = "months"
    after_minimum_term: AfterMinimumTerm = Field(
        "indefinite",
        description="indefinite: runs on with the notice period; renews: by renewal_months",
    )
    renewal_months: int = Field(12, ge=0, le=120)
    renewal_notice_days: int = Field(0, ge=0, le=366, description="0: no renewal notice")


class PriceChangeIn(InputSchema):
    effective_from: dt.date = Field(description="After today; at most one change per day")
    price: UnitPrice
    needs_consent: bool = Field(
        False, description="The new price applies only to subscribers who consented before"
    )
    notice_days: int = Field(42, ge=0, le=366, description="Announced this many days ahead")


class PriceChangeOut(Schema):
    id: int
    object: Literal["price_change"] = "price_change"
    effective_from: dt.date
    price: str = Field(examples=["34.90"])
    needs_consent: bool
    notice_days: int
    announce_on: dt.date
    created_at: Timestamp


class ContractTermsOut(Schema):
    minimum_term_months: int = Field(description="0: no minimum term")
    notice_value: int
    notice_unit: NoticeUnit
    after_minimum_term: AfterMinimumTerm
    renewal_months: int = Field(description="Only when after_minimum_term is renews")
    renewal_notice_days: int


class PlanOut(Schema):
    id: int
    object: Literal["plan"] = "plan"
    created_at: Timestamp
    code: str
    name: str
    sku: str
    interval: Interval
    timing: Timing
    price: str = Field(description="Per interval, up to 4 decimals", examples=["29.90"])
    price_mode: PriceMode
    setup_fee: MoneyOut
    currency: str = "EUR"
    trial_days: int
    contract_terms: ContractTermsOut
    price_changes: list[PriceChangeOut] = Field(description="Scheduled and past, by date")
    active: bool


class PlanList(_List):
    data: list[PlanOut]


# --- courses ---------------------------------------------------------------------------------


class InstalmentIn(InputSchema):
    due_on: dt.date
    amount: Amount


class CourseIn(InputSchema):
    code: str = Field(max_length=50)
    name: str = Field(max_length=200)
    sku: str = Field(max_length=50)
    price: Amount
    starts_on: dt.date
    ends_on: dt.date
    price_mode: PriceMode = "gross"
    instalments: list[InstalmentIn] = Field(
        default_factory=list,
        description="Must add up to price; none: the price is billed at booking",
    )


class InstalmentOut(Schema):
    number: int
    due_on: dt.date
    amount: MoneyOut


class CourseOut(Schema):
    id: int
    object: Literal["course"] = "course"
    created_at: Timestamp
    code: str
    name: str
    sku: str
    price: MoneyOut
    price_mode: PriceMode
    currency: str = "EUR"
    starts_on: dt.date
    ends_on: dt.date
    instalments: list[InstalmentOut]
    active: bool


class CourseList(_List):
    data: list[CourseOut]


class BookingIn(InputSchema):
    customer: int = Field(description="Customer id")
    payment_method: PaymentMethod = "transfer"
    mandate_id: int | None = Field(None, description="direct_debit: default the usable one")
    saved_payment_method_id: int | None = Field(
        None, description="provider: default the newest active one"
    )
    external_reference: str = Field(
        "", max_length=100, description="A repeated reference returns the first booking"
    )


# --- coupons ---------------------------------------------------------------------------------


class CouponIn(InputSchema):
    code: str = Field(max_length=50)
    name: str = Field(max_length=200)
    kind: Literal["percent", "amount"]
    value: Percent = Field(description="Percent (at most 100) or amount off, 2 decimals at most")
    duration: Literal["once", "repeating", "forever"]
    periods: int | None = Field(None, ge=1, le=32767, description="repeating only")
    plans: list[int] = Field(default_factory=list, description="Plan ids; empty: every plan")
    redeemable_until: dt.date | None = None


class CouponOut(Schema):
    id: int
    object: Literal["coupon"] = "coupon"
    created_at: Timestamp
    code: str
    name: str
    kind: Literal["percent", "amount"]
    value: str = Field(examples=["10.00"])
    duration: Literal["once", "repeating", "forever"]
    periods: int | None
    plans: list[int]
    redeemable_until: dt.date | None
    active: bool


class CouponList(_List):
    data: list[CouponOut]


class CouponApplyIn(InputSchema):
    code: str = Field(max_length=50)


# --- subscriptions ---------------------------------------------------------------------------


class SubscriptionIn(InputSchema):
    customer: int = Field(description="Customer id")
    plan: int = Field(description="Plan id")
    quantity: Quantity = 1
    starts_on: dt.date | None = Field(None, description="Default: today")
    trial_days: int | None = Field(None, ge=0, le=32767, description="Default: the plan's")
    payment_method: PaymentMethod = "transfer"
    mandate_id: int | None = Field(None, description="direct_debit: default the usable one")
    saved_payment_method_id: int | None = Field(
        None, description="provider: default the newest active one"
    )
    coupon: str | None = Field(None, max_length=50, description="A coupon code to apply")
    external_reference: str = Field(
        "", max_length=100, description="A repeated reference returns the first subscription"
    )


class ScheduledChangeOut(Schema):
    plan: int | None
    quantity: str | None
    on: dt.date


class DiscountOut(Schema):
    coupon: str = Field(description="The coupon code")
    kind: Literal["percent", "amount"]
    value: str
    duration: Literal["once", "repeating", "forever"]
    periods_used: int
    periods_left: int | None = Field(description="null: for ever")


class BilledPeriodOut(Schema):
    start: dt.date
    end: dt.date
    invoice: int
    amount: MoneyOut


class SubscriptionOut(Schema):
    id: int
    object: Literal["subscription"] = "subscription"
    created_at: Timestamp
    customer: int
    plan: int | None = Field(description="null for a course booking")
    course: int | None
    status: SubscriptionStatus
    quantity: str = Field(examples=["1"])
    starts_on: dt.date
    trial_ends_on: dt.date | None
    billing_anchor: dt.date = Field(description="Periods are counted from this day")
    next_billing_on: dt.date | None = Field(
        description="The earliest day the billing run may find something due; null: nothing"
    )
    ends_on: dt.date | None
    notice_received_on: dt.date | None
    paused_from: dt.date | None
    scheduled_change: ScheduledChangeOut | None = Field(
        description="A change of plan or quantity from the start of a later period"
    )
    payment_method: PaymentMethod
    mandate: int | None
    saved_payment_method: int | None
    discount: DiscountOut | None
    billed_periods: int = Field(description="How many periods were billed")
    last_billed_period: BilledPeriodOut | None
    external_reference: str


class SubscriptionList(_List):
    data: list[SubscriptionOut]


class ChangeIn(InputSchema):
    plan: int | None = Field(None, description="The new plan id; default: keep")
    quantity: Quantity | None = Field(None, description="The new quantity; default: keep")
    effective: Literal["now", "next_period"] = Field(
        "now", description="now: prorated from `on`; next_period: from the next period start"
    )
    on: dt.date | None = Field(None, description="Default: today")


class QuoteLineOut(Schema):
    kind: str = Field(examples=["proration_credit", "proration_charge"])
    name: str
    service_period: ServicePeriodOut
    quantity: str
    unit_price: str
    amount: MoneyOut = Field(description="In price_mode; negative for a credit")


class QuoteOut(Schema):
    object: Literal["quote"] = "quote"
    subscription: int
    preview: bool = Field(description="true: nothing was changed")
    applies_on: dt.date
    price_mode: PriceMode
    currency: str = "EUR"
    lines: list[QuoteLineOut] = Field(
        description="Added to the customer's next invoice (or, with refund, a credit note)"
    )
    total: MoneyOut
    refund: bool = Field(
        description="The negative total is paid back at once by a credit note against the "
        "period's invoice"
    )


class PauseIn(InputSchema):
    on: dt.date | None = Field(None, description="Default: today")


class CancelIn(InputSchema):
    received_on: dt.date | None = Field(
        None, description="When the notice arrived (not in the future); default: today"
    )
    end_on: dt.date | None = Field(
        None,
        description="A later end than the earliest allowed one; an earlier one is refused "
        "(end_before_earliest_allowed)",
    )


class TerminateIn(InputSchema):
    reason: str = Field(max_length=500)
    on: dt.date | None = Field(None, description="Default: today")


class ChargeIn(InputSchema):
    sku: str = Field(max_length=50)
    name: str | None = Field(None, max_length=200, description="Default: the product's name")
    quantity: Quantity = 1
    unit_price: UnitPrice | None = Field(None, description="Default: the product's price")
    price_mode: PriceMode | None = Field(None, description="Default: the product's")


class CustomerChargeIn(ChargeIn):
    subscription: int | None = Field(None, description="Attribute to a subscription")


class ChargeOut(Schema):
    id: int
    object: Literal["charge"] = "charge"
    created_at: Timestamp
    customer: int
    subscription: int | None
    kind: str
    sku: str
    name: str
    quantity: str
    unit_price: str
    price_mode: PriceMode
    currency: str = "EUR"
    due_on: dt.date = Field(description="Billed by the first billing run on or after it")
    service_period: ServicePeriodOut
    invoice: int | None


class DiscountApplied(Schema):
    object: Literal["discount"] = "discount"
    subscription: int
    discount: DiscountOut


class ConsentOut(Schema):
    object: Literal["consent"] = "consent"
    subscription: int
    price_change: int
    effective_from: dt.date
    consented_at: Timestamp


# --- previews of invoices --------------------------------------------------------------------


class PreviewLineOut(Schema):
    position: int
    sku: str
    name: str
    quantity: str
    unit_code: str
    unit_price: str = Field(description="As the invoice will show it: net, or gross")
    net_unit_price: str
    discount_amount: MoneyOut
    net_amount: MoneyOut
    gross_amount: MoneyOut | None
    tax_rate: str
    tax_percent: str
    service_period: ServicePeriodOut


class PreviewInvoiceOut(Schema):
    object: Literal["invoice_preview"] = "invoice_preview"
    customer: int
    currency: str
    price_mode: PriceMode
    payment_method: str
    service_period: ServicePeriodOut
    subscriptions: list[int] = Field(description="Subscriptions with lines on this invoice")
    lines: list[PreviewLineOut]
    taxes: list[InvoiceTaxOut]
    line_total: MoneyOut
    allowance_total: MoneyOut
    tax_basis_total: MoneyOut
    tax_total: MoneyOut
    grand_total: MoneyOut
    payable_amount: MoneyOut


class NextInvoiceQuery(Schema):
    date: dt.date | None = Field(None, description="The billing date (YYYY-MM-DD)")


class NextInvoiceOut(Schema):
    object: Literal["next_invoice"] = "next_invoice"
    customer: int
    billing_date: dt.date
    invoices: list[PreviewInvoiceOut] = Field(description="Empty when nothing is due")
    total: MoneyOut


# --- billing runs ----------------------------------------------------------------------------


class BillingRunIn(InputSchema):
    billing_date: dt.date
    dry_run: bool = Field(False, description="Compute what the run would make; write nothing")


class BillingIssueOut(Schema):
    id: int
    customer: int
    customer_number: str
    subscription: int | None
    code: str
    message: str
    resolved_at: Timestamp | None


class BillingRunOut(Schema):
    id: int
    object: Literal["billing_run"] = "billing_run"
    billing_date: dt.date
    status: Literal["running", "finished", "failed"]
    started_at: Timestamp
    finished_at: Timestamp | None
    started_by: str
    periods_found: int
    charges_found: int
    invoices_made: int
    invoices_finalized: int
    errors: int
    issues: list[BillingIssueOut]


class BillingRunList(_List):
    data: list[BillingRunOut]


class RefusedOut(Schema):
    customer: int
    customer_number: str
    code: str
    message: str


class BillingPreviewOut(Schema):
    object: Literal["billing_run_preview"] = "billing_run_preview"
    billing_date: dt.date
    customers: int
    periods: int
    charges: int
    total: MoneyOut = Field(description="Σ grand totals of the invoices")
    invoices: list[PreviewInvoiceOut]
    refused: list[RefusedOut] = Field(description="Customers the run could not invoice")


class BillingPreviewQuery(Schema):
    billing_date: dt.date | None = Field(None, description="YYYY-MM-DD; default: today")
