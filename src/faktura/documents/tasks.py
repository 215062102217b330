"""Background entry points of the documents app (run after the finalizing commit)."""

from __future__ import annotations

import logging

from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def process_finalized_document(invoice_id: int) -> None:
    """Render, validate, archive and deliver one finalized document (idempotent)."""
    from faktura.documents import pipeline

    pipeline.process(invoice_id)


@task()
def process_finalized_documents(invoice_ids: list[int]) -> None:
    """The same for a chunk finalized together by a billing run."""
    from faktura.documents import pipeline

    for invoice_id in invoice_ids:
        pipeline.process(invoice_id)
