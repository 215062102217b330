"""The DATEV export of a month, byte for byte, in SKR 03 and SKR 04.

The month (tests/reporting/datev_month.py) has a row for 19 %, 7 %, a mixed-rate
invoice (one row per rate), reverse charge, an intra-community supply, a credit note, a
cancellation, a payment, a returned debit with its fee and a write-off.
"""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.core.errors import InvalidInput
from faktura.reporting.datev import export
from faktura.reporting.datev.columns import BOOKING_COLUMNS, DEBTOR_COLUMNS
from tests.reporting.datev_month import configure, make_month

pytestmark = pytest.mark.django_db

NOVEMBER = {"date_from": dt.date(2026, 11, 1), "date_to": dt.date(2026, 11, 30)}
BATCH = "EXTF_Buchungsstapel_20261101_20261130.csv"
DEBTORS = "EXTF_Debitoren_20261101_20261130.csv"

# Line 2 of a Buchungsstapel: the 125 column names of format version 13, in order.
BOOKING_COLUMN_LINE = (
    '"Umsatz (ohne Soll/Haben-Kz)";"Soll/Haben-Kennzeichen";"WKZ Umsatz";"Kurs";'
    '"Basis-Umsatz";"WKZ Basis-Umsatz";"Konto";"Gegenkonto (ohne BU-Schlüssel)";'
    '"BU-Schlüssel";"Belegdatum";"Belegfeld 1";"Belegfeld 2";"Skonto";"Buchungstext";'
    '"Postensperre";"Diverse Adressnummer";"Geschäftspartnerbank";"Sachverhalt";'
    '"Zinssperre";"Beleglink";"Beleginfo - Art 1";"Beleginfo - Inhalt 1";'
    '"Beleginfo - Art 2";"Beleginfo - Inhalt 2";"Beleginfo - Art 3";"Beleginfo - Inhalt 3";'
    '"Beleginfo - Art 4";"Beleginfo - Inhalt 4";"Beleginfo - Art 5";"Beleginfo - Inhalt 5";'
    '"Beleginfo - Art 6";"Beleginfo - Inhalt 6";"Beleginfo - Art 7";"Beleginfo - Inhalt 7";'
    '"Beleginfo - Art 8";"Beleginfo - Inhalt 8";"KOST1 - Kostenstelle";'
    '"KOST2 - Kostenstelle";"Kost-Menge";"EU-Land u. UStID (Bestimmung)";'
    '"EU-Steuersatz (Bestimmung)";"Abw. Versteuerungsart";"Sachverhalt L+L";'
    '"Funktionsergänzung L+L";"BU 49 Hauptfunktionstyp";"BU 49 Hauptfunktionsnummer";'
    '"BU 49 Funktionsergänzung";'
    '"Zusatzinformation - Art 1";"Zusatzinformation- Inhalt 1";'
    '"Zusatzinformation - Art 2";"Zusatzinformation- Inhalt 2";'
    '"Zusatzinformation - Art 3";"Zusatzinformation- Inhalt 3";'
    '"Zusatzinformation - Art 4";"Zusatzinformation- Inhalt 4";'
    '"Zusatzinformation - Art 5";"Zusatzinformation- Inhalt 5";'
    '"Zusatzinformation - Art 6";"Zusatzinformation- Inhalt 6";'
    '"Zusatzinformation - Art 7";"Zusatzinformation- Inhalt 7";'
    '"Zusatzinformation - Art 8";"Zusatzinformation- Inhalt 8";'
    '"Zusatzinformation - Art 9";"Zusatzinformation- Inhalt 9";'
    '"Zusatzinformation - Art 10";"Zusatzinformation- Inhalt 10";'
    '"Zusatzinformation - Art 11";"Zusatzinformation- Inhalt 11";'
    '"Zusatzinformation - Art 12";"Zusatzinformation- Inhalt 12";'
    '"Zusatzinformation - Art 13";"Zusatzinformation- Inhalt 13";'
    '"Zusatzinformation - Art 14";"Zusatzinformation- Inhalt 14";'
    '"Zusatzinformation - Art 15";"Zusatzinformation- Inhalt 15";'
    '"Zusatzinformation - Art 16";"Zusatzinformation- Inhalt 16";'
    '"Zusatzinformation - Art 17";"Zusatzinformation- Inhalt 17";'
    '"Zusatzinformation - Art 18";"Zusatzinformation- Inhalt 18";'
    '"Zusatzinformation - Art 19";"Zusatzinformation- Inhalt 19";'
    '"Zusatzinformation - Art 20";"Zusatzinformation- Inhalt 20";'
    '"Stück";"Gewicht";"Zahlweise";"Forderungsart";"Veranlagungsjahr";'
    '"Zugeordnete Fälligkeit";"Skontotyp";"Auftragsnummer";"Buchungstyp";'
    '"USt-Schlüssel (Anzahlungen)";"EU-Land (Anzahlungen)";"Sachverhalt L+L (Anzahlungen)";'
    '"EU-Steuersatz (Anzahlungen)";"Erlöskonto (Anzahlungen)";"Herkunft-Kz";"Buchungs GUID";'
    '"KOST-Datum";"SEPA-Mandatsreferenz";"Skontosperre";"Gesellschaftername";'
    '"Beteiligtennummer";"Identifikationsnummer";"Zeichnernummer";"Postensperre bis";'
    '"Bezeichnung SoBil-Sachverhalt";"Kennzeichen SoBil-Buchung";"Festschreibung";'
    '"Leistungsdatum";"Datum Zuord. Steuerperiode";"Fälligkeit";"Generalumkehr (GU)";'
    '"Steuersatz";"Land";"Abrechnungsreferenz";"BVV-Position";"EU-Land u. UStID (Ursprung)";'
    '"EU-Steuersatz (Ursprung)";"Abw. Skontokonto"'
)


