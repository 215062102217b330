"""/invoices: list, get, and the actions on a document — each one service call."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from faktura.api import idempotency, invoice_reads, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.schemas import (
    CancelIn,
    CreditNoteIn,
    DeletedOut,
    ErrorOut,
    InvoiceList,
    InvoiceOut,
    Page,
    RejectIn,
)
from faktura.core import clock
from faktura.core.errors import NotFound
from faktura.invoicing import selectors, services
from faktura.invoicing.models import Invoice

router = Router(tags=["invoices"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

StatusFilter = Literal[
    "draft", "pending_approval", "approved", "rejected", "finalized", "open", "paid", "overdue"
]


def _present(invoice_id: int) -> InvoiceOut:
    # Filtered first: the open amount's grouped sums then read this invoice's rows only
    # (invoicing.selectors.with_open_amounts restricts them to the queryset's keys).
    invoice = presenters.invoices(Invoice.objects.filter(pk=invoice_id)).first()
    if invoice is None:
        raise NotFound(f"Invoice {invoice_id} does not exist.")
    return presenters.invoice(invoice)


@router.get("", response={200: InvoiceList, **READ_ERRORS}, auth=read_auth)
def list_invoices(
    request: HttpRequest,
    params: Query[Page],
    status: StatusFilter | None = None,
    customer: int | None = None,
    kind: Literal["invoice", "credit_note", "cancellation"] | None = None,
    number: str | None = None,
) -> Any:
    """List documents in id order.

    ``status`` is a document status (draft … finalized) or a payment state: ``open``
    (finalized, money outstanding), ``paid``, ``overdue`` (open and past the due date).
    """
    if status is None and customer is None and kind is None and not number:
        after = presenters.decode_cursor(params.cursor) if params.cursor else 0
        return presenters.json_body(invoice_reads.page(after=after, limit=params.limit))
    filters: dict[str, Any] = {}
    if customer is not None:
        filters["customer_id"] = customer
    if kind:
        filters["kind"] = kind
    if number:
        filters["number"] = number
    if status:
        queryset = presenters.invoices(
            selectors.filter_by_payment_state(
                Invoice.objects.filter(**filters), status, clock.today()
            )
        )
    else:
        queryset = presenters.invoices(Invoice.objects.filter(**filters))
    return presenters.json_response(
        InvoiceList(**presenters.page(queryset, params, presenters.invoice_list))
    )


@router.get("/{invoice_id}", response={200: InvoiceOut, **READ_ERRORS}, auth=read_auth)
def get_invoice(request: HttpRequest, invoice_id: int) -> Any:
    """One document with lines, allowances, VAT breakdown, totals and open amount."""
    body = invoice_reads.detail(invoice_id)
    if body is not None:
        return presenters.json_body(body)
    resource = _present(invoice_id)
    invoice_reads.remember([resource])
    return presenters.json_response(resource)


@router.delete("/{invoice_id}", response={200: DeletedOut, **ERRORS}, auth=write_auth)
def discard_invoice(request: HttpRequest, invoice_id: int) -> Any:
    """Discard a draft (it never had a number); a finalized document: 409 invoice_not_draft."""
    services.discard_draft(invoice_id=invoice_id, actor=actor_of(request))
    return DeletedOut(id=invoice_id, object="invoice")


@router.post("/{invoice_id}/finalize", response={200: InvoiceOut, **ERRORS}, auth=write_auth)
def finalize_invoice(request: HttpRequest, invoice_id: int) -> Any:
    """Number, date and freeze the draft; returns the finalized invoice."""
    invoice = services.finalize_invoice(invoice_id=invoice_id, actor=actor_of(request))
    return _present(invoice.pk)


@router.post("/{invoice_id}/approve", response={200: InvoiceOut, **ERRORS}, auth=write_auth)
def approve_invoice(request: HttpRequest, invoice_id: int) -> Any:
    """Release a draft that waits for approval (four-eyes: not by the key that created it)."""
    invoice = services.approve_invoice(invoice_id=invoice_id, actor=actor_of(request))
    return _present(invoice.pk)


@router.post("/{invoice_id}/reject", response={200: InvoiceOut, **ERRORS}, auth=write_auth)
def reject_invoice(request: HttpRequest, invoice_id: int, payload: RejectIn) -> Any:
    """Refuse a draft that waits for approval; ``reason`` is required."""
    invoice = services.reject_invoice(
        invoice_id=invoice_id, actor=actor_of(request), reason=payload.reason
    )
    return _present(invoice.pk)


@router.post("/{invoice_id}/cancel", response={201: InvoiceOut, **ERRORS}, auth=write_auth)
def cancel_invoice(
    request: HttpRequest,
    invoice_id: int,
    payload: CancelIn | None = None,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Cancel the whole invoice; returns the new, finalized cancellation document (201).

    The cancelled invoice itself never changes; read it again to see payment_status
    ``cancelled``. Refused when it was credited in part already: credit what remains.
    """
    actor = actor_of(request)
    reason = payload.reason if payload else ""

    def create() -> Any:
        cancellation = services.cancel_invoice(invoice_id=invoice_id, actor=actor, reason=reason)
        return _present(cancellation.pk)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@router.post("/{invoice_id}/credit-notes", response={201: InvoiceOut, **ERRORS}, auth=write_auth)
def create_credit_note(
    request: HttpRequest,
    invoice_id: int,
    payload: CreditNoteIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Draft a credit note for some lines (position, quantity) or for a gross ``amount``.

    Never more than remains creditable (409 credit_exceeds_remaining). Finalize the
    returned draft with ``POST /invoices/{id}/finalize``.
    """
    actor = actor_of(request)
    lines = (
        [(line.position, line.quantity) for line in payload.lines]
        if payload.lines is not None
        else None
    )

    def create() -> Any:
        credit = services.create_credit_note(
            invoice_id=invoice_id,
            actor=actor,
            lines=lines,  # type: ignore[arg-type]
            amount=payload.amount,
            tax_rate=payload.tax_rate,
            reason=payload.reason,
            restock=payload.restock,
        )
        return _present(credit.pk)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)
