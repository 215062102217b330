"""`faktura export datev --from YYYY-MM-DD --to YYYY-MM-DD --output DIR [...]`.

Writes EXTF_Buchungsstapel_<from>_<to>.csv and EXTF_Debitoren_<from>_<to>.csv (and with
--documents Belege_<from>_<to>.zip) for the tax advisor, and says what they hold.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from faktura.core.errors import DomainError
from faktura.reporting.datev import export
from faktura.reporting.datev.extf import amount as format_amount
from faktura.reporting.models import Chart

HELP = "DATEV Buchungsstapel (EXTF 700, Format 13) und Debitoren eines Zeitraums"

KIND_LABELS = {
    "invoice": "Rechnungen",
    "credit_note": "Gutschriften",
    "cancellation": "Stornos",
    "payment": "Zahlungen",
    "return": "Rücklastschriften",
    "fee": "Gebühren und Zinsen",
    "write_off": "Ausbuchungen",
}


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--from", dest="date_from", required=True, help="Erster Tag YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", required=True, help="Letzter Tag YYYY-MM-DD")
    parser.add_argument("--output", required=True, help="Verzeichnis für die Dateien")
    # No argparse choices: a wrong value gets the same clear error as from the settings.
    parser.add_argument("--chart", help="skr03 oder skr04 (Standard: DATEV-Einstellungen)")
    parser.add_argument(
        "--encoding", default="cp1252", help="cp1252 (Standard, Windows-1252) oder utf-8"
    )
    parser.add_argument(
        "--documents", action="store_true", help="Auch die PDFs als ZIP (Name = Belegfeld 1)"
    )


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} ist kein Datum (YYYY-MM-DD).") from None


def handle(options: dict[str, Any], stdout: Any) -> None:
    date_from = _date(options["date_from"], "--from")
    date_to = _date(options["date_to"], "--to")
    chart = options.get("chart")
    if chart is not None and chart.lower() not in Chart.values:
        raise CommandError(f"--chart: {chart!r} ist unbekannt (skr03 oder skr04).")
    try:
        result = export.build(
            date_from=date_from,
            date_to=date_to,
            chart=chart.lower() if chart else None,
            encoding=options.get("encoding") or "cp1252",
            documents=bool(options.get("documents")),
        )
        paths = export.write(result, Path(options["output"]))
    except DomainError as error:
        raise CommandError(f"{error.code}: {error.message}") from None
    for path in paths:
        stdout.write(f"{path} ({path.stat().st_size} Bytes)")
    for kind, (count, total) in result.counts().items():
        stdout.write(f"  {KIND_LABELS[kind]}: {count} Buchungen, {format_amount(total)} EUR")
    stdout.write(f"  {len(result.bookings)} Buchungen, {result.customers} Debitoren")
    if result.missing_documents:
        stdout.write(
            "  Ohne archiviertes PDF (nicht im ZIP): " + ", ".join(result.missing_documents)
        )
