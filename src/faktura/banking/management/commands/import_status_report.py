"""`faktura import-status-report FILE`: import the bank's pain.002 for a direct-debit file.

Every debit the bank rejected is recorded like a returned debit (invoice open again,
customer mailed, collected again only for AM04/MS03). A file that cannot be read, or that
answers a file Faktura did not make, is refused with its error code and a non-zero exit
status, and nothing changes. Importing the same report again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.collection import status_reports
from faktura.core.actors import Actor
from faktura.core.errors import DomainError


class Command(BaseCommand):
    help = "Import a pain.002 payment status report for a direct-debit file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The pain.002 file")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}") from None
        try:
            result = status_reports.import_payment_status_report(
                data=data, filename=path.name, actor=Actor.system("import-status-report")
            )
        except DomainError as error:
            raise CommandError(f"{path.name}: {error.code}: {error.message}") from None
        self.stdout.write(
            f"{path.name}: file {result.original_message_id} (status "
            f"{result.group_status or '-'}): {result.rejected} rejected debits recorded, "
            f"{result.already_recorded} recorded before, {result.already_returned} returned "
            f"before, {result.accepted} accepted"
        )
        if result.changed_nothing:
            self.stdout.write("Nothing new.")
