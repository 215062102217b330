"""`faktura export gobd --year YYYY --output DIR`: the GoBD data access (Z3) of a year.

Writes index.xml (GDPdU description standard), its DTD and one CSV per table into DIR (new
or empty) and prints the rows per table. Bad input writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from faktura.core.errors import DomainError
from faktura.reporting.gobd.export import write_export

HELP = "GoBD data access (Z3, GDPdU index.xml) of a year"


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--year", required=True, help="Calendar year, e.g. 2026")
    parser.add_argument("--output", required=True, help="Directory to write into (new or empty)")


def handle(options: dict[str, Any], stdout: Any) -> None:
    output = Path(options["output"])
    try:
        counts = write_export(year=options["year"], output=output)
    except DomainError as error:
        raise CommandError(error.message) from None
    for name, count in counts.items():
        stdout.write(f"{name}: {count}")
    stdout.write(f"GoBD export {options['year']} written to {output.absolute()}")
