"""/disputes, /returned-debits, /chargebacks and /fee-items: what came back, and what it costs.

Read-only lists and details, plus ``POST /disputes/{id}/clear`` (one service call). A
returned debit and a chargeback are the same record (``ReturnEvent``) told apart by
``kind``; each has its own path so that a client never mistakes one for the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.banking.models import BankTransaction, ProviderEvent
from faktura.collection.models import DirectDebitItem
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.payments import returns
from faktura.payments.models import Dispute, FeeItem, ReturnEvent

disputes_router = Router(tags=["returns and disputes"])
returned_debits_router = Router(tags=["returns and disputes"])
chargebacks_router = Router(tags=["returns and disputes"])
fee_items_router = Router(tags=["returns and disputes"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

DisputeStatus = Literal["open", "cleared"]
FeeStatus = Literal["open", "billed", "paid", "cancelled"]
Consequence = Literal["retry", "mandate_unusable", "dispute", "manual"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


# --- schemas -------------------------------------------------------------------------------


class DisputeOut(Schema):
    id: int
    object: Literal["dispute"] = "dispute"
    created_at: Timestamp = Field(description="When the dispute was opened")
    status: DisputeStatus = Field(
        description="open: the invoice is not collected automatically until cleared"
    )
    customer: int
    invoice: int
    invoice_number: str | None
    reason_code: str = Field(examples=["MD06"])
    returned_payment: int | None = Field(
        description="The returned debit or chargeback that opened it (id), if any"
    )
    returned_payment_kind: Literal["returned_debit", "chargeback"] | None
    opened_by: str
    cleared_at: Timestamp | None
    cleared_by: str
    note: str


class DisputeList(_List):
    data: list[DisputeOut]


class ClearDisputeIn(InputSchema):
    note: str = Field("", max_length=500, description="Why the dispute is settled")


class ReturnedPaymentOut(Schema):
    id: int
    object: Literal["returned_debit", "chargeback"]
    created_at: Timestamp
    kind: Literal["returned_debit", "chargeback"]
    customer: int
    invoice: int | None
    invoice_number: str | None
    payment: int | None = Field(description="The payment the money was taken back from")
    allocation: int | None = Field(description="The allocation that was reversed")
    mandate: int | None = Field(description="The SEPA mandate debited (returned debits)")
    mandate_reference: str | None
    end_to_end_id: str
    reason_code: str = Field(examples=["AM04"])
    consequence: Consequence = Field(
        description="retry: collected again; mandate_unusable: pays by transfer; "
        "dispute: no automatic collection until cleared; manual: a person decides"
    )
    amount: MoneyOut = Field(description="The principal taken back")
    fee_amount: MoneyOut = Field(description="Charged to the customer as a fee item")
    currency: str = "EUR"
    fee_item: int | None
    dispute: int | None = Field(description="The dispute this return opened, if any")
    booking_date: dt.date | None
    source: Literal["bank_statement", "provider", "manual"] = Field(
        description="Where it was recorded from: a bank statement line (camt.054, MT940), a "
        "payment provider's event, or entered by hand (back office, API)"
    )
    bank_transaction: int | None = Field(description="The bank statement line, if any")
    provider: str | None = Field(description="The payment provider, if any", examples=["stripe"])
    source_reference: str = Field(
        description="Statement transaction or provider event; recorded once"
    )
    created_by: str


class ReturnedPaymentList(_List):
    data: list[ReturnedPaymentOut]


class FeeItemOut(Schema):
    id: int
    object: Literal["fee_item"] = "fee_item"
    created_at: Timestamp
    status: FeeStatus = Field(
        description="open: owed and not yet on an invoice; billed: on an invoice; paid; cancelled"
    )
    customer: int
    invoice: int | None = Field(description="The invoice the fee arose from")
    invoice_number: str | None
    amount: MoneyOut
    currency: str = "EUR"
    reason: str
    returned_payment: int | None = Field(description="The returned debit or chargeback, if any")
    created_by: str


class FeeItemList(_List):
    data: list[FeeItemOut]


# --- presenters ----------------------------------------------------------------------------


def _disputes() -> QuerySet[Dispute]:
    return Dispute.objects.select_related("invoice", "return_event")


def _dispute(obj: Dispute) -> DisputeOut:
    event = obj.return_event
    return DisputeOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.opened_at) or "",
        status="open" if obj.cleared_at is None else "cleared",
        customer=obj.customer_id,
        invoice=obj.invoice_id,
        invoice_number=obj.invoice.number,
        reason_code=obj.reason_code,
        returned_payment=obj.return_event_id,
        returned_payment_kind=event.kind if event is not None else None,  # type: ignore[arg-type]
        opened_by=obj.opened_by,
        cleared_at=presenters.timestamp(obj.cleared_at),
        cleared_by=obj.cleared_by,
        note=obj.note,
    )


def _dispute_list(rows: Iterable[Dispute]) -> list[DisputeOut]:
    return [_dispute(row) for row in rows]


def _present_dispute(dispute_id: int) -> DisputeOut:
    dispute = _disputes().filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound(f"Dispute {dispute_id} does not exist.")
    return _dispute(dispute)


def _returns(kind: str) -> QuerySet[ReturnEvent]:
    first = {"return_event": OuterRef("pk")}
    return (
        ReturnEvent.objects.filter(kind=kind)
        .annotate(
            bank_transaction_id=Subquery(
                BankTransaction.objects.filter(**first).order_by("pk").values("pk")[:1]
            ),
            provider_name=Subquery(
                ProviderEvent.objects.filter(**first).order_by("pk").values("provider")[:1]
            ),
        )
        .select_related("invoice")
        .prefetch_related(
            Prefetch("fees", queryset=FeeItem.objects.order_by("pk")),
            Prefetch("disputes", queryset=Dispute.objects.order_by("pk")),
            Prefetch(
                "direct_debit_items",
                queryset=DirectDebitItem.objects.select_related("mandate").order_by("-pk"),
            ),
        )
    )


def _returned(obj: ReturnEvent) -> ReturnedPaymentOut:
    fees = list(obj.fees.all())
    disputes = list(obj.disputes.all())
    items = list(obj.direct_debit_items.all())
    mandate = items[0].mandate if items else None
    bank_transaction: int | None = getattr(obj, "bank_transaction_id", None)
    provider: str | None = getattr(obj, "provider_name", None)
    source = "bank_statement" if bank_transaction else "provider" if provider else "manual"
    return ReturnedPaymentOut(
        id=obj.pk,
        object=obj.kind,  # type: ignore[arg-type]
        created_at=presenters.timestamp(obj.created_at) or "",
        kind=obj.kind,  # type: ignore[arg-type]
        customer=obj.customer_id,
        invoice=obj.invoice_id,
        invoice_number=obj.invoice.number if obj.invoice else None,
        payment=obj.payment_id,
        allocation=obj.allocation_id,
        mandate=mandate.pk if mandate else None,
        mandate_reference=mandate.reference if mandate else None,
        end_to_end_id=obj.end_to_end_id,
        reason_code=obj.reason_code,
        consequence=obj.consequence,  # type: ignore[arg-type]
        amount=format_amount(obj.amount),
        fee_amount=format_amount(obj.fee_amount),
        fee_item=fees[0].pk if fees else None,
        dispute=disputes[0].pk if disputes else None,
        booking_date=obj.booking_date,
        source=source,  # type: ignore[arg-type]
        bank_transaction=bank_transaction,
        provider=provider,
        source_reference=obj.source_reference,
        created_by=obj.created_by,
    )


def _returned_list(rows: Iterable[ReturnEvent]) -> list[ReturnedPaymentOut]:
    return [_returned(row) for row in rows]


def _fee(obj: FeeItem) -> FeeItemOut:
    return FeeItemOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.created_at) or "",
        status=obj.state,  # type: ignore[arg-type]
        customer=obj.customer_id,
        invoice=obj.invoice_id,
        invoice_number=obj.invoice.number if obj.invoice else None,
        amount=format_amount(obj.amount),
        reason=obj.reason,
        returned_payment=obj.return_event_id,
        created_by=obj.created_by,
    )


def _fee_list(rows: Iterable[FeeItem]) -> list[FeeItemOut]:
    return [_fee(row) for row in rows]


# --- /disputes -----------------------------------------------------------------------------


@disputes_router.get("", response={200: DisputeList, **READ_ERRORS}, auth=read_auth)
def list_disputes(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    invoice: int | None = None,
    status: DisputeStatus | None = None,
) -> Any:
    """Disputed invoices in id order; ``status=open``: those blocking automatic collection."""
    queryset = _disputes()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if invoice is not None:
        queryset = queryset.filter(invoice_id=invoice)
    if status is not None:
        queryset = queryset.filter(cleared_at__isnull=status == "open")
    return presenters.page(queryset, params, _dispute_list)


@disputes_router.get("/{dispute_id}", response={200: DisputeOut, **READ_ERRORS}, auth=read_auth)
def get_dispute(request: HttpRequest, dispute_id: int) -> Any:
    return _present_dispute(dispute_id)


@disputes_router.post("/{dispute_id}/clear", response={200: DisputeOut, **ERRORS}, auth=write_auth)
def clear_dispute(
    request: HttpRequest, dispute_id: int, payload: ClearDisputeIn | None = None
) -> Any:
    """End the dispute: the invoice may be collected automatically again (accountant).

    409 dispute_cleared when it was cleared already. Returns the changed dispute.
    """
    returns.clear_dispute(
        dispute_id=dispute_id, actor=actor_of(request), note=payload.note if payload else ""
    )
    return _present_dispute(dispute_id)


# --- /returned-debits and /chargebacks -----------------------------------------------------


def _list_returns(
    kind: str, params: Page, customer: int | None, invoice: int | None, consequence: str | None
) -> Any:
    queryset = _returns(kind)
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if invoice is not None:
        queryset = queryset.filter(invoice_id=invoice)
    if consequence is not None:
        queryset = queryset.filter(consequence=consequence)
    return presenters.page(queryset, params, _returned_list)


def _get_return(kind: str, event_id: int, label: str) -> ReturnedPaymentOut:
    event = _returns(kind).filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"{label} {event_id} does not exist.")
    return _returned(event)


@returned_debits_router.get("", response={200: ReturnedPaymentList, **READ_ERRORS}, auth=read_auth)
def list_returned_debits(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    invoice: int | None = None,
    consequence: Consequence | None = None,
) -> Any:
    """Returned SEPA direct debits (Rücklastschriften) in id order, with reason and fee."""
    return _list_returns(ReturnEvent.Kind.RETURNED_DEBIT, params, customer, invoice, consequence)


@returned_debits_router.get(
    "/{returned_debit_id}", response={200: ReturnedPaymentOut, **READ_ERRORS}, auth=read_auth
)
def get_returned_debit(request: HttpRequest, returned_debit_id: int) -> Any:
    return _get_return(ReturnEvent.Kind.RETURNED_DEBIT, returned_debit_id, "Returned debit")


@chargebacks_router.get("", response={200: ReturnedPaymentList, **READ_ERRORS}, auth=read_auth)
def list_chargebacks(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    invoice: int | None = None,
    consequence: Consequence | None = None,
) -> Any:
    """Card chargebacks (Rückbelastungen) in id order, with reason and fee."""
    return _list_returns(ReturnEvent.Kind.CHARGEBACK, params, customer, invoice, consequence)


@chargebacks_router.get(
    "/{chargeback_id}", response={200: ReturnedPaymentOut, **READ_ERRORS}, auth=read_auth
)
def get_chargeback(request: HttpRequest, chargeback_id: int) -> Any:
    return _get_return(ReturnEvent.Kind.CHARGEBACK, chargeback_id, "Chargeback")


# --- /fee-items ----------------------------------------------------------------------------


@fee_items_router.get("", response={200: FeeItemList, **READ_ERRORS}, auth=read_auth)
def list_fee_items(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    invoice: int | None = None,
    status: FeeStatus | None = None,
) -> Any:
    """Fees charged to customers (bank fees of returns) in id order; ``status=open``: unbilled."""
    queryset = FeeItem.objects.select_related("invoice")
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if invoice is not None:
        queryset = queryset.filter(invoice_id=invoice)
    if status is not None:
        queryset = queryset.filter(state=status)
    return presenters.page(queryset, params, _fee_list)


@fee_items_router.get("/{fee_item_id}", response={200: FeeItemOut, **READ_ERRORS}, auth=read_auth)
def get_fee_item(request: HttpRequest, fee_item_id: int) -> Any:
    fee = FeeItem.objects.select_related("invoice").filter(pk=fee_item_id).first()
    if fee is None:
        raise NotFound(f"Fee item {fee_item_id} does not exist.")
    return _fee(fee)
