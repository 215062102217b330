"""SEPA credit transfer files (pain.001.001.09) for refunds, via sepaxml.

pain.001.001.09 is the DK format since Anlage 3 V3.7 (STANDARDS 2.1). The debtor (the
company paying back) has a structured address; a creditor address is optional for
SEPA transfers within the EEA and, when given, structured too. sepaxml makes one
payment information block per requested execution date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sepaxml import SepaTransfer

from faktura.banking.sepa.pain008 import (
    PostalAddress,
    SepaFileError,
    XsdValidator,
    address_dict,
    check_bic,
    check_iban,
    check_reference,
    export_validated,
    sepa_text,
    to_cents,
)

PAIN001_SCHEMA = "pain.001.001.09"


@dataclass(frozen=True, slots=True, kw_only=True)
class Debtor:
    """The company paying: its account and address."""

    name: str
    iban: str
    bic: str = ""
    address: PostalAddress


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditTransfer:
    """One transfer, e.g. the refund of a credit note (its number as end-to-end id)."""

    end_to_end_id: str
    amount: Decimal
    creditor_name: str
    creditor_iban: str
    creditor_bic: str = ""
    creditor_address: PostalAddress | None = None
    remittance_information: str
    execution_date: date


def generate_pain001(
    *,
    debtor: Debtor,
    transfers: list[CreditTransfer] | tuple[CreditTransfer, ...],
    message_id: str | None = None,
    xsd_validator: XsdValidator = "lxml",
) -> bytes:
    """Return a pain.001.001.09 file paying ``transfers`` from ``debtor``'s account.

    Raises SepaFileError: invalid_iban, invalid_bic, invalid_amount, too_many_decimals,
    invalid_reference, duplicate_end_to_end_id, invalid_address, invalid_text,
    no_payments, xsd_invalid.
    """
    if not transfers:
        raise SepaFileError("A transfer file needs at least one transfer", code="no_payments")
    config: dict[str, Any] = {
        "name": sepa_text(debtor.name, field="debtor name", max_length=70),
        "IBAN": check_iban(debtor.iban, field="debtor IBAN"),
        "batch": True,
        "currency": "EUR",
        "address": address_dict(debtor.address, field="debtor address"),
    }
    if debtor.bic:
        config["BIC"] = check_bic(debtor.bic, field="debtor BIC")
    if message_id is not None:
        check_reference(message_id, field="message id")
    seen: set[str] = set()
    payments = []
    for transfer in transfers:
        where = f"transfer {transfer.end_to_end_id!r}"
        end_to_end = check_reference(transfer.end_to_end_id, field=f"{where}: end-to-end id")
        if end_to_end in seen:
            raise SepaFileError(
                f"End-to-end id {end_to_end} occurs twice; each transfer needs its own",
                code="duplicate_end_to_end_id",
            )
        seen.add(end_to_end)
        payment: dict[str, Any] = {
            "name": sepa_text(
                transfer.creditor_name, field=f"{where}: creditor name", max_length=70
            ),
            "IBAN": check_iban(transfer.creditor_iban, field=f"{where}: creditor IBAN"),
            "amount": to_cents(transfer.amount, field=f"{where}: amount"),
            "execution_date": transfer.execution_date,
            "description": sepa_text(
                transfer.remittance_information,
                field=f"{where}: remittance information",
                max_length=140,
                truncate=False,
            ),
            "endtoend_id": end_to_end,
        }
        if transfer.creditor_bic:
            payment["BIC"] = check_bic(transfer.creditor_bic, field=f"{where}: creditor BIC")
        if transfer.creditor_address is not None:
            payment["address"] = address_dict(
                transfer.creditor_address, field=f"{where}: creditor address"
            )
        payments.append(payment)

    document = _TransferDocument(config, message_id=message_id)
    for payment in payments:
        document.add_payment(payment)
    return export_validated(document, schema=PAIN001_SCHEMA, xsd_validator=xsd_validator)


class _TransferDocument(SepaTransfer):
    """sepaxml's SepaTransfer with a caller-chosen GrpHdr/MsgId (see pain008)."""

    def __init__(self, config: dict[str, Any], *, message_id: str | None) -> None:
        self._fixed_message_id = message_id
        super().__init__(config, schema=PAIN001_SCHEMA, clean=True)

    def _create_header(self) -> None:
        if self._fixed_message_id:
            self.msg_id = self._fixed_message_id
        super()._create_header()
