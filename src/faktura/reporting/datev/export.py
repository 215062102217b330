"""The DATEV export of a period: Buchungsstapel, Debitoren and, if asked, the PDFs.

Everything is built in memory and checked first; only then are the files written (each
under a temporary name, renamed when complete), so a refused export leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils import translation

from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.reporting.datev import extf, selectors
from faktura.reporting.datev.accounts import AccountMap
from faktura.reporting.datev.bookings import KINDS, Booking, period_bookings
from faktura.reporting.datev.columns import BOOKING_COLUMNS, DEBTOR_COLUMNS
from faktura.reporting.models import Chart, DatevSettings

BATCH_VERSION = 13  # Buchungsstapel format version (125 columns)
DEBTOR_VERSION = 5  # Debitoren/Kreditoren format version

_BOOKING = {name: index for index, name in enumerate(BOOKING_COLUMNS)}
_DEBTOR = {name: index for index, name in enumerate(DEBTOR_COLUMNS)}


@dataclass
class Export:
    """The files of one export (name → bytes) and what they hold."""

    files: dict[str, bytes]
    bookings: list[Booking]
    customers: int
    missing_documents: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, tuple[int, Decimal]]:
        """Per kind of booking: how many rows and their sum."""
        numbers: Counter[str] = Counter(b.kind for b in self.bookings)
        sums: dict[str, Decimal] = {}
        for booking in self.bookings:
            sums[booking.kind] = sums.get(booking.kind, Decimal("0.00")) + booking.amount
        return {kind: (numbers[kind], sums[kind]) for kind in KINDS if numbers[kind]}


def fiscal_year_start(day: dt.date, start_month: int) -> dt.date:
    year = day.year if day.month >= start_month else day.year - 1
    return dt.date(year, start_month, 1)


def check_period(date_from: dt.date, date_to: dt.date, start_month: int) -> dt.date:
    """Return the fiscal year's first day; refuse a period DATEV cannot take as one batch."""
    if date_from > date_to:
        raise InvalidInput(
            f"Der Zeitraum endet ({date_to:%d.%m.%Y}) vor seinem Beginn ({date_from:%d.%m.%Y}).",
            code="invalid_period",
        )
    start = fiscal_year_start(date_from, start_month)
    if fiscal_year_start(date_to, start_month) != start:
        # The rows carry day and month only: a batch lies within one fiscal year.
        raise InvalidInput(
            f"Ein DATEV-Stapel liegt in einem Wirtschaftsjahr: {date_from:%d.%m.%Y} bis "
            f"{date_to:%d.%m.%Y} überschreitet dessen Ende. Exportieren Sie in zwei Teilen.",
            code="period_spans_fiscal_years",
        )
    return start


def build(
    *,
    date_from: dt.date,
    date_to: dt.date,
    chart: str | None = None,
    encoding: str = "cp1252",
    documents: bool = False,
) -> Export:
    """Build the export files of the period; raise InvalidInput when DATEV would refuse."""
    config = DatevSettings.load()
    if config.consultant_number is None or config.client_number is None:
        raise InvalidInput(
            "Beraternummer und Mandantennummer fehlen (DATEV-Einstellungen oder "
            "FAKTURA_DATEV_CONSULTANT_NUMBER / FAKTURA_DATEV_CLIENT_NUMBER).",
            code="datev_not_configured",
        )
    if encoding not in extf.ENCODINGS:
        raise InvalidInput(
            f"Unbekannte Kodierung {encoding!r}: cp1252 oder utf-8.", code="unknown_encoding"
        )
    year_start = check_period(date_from, date_to, config.fiscal_year_start_month)
    accounts = AccountMap(chart or config.chart, config)
    period = selectors.Period.of(date_from, date_to)
    with translation.override("de"):  # the office's DATEV speaks German
        bookings = period_bookings(period, accounts)
    created_at = clock.now().astimezone(ZoneInfo(period.time_zone))

    def header(category: int, name: str, version: int, **extra: object) -> extf.Header:
        return extf.Header(
            category=category,
            name=name,
            version=version,
            created_at=created_at,
            consultant_number=config.consultant_number or 0,
            client_number=config.client_number or 0,
            fiscal_year_start=year_start,
            account_length=config.account_length,
            chart="03" if accounts.chart == Chart.SKR03 else "04",
            **extra,  # type: ignore[arg-type]
        )

    stamp = f"{date_from:%Y%m%d}_{date_to:%Y%m%d}"
    batch = header(
        21,
        "Buchungsstapel",
        BATCH_VERSION,
        date_from=date_from,
        date_to=date_to,
        title=f"Faktura {date_from:%d.%m.}-{date_to:%d.%m.%Y}",
        currency="EUR",
        locked=config.lock_bookings,
    )
    lines = [extf.line(batch.fields()), extf.line(extf.Text(n) for n in BOOKING_COLUMNS)]
    owners = ["", ""]
    for booking in bookings:
        owner = _owner(booking)
        lines.append(extf.line(_booking_fields(booking, owner)))
        owners.append(owner)
    files = {
        f"EXTF_Buchungsstapel_{stamp}.csv": extf.encode(lines, encoding=encoding, owners=owners)
    }

    customer_ids = {b.customer_id for b in bookings if b.customer_id is not None}
    customers = selectors.customers(customer_ids)
    master = header(16, "Debitoren/Kreditoren", DEBTOR_VERSION, title="Debitoren")
    lines = [extf.line(master.fields()), extf.line(extf.Text(n) for n in DEBTOR_COLUMNS)]
    owners = ["", ""]
    for customer in customers:
        lines.append(extf.line(_debtor_fields(customer, accounts)))
        owners.append(f"Kunde {customer['number']} ({customer['name']})")
    files[f"EXTF_Debitoren_{stamp}.csv"] = extf.encode(lines, encoding=encoding, owners=owners)

    export = Export(files=files, bookings=bookings, customers=len(customers))
    if documents:
        archive, export.missing_documents = _documents_zip(bookings)
        files[f"Belege_{stamp}.zip"] = archive
    return export


