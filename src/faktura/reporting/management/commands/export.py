"""`faktura export datev|gobd …`: the accounting exports of a period.

Each kind is a module with ``HELP``, ``add_arguments(parser)`` and
``handle(options, stdout)``; this command only dispatches.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

EXPORTS = {
    "datev": "faktura.reporting.datev.command",
    "gobd": "faktura.reporting.gobd.command",
}


def _module(kind: str) -> ModuleType:
    return import_module(EXPORTS[kind])


class Command(BaseCommand):
    help = "Write an accounting export: DATEV (Buchungsstapel) or GoBD data access (Z3)."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="datev|gobd")
        for kind in EXPORTS:
            module = _module(kind)
            module.add_arguments(kinds.add_parser(kind, help=module.HELP))

    def handle(self, *args: Any, kind: str, **options: Any) -> None:
        _module(kind).handle(options, self.stdout)
