import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from faktura.reporting.tables import Column, Table, csv_bytes, xlsx_bytes

TABLE = Table(
    name="offene-posten-2026-11-30",
    title="Offene Posten",
    columns=(
        Column("number", "Rechnung"),
        Column("due", "Fällig", "date"),
        Column("open", "Offen", "money"),
        Column("days", "Tage", "int"),
    ),
    rows=[
        ("RE-2026-00001", dt.date(2026, 11, 1), Decimal("1234.50"), 29),
        ("RE-2", None, Decimal("-0.05"), 0),
    ],
)


def test_csv_is_for_a_german_spreadsheet():
    assert (
        csv_bytes(TABLE)
        == (
            "\ufeffRechnung;Fällig;Offen;Tage\r\n"
            "RE-2026-00001;2026-11-01;1234,50;29\r\n"
            "RE-2;;-0,05;0\r\n"
        ).encode()
    )


def test_xlsx_keeps_numbers_and_dates_typed():
    sheet = load_workbook(io.BytesIO(xlsx_bytes(TABLE))).active
    assert [c.value for c in sheet[1]] == ["Rechnung", "Fällig", "Offen", "Tage"]
    _number, due, amount, days = sheet[2]
    assert due.value == dt.datetime(2026, 11, 1)
    assert amount.value == 1234.5
    assert amount.number_format == '#,##0.00 "€"'
    assert days.value == 29
    assert sheet.title == "Offene Posten"
