"""Orders become draft invoices (and, with automatic finalization, finalized ones)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from django.db import IntegrityError, transaction

from faktura.core import clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.customers.models import Customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.drafting import LineRequest
from faktura.invoicing.models import Invoice, Status
from faktura.sales import credit_check
from faktura.sales.models import Order


def _recorded(line: LineRequest) -> dict[str, object]:
    """The line as requested, for the order's JSON record (line periods as ISO dates)."""
    return {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in asdict(line).items()
    }


def place_order(
    *,
    customer_id: int,
    lines: list[LineRequest],
    actor: Actor,
    source: str = Order.Source.API,
    external_reference: str | None = None,
    price_mode: str | None = None,
    document_discount_percent: object = None,
    document_discount_amount: object = None,
    service_date_start: dt.date | None = None,
    service_date_end: dt.date | None = None,
    buyer_reference: str = "",
    note: str = "",
) -> Invoice:
    """Record an order and make its draft invoice; idempotent by ``external_reference``.

    A repeated external reference returns the invoice of the first order and creates
    nothing. With automatic finalization (company setting) the invoice is finalized at
    once unless an approval rule applies. The credit check (``sales.credit_check``) may
    hold the draft for approval or make it due at once (prepayment). PermissionRefused
    without the role for ``invoice.create_draft``, before anything is written.
    """
    permissions.require(actor, "invoice.create_draft")
    if external_reference is not None and not external_reference.strip():
        external_reference = None
    if external_reference:
        existing = _invoice_of_reference(external_reference, customer_id)
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            try:
                customer = Customer.objects.select_for_update().get(pk=customer_id)
            except Customer.DoesNotExist:
                raise NotFound(
                    f"Customer {customer_id} does not exist.",
                    code="customer_not_found",
                    field="customer",
                ) from None
            order = Order.objects.create(
                customer=customer,
                external_reference=external_reference,
                source=source,
                request={
                    "lines": [_recorded(line) for line in lines],
                    "price_mode": price_mode,
                    "document_discount_percent": document_discount_percent,
                    "document_discount_amount": document_discount_amount,
                    "note": note,
                },
                created_by=actor.label,
                created_by_user_id=actor.user_id,
                created_at=clock.now(),
            )
            invoice = invoicing.create_draft(
                customer=customer,
                lines=lines,
                actor=actor,
                price_mode=price_mode,
                is_manual=source == Order.Source.BACKOFFICE,
                document_discount_percent=document_discount_percent,
                document_discount_amount=document_discount_amount,
                service_date_start=service_date_start,
                service_date_end=service_date_end,
                buyer_reference=buyer_reference,
                order_reference=external_reference or "",
                note=note,
                order_id=order.pk,
            )
            # Over the credit limit or too risky: held for approval or switched to prepayment.
            credit_check.apply_credit_check(
                order=order, invoice=invoice, customer=customer, actor=actor
            )
            if Company.get().auto_finalize and invoice.status == Status.DRAFT:
                invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    except IntegrityError:
        # A concurrent request with the same external reference won the race.
        if external_reference:
            existing = _invoice_of_reference(external_reference, customer_id)
            if existing is not None:
                return existing
        raise
    return invoice


def _invoice_of_reference(reference: str, customer_id: int) -> Invoice | None:
    order = Order.objects.filter(external_reference=reference).first()
    if order is None:
        return None
    if order.customer_id != customer_id:
        raise StateConflict(
            f"The external reference {reference!r} belongs to an order of another customer.",
            code="external_reference_reused",
            field="external_reference",
        )
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        raise InvalidInput(
            f"The order {reference!r} was discarded.",
            code="order_discarded",
            field="external_reference",
        )
    return invoice