def _row(*fields: str) -> str:
    """A booking row: the fields given, then empty ones up to column 125."""
    text = ";".join(fields)
    return text + ";" * (124 - text.count(";"))


def _header(chart: str) -> str:
    return (
        '"EXTF";700;21;"Buchungsstapel";13;20261116100000000;;"";"";"";29098;55003;20260101;4;'
        f'20261101;20261130;"Faktura 01.11.-30.11.2026";"";1;0;0;"EUR";;"";;;"{chart}";;;"";""'
    )


def _rows(accounts: dict[str, str]) -> list[str]:
    a = accounts
    eu = ";" * 26  # columns 15 to 39 empty, then column 40 "EU-Land u. UStID (Bestimmung)"
    return [
        _row("119,00", '"S"', '"EUR"', "", "", "", "10001", a["19"], "", "0211",
             '"RE-2026-00001"', "", "", '"Rechnung Bäckerei Müller GmbH"'),
        _row("53,50", '"S"', '"EUR"', "", "", "", "10001", a["7"], "", "0311",
             '"RE-2026-00002"', "", "", '"Rechnung Bäckerei Müller GmbH"'),
        # The mixed-rate invoice: one row per rate.
        _row("107,00", '"S"', '"EUR"', "", "", "", "10001", a["7"], "", "0411",
             '"RE-2026-00003"', "", "", '"Rechnung Bäckerei Müller GmbH"'),
        _row("238,00", '"S"', '"EUR"', "", "", "", "10001", a["19"], "", "0411",
             '"RE-2026-00003"', "", "", '"Rechnung Bäckerei Müller GmbH"'),
        _row("1450,00", '"S"', '"EUR"', "", "", "", "10002", a["AE"], "", "0511",
             '"RE-2026-00004"', "", "", '"Rechnung Kunde Wien GmbH"' + eu + '"ATU13585627"'),
        _row("698,00", '"S"', '"EUR"', "", "", "", "10002", a["K"], "", "0611",
             '"RE-2026-00005"', "", "", '"Rechnung Kunde Wien GmbH"' + eu + '"ATU13585627"'),
        _row("23,80", '"H"', '"EUR"', "", "", "", "10001", a["19"], "", "1011",
             '"GS-2026-00001"', "", "", '"Gutschrift zu RE-2026-00003 Bäckerei Müller GmbH"'),
        _row("53,50", '"H"', '"EUR"', "", "", "", "10001", a["7"], "", "1111",
             '"GS-2026-00002"', "", "", '"Storno zu RE-2026-00002 Bäckerei Müller GmbH"'),
        _row("119,00", '"S"', '"EUR"', "", "", "", a["bank"], "10001", "", "1211",
             '"RE-2026-00001"', "", "", '"Zahlung Bäckerei Müller GmbH"'),
        _row("119,00", '"H"', '"EUR"', "", "", "", a["bank"], "10001", "", "1311",
             '"RE-2026-00001"', "", "", '"Rücklastschrift Bäckerei Müller GmbH"'),
        _row("3,00", '"S"', '"EUR"', "", "", "", "10001", a["fees"], "", "1311",
             '"RE-2026-00001"', "", "", '"Rücklastschriftsgebühr MS03 Bäckerei Müller GmbH"'),
        _row("320,70", '"S"', '"EUR"', "", "", "", a["bank"], "10001", "", "1411",
             '"RE-2026-00003"', "", "", '"Zahlung Bäckerei Müller GmbH"'),
        # Written off on an invoice of two rates: split by their gross (107 : 238).
        _row("0,16", '"H"', '"EUR"', "", "", "", "10001", a["write_off_7"], "", "1611",
             '"RE-2026-00003"', "", "", '"Ausbuchung Rundungsdifferenz"'),
        _row("0,34", '"H"', '"EUR"', "", "", "", "10001", a["write_off_19"], "", "1611",
             '"RE-2026-00003"', "", "", '"Ausbuchung Rundungsdifferenz"'),
    ]  # fmt: skip


