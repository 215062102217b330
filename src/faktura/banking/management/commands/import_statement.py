"""`faktura import-statement FILE [--csv-mapping NAME]`: import a bank statement file.

Reads camt.052/053/054, MT940, or CSV through a saved column mapping; prints what the
import did. A file that cannot be read is refused with its error code and a non-zero
exit status, and nothing is imported. Importing the same file again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.banking import services
from faktura.banking.models import CsvMappingProfile
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.core.money import format_amount


class Command(BaseCommand):
    help = "Import a bank statement (camt.052/053/054, MT940, CSV with --csv-mapping)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The statement file")
        parser.add_argument(
            "--csv-mapping", help="Name of the saved CSV column mapping (CSV exports only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}") from None
        mapping_id = None
        if name := options.get("csv_mapping"):
            profile = CsvMappingProfile.objects.filter(name=name).first()
            if profile is None:
                known = ", ".join(CsvMappingProfile.objects.values_list("name", flat=True))
                raise CommandError(
                    f"csv_mapping_not_found: no CSV mapping {name!r} (saved: {known or 'none'})"
                )
            mapping_id = profile.pk
        try:
            result = services.import_statement(
                data=data,
                filename=path.name,
                actor=Actor.system("import-statement"),
                csv_mapping_id=mapping_id,
            )
        except DomainError as error:
            raise CommandError(f"{path.name}: {error.code}: {error.message}") from None
        if result.already_imported:
            self.stdout.write(f"{path.name} was imported before; nothing new.")
        self.stdout.write(
            f"{path.name}: {result.transactions} transactions, {result.new} new, "
            f"{result.duplicates} duplicates, {result.booked} booked "
            f"({format_amount(result.booked_amount)} EUR), {result.unmatched} unmatched, "
            f"{result.returns} returns, {result.ignored} ignored"
        )
        if result.queued:
            self.stdout.write(
                f"{result.queued} matched transactions are being booked by the task worker."
            )
        if result.rematched:
            self.stdout.write(f"{result.rematched} waiting transactions of earlier imports booked.")
        if result.unmatched:
            self.stdout.write("Unmatched transactions wait on the to-do list (state unmatched).")
