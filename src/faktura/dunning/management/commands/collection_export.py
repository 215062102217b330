"""`faktura collection-export --output DIR`.

Exports the approved collection cases not yet handed over: the CSV in the default layout
and the ZIP of their invoices and notice letters, written to DIR. Again: nothing new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.dunning.collection_handover import export_cases


class Command(BaseCommand):
    help = "Write the collection handover (CSV and ZIP) of the approved cases, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, help="Directory for the files")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["output"])
        target.mkdir(parents=True, exist_ok=True)
        try:
            export = export_cases(actor=Actor.system("collection-export"))
        except DomainError as error:
            raise CommandError(str(error)) from None
        if export is None:
            self.stdout.write("0 cases, 0 invoices: nothing new to hand over.")
            return
        csv_path = target / f"inkasso-{export.pk}.csv"
        zip_path = target / f"inkasso-{export.pk}.zip"
        csv_path.write_bytes(bytes(export.csv))
        zip_path.write_bytes(bytes(export.zip))
        self.stdout.write(
            f"{export.case_count} cases, {export.row_count} invoices: {csv_path} "
            f"(SHA-256 {export.csv_sha256}), {zip_path}"
        )
