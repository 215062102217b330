"""State changes of the documents capability (the archive itself is written by archive.py)."""

from __future__ import annotations

from django.db import transaction

from faktura.core import audit
from faktura.core.actors import Actor
from faktura.core.errors import NotFound
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice

BLOCKED = "blocked"


def block_delivery(*, invoice_id: int, reason: str, rule_ids: list[str], actor: Actor) -> Invoice:
    """Keep a document from being sent: its e-invoice failed validation, or it failed.

    Sets ``delivery_status = "blocked"`` and the rules' messages (or the error, then
    ``rule_ids`` is empty) as ``delivery_error`` for staff; the frozen document itself does
    not change. Idempotent: blocking again for the same reason records nothing.
    Locks: the customer's account, then the document.
    """
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update().filter(invoices__id=invoice_id).order_by().first()
        )
        if customer is None:
            raise NotFound(f"Invoice {invoice_id} does not exist.", code="invoice_not_found")
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        if invoice.delivery_status == BLOCKED and invoice.delivery_error == reason:
            return invoice
        invoice.delivery_status = BLOCKED
        invoice.delivery_error = reason
        invoice.save(update_fields=["delivery_status", "delivery_error", "updated_at"])
        audit.record(
            chain=audit.customer_chain(invoice.customer_id),
            actor=actor,
            action="document.blocked",
            object_type=invoice.kind,
            object_id=invoice.pk,
            data=blocked_data(invoice.number, reason, sorted(rule_ids)),
        )
    return invoice


def blocked_data(number: str | None, reason: str, rule_ids: list[str]) -> dict[str, object]:
    """The audit data of ``document.blocked``: the failed rules, or the error if none."""
    data: dict[str, object] = {"number": number, "rules": rule_ids}
    if not rule_ids:
        data["error"] = reason
    return data