SKR03 = {"19": "8400", "7": "8300", "AE": "8336", "K": "8125", "bank": "1200", "fees": "2700",
         "write_off_7": "2401", "write_off_19": "2406"}  # fmt: skip
SKR04 = {"19": "4400", "7": "4300", "AE": "4336", "K": "4125", "bank": "1800", "fees": "4830",
         "write_off_7": "6931", "write_off_19": "6936"}  # fmt: skip


@pytest.fixture
def month(company, actor, approver):
    configure()
    return make_month(actor, approver)


def _expected(chart: str, accounts: dict[str, str]) -> str:
    return "\r\n".join([_header(chart), BOOKING_COLUMN_LINE, *_rows(accounts)]) + "\r\n"


def test_the_month_in_skr03_is_the_expected_file_byte_for_byte(month):
    files = export.build(**NOVEMBER).files
    assert files[BATCH] == _expected("03", SKR03).encode("cp1252")


def test_the_month_in_skr04_is_the_expected_file_byte_for_byte(month):
    files = export.build(**NOVEMBER, chart="skr04").files
    assert files[BATCH] == _expected("04", SKR04).encode("cp1252")


def test_line_two_names_all_125_columns_of_format_version_13(month):
    lines = export.build(**NOVEMBER).files[BATCH].split(b"\r\n")
    assert len(BOOKING_COLUMNS) == 125
    assert lines[1].decode("cp1252") == BOOKING_COLUMN_LINE
    assert lines[1].decode("cp1252").split(";")[-1] == '"Abw. Skontokonto"'
    # Every booking row has exactly 125 fields (no text here holds a ";").
    assert {row.count(b";") for row in lines[2:-1]} == {124}
    assert lines[-1] == b""  # the last line ends in CRLF as well


def test_windows_1252_is_the_default_and_writes_umlauts_as_single_bytes(month):
    data = export.build(**NOVEMBER).files[BATCH]
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b'"Rechnung B\xe4ckerei M\xfcller GmbH"' in data  # ä = E4, ü = FC
    assert b'"Gegenkonto (ohne BU-Schl\xfcssel)"' in data
    assert b"\xc3" not in data  # nothing in UTF-8


def test_utf8_has_a_byte_order_mark_and_the_same_text(month):
    utf8 = export.build(**NOVEMBER, encoding="utf-8").files[BATCH]
    assert utf8.startswith(b'\xef\xbb\xbf"EXTF";700;21;')
    assert b'"Rechnung B\xc3\xa4ckerei M\xc3\xbcller GmbH"' in utf8  # ä = C3 A4
    assert utf8[3:] == _expected("03", SKR03).encode("utf-8")


DEBTOR_HEADER = (
    '"EXTF";700;16;"Debitoren/Kreditoren";5;20261116100000000;;"";"";"";29098;55003;20260101;'
    '4;;;"Debitoren";"";;;;"";;"";;;"03";;;"";""'
)


