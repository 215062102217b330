"""`faktura export datev`: not built yet (issue 12)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

HELP = "DATEV Buchungsstapel (EXTF 700) of a period"


def add_arguments(parser: CommandParser) -> None:
    pass


def handle(options: dict[str, Any], stdout: Any) -> None:
    raise CommandError("The DATEV export is not built yet.")
