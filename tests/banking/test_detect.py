"""Format detection and the single entry point for statement files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from faktura.banking.statements.csv_import import SPARKASSE_CSV_CAMT
from faktura.banking.statements.detect import detect_format, parse_statement, parse_statements
from faktura.banking.statements.errors import StatementParseError
from tests.banking.conftest import fixture_bytes


def error_code(data: bytes, **kwargs: object) -> str:
    with pytest.raises(StatementParseError) as caught:
        parse_statement(data, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camt053_001_02.xml", "xml"),
        ("camt054_001_08_returns.xml", "xml"),
        ("mt940_return.sta", "mt940"),
        ("sparkasse_csv_camt.csv", "csv"),
        ("generic_credit_debit.csv", ""),  # the title line has no delimiter
    ],
)
def test_detect_format(name: str, expected: str):
    assert detect_format(fixture_bytes(name)) == expected


def test_detect_format_ignores_bom_and_leading_whitespace():
    assert detect_format(b"\xef\xbb\xbf  \n<?xml version='1.0'?><a/>") == "xml"
    assert detect_format(b"\r\n:20:REF\r\n:25:DE02120300000000202051\r\n") == "mt940"


@pytest.mark.parametrize(
    ("name", "statement_format", "count"),
    [
        ("camt052_001_08.xml", "camt.052", 2),
        ("camt053_001_02.xml", "camt.053", 6),
        ("camt053_001_08.xml", "camt.053", 5),
        ("camt054_001_02_batch.xml", "camt.054", 4),
        ("camt054_001_08_returns.xml", "camt.054", 4),
        ("mt940_return.sta", "mt940", 4),
    ],
)
def test_parse_statement_dispatches_by_content(name: str, statement_format: str, count: int):
    statement = parse_statement(fixture_bytes(name), filename=name)
    assert statement.format == statement_format
    assert len(statement.transactions) == count


def test_csv_is_parsed_with_a_mapping():
    statement = parse_statement(
        fixture_bytes("sparkasse_csv_camt.csv"), csv_mapping=SPARKASSE_CSV_CAMT
    )
    assert statement.format == "csv"
    assert sum(t.amount for t in statement.transactions) == Decimal("1432.06")


def test_csv_without_mapping_asks_for_one():
    assert error_code(fixture_bytes("sparkasse_csv_camt.csv")) == "csv_mapping_required"


def test_camt_is_parsed_as_camt_even_when_a_csv_mapping_is_given():
    statement = parse_statement(fixture_bytes("camt053_001_02.xml"), csv_mapping=SPARKASSE_CSV_CAMT)
    assert statement.format == "camt.053"


def test_default_expects_euro():
    data = fixture_bytes("mt940_return.sta").replace(b"EUR", b"USD")
    assert error_code(data) == "wrong_currency"
    assert parse_statement(data, expected_currency=None).currency == "USD"


def test_unknown_content_is_not_a_statement():
    with pytest.raises(StatementParseError) as caught:
        parse_statement(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", filename="auszug.pdf")
    assert caught.value.code == "not_a_statement"
    assert "auszug.pdf" in caught.value.message


def test_binary_garbage_is_not_a_statement():
    assert error_code(b"\x00\x01\x02\x03\xff\xfe\xfd" * 50) == "not_a_statement"


def test_empty_file_is_refused():
    assert error_code(b"") == "empty_file"
    assert error_code(b"\r\n\r\n") == "empty_file"


def test_pages_of_one_account_are_merged():
    block = fixture_bytes("mt940_return.sta")
    second = block.replace(b":60F:C261202EUR1000,00", b":60F:C261203EUR1030,50").replace(
        b":62F:C261203EUR1030,50", b":62F:C261203EUR1061,00"
    )
    statement = parse_statement(block + second)
    assert len(statement.transactions) == 8
    assert statement.opening_balance is not None
    assert statement.closing_balance is not None
    assert statement.opening_balance.amount == Decimal("1000.00")
    assert statement.closing_balance.amount == Decimal("1061.00")
    assert statement.statement_id == "STMT20261203"


def test_file_with_several_accounts_needs_parse_statements():
    block = fixture_bytes("mt940_return.sta")
    other = block.replace(b":25:DE02120300000000202051", b":25:DE89370400440532013000")
    with pytest.raises(StatementParseError) as caught:
        parse_statement(block + other)
    assert caught.value.code == "multiple_accounts"
    statements = parse_statements(block + other)
    assert [s.account_iban for s in statements] == [
        "DE02120300000000202051",
        "DE89370400440532013000",
    ]


@pytest.mark.corpus
def test_every_corpus_bank_file_is_read_or_refused_with_a_code(corpus_dir: Path):
    counts = {}
    for path in sorted((corpus_dir / "bank").glob("*/*")):
        if path.parent.name == "pain002":
            assert error_code(path.read_bytes()) == "wrong_namespace"
            continue
        statements = parse_statements(path.read_bytes(), expected_currency=None)
        counts[path.name] = (len(statements), sum(len(s.transactions) for s in statements))
    assert counts == {
        "hbci4java_camt052.001.02.xml": (1, 2),
        "hbci4java_camt052.001.02_ruecklastschrift_MS03.xml": (1, 1),
        "hbci4java_camt052.001.08.xml": (1, 1),
        "oca_camt053.001.02_returns_AC06.xml": (1, 4),
        "oca_camt053.001.04_txdtls_CH.xml": (1, 2),
        "oca_camt054.001.02_unpaid_AC06.xml": (1, 1),
        "oca_camt054.001.04_credit.xml": (1, 1),
        "synthetic_camt054.001.08_returns_AC04_AM04_MD06_MS03.xml": (1, 4),
        # 26 :20: blocks, pages of the same account merged into 20 statements
        "betterplace_sepa_mt9401.sta": (20, 97),
        "betterplace_sepa_snippet.sta": (2, 11),
        "hbci4java_test-mt940-001.sta": (1, 2),
    }
