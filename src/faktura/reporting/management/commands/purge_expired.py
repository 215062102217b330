"""`faktura purge-expired [--dry-run] [--date YYYY-MM-DD]`.

Deletes archived files (invoices, credit notes, cancellations, dunning letters) whose
retention period ended before the date, except those of customers under a legal hold
(Aufbewahrungssperre). Each deletion is logged (admin: Löschprotokoll) and audited; the
archive rows stay. Running it again deletes nothing new. ``--dry-run`` only lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.reporting.services import purge_expired


class Command(BaseCommand):
    help = "Delete archived files past their retention period (legal holds respected)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Reference date YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None
            if on > clock.today():
                raise CommandError(f"--date: {on} is in the future; retention ends by today")
        else:
            on = clock.today()
        dry_run = options["dry_run"]
        try:
            result = purge_expired(on=on, actor=Actor.system("purge-expired"), dry_run=dry_run)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        verb = "would delete" if dry_run else "deleted"
        for document in result.purged:
            self.stdout.write(
                f"  {verb}: {document.file_name} (retention until {document.retention_until})"
            )
        for document in result.held:
            self.stdout.write(
                f"  kept (legal hold): {document.file_name} "
                f"(retention until {document.retention_until})"
            )
        label = "Dry run" if dry_run else "Purge"
        self.stdout.write(
            f"{label} for {on}: {len(result.purged)} file(s) {verb}, "
            f"{len(result.held)} kept under legal hold"
            + (
                f", {result.finished} left over from an interrupted run deleted"
                if result.finished
                else ""
            )
            + "."
        )
