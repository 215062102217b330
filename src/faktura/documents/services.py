"""State changes of the documents capability (the archive itself is written by archive.py)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import NotFound
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice

logger = logging.getLogger(__name__)

BLOCKED = "blocked"


def block_delivery(*, invoice_id: int, reason: str, rule_ids: list[str], actor: Actor) -> Invoice:
    """Keep a document from being sent: its e-invoice failed validation, or it failed.

    Sets ``delivery_status = "blocked"`` and the rules' messages (or the error, then
    ``rule_ids`` is empty) as ``delivery_error`` for staff; the frozen document itself does
    not change. Idempotent: blocking again for the same reason records nothing.
    Locks: the customer's account, then the document.
    """
    permissions.require(actor, "document.block")
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


def requeue_unprocessed(*, older_than: dt.timedelta) -> int:
    """Queue the pipeline again for finalized documents that have stalled; return how many.

    Finds unblocked finalized documents older than ``older_than`` without an archived file
    or without their first mail (``stuck.unfinished``) that no waiting or running document
    task covers, and enqueues ``process_finalized_documents`` for them in chunks. Leaves
    out documents whose task failed less than ``older_than`` ago (retried after that) and
    those given up because their workers kept dying (``WorkerLost``: `faktura check` names
    them for a person). Idempotent: a second call finds them covered by the first one's
    tasks; the pipeline itself archives and announces each document once.
    """
    from django_tasks_db.models import DBTaskResult

    from faktura.documents.pipeline import CHUNK_SIZE
    from faktura.documents.stuck import unfinished
    from faktura.documents.tasks import process_finalized_document, process_finalized_documents
    from faktura.workers.lease import WORKER_LOST

    now = clock.now()
    candidates = [
        pk
        for pk, is_archived, is_announced in unfinished(older_than=older_than, now=now).values_list(
            "pk", "is_archived", "is_announced"
        )
        if not (is_archived and is_announced)
    ]
    if not candidates:
        return 0
    paths = [process_finalized_document.module_path, process_finalized_documents.module_path]
    covering = DBTaskResult.objects.filter(task_path__in=paths).filter(
        Q(status__in=["READY", "RUNNING"])
        | Q(status="FAILED", exception_class_path=WORKER_LOST)
        | Q(status="FAILED", finished_at__gte=now - older_than)
    )
    covered: set[int] = set()
    for args in covering.values_list("args_kwargs", flat=True):
        for arg in args.get("args", []):
            covered.update(arg if isinstance(arg, list) else [arg])
    ids = [pk for pk in candidates if pk not in covered]
    for start in range(0, len(ids), CHUNK_SIZE):
        process_finalized_documents.enqueue(ids[start : start + CHUNK_SIZE])
    if ids:
        logger.warning("re-queued %s stalled document(s): %s", len(ids), ids[:20])
    return len(ids)
