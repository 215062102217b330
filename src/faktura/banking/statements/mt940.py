"""MT940 (SWIFT customer statement) with German ``:86:`` details into Statements.

Parsing is done by the ``mt-940`` package (STANDARDS 3.2) with its German ``:86:``
post-processor: GVC (Geschäftsvorfallcode), ``?00`` posting text, ``?20``–``?29``
purpose with the SEPA keywords EREF+/MREF+/KREF+/SVWZ+/ABWA+, ``?30``–``?33``
counterparty BIC, IBAN and name, ``?34`` Textschlüsselergänzung (the numeric return
reason for returns). Whatever the package raises becomes a StatementParseError, and
the parts it accepts too leniently (balances, the number of ``:61:`` lines) are checked
here.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import mt940
from mt940 import processors
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from faktura.banking.statements.errors import (
    EMPTY_FILE,
    MALFORMED_MT940,
    WRONG_CURRENCY,
    StatementParseError,
)
from faktura.banking.statements.model import (
    RETURN_GVCS,
    RETURN_POSTING_WORDS,
    Balance,
    ChecksumAssigner,
    Direction,
    Statement,
    StatementTransaction,
    checked_amount,
)

# The package logs every unparsable line verbatim at ERROR level: statement lines hold
# names and IBANs, and Faktura reports the error to the user itself.
logging.getLogger("mt940").setLevel(logging.CRITICAL)

_OPTIONS = mt940.Options(
    applicant_iban=True,  # ?31 (IBAN) under its own key, not glued to the name
    merge_keeps_values=True,
    reversal_sign=True,  # RC (reversal of a credit) takes money out, like a debit
    case_insensitive_marks=True,
    unbounded_details=True,  # no silent cut after 9 × 65 characters
    strip_bom=True,
)
_DETAILS = "d86_"


def _keep_details_apart(
    transactions: Any, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    # :61: and :86: share key names (customer_reference); the package would join them
    # with a line break. Kept apart, each keeps its meaning.
    return {_DETAILS + key: value for key, value in result.items()}


_PROCESSORS = {
    "post_transaction_details": [
        processors.transaction_details_post_processor,
        _keep_details_apart,
    ],
}

_BALANCE_LINE = re.compile(r"(?m)^:(6[02][FM]|6[45]):(.*)$")
_BALANCE_VALUE = re.compile(r"^[CD]\d{6}[A-Z]{3}\d{1,15}(?:,\d*)?\s*$")
_STATEMENT_LINE = re.compile(r"(?m)^:61:")
_MONEY_86 = re.compile(r"^\s*([A-Z]{3})?\s*(\d{1,15}(?:,\d{0,2})?)\s*$")
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED"})
# Some banks continue the ?2x purpose of a return with their own "MTLG:" message, which
# the package reads as part of the preceding EREF+ value.
_BANK_MESSAGE = "MTLG:"


def decode_text(data: bytes) -> str:
    """Decode a German bank text file: UTF-8 if it is valid UTF-8, else Windows-1252.

    UTF-8 is tried first because Latin-1 text with umlauts is practically never valid
    UTF-8; cp1252 (a superset of the printable Latin-1) comes next, and Latin-1, which
    maps every byte, closes the chain.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_mt940(data: bytes, *, expected_currency: str | None = None) -> tuple[Statement, ...]:
    """Parse an MT940 file into one Statement per ``:20:`` block (merge pages by account).

    Raises StatementParseError: empty_file, malformed_mt940, invalid_amount,
    too_many_decimals, wrong_currency.
    """
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise StatementParseError("The file is empty", code=EMPTY_FILE)
    for match in _BALANCE_LINE.finditer(text):
        if not _BALANCE_VALUE.match(match.group(2)):
            line = text.count("\n", 0, match.start()) + 1
            raise StatementParseError(
                f"Balance :{match.group(1)}: {match.group(2).strip()!r} is not "
                "<C|D><YYMMDD><currency><amount>",
                code=MALFORMED_MT940,
                location=f"line {line}",
            )
    try:
        blocks = mt940.parse_statements(text, processors=_PROCESSORS, options=_OPTIONS)
    except Exception as error:  # the package raises RuntimeError, ValueError, …
        raise StatementParseError(
            f"The MT940 file cannot be read: {_short(error)}", code=MALFORMED_MT940
        ) from None
    expected_lines = len(_STATEMENT_LINE.findall(text))
    parsed = sum(len(block.transactions) for block in blocks)
    if not blocks or parsed != expected_lines:
        raise StatementParseError(
            f"The MT940 file has {expected_lines} :61: lines, but only {parsed} could be read",
            code=MALFORMED_MT940,
        )
    assigners: dict[str, ChecksumAssigner] = {}
    statements = []
    for number, block in enumerate(blocks, start=1):
        try:
            statements.append(_statement(block, number, assigners, expected_currency))
        except StatementParseError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise StatementParseError(
                f"The MT940 statement cannot be read: {_short(error)}",
                code=MALFORMED_MT940,
                location=f"statement {number}",
            ) from None
    return tuple(statements)


