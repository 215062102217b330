"""`faktura process-documents`: render, archive and queue what is missing (recovery)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from faktura.documents import pipeline
from faktura.invoicing.models import Invoice


class Command(BaseCommand):
    help = (
        "Run the document pipeline for finalized documents that have no archived file yet "
        "(a lost task, a worker that crashed). With --blocked also for documents whose "
        "e-invoice failed validation (after the fix was deployed). Idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--blocked", action="store_true", help="Retry documents blocked by validation too."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pending = Invoice.objects.finalized().filter(archived_documents__isnull=True)
        if not options["blocked"]:
            pending = pending.exclude(delivery_status="blocked")
        ids = list(pending.order_by("pk").values_list("pk", flat=True).distinct())
        for invoice_id in ids:
            pipeline.process(invoice_id)
        blocked = Invoice.objects.filter(pk__in=ids, delivery_status="blocked").count()
        self.stdout.write(f"processed {len(ids)} document(s), {blocked} blocked by validation")
