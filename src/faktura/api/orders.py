"""/orders: a shop's sale becomes an invoice (draft, pending approval, or finalized)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, write_auth
from faktura.api.schemas import ErrorOut, InvoiceOut, OrderIn
from faktura.invoicing.drafting import LineRequest
from faktura.sales import services
from faktura.sales.models import Order

router = Router(tags=["orders"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.post("", response={201: InvoiceOut, **ERRORS}, auth=write_auth)
def create_order(
    request: HttpRequest, payload: OrderIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Place an order; the answer is its invoice.

    The invoice is a draft, waits for approval (status pending_approval, with
    approval_reasons), or is finalized at once when the company finalizes sales
    automatically. Lines name a product by ``sku`` or give ``name``, ``unit_price`` and
    ``tax_rate``. Send an ``Idempotency-Key``: a retry then never makes a second order.
    """
    actor = actor_of(request)
    period = payload.service_period

    def create() -> Any:
        invoice = services.place_order(
            customer_id=payload.customer,
            lines=[LineRequest(**line.model_dump()) for line in payload.lines],
            actor=actor,
            source=Order.Source.API,
            external_reference=payload.external_reference,
            price_mode=payload.price_mode,
            document_discount_percent=payload.document_discount_percent,
            document_discount_amount=payload.document_discount_amount,
            service_date_start=period.start if period else None,
            service_date_end=period.end if period else None,
            buyer_reference=payload.buyer_reference,
            note=payload.note,
        )
        return presenters.invoice(invoice)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)
