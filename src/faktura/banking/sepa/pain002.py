"""pain.002 payment status reports (the bank's answer to a pain.008/pain.001) into dataclasses.

A report says, per file, per payment information block and per transaction, whether
the bank accepted it; rejected ones carry an ISO reason code (``StsRsnInf/Rsn/Cd``, e.g.
AC01 wrong IBAN, AM04 insufficient funds, MD06 refund request, MS02 refused by the
debtor). Versions .001.03 (DK GBIC_3) to .001.12 are read (DK uses .10 with GBIC_4);
where versions differ (``Dbtr/Nm`` vs ``Dbtr/Pty/Nm``, ``ReqdExctnDt`` vs
``ReqdExctnDt/Dt``) both shapes are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from faktura.banking.statements.errors import (
    INVALID_AMOUNT,
    INVALID_STATEMENT,
    NOT_A_STATEMENT,
    UNKNOWN_VERSION,
    WRONG_NAMESPACE,
    StatementParseError,
)
from faktura.banking.statements.iso20022 import (
    HARDENED_PARSER_OPTIONS,
    read_document_head,
    syntax_error,
)
from faktura.banking.statements.model import checked_amount

SUPPORTED_VERSIONS = tuple(f"001.{n:02d}" for n in range(3, 13))
_AMOUNT = re.compile(r"^\d{1,18}(?:\.\d+)?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionStatus:
    """The status of one original transaction (TxInfAndSts)."""

    status: str  # RJCT, ACCP, ACSC, PDNG, …
    original_end_to_end_id: str
    original_instruction_id: str = ""
    status_id: str = ""
    reason_code: str = ""  # Rsn/Cd, else Rsn/Prtry
    reason_text: str = ""  # AddtlInf lines
    amount: Decimal | None = None
    currency: str = ""
    mandate_reference: str = ""
    debtor_name: str = ""
    debtor_iban: str = ""
    creditor_name: str = ""
    creditor_iban: str = ""
    requested_date: date | None = None  # ReqdColltnDt (pain.008) or ReqdExctnDt (pain.001)


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentInformationStatus:
    """The status of one original payment information block (OrgnlPmtInfAndSts)."""

    original_payment_information_id: str
    status: str = ""  # PmtInfSts; empty when only transactions are reported
    reason_code: str = ""
    reason_text: str = ""
    transactions: tuple[TransactionStatus, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentStatusReport:
    """A whole pain.002: the original message it answers and every status in it."""

    version: str
    message_id: str
    original_message_id: str
    original_message_type: str  # e.g. "pain.008.001.02"
    group_status: str = ""  # GrpSts: RJCT means the whole file was refused
    group_reason_code: str = ""
    group_reason_text: str = ""
    payment_information: tuple[PaymentInformationStatus, ...] = ()

    @property
    def rejected_transactions(self) -> tuple[TransactionStatus, ...]:
        """Transactions reported as rejected (RJCT), in report order."""
        return tuple(
            t for p in self.payment_information for t in p.transactions if t.status == "RJCT"
        )


def parse_pain002(data: bytes) -> PaymentStatusReport:
    """Parse a pain.002 payment status report.

    Raises StatementParseError: empty_file, truncated_xml, malformed_xml,
    wrong_namespace (not a pain.002), unknown_version, not_a_statement,
    invalid_statement, invalid_amount, too_many_decimals.
    """
    head = read_document_head(data)
    if head.message != "pain.002":
        raise StatementParseError(
            f"{head.message}.{head.version} is not a payment status report (pain.002)",
            code=WRONG_NAMESPACE,
            location="line 1",
        )
    if head.version not in SUPPORTED_VERSIONS:
        raise StatementParseError(
            f"pain.002.{head.version} is not supported; supported versions are "
            + ", ".join(f"pain.002.{v}" for v in SUPPORTED_VERSIONS),
            code=UNKNOWN_VERSION,
            location="line 1",
        )
    if head.first_child != "CstmrPmtStsRpt":
        raise StatementParseError(
            f"A pain.002 document must contain CstmrPmtStsRpt, not {head.first_child}",
            code=NOT_A_STATEMENT,
            location="line 2",
        )
    try:
        root = etree.fromstring(data, etree.XMLParser(**HARDENED_PARSER_OPTIONS))
    except etree.XMLSyntaxError as error:
        raise syntax_error(error, data) from None
    return _Reader("{" + head.namespace + "}").report(root, head.version)


class _Reader:
    def __init__(self, q: str) -> None:
        self.q = q

    def text(self, element: Any, path: str) -> str:
        q = self.q
        found = element.findtext("/".join(q + part for part in path.split("/")))
        return " ".join(found.split()) if found else ""

    def first(self, element: Any, *paths: str) -> str:
        for path in paths:
            value = self.text(element, path)
            if value:
                return value
        return ""

    def reasons(self, element: Any) -> tuple[str, str]:
        q = self.q
        code = ""
        texts: list[str] = []
        for info in element.iterfind(q + "StsRsnInf"):
            code = code or self.first(info, "Rsn/Cd", "Rsn/Prtry")
            texts.extend(" ".join((t.text or "").split()) for t in info.iterfind(q + "AddtlInf"))
        return code, " ".join(t for t in texts if t)

    def report(self, root: Any, version: str) -> PaymentStatusReport:
        q = self.q
        message = root.find(q + "CstmrPmtStsRpt")
        group = message.find(q + "OrgnlGrpInfAndSts")
        if group is None:
            raise StatementParseError(
                "The status report has no OrgnlGrpInfAndSts",
                code=INVALID_STATEMENT,
                location=f"line {message.sourceline}",
            )
        group_code, group_text = self.reasons(group)
        return PaymentStatusReport(
            version=version,
            message_id=self.text(message, "GrpHdr/MsgId"),
            original_message_id=self.text(group, "OrgnlMsgId"),
            original_message_type=self.text(group, "OrgnlMsgNmId").lower(),
            group_status=self.text(group, "GrpSts"),
            group_reason_code=group_code,
            group_reason_text=group_text,
            payment_information=tuple(
                self.payment_information(block)
                for block in message.iterfind(q + "OrgnlPmtInfAndSts")
            ),
        )

    def payment_information(self, block: Any) -> PaymentInformationStatus:
        code, text = self.reasons(block)
        return PaymentInformationStatus(
            original_payment_information_id=self.text(block, "OrgnlPmtInfId"),
            status=self.text(block, "PmtInfSts"),
            reason_code=code,
            reason_text=text,
            transactions=tuple(
                self.transaction(tx) for tx in block.iterfind(self.q + "TxInfAndSts")
            ),
        )

    def transaction(self, tx: Any) -> TransactionStatus:
        q = self.q
        code, text = self.reasons(tx)
        amount: Decimal | None = None
        currency = ""
        amount_element = tx.find(f"{q}OrgnlTxRef/{q}Amt/{q}InstdAmt")
        if amount_element is not None:
            amount = self.amount(amount_element)
            currency = (amount_element.get("Ccy") or "").strip()
        when = self.first(
            tx, "OrgnlTxRef/ReqdColltnDt", "OrgnlTxRef/ReqdExctnDt/Dt", "OrgnlTxRef/ReqdExctnDt"
        )
        return TransactionStatus(
            status=self.text(tx, "TxSts"),
            original_end_to_end_id=self.text(tx, "OrgnlEndToEndId"),
            original_instruction_id=self.text(tx, "OrgnlInstrId"),
            status_id=self.text(tx, "StsId"),
            reason_code=code,
            reason_text=text,
            amount=amount,
            currency=currency,
            mandate_reference=self.text(tx, "OrgnlTxRef/MndtRltdInf/MndtId"),
            debtor_name=self.first(tx, "OrgnlTxRef/Dbtr/Nm", "OrgnlTxRef/Dbtr/Pty/Nm"),
            debtor_iban=self.text(tx, "OrgnlTxRef/DbtrAcct/Id/IBAN"),
            creditor_name=self.first(tx, "OrgnlTxRef/Cdtr/Nm", "OrgnlTxRef/Cdtr/Pty/Nm"),
            creditor_iban=self.text(tx, "OrgnlTxRef/CdtrAcct/Id/IBAN"),
            requested_date=self.date(when, tx) if when else None,
        )

    @staticmethod
    def amount(element: Any) -> Decimal:
        text = (element.text or "").strip()
        location = f"line {element.sourceline}, InstdAmt"
        if not _AMOUNT.match(text):
            raise StatementParseError(
                f"{text!r} is not an amount", code=INVALID_AMOUNT, location=location
            )
        return checked_amount(Decimal(text), location=location)

    @staticmethod
    def date(text: str, element: Any) -> date:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise StatementParseError(
                f"{text!r} is not a date",
                code=INVALID_STATEMENT,
                location=f"line {element.sourceline}",
            ) from None
