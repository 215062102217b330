"""Typed shapes of API v1 input and output: what the OpenAPI schema documents."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, field_validator

from faktura.api.errors import ERROR_CODES
from faktura.api.fields import (
    Amount,
    InputSchema,
    MoneyOut,
    Percent,
    Quantity,
    Timestamp,
    UnitCode,
    UnitPrice,
    not_null,
)


class ErrorOut(Schema):
    code: str = Field(
        description="Stable snake_case code; the full list is in x-error-codes.",
        examples=["invoice_not_draft"],
    )
    message: str
    field: str | None = Field(None, examples=["lines.0.quantity"])

    model_config = {
        "json_schema_extra": {
            "x-error-codes": {
                code: f"{status}: {text}" for code, (status, text) in ERROR_CODES.items()
            }
        }
    }


class DeletedOut(Schema):
    id: int
    object: str
    deleted: Literal[True] = True


# --- customers ---------------------------------------------------------------------------

CustomerKind = Literal["consumer", "business", "public_body"]
PaymentMethod = Literal["transfer", "direct_debit", "provider"]
Language = Literal["de", "en"]


class CustomerPatch(InputSchema):
    """Only the fields sent are changed; existing documents keep their copies."""

    kind: CustomerKind | None = None
    name: str | None = None
    contact_name: str | None = None
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = Field(None, min_length=2, max_length=2, examples=["DE"])
    email: str | None = None
    additional_emails: str | None = None
    phone: str | None = None
    language: Language | None = None
    vat_id: str | None = None
    leitweg_id: str | None = None
    xrechnung_syntax: Literal["cii", "ubl"] | None = None
    payment_term_days: int | None = Field(None, ge=0, le=365)
    preferred_payment_method: PaymentMethod | None = None
    dunning_block: bool | None = None
    dunning_block_until: dt.date | None = None
    dunning_block_reason: str | None = None
    credit_limit: Amount | None = None
    delivery_by_post: bool | None = None

    @field_validator(
        "kind", "name", "contact_name", "street", "house_number", "postcode", "city",
        "country", "email", "additional_emails", "phone", "language", "vat_id", "leitweg_id",
        "xrechnung_syntax", "preferred_payment_method", "dunning_block", "dunning_block_reason",
        "delivery_by_post", mode="before",
    )  # fmt: skip
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        return not_null(value)


class CustomerIn(CustomerPatch):
    kind: CustomerKind = "business"
    name: str
    street: str
    postcode: str
    city: str
    email: str


class CustomerOut(Schema):
    id: int
    object: Literal["customer"] = "customer"
    created_at: Timestamp
    number: str = Field(examples=["K-00001"])
    kind: str
    name: str
    contact_name: str
    street: str
    house_number: str
    postcode: str
    city: str
    country: str
    email: str
    additional_emails: str
    phone: str
    language: str
    vat_id: str
    leitweg_id: str
    xrechnung_syntax: str
    payment_term_days: int | None
    preferred_payment_method: str
    dunning_block: bool
    dunning_block_until: dt.date | None
    dunning_block_reason: str
    credit_limit: MoneyOut | None
    delivery_by_post: bool = Field(
        False, description="Invoices, credit notes and dunning letters also go out by post"
    )
    currency: str = "EUR"
    open_disputes: int = Field(
        description="Open disputes (e.g. a direct debit returned with MD06): while one is "
        "open, the mandate of the disputed debit collects nothing"
    )


# --- catalog -----------------------------------------------------------------------------


class ProductPatch(InputSchema):
    sku: str | None = Field(None, min_length=1, max_length=50)
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = None
    unit_code: UnitCode | None = None
    price_mode: Literal["net", "gross"] | None = None
    unit_price: UnitPrice | None = None
    tax_rate: str | None = Field(None, description="Tax rate code", examples=["de-19"])
    kind: Literal["goods", "service"] | None = Field(
        None,
        description="Goods or a service: decides the VAT category of cross-border sales to "
        "businesses (goods to the EU: K, services to the EU: AE, services outside the EU: O, "
        "goods outside the EU: G). Default at creation: goods when stock is tracked, else "
        "service",
    )
    track_stock: bool | None = None
    low_stock_threshold: Quantity | None = None
    active: bool | None = None

    @field_validator(
        "sku", "name", "description", "unit_code", "price_mode", "unit_price", "tax_rate",
        "kind", "track_stock", "active",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        return not_null(value)


class ProductIn(ProductPatch):
    sku: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=200)
    unit_price: UnitPrice
    tax_rate: str = Field(description="Tax rate code", examples=["de-19"])
    stock_level: Quantity | None = Field(None, description="Opening stock (tracked products)")


class ProductOut(Schema):
    id: int
    object: Literal["product"] = "product"
    created_at: Timestamp | None
    sku: str
    name: str
    description: str
    unit_code: str
    price_mode: str
    unit_price: str = Field(examples=["9.99"])
    currency: str = "EUR"
    tax_rate: str = Field(examples=["de-19"])
    kind: Literal["goods", "service"]
    track_stock: bool
    stock_level: str
    low_stock_threshold: str | None
    active: bool


class TaxRateOut(Schema):
    id: str = Field(description="The code; tax rates are identified by code", examples=["de-19"])
    object: Literal["tax_rate"] = "tax_rate"
    created_at: Timestamp | None = None
    code: str
    name: str
    category: str = Field(description="EN 16931 VAT category (S, Z, E, AE, K, G, O)")
    rate: str = Field(examples=["19.00"])
    exemption_reason: str
    exemption_reason_code: str
    active: bool


# --- orders and invoices -----------------------------------------------------------------


PRICE_MODE_DEFAULT = (
    "net: unit prices are net, VAT is added; gross: unit prices include VAT (the gross the "
    "consumer saw is kept). When an order does not say, consumers get gross and businesses "
    "and public bodies get net."
)


class OrderLineIn(InputSchema):
    sku: str | None = Field(None, max_length=50, description="A product; or give name and price")
    name: str | None = Field(None, max_length=200)
    description: str | None = None
    quantity: Quantity
    unit_price: UnitPrice | None = None
    unit_code: UnitCode | None = None
    tax_rate: str | None = Field(
        None,
        examples=["de-19"],
        description="Overrides the tax rate Faktura decides from the customer and the kind",
    )
    kind: Literal["goods", "service"] | None = Field(
        None,
        description="Goods or service; a product line takes its product's kind. A line "
        "without product sold to a business abroad needs it (or a tax_rate)",
    )
    discount_percent: Percent | None = None
    discount_amount: Amount | None = None
    service_date_start: dt.date | None = Field(
        None,
        description="Start of the line's own service period (EN 16931 BT-134), e.g. the "
        "month a subscription line bills; printed under the line as its Leistungszeitraum. "
        "Give both dates or neither. Within the order's service_period when both are given. "
        "When every line names the same period and the order none, it becomes the invoice's "
        "service_period; when lines name different ones, the invoice's stays empty",
    )
    service_date_end: dt.date | None = Field(
        None, description="End of the line's service period (BT-135), not before its start"
    )


class ServicePeriodIn(InputSchema):
    start: dt.date
    end: dt.date


class OrderIn(InputSchema):
    customer: int = Field(description="Customer id")
    external_reference: str | None = Field(
        None,
        max_length=100,
        description="The shop's order number; a repeated reference returns the first invoice.",
    )
    price_mode: Literal["net", "gross"] | None = Field(
        None,
        description=PRICE_MODE_DEFAULT + " The effective value is returned as the invoice's "
        "price_mode.",
    )
    lines: list[OrderLineIn]
    document_discount_percent: Percent | None = None
    document_discount_amount: Amount | None = None
    service_period: ServicePeriodIn | None = None
    buyer_reference: str = Field("", max_length=100)
    note: str = ""


class CreditNoteLineIn(InputSchema):
    position: int = Field(ge=1, description="Position of the line on the original invoice")
    quantity: Quantity


class CreditNoteIn(InputSchema):
    lines: list[CreditNoteLineIn] | None = None
    amount: Amount | None = Field(None, description="Gross amount to credit (instead of lines)")
    tax_rate: str | None = Field(None, description="Tax rate code of the credited amount")
    reason: str = ""
    restock: bool = False


class RejectIn(InputSchema):
    reason: str = Field(max_length=500)


class CancelIn(InputSchema):
    reason: str = ""


class InvoiceLineOut(Schema):
    position: int
    product: int | None
    credited_position: int | None
    sku: str
    name: str
    description: str
    quantity: str = Field(examples=["2"])
    unit_code: str
    unit_price: str = Field(description="As entered: net, or gross for gross documents")
    net_unit_price: str
    discount_percent: str
    discount_amount: MoneyOut
    net_amount: MoneyOut
    gross_amount: MoneyOut | None
    tax_rate: str = Field(examples=["de-19"])
    tax_category: str
    tax_percent: str = Field(examples=["19.00"])
    tax_exemption_reason: str
    supply_kind: Literal["goods", "service", ""] = Field(
        description="Goods or service, as copied from the product or the order line"
    )
    service_date_start: dt.date | None = Field(
        description="The line's own service period (BG-26), or null; credit notes and "
        "cancellations repeat the credited line's"
    )
    service_date_end: dt.date | None


class InvoiceTaxOut(Schema):
    category: str
    rate: str
    taxable_amount: MoneyOut
    tax_amount: MoneyOut
    exemption_reason: str
    exemption_reason_code: str


class InvoiceAllowanceOut(Schema):
    tax_category: str
    tax_rate: str
    amount: MoneyOut
    base_amount: MoneyOut
    percent: str | None
    reason: str


class ServicePeriodOut(Schema):
    start: dt.date | None
    end: dt.date | None


class InvoiceDisputeOut(Schema):
    id: int
    object: Literal["dispute"] = "dispute"
    reason_code: str = Field(examples=["MD06"])
    opened_at: Timestamp
    mandate: int | None = Field(
        description="The mandate whose collection the dispute pauses (returned debits)"
    )


class CreditCheckOut(Schema):
    decision: Literal["normal", "approval", "prepayment"] = Field(
        description="approval: held for a second person; prepayment: due on the issue date, "
        "by transfer"
    )
    score: int | None = Field(description="The customer's risk score then (none: not checked)")
    reasons: list[str] = Field(description="The decision's and the score's reasons (German)")


class InvoiceOut(Schema):
    id: int
    object: Literal["invoice"] = "invoice"
    created_at: Timestamp
    kind: Literal["invoice", "credit_note", "cancellation"]
    status: Literal["draft", "pending_approval", "approved", "rejected", "finalized"]
    number: str | None = Field(description="Assigned at finalization", examples=["RE-2026-00001"])
    customer: int
    original_invoice: int | None
    original_invoice_number: str | None
    order_reference: str
    buyer_reference: str
    currency: str
    price_mode: Literal["net", "gross"] = Field(
        description="How unit prices were entered and totals computed (the effective value). "
        + PRICE_MODE_DEFAULT
    )
    language: str
    issue_date: dt.date | None
    due_date: dt.date | None
    service_period: ServicePeriodOut
    payment_term_days: int
    payment_method: str
    note: str
    buyer: dict[str, Any] = Field(description="The customer's data as copied into the document")
    lines: list[InvoiceLineOut]
    allowances: list[InvoiceAllowanceOut]
    taxes: list[InvoiceTaxOut]
    line_total: MoneyOut
    allowance_total: MoneyOut
    tax_basis_total: MoneyOut
    tax_total: MoneyOut
    grand_total: MoneyOut
    payable_amount: MoneyOut
    open_amount: MoneyOut | None = Field(
        description="Finalized documents only. Invoices: what the customer still owes. "
        "Credit notes and cancellations: what is owed back to the customer (0.00 when the "
        "correction was applied to what was open on its original)"
    )
    payment_status: (
        Literal[
            "unpaid", "partially_paid", "paid", "overpaid", "cancelled", "applied", "refund_due"
        ]
        | None
    ) = Field(
        description="Finalized documents only. Invoices: unpaid, partially_paid, paid, "
        "overpaid, cancelled. Credit notes and cancellations: applied (set off against the "
        "original's open amount) or refund_due (the original was paid already: open_amount "
        "is owed back to the customer)"
    )
    disputed: bool = Field(
        description="An open dispute (e.g. direct debit returned with MD06): not collected "
        "automatically until staff clear it"
    )
    dispute: InvoiceDisputeOut | None
    overdue: bool
    approval_reasons: list[str] = Field(
        description="Why it waits for approval: amount_above_threshold, manual_invoice, "
        "new_customer, credit_limit_exceeded, high_risk_score"
    )
    credit_check: CreditCheckOut | None = Field(
        None, description="The credit check of the order it was made from (none: no order)"
    )
    approved_by: str
    rejection_reason: str
    finalized_at: Timestamp | None
    delivery_status: Literal["pending", "queued", "sent", "failed", "blocked"] = Field(
        description="Rendering and e-mail delivery; `blocked` when the e-invoice failed "
        "validation (see delivery_error)"
    )
    delivery_error: str


# --- lists -------------------------------------------------------------------------------


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


class CustomerList(_List):
    data: list[CustomerOut]


class ProductList(_List):
    data: list[ProductOut]


class TaxRateList(_List):
    data: list[TaxRateOut]


class InvoiceList(_List):
    data: list[InvoiceOut]


class Page(Schema):
    limit: int = Field(50, ge=1, le=200, description="At most 200")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
