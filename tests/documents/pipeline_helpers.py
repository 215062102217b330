"""Helpers of the document and notification tests: finalize through the services, run the
enqueued tasks the way a worker would, and keep archived files in a per-test directory."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult

from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from tests.invoicing.helpers import line, order


def finalized(customer, actor, *lines, **kwargs) -> Invoice:
    draft = order(customer, actor, *(lines or (line(),)), **kwargs)
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def pending_tasks(suffix: str = "") -> list[DBTaskResult]:
    return [
        row
        for row in DBTaskResult.objects.filter(status="READY").order_by("enqueued_at", "id")
        if row.task_path.endswith(suffix)
    ]


def run_tasks(suffix: str = "") -> int:
    """Run every ready task whose path ends with ``suffix`` once, as a worker would."""
    ran = 0
    while rows := pending_tasks(suffix):
        for row in rows:
            row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
            row.set_successful(None)
            ran += 1
    return ran
