"""Write the GoBD data access (Z3) of one year into a directory: index.xml, its DTD, CSVs.

Everything is written into a fresh directory beside the target and moved into place only
when complete, so a failure leaves nothing behind and a half-written export is never
mistaken for a whole one. All tables are read from one consistent snapshot, so the
tables agree with each other even while Faktura keeps working.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path

from django.utils.translation import gettext as _

from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.core.integrity import consistent_snapshot
from faktura.core.models import Company
from faktura.reporting.gobd import layout
from faktura.reporting.gobd.index import dtd_bytes, index_xml
from faktura.reporting.gobd.selectors import ROWS, Year, year_of

# GoBD data access reaches back as far as the retention period; earlier years are a typo.
FIRST_YEAR = 2000


def parse_year(text: str | int) -> int:
    """The year as a number; raise InvalidInput for anything but a past or current year."""
    try:
        year = int(str(text).strip())
    except ValueError:
        raise InvalidInput(
            _("Ungültiges Jahr „%(text)s“: bitte vierstellig angeben, z. B. 2026.")
            % {"text": text},
            field="year",
        ) from None
    current = clock.today().year
    if not FIRST_YEAR <= year <= current:
        raise InvalidInput(
            _("Ungültiges Jahr %(year)s: erlaubt sind %(first)s bis %(current)s.")
            % {"year": year, "first": FIRST_YEAR, "current": current},
            field="year",
        )
    return year


def check_target(output: Path) -> None:
    """Refuse a target that is a file, a non-empty directory, or not writable."""
    if output.exists() and not output.is_dir():
        raise InvalidInput(
            _("%(path)s ist eine Datei, kein Verzeichnis.") % {"path": output}, field="output"
        )
    if output.is_dir() and any(output.iterdir()):
        raise InvalidInput(
            _("Das Verzeichnis %(path)s ist nicht leer; bitte ein neues oder leeres angeben.")
            % {"path": output},
            field="output",
        )
    parent = output.parent
    if not parent.is_dir():
        raise InvalidInput(
            _("Das Verzeichnis %(path)s gibt es nicht.") % {"path": parent}, field="output"
        )
    writable = output if output.is_dir() else parent
    if not os.access(writable, os.W_OK | os.X_OK):
        raise InvalidInput(
            _("In %(path)s darf nicht geschrieben werden.") % {"path": writable},
            field="output",
        )


def _company() -> Company:
    company = Company.objects.order_by("pk").first()
    if company is None:
        raise InvalidInput(_("Es ist noch keine Firma angelegt (Stammdaten)."))
    return company


def _write_table(directory: Path, table: layout.Table, year: Year) -> int:
    count = 0
    with open(directory / table.url, "w", encoding=layout.ENCODING, newline="") as handle:
        writer = csv.writer(
            handle,
            delimiter=layout.COLUMN_DELIMITER,
            quotechar=layout.TEXT_ENCAPSULATOR,
            lineterminator=layout.RECORD_DELIMITER,
            quoting=csv.QUOTE_MINIMAL,
        )
        writer.writerow(table.column_names)
        for row in ROWS[table.key](year):
            writer.writerow(
                [column.format(value) for column, value in zip(table.columns, row, strict=True)]
            )
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


def write_export(*, year: int | str, output: Path) -> dict[str, int]:
    """Write the export of ``year`` to ``output`` (new or empty); return rows per table.

    Raises InvalidInput (bad year, unusable target, no company) before writing anything.
    """
    number = parse_year(year)
    output = Path(output).absolute()
    check_target(output)
    company = _company()
    period = year_of(number)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".gobd-", dir=output.parent))
    except OSError as error:
        raise InvalidInput(
            _("In %(path)s kann nicht geschrieben werden: %(error)s")
            % {"path": output.parent, "error": error.strerror},
            field="output",
        ) from None
    try:
        counts: dict[str, int] = {}
        with consistent_snapshot():
            for table in layout.TABLES:
                counts[table.url] = _write_table(staging, table, period)
        location = f"{company.street} {company.house_number}, {company.postcode} {company.city}"
        comment = _(
            "GoBD-Datenzugriff (Datenträgerüberlassung) für %(year)s, Steuernummer "
            "%(tax_number)s, USt-IdNr. %(vat_id)s, erstellt am %(today)s mit Faktura"
        ) % {
            "year": number,
            "tax_number": company.tax_number or "-",
            "vat_id": company.vat_id or "-",
            "today": layout.Column("", "", "date").format(clock.today()),
        }
        (staging / "index.xml").write_bytes(
            index_xml(year=period, supplier=company.legal_name, location=location, comment=comment)
        )
        (staging / layout.DTD_NAME).write_bytes(dtd_bytes())
        _move_into_place(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def _move_into_place(staging: Path, output: Path) -> None:
    if output.is_dir():
        for path in staging.iterdir():
            path.rename(output / path.name)
        staging.rmdir()
    else:
        staging.rename(output)
