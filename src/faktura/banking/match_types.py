"""What statement matching works on and decides: lines, open invoices, debits, suggestions.

Plain data, no database (see ``faktura.banking.matching`` for the decisions and
``faktura.banking.selectors.match_context`` for the loading).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from faktura.banking.reasons import Reason

ZERO = Decimal("0.00")


Action = Literal[
    "book",  # record a payment (allocated to invoices, or as credit)
    "settle_batch",  # settle a direct-debit batch (collection service)
    "link_payment",  # booked already (a settled direct debit)
    "return",  # record a returned direct debit
    "link_return",  # the return was recorded already
    "refund_sent",  # a refund we paid out
    "ignore",  # outgoing payment, not booked yet, or nothing to do
    "unmatched",  # the to-do list
]


class Line(Protocol):
    """What matching reads of a statement line (StatementTransaction or BankTransaction).

    ``checksum`` only has to tell the lines of one batch apart.
    """

    @property
    def checksum(self) -> str: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def direction(self) -> str: ...

    @property
    def end_to_end_id(self) -> str: ...

    @property
    def mandate_reference(self) -> str: ...

    @property
    def remittance_information(self) -> str: ...

    @property
    def counterparty_name(self) -> str: ...

    @property
    def counterparty_iban(self) -> str: ...

    @property
    def is_return(self) -> bool: ...

    @property
    def return_reason_code(self) -> str: ...

    @property
    def return_fee(self) -> Decimal | None: ...

    @property
    def original_amount(self) -> Decimal | None: ...

    @property
    def batch_reference(self) -> str: ...

    @property
    def status(self) -> str: ...  # booked, pending, info


@dataclass(slots=True)
class OpenInvoice:
    """A finalized invoice with money still open; ``open_amount`` shrinks while matching."""

    id: int
    number: str
    customer_id: int
    open_amount: Decimal
    due_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class OpenInstalment:
    """An instalment of an active agreement (dunning), named by its payment reference: what
    is still open of it and the agreement's invoice numbers, oldest due first."""

    reference: str
    customer_id: int
    open_amount: Decimal
    invoice_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KnownInvoice:
    """An invoice found by number that has nothing open (paid, credited, cancelled)."""

    id: int
    number: str
    customer_id: int


@dataclass(slots=True)
class DebitItem:
    """A direct debit we sent (collection item); ``state`` as in DirectDebitItem.State."""

    id: int
    batch_id: int
    invoice_id: int
    customer_id: int
    amount: Decimal
    end_to_end_id: str
    mandate_reference: str
    state: str
    payment_id: int | None = None
    return_event_id: int | None = None


@dataclass(frozen=True, slots=True)
class SubmittedBatch:
    """A direct-debit file with the bank: its references and the items not yet returned."""

    id: int
    references: tuple[str, ...]
    item_ids: frozenset[int]
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Part:
    """One invoice (part) of a suggestion."""

    invoice_id: int
    number: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A way to account for a line, with how sure matching is about it."""

    method: str
    confidence: float
    customer_id: int | None = None
    parts: tuple[Part, ...] = ()
    credit: Decimal = ZERO
    batch_id: int | None = None
    end_to_end_id: str = ""
    payment_id: int | None = None
    return_event_id: int | None = None
    refund_id: int | None = None
    reason: Reason | None = None

    @property
    def allocated(self) -> Decimal:
        return sum((part.amount for part in self.parts), ZERO)

    def to_json(self) -> dict[str, Any]:
        """The stored and published form (money as strings, confidence with 3 places)."""
        data: dict[str, Any] = {
            "method": self.method,
            "confidence": f"{self.confidence:.3f}",
            "customer": self.customer_id,
            "invoices": [
                {"id": p.invoice_id, "number": p.number, "amount": f"{p.amount:.2f}"}
                for p in self.parts
            ],
            "credit": f"{self.credit:.2f}",
        }
        if self.reason is not None:
            # A code and its parameters, put into words when shown (banking.reasons).
            data["reason_code"] = self.reason.code
            data["reason_params"] = dict(self.reason.params)
        for key, value in (
            ("batch", self.batch_id),
            ("end_to_end_id", self.end_to_end_id),
            ("payment", self.payment_id),
            ("return_event", self.return_event_id),
            ("refund", self.refund_id),
        ):
            if value:
                data[key] = value
        return data


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    match: Suggestion | None = None
    suggestions: tuple[Suggestion, ...] = ()
    # Why the line waits or is put aside (banking.reasons), if matching says so.
    note: Reason | None = None

    @property
    def confidence(self) -> float | None:
        return self.match.confidence if self.match is not None else None
