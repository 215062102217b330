"""`faktura backup FILE`: the database, the archived files and a manifest in one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core.errors import DomainError
from faktura.core.operations.backup import make_backup


class Command(BaseCommand):
    help = (
        "Write a backup: the database (pg_dump -Fc or SQLite's backup API, one snapshot), "
        "every archived file and a manifest with each member's SHA-256, in one ZIP file."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The backup file to write (must not exist)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = make_backup(target=Path(options["file"]), progress=self.stdout.write)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Sicherung {result.path}: {result.files} Datei(en), "
                f"{result.size / 1e6:.1f} MB in {result.seconds:.1f} s."
            )
        )
        if result.missing:
            raise CommandError(
                f"{len(result.missing)} archivierte Datei(en) fehlen im Speicher und fehlen "
                "daher auch in der Sicherung (siehe `faktura check`)."
            )
