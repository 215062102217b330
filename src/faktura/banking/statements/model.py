"""What every statement parser returns: frozen dataclasses, money as Decimal with two places."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from faktura.banking.statements.errors import (
    INVALID_AMOUNT,
    TOO_MANY_DECIMALS,
    StatementParseError,
)

StatementFormat = Literal["camt.052", "camt.053", "camt.054", "mt940", "csv"]
Direction = Literal["credit", "debit"]
EntryStatus = Literal["booked", "pending", "info"]

CENT = Decimal("0.01")

# What marks a booking as money given back (a returned debit or transfer, a reversal):
# DK Geschäftsvorfallcodes (STANDARDS 3.1): 159 SEPA credit transfer returned (in the
# corpus MT940 with ?34 codes), 108/109 SEPA direct debit returned (DK GVC list; 109 also
# in the synthetic corpus camt.054; not verified against DK Anlage 3).
RETURN_GVCS = frozenset({"108", "109", "159"})
# Posting texts (MT940 ?00, CSV "Buchungstext") German banks use for returns.
RETURN_POSTING_WORDS = (
    "RETOURE",
    "RUECKLASTSCHRIFT",
    "RÜCKLASTSCHRIFT",
    "RUECKBELASTUNG",
    "RÜCKBELASTUNG",
    "RUECKUEBERWEISUNG",
    "RÜCKÜBERWEISUNG",
    "STORNO",
)
# Far above any real booking; stops absurd input (1e400) before it reaches the database.
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """A statement balance; negative when the bank reports it as debit."""

    amount: Decimal
    date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementTransaction:
    """One booking on the account, after splitting batch entries into their transactions.

    ``amount`` is always positive; ``direction`` says which way the money went. For a
    returned direct debit ``amount`` is what the bank booked (original amount plus fee),
    ``original_amount`` the amount once collected and ``return_fee`` the bank's charge.
    ``checksum`` is the same for the same transaction in overlapping statement files, so
    an import can skip what it has already seen (DESIGN invariant 6: imports are idempotent).
    ``bank_reference`` is not unique on its own: banks reuse it for all parts of a batch.
    """

    bank_reference: str
    checksum: str
    booking_date: date
    value_date: date
    amount: Decimal
    currency: str
    direction: Direction
    status: EntryStatus = "booked"
    end_to_end_id: str = ""
    mandate_reference: str = ""
    creditor_reference: str = ""
    remittance_information: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    bank_transaction_code: str = ""
    is_return: bool = False
    return_reason_code: str = ""
    return_fee: Decimal | None = None
    original_amount: Decimal | None = None
    batch_reference: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One account's statement (camt Stmt/Rpt/Ntfctn, MT940 :20: blocks, or a CSV file).

    ``account_iban`` is empty when the file names the account another way (MT940
    ``:25:`` as bank code/account number); ``account_identification`` always holds what
    the file said.
    """

    format: StatementFormat
    version: str
    statement_id: str
    account_iban: str
    account_identification: str
    currency: str
    opening_balance: Balance | None
    closing_balance: Balance | None
    transactions: tuple[StatementTransaction, ...]


def checked_amount(value: Decimal, *, location: str, allow_negative: bool = False) -> Decimal:
    """Return ``value`` with exactly two places, or refuse it.

    Refuses more than two significant decimals (DESIGN invariant 1: amounts have the
    currency's two minor-unit places); trailing zeros (``1.500``) are accepted, as in
    ``faktura.core.money``.
    """
    if not value.is_finite():
        raise StatementParseError(
            f"{value} is not an amount", code=INVALID_AMOUNT, location=location
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        try:
            rounded = value.quantize(CENT)
        except InvalidOperation:
            raise StatementParseError(
                f"{value} is not an amount", code=INVALID_AMOUNT, location=location
            ) from None
        if rounded != value:
            raise StatementParseError(
                f"amount {value} has more than 2 decimal places",
                code=TOO_MANY_DECIMALS,
                location=location,
            )
    if abs(value) > MAX_AMOUNT:
        raise StatementParseError(
            f"amount {value} is too large", code=INVALID_AMOUNT, location=location
        )
    if value < 0 and not allow_negative:
        raise StatementParseError(
            f"amount {value} must not be negative", code=INVALID_AMOUNT, location=location
        )
    return value.quantize(CENT)


class ChecksumAssigner:
    """Give each transaction of one statement its content checksum.

    The key is the transaction's content plus how often the same content occurred
    before in this statement: two identical 10.00 transfers on one day get different
    keys, and the same two in an overlapping file get the same two keys again.
    """

    __slots__ = ("_account", "_seen")

    def __init__(self, *, account: str) -> None:
        self._account = account
        self._seen: Counter[str] = Counter()

    def checksum(
        self,
        *,
        booking_date: date,
        value_date: date,
        amount: Decimal,
        currency: str,
        direction: str,
        bank_reference: str,
        end_to_end_id: str,
        mandate_reference: str,
        counterparty_iban: str,
        remittance_information: str,
    ) -> str:
        content = "\x1f".join(
            (
                self._account,
                booking_date.isoformat(),
                value_date.isoformat(),
                direction,
                f"{amount:f}",
                currency,
                bank_reference,
                end_to_end_id,
                mandate_reference,
                counterparty_iban,
                # Whitespace differs between renderings of the same text (line breaks).
                " ".join(remittance_information.split()),
            )
        )
        occurrence = self._seen[content]
        self._seen[content] = occurrence + 1
        return hashlib.sha256(f"{content}\x1e{occurrence}".encode()).hexdigest()
