"""CSV account exports, read through a column mapping saved per bank."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from faktura.banking.statements.errors import (
    CSV_MAPPING_MISMATCH,
    EMPTY_FILE,
    MULTIPLE_ACCOUNTS,
    WRONG_CURRENCY,
    StatementParseError,
)
from faktura.banking.statements.model import (
    RETURN_POSTING_WORDS,
    ChecksumAssigner,
    Direction,
    EntryStatus,
    Statement,
    StatementTransaction,
    checked_amount,
)

# A column is named by its header text, or by its zero-based position (files without
# a header row).
Column = str | int


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvMapping:
    """How one bank's CSV export is laid out.

    Give either ``amount`` (signed: negative is a debit, or unsigned with
    ``direction``) or ``credit_amount`` and ``debit_amount`` (two columns, one filled
    per row). Header names are compared ignoring case and surrounding spaces.
    """

    name: str = ""
    delimiter: str = ";"
    encoding: str = "cp1252"
    decimal_separator: str = ","  # "," (1.234,56) or "." (1,234.56)
    date_format: str = "%d.%m.%Y"
    header_row: bool = True
    skip_rows: int = 0  # lines before the header (or before the data without header)
    booking_date: Column
    value_date: Column | None = None
    amount: Column | None = None
    credit_amount: Column | None = None
    debit_amount: Column | None = None
    direction: Column | None = None  # "S"/"H"-style column next to an unsigned amount
    debit_markers: tuple[str, ...] = ("S", "D", "DBIT", "SOLL", "-")
    currency: Column | None = None
    default_currency: str = "EUR"
    account_iban: Column | None = None
    counterparty_name: Column | None = None
    counterparty_iban: Column | None = None
    counterparty_bic: Column | None = None
    remittance: tuple[Column, ...] = ()  # several columns are joined line by line
    end_to_end_id: Column | None = None
    mandate_reference: Column | None = None
    bank_reference: Column | None = None
    batch_reference: Column | None = None
    posting_text: Column | None = None  # "Buchungstext", kept as bank_transaction_code
    original_amount: Column | None = None
    return_fee: Column | None = None
    status: Column | None = None
    pending_markers: tuple[str, ...] = ("UMSATZ VORGEMERKT", "VORGEMERKT", "PENDING")

    def __post_init__(self) -> None:
        single = self.amount is not None
        split = self.credit_amount is not None and self.debit_amount is not None
        if single == split:
            raise ValueError("give either amount or both credit_amount and debit_amount")
        if self.decimal_separator not in (",", "."):
            raise ValueError("decimal_separator must be ',' or '.'")
        if len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character")


# Sparkasse "CSV-CAMT V2" export (online banking: Umsätze → Export → CSV-CAMT): the
# camt fields flattened into columns, Windows-1252, ";" separated, decimal comma,
# two-digit years, signed amounts.
SPARKASSE_CSV_CAMT = CsvMapping(
    name="Sparkasse CSV-CAMT V2",
    delimiter=";",
    encoding="cp1252",
    decimal_separator=",",
    date_format="%d.%m.%y",
    booking_date="Buchungstag",
    value_date="Valutadatum",
    amount="Betrag",
    currency="Waehrung",
    account_iban="Auftragskonto",
    counterparty_name="Beguenstigter/Zahlungspflichtiger",
    counterparty_iban="Kontonummer/IBAN",
    counterparty_bic="BIC (SWIFT-Code)",
    remittance=("Verwendungszweck",),
    end_to_end_id="Kundenreferenz (End-to-End)",
    mandate_reference="Mandatsreferenz",
    batch_reference="Sammlerreferenz",
    posting_text="Buchungstext",
    original_amount="Lastschrift Ursprungsbetrag",
    return_fee="Auslagenersatz Ruecklastschrift",
    status="Info",
)

_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED"})


def parse_csv(
    data: bytes, *, mapping: CsvMapping, expected_currency: str | None = None
) -> Statement:
    """Read a CSV export through ``mapping`` into one Statement.

    Raises StatementParseError: empty_file; csv_mapping_mismatch (wrong encoding, a
    mapped column missing, a row too short, an unreadable date or amount — naming the
    row and column); too_many_decimals; wrong_currency; multiple_accounts.
    """
    if not data.strip():
        raise StatementParseError("The file is empty", code=EMPTY_FILE)
    try:
        text = data.decode(mapping.encoding)
    except (UnicodeDecodeError, LookupError):
        raise StatementParseError(
            f"The file is not encoded as {mapping.encoding}, as the mapping "
            f"{mapping.name or ''} expects".rstrip(),
            code=CSV_MAPPING_MISMATCH,
        ) from None
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=mapping.delimiter)
    try:
        rows = _Rows(reader, mapping)
        statement = rows.statement(data, expected_currency)
    except csv.Error as error:
        raise StatementParseError(
            f"The file is not valid CSV: {error}",
            code=CSV_MAPPING_MISMATCH,
            location=f"line {reader.line_num}",
        ) from None
    return statement


class _Rows:
    """Walks the rows of one file; resolves column names to positions once."""

    def __init__(self, reader: Any, mapping: CsvMapping) -> None:
        self.reader = reader
        self.mapping = mapping
        self.line = 0
        for _ in range(mapping.skip_rows):
            next(reader, None)
        header: list[str] = []
        if mapping.header_row:
            header = next(reader, [])
            self.line = reader.line_num
        self.header = [cell.strip() for cell in header]
        self.names = {cell.casefold(): index for index, cell in enumerate(self.header)}

    def index(self, column: Column) -> int:
        if isinstance(column, int):
            return column
        position = self.names.get(column.strip().casefold())
        if position is None:
            raise StatementParseError(
                f"The file has no column {column!r}, which the mapping {self.mapping.name!r} needs",
                code=CSV_MAPPING_MISMATCH,
                location=f"line {self.line}, header",
            )
        return position

    def statement(self, data: bytes, expected_currency: str | None) -> Statement:
        m = self.mapping
        columns = {
            field: self.index(column)
            for field, column in (
                ("booking_date", m.booking_date),
                ("value_date", m.value_date),
                ("amount", m.amount),
                ("credit_amount", m.credit_amount),
                ("debit_amount", m.debit_amount),
                ("direction", m.direction),
                ("currency", m.currency),
                ("account_iban", m.account_iban),
                ("counterparty_name", m.counterparty_name),
                ("counterparty_iban", m.counterparty_iban),
                ("counterparty_bic", m.counterparty_bic),
                ("end_to_end_id", m.end_to_end_id),
                ("mandate_reference", m.mandate_reference),
                ("bank_reference", m.bank_reference),
                ("batch_reference", m.batch_reference),
                ("posting_text", m.posting_text),
                ("original_amount", m.original_amount),
                ("return_fee", m.return_fee),
                ("status", m.status),
            )
            if column is not None
        }
        remittance = [self.index(column) for column in m.remittance]
        labels = {index: self._label(field, index) for field, index in columns.items()}
        labels.update({index: self._label("remittance", index) for index in remittance})
        width = max([*columns.values(), *remittance]) + 1

        accounts: list[str] = []
        transactions: list[StatementTransaction] = []
        assigner: ChecksumAssigner | None = None
        for row in self.reader:
            line = self.reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < width:
                missing = min(i for i in labels if i >= len(row))
                raise StatementParseError(
                    f"The row has {len(row)} columns; the mapping needs column {labels[missing]}",
                    code=CSV_MAPPING_MISMATCH,
                    location=f"line {line}",
                )
            row_reader = _Row(row, columns, labels, m, line)
            account = row_reader.text("account_iban").replace(" ", "").upper()
            if account not in accounts:
                accounts.append(account)
            if assigner is None:
                assigner = ChecksumAssigner(account=account)
            transactions.append(row_reader.transaction(remittance, assigner, expected_currency))
        if len(accounts) > 1:
            raise StatementParseError(
                f"The file contains {len(accounts)} accounts ({', '.join(accounts)}); "
                "export one account per file",
                code=MULTIPLE_ACCOUNTS,
            )
        account = accounts[0] if accounts else ""
        return Statement(
            format="csv",
            version="",
            statement_id="csv:" + hashlib.sha256(data).hexdigest()[:16],
            account_iban=account if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", account) else "",
            account_identification=account,
            currency=transactions[0].currency if transactions else m.default_currency,
            opening_balance=None,
            closing_balance=None,
            transactions=tuple(transactions),
        )

    def _label(self, field: str, index: int) -> str:
        if index < len(self.header):
            return repr(self.header[index])
        return f"{index + 1} ({field})"


class _Row:
    """One data row with typed access to the mapped columns."""

    def __init__(
        self,
        row: list[str],
        columns: dict[str, int],
        labels: dict[int, str],
        mapping: CsvMapping,
        line: int,
    ) -> None:
        self.row = row
        self.columns = columns
        self.labels = labels
        self.mapping = mapping
        self.line = line

    def text(self, field: str) -> str:
        index = self.columns.get(field)
        return self.row[index].strip() if index is not None else ""

    def _where(self, field: str) -> str:
        return f"line {self.line}, column {self.labels[self.columns[field]]}"

    def date(self, field: str) -> date:
        value = self.text(field)
        try:
            # Dates in a bank export are calendar dates; no time zone is involved.
            return datetime.strptime(value, self.mapping.date_format).date()  # noqa: DTZ007
        except ValueError:
            raise StatementParseError(
                f"{value!r} is not a date in the format {self.mapping.date_format}",
                code=CSV_MAPPING_MISMATCH,
                location=self._where(field),
            ) from None

    def number(self, field: str) -> Decimal | None:
        """Read a signed amount; None for an empty cell."""
        value = self.text(field).replace("\xa0", "").replace(" ", "")
        if not value:
            return None
        negative = value.endswith("-")  # "12,34-" (trailing sign, older exports)
        value = value.rstrip("-")
        if self.mapping.decimal_separator == ",":
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
        if not _NUMBER.match(value):
            raise StatementParseError(
                f"{self.text(field)!r} is not an amount with decimal "
                f"{self.mapping.decimal_separator!r}",
                code=CSV_MAPPING_MISMATCH,
                location=self._where(field),
            )
        number = Decimal(value)
        return checked_amount(
            -number if negative else number, location=self._where(field), allow_negative=True
        )

    def signed_amount(self) -> Decimal:
        m = self.mapping
        if m.amount is not None:
            amount = self.number("amount")
            if amount is None:
                raise StatementParseError(
                    "The amount is empty",
                    code=CSV_MAPPING_MISMATCH,
                    location=self._where("amount"),
                )
            if m.direction is not None:
                marker = self.text("direction").upper()
                amount = -abs(amount) if marker in m.debit_markers else abs(amount)
            return amount
        credit = self.number("credit_amount")
        debit = self.number("debit_amount")
        if credit is None and debit is None:
            raise StatementParseError(
                "Both the credit and the debit column are empty",
                code=CSV_MAPPING_MISMATCH,
                location=self._where("credit_amount"),
            )
        if credit and debit:
            raise StatementParseError(
                "Both the credit and the debit column hold an amount",
                code=CSV_MAPPING_MISMATCH,
                location=self._where("credit_amount"),
            )
        if credit:
            return abs(credit)
        return -abs(debit or Decimal("0.00"))

    def transaction(
        self,
        remittance_columns: list[int],
        assigner: ChecksumAssigner,
        expected_currency: str | None,
    ) -> StatementTransaction:
        m = self.mapping
        booking_date = self.date("booking_date")
        value_date = self.date("value_date") if self.text("value_date") else booking_date
        signed = self.signed_amount()
        direction: Direction = "debit" if signed < 0 else "credit"
        amount = abs(signed)
        currency = (self.text("currency") or m.default_currency).upper()
        if expected_currency is not None and currency != expected_currency:
            raise StatementParseError(
                f"The row is in {currency}, but only {expected_currency} can be imported",
                code=WRONG_CURRENCY,
                location=f"line {self.line}",
            )
        remittance = "\n".join(
            self.row[i].strip() for i in remittance_columns if self.row[i].strip()
        )
        posting_text = self.text("posting_text")
        fee = self.number("return_fee") if "return_fee" in self.columns else None
        original = self.number("original_amount") if "original_amount" in self.columns else None
        is_return = bool(fee) or any(w in posting_text.upper() for w in RETURN_POSTING_WORDS)
        status: EntryStatus = (
            "pending" if self.text("status").upper() in m.pending_markers else "booked"
        )
        bank_reference = self.text("bank_reference")
        end_to_end = self.text("end_to_end_id")
        mandate = self.text("mandate_reference")
        counterparty_iban = self.text("counterparty_iban").replace(" ", "").upper()
        return StatementTransaction(
            bank_reference="" if bank_reference in _NO_REFERENCE else bank_reference,
            checksum=assigner.checksum(
                booking_date=booking_date,
                value_date=value_date,
                amount=amount,
                currency=currency,
                direction=direction,
                bank_reference=bank_reference,
                end_to_end_id=end_to_end,
                mandate_reference=mandate,
                counterparty_iban=counterparty_iban,
                remittance_information=remittance,
            ),
            booking_date=booking_date,
            value_date=value_date,
            amount=amount,
            currency=currency,
            direction=direction,
            status=status,
            end_to_end_id="" if end_to_end in _NO_REFERENCE else end_to_end,
            mandate_reference=mandate,
            remittance_information=remittance,
            counterparty_name=" ".join(self.text("counterparty_name").split()),
            counterparty_iban=counterparty_iban,
            counterparty_bic=self.text("counterparty_bic").upper(),
            bank_transaction_code=posting_text,
            is_return=is_return,
            return_fee=abs(fee) if fee else None,
            original_amount=abs(original) if original else None,
            batch_reference=self.text("batch_reference"),
        )
