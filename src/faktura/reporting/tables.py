"""A report as a table, and the CSV and XLSX files made from it.

Report selectors return a ``Table`` (columns with a kind, rows as tuples in column order);
the API hands it out as JSON or as a file. CSV is written for a German spreadsheet:
UTF-8 with BOM, ``;`` between fields, decimal comma, ISO dates. XLSX keeps numbers and
dates as typed cells, amounts in the format ``#,##0.00 €``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

ColumnKind = Literal["text", "money", "int", "date", "percent"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: ColumnKind = "text"


@dataclass(frozen=True)
class Table:
    name: str  # the file name without extension, e.g. "offene-posten-2026-11-30"
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[tuple[Any, ...]]


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                _csv_value(value, column.kind)
                for value, column in zip(row, table.columns, strict=True)
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Any, kind: ColumnKind) -> str:
    if value is None:
        return ""
    if kind in ("money", "percent") and isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


XLSX_FORMATS: dict[ColumnKind, str] = {
    "money": '#,##0.00 "€"',
    "percent": "0.00",
    "int": "0",
    "date": "DD.MM.YYYY",
    "text": "@",
}


def xlsx_bytes(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = str(table.title)[:31]  # Excel's limit for a sheet name
    sheet.append([str(column.label) for column in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(list(row))
    for index, column in enumerate(table.columns, start=1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = XLSX_FORMATS[column.kind]
        width = max([len(str(column.label))] + [len(str(r[index - 1])) for r in table.rows[:200]])
        sheet.column_dimensions[cell_letter(index)].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def cell_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))
