"""`faktura process-documents`: render, archive and queue what is missing (recovery)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from faktura.documents import pipeline
from faktura.invoicing.models import Invoice

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the document pipeline for finalized documents that have no archived file yet "
        "(a lost task, a worker that crashed). With --blocked also for documents that were "
        "blocked (failed validation or rendering; after the fix was deployed). Idempotent. "
        "A document that fails does not stop the others: it is blocked with its error, or, "
        "for a transient fault, reported; the command then exits non-zero."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--blocked", action="store_true", help="Retry blocked documents too.")

    def handle(self, *args: Any, **options: Any) -> None:
        pending = Invoice.objects.finalized().filter(archived_documents__isnull=True)
        if not options["blocked"]:
            pending = pending.exclude(delivery_status="blocked")
        ids = list(pending.order_by("pk").values_list("pk", flat=True).distinct())
        failed: dict[int, BaseException] = {}
        for invoice_id in ids:
            try:
                pipeline.process(invoice_id)
            except Exception as error:  # one document never stops the others
                logger.exception("document %s: processing failed", invoice_id)
                failed[invoice_id] = error
        blocked = list(
            Invoice.objects.filter(pk__in=ids, delivery_status="blocked")
            .order_by("pk")
            .values_list("number", "delivery_error")
        )
        for number, reason in blocked:
            self.stdout.write(f"blocked {number}: {reason.splitlines()[0] if reason else ''}")
        self.stdout.write(
            f"processed {len(ids)} document(s), {len(blocked)} blocked, {len(failed)} failed"
        )
        if failed:
            numbers = dict(Invoice.objects.filter(pk__in=failed).values_list("pk", "number"))
            lines = [
                f"{numbers.get(pk, pk)}: {type(error).__name__}: {error}"
                for pk, error in sorted(failed.items())
            ]
            raise CommandError(
                f"{len(failed)} document(s) failed and stay pending:\n" + "\n".join(lines)
            )
