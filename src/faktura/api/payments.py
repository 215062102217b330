"""/payments and /payment-requests: list, enter by hand, allocate — each one service call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import Amount, InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.payments import error_codes, returns, selectors, services
from faktura.payments.models import Allocation, Payment, PaymentRequest

router = Router(tags=["payments"])
requests_router = Router(tags=["payments"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

ERROR_CODES = error_codes.ERROR_CODES  # merged into api.errors.ERROR_CODES

PaymentMethod = Literal["transfer", "direct_debit", "provider", "cash"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


class AllocationOut(Schema):
    id: int
    object: Literal["allocation"] = "allocation"
    created_at: Timestamp
    payment: int
    invoice: int
    invoice_number: str | None
    amount: MoneyOut
    currency: str = "EUR"
    reversed_at: Timestamp | None
    reversal_reason: str


class PaymentOut(Schema):
    id: int
    object: Literal["payment"] = "payment"
    created_at: Timestamp
    customer: int | None
    amount: MoneyOut
    currency: str
    date: dt.date
    method: str
    source: str
    reference: str
    payer_name: str
    payer_iban: str
    external_id: str | None
    allocated_amount: MoneyOut = Field(description="Active allocations")
    unallocated_amount: MoneyOut = Field(
        description="Left to allocate; the customer's credit once the payment has a customer"
    )
    allocations: list[AllocationOut]


class PaymentList(_List):
    data: list[PaymentOut]


class PaymentRequestOut(Schema):
    id: int
    object: Literal["payment_request"] = "payment_request"
    created_at: Timestamp
    status: Literal["pending", "confirmed", "rejected"]
    customer: int | None
    invoice: int | None
    amount: MoneyOut
    currency: str = "EUR"
    date: dt.date
    method: str
    reference: str
    requested_by: str
    decided_by: str
    rejection_reason: str
    payment: int | None


class PaymentRequestList(_List):
    data: list[PaymentRequestOut]


class PaymentIn(InputSchema):
    amount: Amount
    date: dt.date
    method: PaymentMethod = "transfer"
    reference: str = Field("", max_length=500)
    payer_name: str = Field("", max_length=200)
    payer_iban: str = Field("", max_length=34)
    customer: int | None = Field(None, description="Customer id, when known")
    invoice: int | None = Field(None, description="Allocate to this invoice (rest: credit)")


class AllocationIn(InputSchema):
    invoice: int
    amount: Amount


class AllocateIn(InputSchema):
    allocations: list[AllocationIn]
    overpayment: bool = Field(
        False, description="Allow more than an invoice's open amount; the rest becomes credit"
    )


class ReasonIn(InputSchema):
    reason: str = Field(max_length=500)


class ChargebackIn(InputSchema):
    source_reference: str = Field(
        max_length=100,
        description="The card statement's reference; the same one twice is recorded once",
    )
    reason_code: str = Field("", max_length=35)
    allocation_id: int | None = Field(
        None, description="Needed when the payment is allocated to several invoices"
    )
    fee: Amount | None = Field(None, description="The acquirer's fee; default: none")
    booking_date: dt.date | None = None
    dispute: bool = Field(True, description="Stop automatic collection until cleared")


def _timestamp(value: dt.datetime | None) -> str | None:
    return presenters.timestamp(value)


def _allocation(obj: Allocation) -> AllocationOut:
    return AllocationOut(
        id=obj.pk,
        created_at=_timestamp(obj.created_at) or "",
        payment=obj.payment_id,
        invoice=obj.invoice_id,
        invoice_number=obj.invoice.number,
        amount=format_amount(obj.amount),
        reversed_at=_timestamp(obj.reversed_at),
        reversal_reason=obj.reversal_reason,
    )


def _payments(queryset: QuerySet[Payment]) -> QuerySet[Any]:
    return selectors.with_unallocated(queryset).prefetch_related(
        Prefetch(
            "allocations",
            queryset=Allocation.objects.select_related("invoice").order_by("pk"),
        )
    )


def _payment(obj: Payment) -> PaymentOut:
    return PaymentOut(
        id=obj.pk,
        created_at=_timestamp(obj.created_at) or "",
        customer=obj.customer_id,
        amount=format_amount(obj.amount),
        currency=obj.currency,
        date=obj.date,
        method=obj.method,
        source=obj.source,
        reference=obj.reference,
        payer_name=obj.payer_name,
        payer_iban=obj.payer_iban,
        external_id=obj.external_id,
        allocated_amount=format_amount(obj.allocated_amount),  # type: ignore[attr-defined]
        unallocated_amount=format_amount(obj.unallocated_amount),  # type: ignore[attr-defined]
        allocations=[_allocation(a) for a in obj.allocations.all()],
    )


def _payment_list(rows: Iterable[Payment]) -> list[PaymentOut]:
    return [_payment(row) for row in rows]


def _present(payment_id: int) -> PaymentOut:
    payment = _payments(Payment.objects.filter(pk=payment_id)).first()
    if payment is None:
        raise NotFound(f"Payment {payment_id} does not exist.")
    return _payment(payment)


def _request(obj: PaymentRequest) -> PaymentRequestOut:
    return PaymentRequestOut(
        id=obj.pk,
        created_at=_timestamp(obj.requested_at) or "",
        status=obj.status,  # type: ignore[arg-type]
        customer=obj.customer_id,
        invoice=obj.invoice_id,
        amount=format_amount(obj.amount),
        date=obj.date,
        method=obj.method,
        reference=obj.reference,
        requested_by=obj.requested_by,
        decided_by=obj.decided_by,
        rejection_reason=obj.rejection_reason,
        payment=obj.payment_id,
    )


def _request_list(rows: Iterable[PaymentRequest]) -> list[PaymentRequestOut]:
    return [_request(row) for row in rows]


# --- /payments -----------------------------------------------------------------------------


@router.get("", response={200: PaymentList, **READ_ERRORS}, auth=read_auth)
def list_payments(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    unallocated: bool | None = None,
) -> Any:
    """List payments in id order; ``unallocated=true``: those with money left to allocate."""
    queryset = _payments(Payment.objects.all())
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if unallocated is True:
        queryset = queryset.filter(unallocated_amount__gt=0)
    elif unallocated is False:
        queryset = queryset.filter(unallocated_amount__lte=0)
    return presenters.page(queryset, params, _payment_list)


@router.get("/{payment_id}", response={200: PaymentOut, **READ_ERRORS}, auth=read_auth)
def get_payment(request: HttpRequest, payment_id: int) -> Any:
    """One payment with its allocations and what is left to allocate."""
    return _present(payment_id)


@router.post("", response={201: PaymentOut, 202: PaymentRequestOut, **ERRORS}, auth=write_auth)
def create_payment(
    request: HttpRequest, payload: PaymentIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Enter a payment by hand (201, the booked payment).

    When payments entered by the cashier need confirmation (setting), the answer is
    202 with the pending payment request; a second person confirms it with
    ``POST /payment-requests/{id}/confirm``. With ``invoice`` the payment is allocated to
    that invoice; a surplus stays as the customer's credit.
    """
    actor = actor_of(request)
    pending = selectors.needs_confirmation(actor)

    def create() -> Any:
        entry = services.request_manual_payment(
            actor=actor,
            amount=payload.amount,
            date=payload.date,
            method=payload.method,
            reference=payload.reference,
            payer_name=payload.payer_name,
            payer_iban=payload.payer_iban,
            customer_id=payload.customer,
            invoice_id=payload.invoice,
        )
        if entry.payment_id is None:
            return _request(entry)
        return _present(entry.payment_id)

    return idempotency.respond(
        request, key=idempotency_key, status=202 if pending else 201, create=create
    )


