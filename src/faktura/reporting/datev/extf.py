"""The DATEV EXTF file format (header version 700): header line, column names, rows.

Fields are separated by ``;``, lines end in CRLF, texts stand in double quotes (a quote
inside is doubled), amounts have a decimal comma and no thousands separator, numbers and
dates stand bare. An empty field stays empty.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from faktura.core.errors import InvalidInput

HEADER_VERSION = 700
ENCODINGS = {"cp1252": "cp1252", "utf-8": "utf-8-sig"}
# Belegfeld 1 may hold these characters only (DATEV format description, field 11).
_DOCUMENT_FIELD = re.compile(r"^[A-Za-z0-9_$&%*+\-/]{0,36}$")


class Text(str):
    """A value written in quotes."""


Field = str | Text | int | Decimal | None


def amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def day_month(value: dt.date) -> str:
    return value.strftime("%d%m")


def _field(value: Field) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        # A line break would end the record: texts are single-line.
        flat = " ".join(value.split())
        return '"' + flat.replace('"', '""') + '"'
    if isinstance(value, Decimal):
        return amount(value)
    return str(value)


def line(fields: Iterable[Field]) -> str:
    return ";".join(_field(value) for value in fields)


@dataclass(frozen=True)
class Header:
    """Line 1 of an EXTF file (31 fields)."""

    category: int  # 21 Buchungsstapel, 16 Debitoren/Kreditoren
    name: str
    version: int
    created_at: dt.datetime  # local time of the company
    consultant_number: int
    client_number: int
    fiscal_year_start: dt.date
    account_length: int
    chart: str  # "03" or "04"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    title: str = ""
    currency: str = ""
    locked: bool | None = None

    def fields(self) -> list[Field]:
        is_batch = self.date_from is not None
        return [
            Text("EXTF"),  # written by an external program, not by DATEV ("DTVF")
            HEADER_VERSION,
            self.category,
            Text(self.name),
            self.version,
            self.created_at.strftime("%Y%m%d%H%M%S") + f"{self.created_at.microsecond // 1000:03d}",
            None,
            Text(""),  # Herkunft: DATEV fills it in on import
            Text(""),  # exported by
            Text(""),  # imported by
            self.consultant_number,
            self.client_number,
            self.fiscal_year_start.strftime("%Y%m%d"),
            self.account_length,
            self.date_from.strftime("%Y%m%d") if self.date_from else None,
            self.date_to.strftime("%Y%m%d") if self.date_to else None,
            Text(self.title[:30]),
            Text(""),  # Diktatkürzel
            1 if is_batch else None,  # Buchungstyp 1 = Finanzbuchführung
            0 if is_batch else None,  # Rechnungslegungszweck: none in particular
            (1 if self.locked else 0) if is_batch else None,  # Festschreibung
            Text(self.currency),
            None,
            Text(""),  # Derivatskennzeichen
            None,
            None,
            Text(self.chart),
            None,
            None,
            Text(""),
            Text(""),  # Anwendungsinformation
        ]


def document_field(value: str, *, label: str) -> Text:
    """Belegfeld 1: refused with a clear error when DATEV would refuse it."""
    if not _DOCUMENT_FIELD.match(value):
        raise InvalidInput(
            f"{label}: die Belegnummer {value!r} ist für DATEV ungültig (höchstens 36 Zeichen "
            "aus A–Z, a–z, 0–9 und _ $ & % * + - /).",
            code="invalid_document_number",
        )
    return Text(value)


def encode(lines: Sequence[str], *, encoding: str, owners: Sequence[str] | None = None) -> bytes:
    """The file's bytes; a character Windows-1252 lacks is refused naming its owner.

    ``owners`` names, per line, the customer or document the line is about.
    """
    codec = ENCODINGS.get(encoding)
    if codec is None:
        raise InvalidInput(
            f"Unbekannte Kodierung {encoding!r}: cp1252 oder utf-8.", code="unknown_encoding"
        )
    for index, text in enumerate(lines):
        try:
            text.encode(codec)
        except UnicodeEncodeError as error:
            owner = owners[index] if owners is not None else f"Zeile {index + 1}"
            char = text[error.start]
            raise InvalidInput(
                f"{owner}: das Zeichen {char!r} (U+{ord(char):04X}) gibt es in Windows-1252 "
                "nicht. Ändern Sie den Text oder exportieren Sie mit --encoding utf-8.",
                code="not_windows_1252",
            ) from None
    return ("\r\n".join(lines) + "\r\n").encode(codec)
