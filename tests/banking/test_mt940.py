"""MT940 with German :86: details: own fixture, encodings, broken input, corpus files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from faktura.banking.statements.errors import StatementParseError
from faktura.banking.statements.model import Balance, Statement
from faktura.banking.statements.mt940 import decode_text, parse_mt940
from tests.banking.conftest import fixture_bytes


def single(data: bytes, **kwargs: object) -> Statement:
    statements = parse_mt940(data, **kwargs)  # type: ignore[arg-type]
    assert len(statements) == 1
    return statements[0]


def error_code(data: bytes, **kwargs: object) -> str:
    with pytest.raises(StatementParseError) as caught:
        parse_mt940(data, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_statement_head_with_iban_account_and_balances():
    statement = single(fixture_bytes("mt940_return.sta"), expected_currency="EUR")
    assert statement.format == "mt940"
    assert statement.version == ""
    assert statement.statement_id == "STMT20261203"
    assert statement.account_iban == "DE02120300000000202051"
    assert statement.account_identification == "DE02120300000000202051"
    assert statement.currency == "EUR"
    assert statement.opening_balance == Balance(amount=Decimal("1000.00"), date=date(2026, 12, 2))
    assert statement.closing_balance == Balance(amount=Decimal("1030.50"), date=date(2026, 12, 3))
    assert len(statement.transactions) == 4


def test_credit_with_sepa_keywords_and_cp1252_umlauts():
    credit = single(fixture_bytes("mt940_return.sta")).transactions[0]
    assert credit.direction == "credit"
    assert credit.amount == Decimal("119.00")
    assert credit.booking_date == date(2026, 12, 3)
    assert credit.value_date == date(2026, 12, 3)
    assert credit.bank_reference == "2026120300001"
    assert credit.end_to_end_id == "RE-2026-00042"
    # ?21/?22 split the number; the segments are joined without a separator.
    assert credit.remittance_information == "Rechnung RE-2026-00042 Kd-Nr. 1001"
    assert credit.counterparty_name == "Erika Müller"
    assert credit.counterparty_iban == "DE75512108001245126199"
    assert credit.counterparty_bic == "SOGEDEFFXXX"
    assert credit.bank_transaction_code == "NTRF+166+9310"
    assert credit.is_return is False


def test_returned_direct_debit_with_34_code_fee_and_original_amount():
    returned = single(fixture_bytes("mt940_return.sta")).transactions[1]
    assert returned.direction == "debit"
    assert returned.amount == Decimal("53.00")
    assert returned.is_return is True
    assert returned.return_reason_code == "902"
    assert returned.return_fee == Decimal("3.00")  # COAM+
    assert returned.original_amount == Decimal("50.00")  # OAMT+
    assert returned.end_to_end_id == "RE-2026-00050"
    assert returned.mandate_reference == "MANDAT-0050"
    assert returned.remittance_information == "RE-2026-00050 Mitgliedsbeitrag"
    assert returned.bank_transaction_code == "NDDT+109+9310+902"


def test_outgoing_transfer_is_a_debit():
    refund = single(fixture_bytes("mt940_return.sta")).transactions[2]
    assert (refund.direction, refund.amount, refund.end_to_end_id) == (
        "debit",
        Decimal("25.50"),
        "GS-2026-00007",
    )
    assert refund.remittance_information == "Erstattung GS-2026-00007"
    assert refund.counterparty_name == "Max Beispiel"


def test_reversal_of_a_credit_is_a_debit_and_a_return():
    storno = single(fixture_bytes("mt940_return.sta")).transactions[3]
    assert storno.direction == "debit"
    assert storno.amount == Decimal("10.00")
    assert storno.is_return is True
    assert storno.return_reason_code == ""


def test_balances_add_up_in_the_fixture():
    statement = single(fixture_bytes("mt940_return.sta"))
    assert statement.opening_balance is not None
    assert statement.closing_balance is not None
    moved = sum(t.amount if t.direction == "credit" else -t.amount for t in statement.transactions)
    assert statement.opening_balance.amount + moved == statement.closing_balance.amount


def test_utf8_file_reads_the_same():
    latin = fixture_bytes("mt940_return.sta")
    utf8 = latin.decode("cp1252").encode("utf-8")
    assert single(utf8).transactions == single(latin).transactions


def test_utf8_byte_order_mark_is_ignored():
    data = b"\xef\xbb\xbf" + fixture_bytes("mt940_return.sta").decode("cp1252").encode()
    assert len(single(data).transactions) == 4


def test_decode_text_falls_back_to_latin1_for_bytes_cp1252_leaves_undefined():
    assert decode_text("Müller".encode()) == "Müller"
    assert decode_text("Müller".encode("cp1252")) == "Müller"
    assert decode_text(b"\x81") == "\x81"


def test_wrong_currency_is_refused():
    data = fixture_bytes("mt940_return.sta").replace(b"EUR", b"CHF")
    assert error_code(data, expected_currency="EUR") == "wrong_currency"
    assert single(data).currency == "CHF"


def test_amount_with_three_decimals_is_refused():
    data = fixture_bytes("mt940_return.sta").replace(b"CR119,00NTRF", b"CR119,005NTRF")
    assert error_code(data) == "too_many_decimals"


def test_unparsable_statement_line_is_refused():
    data = fixture_bytes("mt940_return.sta").replace(b":61:2612031203CR119", b":61:26XX031203CR119")
    assert error_code(data) == "malformed_mt940"


def test_impossible_date_is_refused():
    data = fixture_bytes("mt940_return.sta").replace(b":61:2612031203CR119", b":61:2613451203CR119")
    assert error_code(data) == "malformed_mt940"


def test_malformed_balance_is_refused():
    data = fixture_bytes("mt940_return.sta").replace(
        b":60F:C261202EUR1000,00", b":60F:C261202EUR1x00,00"
    )
    with pytest.raises(StatementParseError) as caught:
        parse_mt940(data)
    assert caught.value.code == "malformed_mt940"
    assert caught.value.location == "line 4"


def test_empty_file_is_refused():
    assert error_code(b"") == "empty_file"


def test_text_without_statements_is_refused():
    assert error_code(b"hello world\r\n") == "malformed_mt940"


def test_multiple_blocks_of_one_account_keep_distinct_checksums():
    block = fixture_bytes("mt940_return.sta")
    statements = parse_mt940(block + block)
    assert len(statements) == 2
    keys = [t.checksum for s in statements for t in s.transactions]
    assert len(set(keys)) == 8


@pytest.mark.corpus
def test_corpus_betterplace_snippet_returns_with_34_codes(corpus_dir: Path):
    data = (corpus_dir / "bank" / "mt940" / "betterplace_sepa_snippet.sta").read_bytes()
    statements = parse_mt940(data, expected_currency="EUR")
    assert [s.account_identification for s in statements] == [
        "50880050/0194787400888",
        "50880050/0194791600888",
    ]
    assert [s.account_iban for s in statements] == ["", ""]  # bank code/account number
    first, second = statements
    assert first.opening_balance == Balance(amount=Decimal("766656.49"), date=date(2007, 9, 3))
    assert first.closing_balance == Balance(amount=Decimal("1125250.40"), date=date(2007, 9, 4))
    assert [(t.direction, t.amount) for t in first.transactions] == [
        ("credit", Decimal("50990.05")),
        ("credit", Decimal("154551.93")),
        ("credit", Decimal("154551.93")),
        ("debit", Decimal("1500.00")),
    ]
    assert first.transactions[0].value_date == date(2007, 9, 7)
    assert first.transactions[0].booking_date == date(2007, 9, 4)
    assert first.transactions[0].counterparty_name == "KARL KAUFMANN"
    assert first.transactions[0].end_to_end_id == "EndToEndId TFNR 22 004 00001"
    assert first.transactions[3].batch_reference == "TFNr 01022 MSGID CTSc-01 EBB"
    assert [(t.is_return, t.return_reason_code) for t in second.transactions] == [
        (True, "914"),
        (True, "914"),
        (True, "914"),
        (False, ""),
        (False, ""),
        (True, "901"),
        (False, ""),
    ]
    assert second.transactions[0].end_to_end_id == "TFNR 40001 00005"
    assert second.transactions[0].remittance_information == (
        "MTLG:Grund nicht spezifiziert Reject aus SEPA-Ueberweisungsauftrag"
    )
    assert [t.amount for t in second.transactions] == [
        Decimal("0.08"),
        Decimal("335.33"),
        Decimal("15000.00"),
        Decimal("15000.05"),
        Decimal("125004.88"),
        Decimal("915311.55"),
        Decimal("3572569.03"),
    ]


@pytest.mark.corpus
def test_corpus_betterplace_large_file(corpus_dir: Path):
    data = (corpus_dir / "bank" / "mt940" / "betterplace_sepa_mt9401.sta").read_bytes()
    statements = parse_mt940(data, expected_currency="EUR")
    transactions = [t for s in statements for t in s.transactions]
    assert len(statements) == 26
    assert len(transactions) == 97
    codes = sorted({t.bank_transaction_code.split("+")[1] for t in transactions})
    assert codes == ["079", "116", "159", "166", "191"]
    assert sorted(t.return_reason_code for t in transactions if t.return_reason_code) == (
        ["901"] + ["903"] * 2 + ["914"] * 14
    )
    assert sum(1 for t in transactions if t.is_return) == 19  # 17 GVC 159 + 2 RC reversals
    assert sum(1 for t in transactions if t.direction == "debit") == 56
    assert len({t.checksum for t in transactions}) == 97


@pytest.mark.corpus
def test_corpus_hbci4java_mt940(corpus_dir: Path):
    data = (corpus_dir / "bank" / "mt940" / "hbci4java_test-mt940-001.sta").read_bytes()
    statement = single(data, expected_currency="EUR")
    assert statement.account_identification == "12345678/1234567890"
    assert statement.opening_balance == Balance(amount=Decimal("100.00"), date=date(2023, 2, 9))
    assert statement.closing_balance == Balance(amount=Decimal("103.00"), date=date(2023, 2, 9))
    assert [(t.amount, t.remittance_information) for t in statement.transactions] == [
        (Decimal("2.00"), "Test 1"),
        (Decimal("1.00"), "Test 2"),
    ]
    first = statement.transactions[0]
    assert first.counterparty_name == "Max Mustermann"
    # ?34000 on an ordinary credit is no return.
    assert (first.is_return, first.return_reason_code) == (False, "")
    assert first.bank_transaction_code == "NTRF+152+9245+000"
    assert first.bank_reference == "2023-02-09-08.37"  # :61: customer reference, 16 chars