@router.post("/{payment_id}/allocations", response={200: PaymentOut, **ERRORS}, auth=write_auth)
def allocate_payment(request: HttpRequest, payment_id: int, payload: AllocateIn) -> Any:
    """Allocate the payment to invoices of one customer; returns the changed payment.

    Never more than the payment has left (409 allocation_exceeds_payment), never more
    than an invoice's open amount (409 allocation_exceeds_open_amount) unless
    ``overpayment``: then the rest stays as the customer's credit.
    """
    services.allocate_payment(
        payment_id=payment_id,
        allocations=[(a.invoice, a.amount) for a in payload.allocations],
        actor=actor_of(request),
        overpayment=payload.overpayment,
    )
    return _present(payment_id)


@router.post(
    "/{payment_id}/allocations/{allocation_id}/release",
    response={200: PaymentOut, **ERRORS},
    auth=write_auth,
)
def release_allocation(
    request: HttpRequest, payment_id: int, allocation_id: int, payload: ReasonIn
) -> Any:
    """Reverse an allocation: the invoice is open again, the money is credit."""
    if not Allocation.objects.filter(pk=allocation_id, payment_id=payment_id).exists():
        raise NotFound(f"Payment {payment_id} has no allocation {allocation_id}.")
    services.release_allocation(
        allocation_id=allocation_id, actor=actor_of(request), reason=payload.reason
    )
    return _present(payment_id)


