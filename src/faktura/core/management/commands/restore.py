"""`faktura restore FILE`: a backup into an empty installation, then `faktura check`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core.errors import DomainError
from faktura.core.operations.restore import restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup of `faktura backup` into an empty installation (empty database, "
        "no files): every member is verified before anything is written; then `faktura check`."
    )
    # The system checks run after the restore, as part of `faktura check`.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The backup file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_backup(source=Path(options["file"]), progress=self.stdout.write)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        manifest = result.manifest
        self.stdout.write(
            f"Wiederhergestellt: Sicherung vom {manifest['created_at']} "
            f"(Faktura {manifest['faktura_version']}), {result.files} Datei(en) "
            f"in {result.seconds:.1f} s."
        )
        if result.migrated:
            self.stdout.write(f"Migriert: {', '.join(result.migrated)}")
        self.stdout.write("faktura check …")
        try:
            call_command("check", stdout=self.stdout, stderr=self.stderr)
        except CommandError as error:
            raise CommandError(f"Wiederhergestellt, aber `faktura check` meldet: {error}") from None