def _short(error: Exception) -> str:
    message = str(error.args[0] if error.args else error)
    return message if len(message) <= 160 else message[:157] + "..."


def _statement(
    block: Any,
    number: int,
    assigners: dict[str, ChecksumAssigner],
    expected_currency: str | None,
) -> Statement:
    info = block.data
    account = str(info.get("account_identification") or "").strip()
    iban = _iban(account)
    where = f"statement {number} (:20: {info.get('transaction_reference') or ''})"
    opening = _balance(
        info.get("final_opening_balance") or info.get("intermediate_opening_balance"), where
    )
    closing = _balance(
        info.get("final_closing_balance") or info.get("intermediate_closing_balance"), where
    )
    currency = str(getattr(block, "currency", None) or "")
    if expected_currency is not None and currency and currency != expected_currency:
        raise StatementParseError(
            f"The statement is in {currency}, but only {expected_currency} can be imported",
            code=WRONG_CURRENCY,
            location=where,
        )
    key = iban or account
    assigner = assigners.setdefault(key, ChecksumAssigner(account=key))
    transactions = tuple(
        _transaction(t.data, assigner, f"{where}, transaction {index}", expected_currency)
        for index, t in enumerate(block.transactions, start=1)
    )
    return Statement(
        format="mt940",
        version="",
        statement_id=str(info.get("transaction_reference") or "").strip(),
        account_iban=iban,
        account_identification=account,
        currency=currency or (transactions[0].currency if transactions else ""),
        opening_balance=opening,
        closing_balance=closing,
        transactions=transactions,
    )


def _iban(account: str) -> str:
    """Return the IBAN in ``:25:``, or "" when it is bank code/account number."""
    candidate = re.sub(r"\s+", "", account).upper()
    candidate = re.sub(r"^([A-Z]{2}\d{2}[A-Z0-9]+?)(EUR|CHF|USD|GBP)?$", r"\1", candidate)
    try:
        return str(IBAN(candidate).compact)
    except (SchwiftyException, ValueError):
        return ""


def _balance(balance: Any, where: str) -> Balance | None:
    if balance is None or balance.amount is None or not hasattr(balance.amount, "amount"):
        return None
    amount = checked_amount(balance.amount.amount, location=where, allow_negative=True)
    when = balance.date
    return Balance(amount=amount, date=date(when.year, when.month, when.day) if when else None)


