"""CSV exports through a saved column mapping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from faktura.banking.statements.csv_import import SPARKASSE_CSV_CAMT, CsvMapping, parse_csv
from faktura.banking.statements.errors import StatementParseError
from tests.banking.conftest import fixture_bytes

GENERIC = CsvMapping(
    name="Generic bank",
    delimiter=",",
    encoding="utf-8",
    decimal_separator=".",
    date_format="%Y-%m-%d",
    skip_rows=2,
    booking_date="Date",
    value_date="Value date",
    credit_amount="Credit",
    debit_amount="Debit",
    currency="Currency",
    counterparty_name="Counterparty",
    counterparty_iban="IBAN",
    remittance=("Reference 1", "Reference 2"),
)


def refusal(data: bytes, mapping: CsvMapping, **kwargs: object) -> StatementParseError:
    with pytest.raises(StatementParseError) as caught:
        parse_csv(data, mapping=mapping, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_sparkasse_csv_camt_export():
    statement = parse_csv(
        fixture_bytes("sparkasse_csv_camt.csv"), mapping=SPARKASSE_CSV_CAMT, expected_currency="EUR"
    )
    assert statement.format == "csv"
    assert statement.account_iban == "DE02120300000000202051"
    assert statement.currency == "EUR"
    assert statement.statement_id.startswith("csv:")
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    rows = [
        (t.booking_date, t.value_date, t.direction, t.amount, t.status)
        for t in statement.transactions
    ]
    assert rows == [
        (date(2026, 12, 3), date(2026, 12, 3), "credit", Decimal("119.00"), "booked"),
        (date(2026, 12, 3), date(2026, 12, 3), "debit", Decimal("53.00"), "booked"),
        (date(2026, 12, 3), date(2026, 12, 4), "credit", Decimal("1234.56"), "booked"),
        (date(2026, 12, 4), date(2026, 12, 4), "debit", Decimal("25.50"), "pending"),
    ]


def test_sparkasse_columns_land_in_the_right_fields():
    credit, returned, big, _pending = parse_csv(
        fixture_bytes("sparkasse_csv_camt.csv"), mapping=SPARKASSE_CSV_CAMT
    ).transactions
    assert credit.end_to_end_id == "RE-2026-00042"
    assert credit.remittance_information == "Rechnung RE-2026-00042 Kd-Nr. 1001"
    assert credit.counterparty_name == "Erika Müller"  # decoded from Windows-1252
    assert credit.counterparty_iban == "DE75512108001245126199"
    assert credit.counterparty_bic == "SOGEDEFFXXX"
    assert credit.bank_transaction_code == "GUTSCHR. UEBERWEISUNG"
    assert credit.is_return is False
    assert returned.is_return is True
    assert returned.mandate_reference == "MANDAT-0050"
    assert returned.original_amount == Decimal("50.00")
    assert returned.return_fee == Decimal("3.00")
    assert big.end_to_end_id == ""  # NOTPROVIDED


def test_generic_export_with_credit_and_debit_columns_and_skipped_title_rows():
    statement = parse_csv(fixture_bytes("generic_credit_debit.csv"), mapping=GENERIC)
    assert statement.account_iban == ""
    assert [(t.direction, t.amount) for t in statement.transactions] == [
        ("credit", Decimal("119.00")),
        ("debit", Decimal("1025.50")),  # "1,025.50" with decimal point mapping
        ("credit", Decimal("0.99")),
    ]
    first, second, _third = statement.transactions
    assert first.remittance_information == "Rechnung RE-2026-00042\nKd 1001"
    assert second.counterparty_name == "Beispiel, Max"
    assert second.value_date == date(2026, 12, 4)


def test_columns_by_position_without_header():
    mapping = CsvMapping(
        header_row=False,
        encoding="utf-8",
        booking_date=0,
        amount=1,
        remittance=(2,),
    )
    data = b"01.12.2026;-12,34;Abbuchung\n02.12.2026;56,78;RE-2026-00042\n"
    statement = parse_csv(data, mapping=mapping)
    assert [(t.direction, t.amount, t.remittance_information) for t in statement.transactions] == [
        ("debit", Decimal("12.34"), "Abbuchung"),
        ("credit", Decimal("56.78"), "RE-2026-00042"),
    ]


def test_unsigned_amount_with_soll_haben_column():
    mapping = CsvMapping(encoding="utf-8", booking_date="Datum", amount="Betrag", direction="S/H")
    data = b"Datum;Betrag;S/H\n01.12.2026;12,34;S\n01.12.2026;5,00;H\n"
    rows = [(t.direction, t.amount) for t in parse_csv(data, mapping=mapping).transactions]
    assert rows == [("debit", Decimal("12.34")), ("credit", Decimal("5.00"))]


def test_trailing_minus_sign_is_a_debit():
    mapping = CsvMapping(encoding="utf-8", booking_date="Datum", amount="Betrag")
    data = b"Datum;Betrag\n01.12.2026;1.000,00-\n"
    (debit,) = parse_csv(data, mapping=mapping).transactions
    assert (debit.direction, debit.amount) == ("debit", Decimal("1000.00"))


def test_missing_column_is_refused_naming_it():
    data = fixture_bytes("sparkasse_csv_camt.csv").replace(b'"Valutadatum"', b'"Datum Valuta"')
    error = refusal(data, SPARKASSE_CSV_CAMT)
    assert error.code == "csv_mapping_mismatch"
    assert "'Valutadatum'" in error.message
    assert error.location == "line 1, header"


def test_unparsable_date_is_refused_naming_row_and_column():
    data = fixture_bytes("sparkasse_csv_camt.csv").replace(
        b'"04.12.26";"04.12.26"', b'"2026-12-04";"04.12.26"'
    )
    error = refusal(data, SPARKASSE_CSV_CAMT)
    assert error.code == "csv_mapping_mismatch"
    assert error.location == "line 5, column 'Buchungstag'"


def test_unparsable_amount_is_refused_naming_row_and_column():
    data = fixture_bytes("sparkasse_csv_camt.csv").replace(b'"119,00"', b'"119 EUR"')
    error = refusal(data, SPARKASSE_CSV_CAMT)
    assert error.code == "csv_mapping_mismatch"
    assert error.location == "line 2, column 'Betrag'"


def test_amount_with_three_decimals_is_refused():
    data = fixture_bytes("sparkasse_csv_camt.csv").replace(b'"119,00"', b'"119,005"')
    error = refusal(data, SPARKASSE_CSV_CAMT)
    assert error.code == "too_many_decimals"
    assert error.location == "line 2, column 'Betrag'"


def test_short_row_is_refused():
    data = fixture_bytes("sparkasse_csv_camt.csv") + b'"DE02120300000000202051";"05.12.26"\r\n'
    error = refusal(data, SPARKASSE_CSV_CAMT)
    assert error.code == "csv_mapping_mismatch"
    assert error.location == "line 6"
    assert "'Valutadatum'" in error.message


def test_file_in_another_encoding_is_refused():
    data = "Datum;Betrag\n01.12.2026;12,34 ü\n".encode("cp1252")
    mapping = CsvMapping(encoding="utf-8", booking_date="Datum", amount="Betrag")
    assert refusal(data, mapping).code == "csv_mapping_mismatch"


def test_other_currency_is_refused_when_eur_is_expected():
    data = fixture_bytes("sparkasse_csv_camt.csv").replace(
        b'"EUR";"Umsatz gebucht"\r\n"DE', b'"USD";"Umsatz gebucht"\r\n"DE', 1
    )
    error = refusal(data, SPARKASSE_CSV_CAMT, expected_currency="EUR")
    assert error.code == "wrong_currency"
    assert error.location == "line 2"


def test_export_with_several_accounts_is_refused():
    data = fixture_bytes("sparkasse_csv_camt.csv").replace(
        b'"DE02120300000000202051";"04.12.26"', b'"DE89370400440532013000";"04.12.26"'
    )
    assert refusal(data, SPARKASSE_CSV_CAMT).code == "multiple_accounts"


def test_both_amount_columns_filled_is_refused():
    data = (
        b"t\nt\nDate,Value date,Credit,Debit,Currency,Counterparty,IBAN,Reference 1,Reference 2\n"
    )
    data += b"2026-12-03,2026-12-03,1.00,2.00,EUR,X,,a,b\n"
    assert refusal(data, GENERIC).code == "csv_mapping_mismatch"


def test_empty_file_is_refused():
    assert refusal(b"", SPARKASSE_CSV_CAMT).code == "empty_file"


def test_header_only_file_has_no_transactions():
    header = fixture_bytes("sparkasse_csv_camt.csv").split(b"\r\n")[0] + b"\r\n"
    statement = parse_csv(header, mapping=SPARKASSE_CSV_CAMT)
    assert statement.transactions == ()
    assert statement.currency == "EUR"


def test_binary_garbage_is_refused_as_mismatch():
    error = refusal(
        bytes(range(256)) * 3, CsvMapping(encoding="latin-1", booking_date="Datum", amount="Betrag")
    )
    assert error.code == "csv_mapping_mismatch"


def test_mapping_needs_exactly_one_way_to_read_amounts():
    with pytest.raises(ValueError, match="amount"):
        CsvMapping(booking_date="Datum")
    with pytest.raises(ValueError, match="amount"):
        CsvMapping(booking_date="Datum", amount="Betrag", credit_amount="H", debit_amount="S")
    with pytest.raises(ValueError, match="decimal_separator"):
        CsvMapping(booking_date="Datum", amount="Betrag", decimal_separator=" ")


def test_same_file_gives_the_same_checksums():
    data = fixture_bytes("sparkasse_csv_camt.csv")
    a = parse_csv(data, mapping=SPARKASSE_CSV_CAMT)
    b = parse_csv(data, mapping=SPARKASSE_CSV_CAMT)
    assert [t.checksum for t in a.transactions] == [t.checksum for t in b.transactions]
    assert len({t.checksum for t in a.transactions}) == 4