def _owner(booking: Booking) -> str:
    if booking.document:
        return f"Beleg {booking.document} (Kunde {booking.customer_number or '–'})"
    return f"Kunde {booking.customer_number or '–'}"


def _booking_fields(booking: Booking, owner: str) -> list[extf.Field]:
    row: list[extf.Field] = [None] * len(BOOKING_COLUMNS)
    row[_BOOKING["Umsatz (ohne Soll/Haben-Kz)"]] = booking.amount
    row[_BOOKING["Soll/Haben-Kennzeichen"]] = extf.Text(booking.side)
    row[_BOOKING["WKZ Umsatz"]] = extf.Text("EUR")
    row[_BOOKING["Konto"]] = booking.account
    row[_BOOKING["Gegenkonto (ohne BU-Schlüssel)"]] = booking.contra
    if booking.tax_key:
        row[_BOOKING["BU-Schlüssel"]] = extf.Text(booking.tax_key)
    row[_BOOKING["Belegdatum"]] = extf.day_month(booking.date)
    row[_BOOKING["Belegfeld 1"]] = extf.document_field(booking.document, label=owner)
    row[_BOOKING["Buchungstext"]] = extf.Text(booking.text[:60])
    if booking.eu_vat_id:
        row[_BOOKING["EU-Land u. UStID (Bestimmung)"]] = extf.Text(booking.eu_vat_id)
    return row


def _debtor_fields(customer: dict[str, object], accounts: AccountMap) -> list[extf.Field]:
    row: list[extf.Field] = [None] * len(DEBTOR_COLUMNS)
    name = str(customer["name"])
    number = str(customer["number"])

    def text(column: str, value: object) -> None:
        if value:
            row[_DEBTOR[column]] = extf.Text(str(value))

    row[_DEBTOR["Konto"]] = accounts.debtor(number, int(customer["id"]))  # type: ignore[call-overload]
    if customer["kind"] == "consumer":
        # First and last name are not kept apart: DATEV's "keine Angabe" takes the whole.
        text("Name (Adressattyp keine Angabe)", name[:50])
        text("Adressattyp", "0")
    else:
        text("Name (Adressattyp Unternehmen)", name[:50])
        text("Adressattyp", "2")
    text("Kurzbezeichnung", name[:15])
    vat_id = str(customer["vat_id"] or "")
    if vat_id:
        text("EU-Land", vat_id[:2])
        text("EU-UStID", vat_id[2:])
    text("Adressart", "STR")
    text("Straße", f"{customer['street']} {customer['house_number']}".strip()[:36])
    text("Postleitzahl", customer["postcode"])
    text("Ort", customer["city"])
    text("Land", customer["country"])
    text("Telefon", customer["phone"])
    text("E-Mail", customer["email"])
    text("Kunden-/Lief.-Nr.", number)
    text("Ansprechpartner", customer["contact_name"])
    if customer["payment_term_days"] is not None:
        row[_DEBTOR["Fälligkeit in Tagen (Debitor)"]] = int(customer["payment_term_days"])  # type: ignore[call-overload]
    return row


def _documents_zip(bookings: list[Booking]) -> tuple[bytes, list[str]]:
    """The archived PDFs of the period's documents, each named by its Belegfeld 1."""
    from faktura.documents.archive import read_archived
    from faktura.documents.models import ArchivedDocument

    numbers = {b.invoice_id: b.document for b in bookings if b.invoice_id is not None}
    archived = {
        document.invoice_id: document
        for document in ArchivedDocument.objects.select_related("invoice").filter(
            invoice_id__in=numbers, kind=ArchivedDocument.Kind.PDF
        )
    }
    buffer = io.BytesIO()
    missing = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for invoice_id, number in sorted(numbers.items(), key=lambda item: item[1]):
            document = archived.get(invoice_id)
            if document is None:
                missing.append(number)
                continue
            issued = document.invoice.issue_date or dt.date(1980, 1, 1)
            entry = zipfile.ZipInfo(
                f"{number}.pdf", date_time=(issued.year, issued.month, issued.day, 0, 0, 0)
            )
            archive.writestr(entry, read_archived(document), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue(), missing


def write(export: Export, directory: Path) -> list[Path]:
    """Write the files into ``directory`` (created if need be); all or none."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInput(
            f"Das Verzeichnis {directory} lässt sich nicht anlegen: {error.strerror}.",
            code="output_not_writable",
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InvalidInput(
            f"In das Verzeichnis {directory} kann nicht geschrieben werden.",
            code="output_not_writable",
        )
    temporary: list[tuple[Path, Path]] = []
    try:
        for name, content in export.files.items():
            partial = directory / f".{name}.partial"
            temporary.append((partial, directory / name))
            partial.write_bytes(content)
    except OSError as error:
        for partial, _target in temporary:
            partial.unlink(missing_ok=True)
        raise InvalidInput(
            f"Schreiben in {directory} fehlgeschlagen: {error.strerror}.",
            code="output_not_writable",
        ) from None
    for partial, target in temporary:
        partial.replace(target)
    return [target for _partial, target in temporary]