def _transaction(
    data: dict[str, Any],
    assigner: ChecksumAssigner,
    where: str,
    expected_currency: str | None,
) -> StatementTransaction:
    signed = data["amount"].amount
    currency = str(data.get("currency") or data["amount"].currency or "")
    if expected_currency is not None and currency != expected_currency:
        raise StatementParseError(
            f"The transaction is in {currency or 'no currency'}, but only "
            f"{expected_currency} can be imported",
            code=WRONG_CURRENCY,
            location=where,
        )
    amount = checked_amount(abs(signed), location=where)
    direction: Direction = "debit" if signed < 0 else "credit"
    value_date = _date(data["date"])
    entry = data.get("guessed_entry_date") or data.get("entry_date")
    booking_date = _date(entry) if entry else value_date

    def detail(key: str) -> str:
        return _clean(data.get(_DETAILS + key))

    gvc = detail("transaction_code")
    posting_text = detail("posting_text")
    supplement = detail("return_debit_notes")  # ?34 Textschlüsselergänzung
    # ?60–?63 continue the ?20–?29 purpose: joined without a separator, like the
    # ?2x segments themselves.
    purpose_parts = [detail("purpose") + detail("additional_purpose")]
    end_to_end = _split_bank_message(detail("end_to_end_reference"), purpose_parts)
    mandate = _split_bank_message(detail("additional_position_reference"), purpose_parts)
    batch_reference = _split_bank_message(detail("customer_reference"), purpose_parts)
    if not gvc and detail("transaction_details"):
        # Unstructured :86: (no GVC): the whole text is the remittance information.
        purpose_parts = [detail("transaction_details")]
    remittance = "\n".join(p for p in purpose_parts if p)
    mark = str(data.get("status") or "").upper()
    is_return = (
        gvc in RETURN_GVCS
        or mark in ("RC", "RD")
        or any(word in posting_text.upper() for word in RETURN_POSTING_WORDS)
    )
    swift_code = _clean(data.get("id"))
    prima_nota = detail("prima_nota")
    bank_transaction_code = "+".join(
        p for p in (swift_code, gvc, prima_nota if gvc else "", supplement if gvc else "") if p
    )
    # The bank's reference follows "//" in :61:; some banks (hbci4java sample) put their
    # booking id into the customer reference field instead.
    bank_reference = _clean(data.get("bank_reference"))
    if bank_reference in _NO_REFERENCE:
        bank_reference = _clean(data.get("customer_reference"))
    if bank_reference in _NO_REFERENCE:
        bank_reference = ""
    end_to_end = "" if end_to_end in _NO_REFERENCE else end_to_end
    counterparty_iban = "".join(
        (detail("applicant_iban") or detail("gvc_applicant_iban")).split()
    ).upper()
    counterparty_name = " ".join((detail("applicant_name") or detail("deviate_applicant")).split())
    checksum = assigner.checksum(
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
    )
    return StatementTransaction(
        bank_reference=bank_reference,
        checksum=checksum,
        booking_date=booking_date,
        value_date=value_date,
        amount=amount,
        currency=currency,
        direction=direction,
        end_to_end_id=end_to_end,
        mandate_reference=mandate,
        remittance_information=remittance,
        counterparty_name=counterparty_name,
        counterparty_iban=counterparty_iban,
        counterparty_bic=(detail("applicant_bin") or detail("gvc_applicant_bin")).upper(),
        bank_transaction_code=bank_transaction_code,
        is_return=is_return,
        return_reason_code=supplement if is_return and supplement not in ("", "000") else "",
        # COAM+ (compensation amount: the return fee) and OAMT+ (original amount).
        return_fee=_money_86(detail("compensation_amount")),
        original_amount=_money_86(detail("original_amount")),
        # KREF+ is the submitter's file or batch reference (DK: message or payment
        # information id), so it names the batch this booking belongs to.
        batch_reference="" if batch_reference in _NO_REFERENCE else batch_reference,
    )


def _split_bank_message(value: str, purpose_parts: list[str]) -> str:
    """Cut a bank's "MTLG:" message off a SEPA keyword value; it goes to the purpose."""
    if _BANK_MESSAGE not in value:
        return value
    value, message = value.split(_BANK_MESSAGE, 1)
    purpose_parts.append(_BANK_MESSAGE + message)
    return value.strip()


def _clean(value: object) -> str:
    return str(value).strip() if value is not None else ""


def _date(value: Any) -> date:
    return date(value.year, value.month, value.day)


def _money_86(text: str) -> Decimal | None:
    """Read ``COAM+``/``OAMT+`` amounts ("3,00" or "EUR3,00"); None if absent or odd."""
    match = _MONEY_86.match(text) if text else None
    if match is None:
        return None
    return Decimal(match.group(2).replace(",", ".")).quantize(Decimal("0.01"))
