"""`faktura export gobd`: not built yet (issue 12)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

HELP = "GoBD data access (Z3, GDPdU index.xml) of a year"


def add_arguments(parser: CommandParser) -> None:
    pass


def handle(options: dict[str, Any], stdout: Any) -> None:
    raise CommandError("The GoBD export is not built yet.")