@router.post("/{payment_id}/chargebacks", response={200: PaymentOut, **ERRORS}, auth=write_auth)
def record_chargeback(request: HttpRequest, payment_id: int, payload: ChargebackIn) -> Any:
    """Enter a chargeback from a card statement; handled like a returned debit.

    The allocation is reversed (the invoice is open again), the fee charged to the
    customer, and by default the invoice is disputed. Returns the changed payment.
    """
    if (
        payload.allocation_id is not None
        and not Allocation.objects.filter(pk=payload.allocation_id, payment_id=payment_id).exists()
    ):
        raise NotFound(f"Payment {payment_id} has no allocation {payload.allocation_id}.")
    returns.record_chargeback(
        actor=actor_of(request),
        source_reference=payload.source_reference,
        reason_code=payload.reason_code,
        allocation_id=payload.allocation_id,
        payment_id=None if payload.allocation_id is not None else payment_id,
        fee=payload.fee,
        booking_date=payload.booking_date,
        dispute=payload.dispute,
    )
    return _present(payment_id)


# --- /payment-requests ---------------------------------------------------------------------


@requests_router.get("", response={200: PaymentRequestList, **READ_ERRORS}, auth=read_auth)
def list_payment_requests(
    request: HttpRequest,
    params: Query[Page],
    status: Literal["pending", "confirmed", "rejected"] | None = None,
) -> Any:
    """Manual payments entered by the cashier; ``status=pending`` is the to-do list."""
    queryset = PaymentRequest.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    return presenters.page(queryset, params, _request_list)


@requests_router.get(
    "/{request_id}", response={200: PaymentRequestOut, **READ_ERRORS}, auth=read_auth
)
def get_payment_request(request: HttpRequest, request_id: int) -> Any:
    entry = PaymentRequest.objects.filter(pk=request_id).first()
    if entry is None:
        raise NotFound(f"Payment request {request_id} does not exist.")
    return _request(entry)


@requests_router.post(
    "/{request_id}/confirm", response={200: PaymentRequestOut, **ERRORS}, auth=write_auth
)
def confirm_payment_request(request: HttpRequest, request_id: int) -> Any:
    """Book the pending payment (accountant or approver; not who entered it)."""
    return _request(
        services.confirm_payment_request(request_id=request_id, actor=actor_of(request))
    )


@requests_router.post(
    "/{request_id}/reject", response={200: PaymentRequestOut, **ERRORS}, auth=write_auth
)
def reject_payment_request(request: HttpRequest, request_id: int, payload: ReasonIn) -> Any:
    """Refuse the pending payment; nothing is booked."""
    return _request(
        services.reject_payment_request(
            request_id=request_id, actor=actor_of(request), reason=payload.reason
        )
    )
