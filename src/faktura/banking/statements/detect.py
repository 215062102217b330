"""Recognise a bank file's format and hand it to the right parser."""

from __future__ import annotations

import re

from faktura.banking.statements.camt import parse_camt
from faktura.banking.statements.csv_import import CsvMapping, parse_csv
from faktura.banking.statements.errors import (
    CSV_MAPPING_REQUIRED,
    EMPTY_FILE,
    MULTIPLE_ACCOUNTS,
    NOT_A_STATEMENT,
    StatementParseError,
)
from faktura.banking.statements.model import Statement
from faktura.banking.statements.mt940 import parse_mt940

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# MT940 (SWIFT): a :20: reference line and a :25: account, :60x: balance or :61: line,
# each at the start of a line; optionally inside a {4: … -} SWIFT block.
_MT940_REFERENCE = re.compile(rb"(?m)^\s*(?:\{4:\s*)?:20:")
_MT940_BODY = re.compile(rb"(?m)^:(?:25|28C?|60[FM]|61):")
_CSV_LIKE = re.compile(rb"^[^\x00-\x08\x0e-\x1f]*[;,\t|][^\x00-\x08\x0e-\x1f]*$")


def detect_format(data: bytes) -> str:
    """Return "xml", "mt940", "csv" or "" (unknown) from the first bytes of ``data``."""
    head = data[:8192]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    head = head.lstrip()
    if head.startswith(b"<") or head.startswith(b"<\x00"):
        return "xml"
    if _MT940_REFERENCE.search(head) and _MT940_BODY.search(data[:65536]):
        return "mt940"
    first_line = head.split(b"\n", 1)[0]
    if first_line and _CSV_LIKE.match(first_line):
        return "csv"
    return ""


def parse_statements(
    data: bytes,
    *,
    filename: str = "",
    expected_currency: str | None = "EUR",
    csv_mapping: CsvMapping | None = None,
) -> tuple[Statement, ...]:
    """Parse a camt, MT940 or (with a mapping) CSV file: one Statement per account.

    Pages of the same account (several camt Stmt elements, MT940 :20: blocks) are
    merged: transactions in file order, the first opening and the last closing balance.
    ``filename`` only improves error messages.

    Raises StatementParseError: empty_file, not_a_statement, csv_mapping_required and
    every code of the format's parser.
    """
    if not data.strip():
        name = f"The file {filename}" if filename else "The file"
        raise StatementParseError(f"{name} is empty", code=EMPTY_FILE)
    kind = detect_format(data)
    if kind == "xml":
        statements = parse_camt(data, expected_currency=expected_currency)
    elif kind == "mt940":
        statements = parse_mt940(data, expected_currency=expected_currency)
    elif csv_mapping is not None:
        statements = (parse_csv(data, mapping=csv_mapping, expected_currency=expected_currency),)
    elif kind == "csv":
        raise StatementParseError(
            f"{filename or 'The file'} looks like a CSV export; choose the bank's column "
            "mapping to import it",
            code=CSV_MAPPING_REQUIRED,
        )
    else:
        raise StatementParseError(
            f"{filename or 'The file'} is not a bank statement Faktura can read "
            "(camt.052/053/054, MT940, or CSV with a column mapping)",
            code=NOT_A_STATEMENT,
        )
    return merge_by_account(statements)


def parse_statement(
    data: bytes,
    *,
    filename: str = "",
    expected_currency: str | None = "EUR",
    csv_mapping: CsvMapping | None = None,
) -> Statement:
    """Parse a bank file that holds one account's statement (see ``parse_statements``).

    Raises StatementParseError: multiple_accounts when the file covers several accounts
    (use ``parse_statements``), and every code of ``parse_statements``.
    """
    statements = parse_statements(
        data, filename=filename, expected_currency=expected_currency, csv_mapping=csv_mapping
    )
    if len(statements) != 1:
        accounts = ", ".join(s.account_identification or "(none)" for s in statements)
        raise StatementParseError(
            f"The file contains statements of {len(statements)} accounts ({accounts}); "
            "import them one account at a time",
            code=MULTIPLE_ACCOUNTS,
        )
    return statements[0]


def merge_by_account(statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """Merge statements of the same account and currency, keeping file order."""
    groups: dict[tuple[str, str], list[Statement]] = {}
    for statement in statements:
        key = (statement.account_identification, statement.currency)
        groups.setdefault(key, []).append(statement)
    merged: list[Statement] = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        first = group[0]
        merged.append(
            Statement(
                format=first.format,
                version=first.version,
                statement_id=first.statement_id,
                account_iban=first.account_iban,
                account_identification=first.account_identification,
                currency=first.currency,
                opening_balance=next(
                    (s.opening_balance for s in group if s.opening_balance is not None), None
                ),
                closing_balance=next(
                    (s.closing_balance for s in reversed(group) if s.closing_balance is not None),
                    None,
                ),
                transactions=tuple(t for s in group for t in s.transactions),
            )
        )
    return tuple(merged)
