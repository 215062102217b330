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
    """The same for a chunk finalized together by a billing run: the documents are rendered
    one by one outside any transaction, then archived and queued in one transaction."""
    from faktura.documents import pipeline

    pipeline.process_many(invoice_ids)