def _debtor(*fields: tuple[int, str]) -> str:
    row = [""] * 254
    for column, value in fields:
        row[column - 1] = value
    return ";".join(row)


def test_the_debitoren_file_lists_the_customers_of_the_month(month):
    data = export.build(**NOVEMBER).files[DEBTORS]
    lines = data.decode("cp1252").split("\r\n")
    assert lines[0] == DEBTOR_HEADER
    assert lines[1] == ";".join(f'"{name}"' for name in DEBTOR_COLUMNS)
    assert len(DEBTOR_COLUMNS) == 254
    assert (lines[1].split(";")[0], lines[1].split(";")[-1]) == ('"Konto"', '"Letzte Frist"')
    assert lines[2:] == [
        _debtor(
            (1, "10001"), (2, '"Bäckerei Müller GmbH"'), (7, '"2"'), (8, '"Bäckerei Müller"'),
            (9, '"DE"'), (10, '"136695976"'), (15, '"STR"'), (16, '"Hafenstraße 5"'),
            (18, '"20457"'), (19, '"Hamburg"'), (20, '"DE"'),
            (33, '"buchhaltung@mueller.example"'), (99, '"K00001"'),
        ),
        _debtor(
            (1, "10002"), (2, '"Kunde Wien GmbH"'), (7, '"2"'), (8, '"Kunde Wien GmbH"'),
            (9, '"AT"'), (10, '"U13585627"'), (15, '"STR"'), (16, '"Hauptstraße 1"'),
            (18, '"1010"'), (19, '"Wien"'), (20, '"AT"'), (33, '"office@wien.example"'),
            (99, '"K00002"'),
        ),
        "",
    ]  # fmt: skip
    assert DEBTOR_COLUMNS[98] == "Kunden-/Lief.-Nr."
    assert b"B\xe4ckerei" in data


def test_the_debitoren_file_in_utf8_starts_with_a_byte_order_mark(month):
    data = export.build(**NOVEMBER, encoding="utf-8").files[DEBTORS]
    assert data.startswith(b"\xef\xbb\xbf" + DEBTOR_HEADER.encode())
    assert "Hafenstraße".encode() in data


def test_a_period_without_business_has_header_and_column_lines_only(month):
    files = export.build(date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 10, 31)).files
    lines = files["EXTF_Buchungsstapel_20261001_20261031.csv"].split(b"\r\n")
    assert lines[2:] == [b""]
    assert b";20261001;20261031;" in lines[0]


def test_counts_and_sums_per_kind(month):
    result = export.build(**NOVEMBER)
    assert {kind: (n, str(total)) for kind, (n, total) in result.counts().items()} == {
        "invoice": (6, "2665.50"),
        "credit_note": (1, "23.80"),
        "cancellation": (1, "53.50"),
        "payment": (2, "439.70"),
        "return": (1, "119.00"),
        "fee": (1, "3.00"),
        "write_off": (2, "0.50"),
    }
    assert result.customers == 2


def test_the_export_reads_the_month_in_a_fixed_number_of_queries(
    month, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        export.build(**NOVEMBER)


def test_a_character_windows_1252_lacks_is_refused_naming_the_customer(company, actor):
    from faktura.customers.services import create_customer
    from tests.reporting.datev_month import _final, on

    configure()
    with on(2):
        customer = create_customer(
            actor=actor,
            kind="business",
            name="Łódź Handel Sp. z o.o.",
            street="ul. Piotrkowska",
            house_number="1",
            postcode="90-001",
            city="Łódź",
            country="PL",
            email="biuro@lodz.example",
        )
        from tests.invoicing.helpers import line

        _final(customer, actor, line("1", "100.00"))
    with pytest.raises(InvalidInput) as error:
        export.build(**NOVEMBER)
    assert error.value.code == "not_windows_1252"
    assert error.value.message.startswith("Beleg RE-2026-00001 (Kunde K00001): das Zeichen 'Ł'")
    assert "--encoding utf-8" in error.value.message
    # UTF-8 holds it.
    assert "Łódź".encode() in export.build(**NOVEMBER, encoding="utf-8").files[DEBTORS]
