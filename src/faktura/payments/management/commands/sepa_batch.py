"""`faktura sepa-batch --date YYYY-MM-DD [--scheme CORE|B2B] [--output DIR]`.

Makes the pain.008.001.08 file(s) collecting every invoice due on the date and writes
them, byte for byte as stored, into the output directory. Running it again for the
same date makes no second file: it writes the existing, not yet submitted files again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.collection import services
from faktura.collection.models import DirectDebitBatch, Scheme
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.core.money import format_amount


class Command(BaseCommand):
    help = "Make the SEPA direct-debit file(s) (pain.008.001.08) for a collection date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="Collection date YYYY-MM-DD")
        parser.add_argument(
            "--scheme", choices=Scheme.values, help="CORE or B2B (default: both, one file each)"
        )
        parser.add_argument(
            "--output",
            default=str(Path(settings.DATA_DIR) / "sepa"),
            help="Directory for the XML files (default: DATA_DIR/sepa)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            collection_date = dt.date.fromisoformat(options["date"])
        except ValueError:
            raise CommandError(f"--date: {options['date']!r} is not a date (YYYY-MM-DD)") from None
        schemes = [options["scheme"]] if options["scheme"] else list(Scheme.values)
        output = Path(options["output"])
        actor = Actor.system("sepa-batch")
        written = 0
        for scheme in schemes:
            try:
                batch = services.create_direct_debit_batch(
                    collection_date=collection_date, scheme=scheme, actor=actor
                )
            except DomainError as error:
                raise CommandError(f"{error.code}: {error.message}") from None
            batches = [batch] if batch is not None else []
            # Files made earlier for this date and not yet submitted: written again, unchanged.
            batches += list(
                DirectDebitBatch.objects.filter(
                    scheme=scheme,
                    collection_date=collection_date,
                    status=DirectDebitBatch.Status.CREATED,
                )
                .exclude(pk=batch.pk if batch else None)
                .order_by("pk")
            )
            if not batches:
                self.stdout.write(f"{scheme}: nothing due for collection on {collection_date}.")
            for each in batches:
                output.mkdir(parents=True, exist_ok=True)
                path = output / each.file_name
                path.write_bytes(each.file_bytes())
                written += 1
                state = "new" if batch is not None and each.pk == batch.pk else "existing"
                self.stdout.write(
                    f"{scheme}: {path} ({state}, {each.transaction_count} debits, "
                    f"{format_amount(each.control_sum)} EUR, sha256 {each.checksum})"
                )
        if written:
            self.stdout.write("Submit the file(s) to the bank, then mark them submitted.")
