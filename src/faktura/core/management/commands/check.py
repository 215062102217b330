"""`faktura check`: Django's system checks, then Faktura's integrity checks (GoBD)."""

from __future__ import annotations

from typing import Any

from django.core.management import CommandError
from django.core.management.commands.check import Command as SystemCheckCommand

from faktura.core.integrity import all_problems


class Command(SystemCheckCommand):
    help = (
        "Run Django's system checks, then verify, in one consistent snapshot, the audit "
        "log's hash chains, finalized documents against their finalization records, gapless "
        "number ranges, and archived and bank files against their rows and audit entries."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--system-only", action="store_true", help="Only Django's system checks."
        )

    def handle(self, *app_labels: Any, **options: Any) -> None:
        super().handle(*app_labels, **options)
        if options["system_only"]:
            return
        problems = 0
        for problem in all_problems():
            problems += 1
            self.stderr.write(self.style.ERROR(f"INTEGRITY: {problem}"))
        if problems:
            raise CommandError(f"Integrity check failed: {problems} problem(s) found.")
        self.stdout.write(
            self.style.SUCCESS("Integrity check passed: audit log and documents intact.")
        )
