"""Whatever bytes arrive, the parsers answer with a Statement or a StatementParseError.

Random bytes, and valid fixtures cut off, with flipped bytes, or with random text
inserted into elements and fields: no other exception may ever escape (DESIGN
invariant 7: bad input gets a clear, specific error).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faktura.banking.sepa.pain002 import parse_pain002
from faktura.banking.statements.csv_import import SPARKASSE_CSV_CAMT
from faktura.banking.statements.detect import parse_statement, parse_statements
from faktura.banking.statements.errors import StatementParseError
from faktura.banking.statements.model import Statement
from tests.banking.conftest import fixture_bytes

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CAMT_FIXTURES = [
    "camt052_001_08.xml",
    "camt053_001_02.xml",
    "camt053_001_08.xml",
    "camt054_001_02_batch.xml",
    "camt054_001_08_returns.xml",
]
ALL_FIXTURES = [*CAMT_FIXTURES, "mt940_return.sta", "sparkasse_csv_camt.csv"]


def only_statement_errors(parse: Callable[[bytes], object], data: bytes) -> None:
    """Call ``parse``; a StatementParseError is a fine answer, anything else fails."""
    refused: StatementParseError | None
    try:
        result = parse(data)
    except StatementParseError as error:
        refused = error
    else:
        refused = None
    if refused is not None:
        assert refused.code
        assert refused.message
        return
    if isinstance(result, Statement):
        for transaction in result.transactions:
            assert transaction.amount >= 0
            assert transaction.amount == transaction.amount.quantize(transaction.amount)
            assert transaction.direction in ("credit", "debit")


def parse_any(data: bytes) -> object:
    return parse_statements(data, expected_currency=None)


def parse_with_csv_mapping(data: bytes) -> object:
    return parse_statement(data, csv_mapping=SPARKASSE_CSV_CAMT)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(data: bytes):
    only_statement_errors(parse_any, data)
    only_statement_errors(parse_with_csv_mapping, data)
    only_statement_errors(parse_pain002, data)


@FUZZ
@given(name=st.sampled_from(ALL_FIXTURES), cut=st.floats(min_value=0, max_value=1))
def test_truncated_fixtures(name: str, cut: float):
    data = fixture_bytes(name)
    truncated = data[: int(len(data) * cut)]
    only_statement_errors(parse_any, truncated)
    only_statement_errors(parse_with_csv_mapping, truncated)


@FUZZ
@given(
    name=st.sampled_from(ALL_FIXTURES),
    flips=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.integers(min_value=0, max_value=255)),
        min_size=1,
        max_size=8,
    ),
)
def test_fixtures_with_flipped_bytes(name: str, flips: list[tuple[float, int]]):
    data = bytearray(fixture_bytes(name))
    for where, value in flips:
        data[min(int(len(data) * where), len(data) - 1)] = value
    only_statement_errors(parse_any, bytes(data))
    only_statement_errors(parse_with_csv_mapping, bytes(data))


# Text that parsers find hard: XML specials, MT940 tags and subfields, CSV quoting,
# numbers in odd formats, control characters, non-Latin script.
NASTY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "<",
            "&",
            "&amp;",
            "]]>",
            "<Amt Ccy='EUR'>1</Amt>",
            "<TxDtls/>",
            "<NtryDtls><TxDtls><Amt Ccy='USD'>-1</Amt></TxDtls></NtryDtls>",
            "1.005",
            "1e309",
            "NaN",
            "-0",
            "9" * 40,
            "\n:61:",
            "\n:61:2613451203CR1,0NTRF",
            "\n:86:999?20?34",
            "?20EREF+",
            "?34",
            '"',
            '";"',
            ";;;;",
            "\x00",
            "\ufeff",
            "€",
            "Ünïcödé 汉字",
        ]
    ),
)


@FUZZ
@given(
    name=st.sampled_from(ALL_FIXTURES),
    where=st.floats(min_value=0, max_value=1),
    text=NASTY,
)
def test_fixtures_with_text_inserted_into_an_element_or_field(name: str, where: float, text: str):
    data = fixture_bytes(name)
    # Insert right after a ">" (into an element's text), or after ":"/";" in MT940/CSV.
    anchors = [i + 1 for i, byte in enumerate(data) if byte in b">:;?"]
    position = anchors[min(int(len(anchors) * where), len(anchors) - 1)]
    encoding = "cp1252" if name.endswith((".sta", ".csv")) else "utf-8"
    inserted = text.encode(encoding, errors="replace")
    mutated = data[:position] + inserted + data[position:]
    only_statement_errors(parse_any, mutated)
    only_statement_errors(parse_with_csv_mapping, mutated)


@FUZZ
@given(where=st.floats(min_value=0, max_value=1), text=NASTY)
def test_pain002_with_text_inserted(where: float, text: str):
    data = fixture_bytes("pain002_001_10.xml")
    anchors = [i + 1 for i, byte in enumerate(data) if byte == ord(">")]
    position = anchors[min(int(len(anchors) * where), len(anchors) - 1)]
    only_statement_errors(parse_pain002, data[:position] + text.encode() + data[position:])


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses_unmutated(name: str):
    statements = parse_statements(fixture_bytes(name), csv_mapping=SPARKASSE_CSV_CAMT)
    assert statements
