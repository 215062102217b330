"""Decide what each statement line is: pure functions over dictionaries loaded beforehand.

No database access here (STYLE 8): ``faktura.banking.selectors.match_context`` loads
what matching needs with a few queries, ``Matcher`` decides for every line, and
``faktura.banking.services`` books the decisions. Matching tries, in this order
(DESIGN "Money in"):

1. the end-to-end id of a direct debit we collected (credits and returns),
2. a dunning notice's reference (``M-2026-000123``): the notice's customer, the money
   applied by § 367 BGB over the notice's costs and invoices when booked,
3. instalment references of an instalment agreement (``RZ-00001-2``),
4. invoice numbers in the remittance text (and in the end-to-end id),
5. the mandate reference,
6. amount and payer (IBAN known from mandates and earlier payments, name likeness)
   against the open invoices,
7. the payer's account alone (a known customer): the money is booked as their credit.

Each match carries a confidence from 0 to 1. At or above the threshold
(``FAKTURA_MATCH_THRESHOLD``, 0.9) it is booked automatically; below it the line waits on
the to-do list with up to three suggestions, best first. Open amounts are consumed as
lines are matched, so one import never pays an invoice twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any

from faktura.banking.match_types import (
    ZERO,
    Action,
    DebitItem,
    Decision,
    KnownInvoice,
    Line,
    OpenInstalment,
    OpenInvoice,
    Part,
    SubmittedBatch,
    Suggestion,
)
from faktura.banking.reasons import Reason, percent
from faktura.banking.remittance import find_document_numbers, name_similarity, name_tokens
from faktura.payments.claims import NoticeClaims

__all__ = [
    "Action",
    "DebitItem",
    "Decision",
    "KnownInvoice",
    "Line",
    "MatchContext",
    "Matcher",
    "OpenInstalment",
    "OpenInvoice",
    "Part",
    "SubmittedBatch",
    "Suggestion",
    "find_numbers",
    "text_of",
]

# --- confidences (0..1) -------------------------------------------------------------------
# A debit we collected, recognised by its end-to-end id, booked for exactly its amount.
DIRECT_DEBIT = 1.0
# The invoice number in the text and exactly the open amount.
NUMBER_EXACT = 1.0
# Several invoice numbers and exactly their sum.
NUMBERS_ALL = 0.98
# A dunning notice's reference (as on its letter) and its total, less, or more.
NOTICE_EXACT = 1.0
NOTICE_PARTIAL = 0.95
NOTICE_OVERPAID = 0.92
# Less than the open amount: a partial payment, the rest stays open (DESIGN "Money in").
NUMBER_PARTIAL = 0.95
# More than the open amount: the invoice is settled, the rest becomes the customer's credit.
NUMBER_OVERPAID = 0.92
NUMBERS_OVERPAID = 0.9
# Several numbers and less than their sum: which invoice is paid is a guess.
NUMBERS_PART = 0.85
# An instalment reference (RZ-00001-2) and exactly what is open of that instalment; less
# (a part of it) or more (paying ahead, oldest invoices first): it is still that customer's.
INSTALMENT_EXACT = 1.0
INSTALMENT_PARTIAL = 0.95
INSTALMENT_MORE = 0.92
# The payer's account belongs to another customer than the invoice named.
OTHER_PAYER_PENALTY = 0.15
# An invoice number of another customer among the numbers named.
MIXED_CUSTOMERS_PENALTY = 0.1
# An invoice named that is paid (or cancelled) already: probably a double payment.
PAID_NUMBER_CREDIT = 0.8
# A known mandate reference and exactly one open invoice of that amount.
MANDATE_EXACT = 0.95
MANDATE_ALL_OPEN = 0.93
# Amount and payer: the base for the same amount, plus what identifies the payer.
AMOUNT_BASE = 0.55
AMOUNT_IBAN = 0.35
AMOUNT_NAME = 0.35  # times the name likeness (0..1)
AMOUNT_CAP = 0.97
# Several invoices fit about equally well: nobody can tell which one is paid.
AMBIGUITY_PENALTY = 0.15
AMBIGUITY_MARGIN = 0.05
# The payer's account (or mandate) belongs to exactly one customer: book as their credit.
KNOWN_ACCOUNT_ALL_OPEN = 0.93
KNOWN_ACCOUNT_CREDIT = 0.9
# A later, weaker kind of evidence contradicts an earlier one (another customer).
CONFLICT_PENALTY = 0.15
# Only the name points at one customer: a suggestion, never booked automatically.
NAME_CREDIT = 0.7
NAME_CREDIT_MIN_LIKENESS = 0.9
# Beyond this many invoices of the same amount, only the payer's own ones are scored.
MAX_AMOUNT_CANDIDATES = 50
MAX_SUGGESTIONS = 3
# An account known of more customers than this does not identify the payer.
MAX_CUSTOMERS_PER_ACCOUNT = 3
# Name words shared by more customers than this are not used to find customers by name.
MAX_CUSTOMERS_PER_NAME_WORD = 50


@dataclass
class MatchContext:
    """Everything matching needs, loaded once per import (see selectors.match_context)."""

    number_patterns: tuple[str, ...] = ()
    # Invoice numbers found per line (checksum → numbers), computed once by find_numbers.
    numbers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    open_invoices: dict[str, OpenInvoice] = field(default_factory=dict)
    known_invoices: dict[str, KnownInvoice] = field(default_factory=dict)
    customers_by_iban: dict[str, frozenset[int]] = field(default_factory=dict)
    customer_names: dict[int, str] = field(default_factory=dict)
    mandates: dict[str, int] = field(default_factory=dict)
    debit_items: dict[str, DebitItem] = field(default_factory=dict)
    debit_items_by_mandate: dict[str, list[DebitItem]] = field(default_factory=dict)
    batches: dict[int, SubmittedBatch] = field(default_factory=dict)
    batch_references: dict[str, int] = field(default_factory=dict)
    refunds: dict[str, int] = field(default_factory=dict)
    # Dunning notices quoted by reference per line (checksum → notice).
    notices: dict[str, NoticeClaims] = field(default_factory=dict)
    # Instalment references found per line (checksum → references) and the instalments.
    instalment_refs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    instalments: dict[str, OpenInstalment] = field(default_factory=dict)
    threshold: float = 0.9

    def __post_init__(self) -> None:
        self._name_index: dict[str, set[int]] | None = None

    # Built on first use: most statements are matched by invoice number alone.
    @cached_property
    def by_amount(self) -> dict[Decimal, list[OpenInvoice]]:
        """Open invoices by their open amount when the context was loaded."""
        index: dict[Decimal, list[OpenInvoice]] = {}
        for invoice in self.open_invoices.values():
            index.setdefault(invoice.open_amount, []).append(invoice)
        return index

    @cached_property
    def by_customer(self) -> dict[int, list[OpenInvoice]]:
        """Open invoices per customer, oldest due first."""
        index: dict[int, list[OpenInvoice]] = {}
        for invoice in self.open_invoices.values():
            index.setdefault(invoice.customer_id, []).append(invoice)
        for invoices in index.values():
            invoices.sort(key=_oldest_first)
        return index

    def customers_named(self, name: str) -> set[int]:
        """Customers sharing at least one identifying, not too common word with ``name``."""
        if self._name_index is None:
            index: dict[str, set[int]] = {}
            for customer_id, customer_name in self.customer_names.items():
                for token in name_tokens(customer_name):
                    index.setdefault(token, set()).add(customer_id)
            self._name_index = index
        found: set[int] = set()
        for token in name_tokens(name):
            customers = self._name_index.get(token, set())
            # A word that many customers share ("Müller", "Kunde") identifies nobody.
            if len(customers) <= MAX_CUSTOMERS_PER_NAME_WORD:
                found |= customers
        return found


def _oldest_first(invoice: OpenInvoice) -> tuple[dt.date, int]:
    return (invoice.due_date or dt.date.max, invoice.id)


def text_of(line: Line) -> str:
    """The text in which payers name invoices: remittance and end-to-end id."""
    if line.end_to_end_id:
        return f"{line.remittance_information}\n{line.end_to_end_id}"
    return line.remittance_information


def find_numbers(lines: Iterable[Line], patterns: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Return the invoice numbers named by each incoming line (checksum → numbers)."""
    found: dict[str, tuple[str, ...]] = {}
    if not patterns:
        return found
    for line in lines:
        if line.direction != "credit":
            continue
        numbers = find_document_numbers(text_of(line), patterns=patterns)
        if numbers:
            found[line.checksum] = tuple(numbers)
    return found


def _rounded(value: float) -> float:
    return round(max(0.0, min(1.0, value)), 3)


class Matcher:
    """Decide for a batch of lines; the context's open amounts are consumed as it goes."""

    def __init__(self, context: MatchContext) -> None:
        self.ctx = context
        # Items that lines of this batch return (each return found once).
        self._returning: set[int] = set()
        # Items that lines of this batch credit (a second credit of one debit waits).
        self._crediting: set[int] = set()

    # --- the whole batch -------------------------------------------------------------------

    def match_all(self, lines: Sequence[Line]) -> list[Decision]:
        """Return one decision per line, in the order given.

        Returns are decided first (a debit credited and returned on the same statement
        is then booked as returned, not settled), then everything else in file order.
        """
        decisions: list[Decision | None] = [None] * len(lines)
        for index, line in enumerate(lines):
            if line.status == "booked" and line.direction == "debit" and line.is_return:
                decisions[index] = self._returned_debit(line)
        for index, line in enumerate(lines):
            if decisions[index] is not None:
                continue
            if line.status != "booked":
                decisions[index] = Decision("ignore", note=Reason("pending"))
            elif line.direction == "debit":
                decisions[index] = self._outgoing(line)
            elif line.is_return:
                decisions[index] = Decision("unmatched", note=Reason("transfer_returned"))
            else:
                decisions[index] = self._collected_debit(line)
        for index, line in enumerate(lines):
            if decisions[index] is None:
                decisions[index] = self._incoming(line)
        return [d for d in decisions if d is not None]

    # --- direct debits we collected ----------------------------------------------------------

    def _collected_debit(self, line: Line) -> Decision | None:
        """A credit of one of our direct debits settles that debit alone (None: not ours).

        A file is settled item by item: a statement booking a part of it settles that
        part; the rest follows with a later statement, or is rejected or returned.
        """
        item = self.ctx.debit_items.get(line.end_to_end_id) if line.end_to_end_id else None
        if item is None:
            return self._batch_booking(line)
        if item.state == "settled":
            return Decision(
                "link_payment",
                Suggestion(
                    "direct_debit",
                    DIRECT_DEBIT,
                    customer_id=item.customer_id,
                    end_to_end_id=item.end_to_end_id,
                    payment_id=item.payment_id,
                    batch_id=item.batch_id,
                    reason=Reason("debit_booked_already", {"end_to_end_id": item.end_to_end_id}),
                ),
            )
        if item.state != "submitted" or item.batch_id not in self.ctx.batches:
            code = {"pending": "debit_file_not_submitted", "returned": "debit_returned_already"}
            params = {"end_to_end_id": item.end_to_end_id}
            if item.state not in code:
                params["state"] = item.state
            note = Reason(code.get(item.state, "debit_in_state"), params)
            return Decision("unmatched", note=note)
        if line.amount != item.amount:
            suggestion = Suggestion(
                "direct_debit",
                0.5,
                customer_id=item.customer_id,
                batch_id=item.batch_id,
                end_to_end_id=item.end_to_end_id,
                reason=Reason(
                    "debit_amount_differs",
                    {
                        "end_to_end_id": item.end_to_end_id,
                        "expected": str(item.amount),
                        "booked": str(line.amount),
                    },
                ),
            )
            return Decision("unmatched", suggestions=(suggestion,))
        if item.id in self._crediting:
            return Decision(
                "unmatched",
                note=Reason("debit_credited_twice", {"end_to_end_id": item.end_to_end_id}),
            )
        self._crediting.add(item.id)
        match = Suggestion(
            "direct_debit",
            DIRECT_DEBIT,
            customer_id=item.customer_id,
            batch_id=item.batch_id,
            end_to_end_id=item.end_to_end_id,
            reason=Reason("debit", {"end_to_end_id": item.end_to_end_id, "batch": item.batch_id}),
        )
        return Decision("settle_batch", match)

    def _batch_booking(self, line: Line) -> Decision | None:
        """One entry for a whole direct-debit file (no details): by its MsgId/PmtInfId."""
        batch_id = self.ctx.batch_references.get(line.batch_reference or "")
        if batch_id is None:
            batch_id = next(
                (
                    self.ctx.batch_references[ref]
                    for ref in self.ctx.batch_references
                    if ref and ref in line.remittance_information
                ),
                None,
            )
        if batch_id is None:
            return None
        batch = self.ctx.batches[batch_id]
        if line.amount == batch.amount:
            match = Suggestion(
                "batch_reference",
                DIRECT_DEBIT,
                batch_id=batch_id,
                reason=Reason("batch", {"batch": batch_id}),
            )
            return Decision("settle_batch", match)
        suggestion = Suggestion(
            "batch_reference",
            0.6,
            batch_id=batch_id,
            reason=Reason(
                "batch_amount_differs",
                {"batch": batch_id, "expected": str(batch.amount), "booked": str(line.amount)},
            ),
        )
        return Decision("unmatched", suggestions=(suggestion,))

    def _returned_debit(self, line: Line) -> Decision:
        item = self.ctx.debit_items.get(line.end_to_end_id) if line.end_to_end_id else None
        confidence = DIRECT_DEBIT
        if item is None and line.mandate_reference:
            # Without an end-to-end id (MT940, old camt): the mandate and the amount collected.
            collected = line.original_amount or line.amount - (line.return_fee or ZERO)
            candidates = [
                i
                for i in self.ctx.debit_items_by_mandate.get(line.mandate_reference, [])
                if i.state in ("submitted", "settled") and i.amount == collected
            ]
            if len(candidates) == 1:
                item, confidence = candidates[0], MANDATE_EXACT
        if item is None:
            return Decision("unmatched", note=Reason("return_unknown"))
        if item.id in self._returning:
            return Decision(
                "unmatched", note=Reason("return_twice", {"end_to_end_id": item.end_to_end_id})
            )
        if item.state == "returned":
            return Decision(
                "link_return",
                Suggestion(
                    "return",
                    DIRECT_DEBIT,
                    customer_id=item.customer_id,
                    end_to_end_id=item.end_to_end_id,
                    return_event_id=item.return_event_id,
                    reason=Reason("return_recorded_already", {"end_to_end_id": item.end_to_end_id}),
                ),
            )
        if item.state not in ("submitted", "settled"):
            note = Reason(
                "debit_in_state", {"end_to_end_id": item.end_to_end_id, "state": item.state}
            )
            return Decision("unmatched", note=note)
        self._returning.add(item.id)
        # Without a reason code the sentence says "ohne Grund".
        why = {"end_to_end_id": item.end_to_end_id, "return_reason": line.return_reason_code}
        return Decision(
            "return",
            Suggestion(
                "return",
                confidence,
                customer_id=item.customer_id,
                end_to_end_id=item.end_to_end_id,
                reason=Reason("return", why),
            ),
        )

    def _outgoing(self, line: Line) -> Decision:
        refund_id = self.ctx.refunds.get(line.end_to_end_id) if line.end_to_end_id else None
        if refund_id is not None:
            return Decision(
                "refund_sent",
                Suggestion(
                    "refund",
                    1.0,
                    refund_id=refund_id,
                    reason=Reason("refund_paid", {"end_to_end_id": line.end_to_end_id}),
                ),
            )
        return Decision("ignore", note=Reason("outgoing"))

    # --- transfers in ------------------------------------------------------------------------

    def _incoming(self, line: Line) -> Decision:
        found: list[Suggestion] = []
        for step in (
            self._notice_reference,
            self._instalment_reference,
            self._invoice_numbers,
            self._mandate,
            self._amount_and_payer,
            self._customer_credit,
        ):
            suggestions = step(line)
            if not suggestions:
                continue
            best = max(suggestions, key=lambda s: s.confidence)
            if best.confidence >= self.ctx.threshold and self._conflicts(best, found):
                # An earlier hint names another customer: a person decides.
                weaker = replace(
                    best,
                    confidence=_rounded(best.confidence - CONFLICT_PENALTY),
                    reason=best.reason.adding("conflict") if best.reason else None,
                )
                suggestions = [weaker if s is best else s for s in suggestions]
            elif best.confidence >= self.ctx.threshold:
                self._consume(best)
                return Decision("book", best)
            found.extend(suggestions)
        return Decision("unmatched", suggestions=_best(found))

    @staticmethod
    def _conflicts(best: Suggestion, found: Iterable[Suggestion]) -> bool:
        return any(s.customer_id not in (None, best.customer_id) for s in found)

    def _consume(self, match: Suggestion) -> None:
        for part in match.parts:
            invoice = self.ctx.open_invoices.get(part.number)
            if invoice is not None:
                invoice.open_amount -= part.amount

    def _payer_customers(self, line: Line) -> frozenset[int]:
        """The customers the payer's account is known of, if it identifies anyone.

        An account that pays for many customers (a payment service, a group's treasury)
        says nothing about which customer pays.
        """
        customers = self.ctx.customers_by_iban.get(line.counterparty_iban, frozenset())
        return customers if len(customers) <= MAX_CUSTOMERS_PER_ACCOUNT else frozenset()

    def _notice_reference(self, line: Line) -> list[Suggestion]:
        """A dunning notice's reference: the notice's customer; booking applies the money
        by § 367 BGB over the notice's costs and invoices (no parts proposed here)."""
        notice = self.ctx.notices.get(line.checksum)
        if notice is None:
            return []
        params: dict[str, Any] = {"reference": notice.reference}
        if line.amount == notice.total:
            confidence, code = NOTICE_EXACT, "notice_exact"
        elif line.amount < notice.total:
            confidence, code = NOTICE_PARTIAL, "notice_partial"
            params["total"] = str(notice.total)
        else:
            confidence, code = NOTICE_OVERPAID, "notice_overpaid"
            params["total"] = str(notice.total)
        reason = Reason(code, params)
        payers = self._payer_customers(line)
        if payers and notice.customer_id not in payers:
            confidence -= OTHER_PAYER_PENALTY
            reason = reason.adding("other_payer")
        return [
            Suggestion(
                "notice_reference",
                _rounded(confidence),
                customer_id=notice.customer_id,
                credit=line.amount,
                reason=reason,
            )
        ]

    def _invoice_numbers(self, line: Line) -> list[Suggestion]:
        numbers = self.ctx.numbers.get(line.checksum, ())
        if not numbers:
            return []
        named = [
            invoice
            for number in numbers
            if (invoice := self.ctx.open_invoices.get(number)) is not None
            and invoice.open_amount > 0
        ]
        if not named:
            return self._paid_numbers(line, numbers)
        customer_id = named[0].customer_id
        invoices = [i for i in named if i.customer_id == customer_id]
        amount = line.amount
        total = sum((i.open_amount for i in invoices), ZERO)
        params: dict[str, Any] = {"numbers": ", ".join(i.number for i in invoices)}
        if len(invoices) == 1:
            invoice = invoices[0]
            if amount == invoice.open_amount:
                confidence, code = NUMBER_EXACT, "number_exact"
            elif amount < invoice.open_amount:
                confidence, code = NUMBER_PARTIAL, "number_partial"
                params["rest"] = str(invoice.open_amount - amount)
            else:
                confidence, code = NUMBER_OVERPAID, "overpaid"
                params["credit"] = str(amount - invoice.open_amount)
        elif amount == total:
            confidence, code = NUMBERS_ALL, "numbers_sum"
        elif amount > total:
            confidence, code = NUMBERS_OVERPAID, "overpaid"
            params["credit"] = str(amount - total)
        else:
            confidence, code = NUMBERS_PART, "numbers_short"
            params |= {"amount": str(amount), "total": str(total)}
        reason = Reason(code, params)
        payers = self._payer_customers(line)
        if payers and customer_id not in payers:
            confidence -= OTHER_PAYER_PENALTY
            reason = reason.adding("other_payer")
        if len(invoices) < len(named):
            confidence -= MIXED_CUSTOMERS_PENALTY
            reason = reason.adding("mixed_customers")
        return [self._paying(line, invoices, customer_id, "invoice_number", confidence, reason)]

    def _instalment_reference(self, line: Line) -> list[Suggestion]:
        """An instalment reference pays the agreement's invoices, oldest due first."""
        for reference in self.ctx.instalment_refs.get(line.checksum, ()):
            instalment = self.ctx.instalments.get(reference)
            if instalment is None:
                continue
            invoices = [
                invoice
                for number in instalment.invoice_numbers
                if (invoice := self.ctx.open_invoices.get(number)) is not None
                and invoice.open_amount > 0
            ]
            if not invoices:
                continue
            amount, due = line.amount, instalment.open_amount
            if amount == due:
                confidence = INSTALMENT_EXACT
                reason = Reason("instalment_exact", {"reference": reference})
            elif amount < due:
                confidence = INSTALMENT_PARTIAL
                reason = Reason(
                    "instalment_partial", {"reference": reference, "rest": str(due - amount)}
                )
            else:
                confidence = INSTALMENT_MORE
                reason = Reason(
                    "instalment_more", {"reference": reference, "more": str(amount - due)}
                )
            payers = self._payer_customers(line)
            if payers and instalment.customer_id not in payers:
                confidence -= OTHER_PAYER_PENALTY
                reason = reason.adding("other_payer")
            return [
                self._paying(
                    line,
                    invoices,
                    instalment.customer_id,
                    "instalment_reference",
                    confidence,
                    reason,
                )
            ]
        return []

    def _paying(
        self,
        line: Line,
        invoices: Sequence[OpenInvoice],
        customer_id: int,
        method: str,
        confidence: float,
        reason: Reason,
    ) -> Suggestion:
        """Pay ``invoices`` in the order given from the line's amount; the rest is credit."""
        left = line.amount
        parts = []
        for invoice in invoices:
            if left <= 0:
                break
            part = min(left, invoice.open_amount)
            parts.append(Part(invoice.id, invoice.number, part))
            left -= part
        return Suggestion(
            method,
            _rounded(confidence),
            customer_id=customer_id,
            parts=tuple(parts),
            credit=left,
            reason=reason,
        )

    def _paid_numbers(self, line: Line, numbers: Sequence[str]) -> list[Suggestion]:
        """Only invoices with nothing open are named: keep the money as the customer's credit."""
        for number in numbers:
            known = self.ctx.known_invoices.get(number)
            invoice = self.ctx.open_invoices.get(number)
            customer_id = known.customer_id if known else invoice.customer_id if invoice else None
            if customer_id is not None:
                return [
                    Suggestion(
                        "paid_invoice_number",
                        PAID_NUMBER_CREDIT,
                        customer_id=customer_id,
                        credit=line.amount,
                        reason=Reason("paid_number", {"number": number}),
                    )
                ]
        return []

    def _mandate(self, line: Line) -> list[Suggestion]:
        customer_id = self.ctx.mandates.get(line.mandate_reference or "")
        if customer_id is None:
            return []
        return self._customer_invoices(
            line, customer_id, "mandate", MANDATE_EXACT, MANDATE_ALL_OPEN
        )

    def _customer_invoices(
        self,
        line: Line,
        customer_id: int,
        method: str,
        exact: float,
        all_open: float,
    ) -> list[Suggestion]:
        """Open invoices of the mandate's customer that the amount pays exactly."""
        invoices = [i for i in self.ctx.by_customer.get(customer_id, []) if i.open_amount > 0]
        if not invoices:
            return []
        same = [i for i in invoices if i.open_amount == line.amount]
        if len(same) == 1:
            reason = Reason("mandate_exact", {"number": same[0].number})
            return [self._paying(line, same, customer_id, method, exact, reason)]
        if len(same) > 1:
            reason = Reason("mandate_ambiguous", {"count": len(same), "amount": str(line.amount)})
            return [
                self._paying(line, [i], customer_id, method, exact - AMBIGUITY_PENALTY, reason)
                for i in same[:MAX_SUGGESTIONS]
            ]
        total = sum((i.open_amount for i in invoices), ZERO)
        if len(invoices) > 1 and total == line.amount:
            reason = Reason("mandate_all_open")
            return [self._paying(line, invoices, customer_id, method, all_open, reason)]
        return []

    def _amount_and_payer(self, line: Line) -> list[Suggestion]:
        amount = line.amount
        payers = self._payer_customers(line)
        found: list[Suggestion] = []
        if len(payers) == 1:
            # A known payer settling all their open invoices with one transfer.
            (customer_id,) = payers
            invoices = [i for i in self.ctx.by_customer.get(customer_id, []) if i.open_amount > 0]
            if len(invoices) > 1 and sum((i.open_amount for i in invoices), ZERO) == amount:
                reason = Reason("account_all_open")
                found.append(
                    self._paying(
                        line, invoices, customer_id, "amount_name", KNOWN_ACCOUNT_ALL_OPEN, reason
                    )
                )
        candidates = [i for i in self.ctx.by_amount.get(amount, []) if i.open_amount == amount]
        if not candidates:
            return found
        name = line.counterparty_name
        if len(candidates) > MAX_AMOUNT_CANDIDATES:
            # A common amount (a subscription price): only the payer's own invoices count.
            own = set(payers) | (self.ctx.customers_named(name) if name else set())
            candidates = [i for i in candidates if i.customer_id in own]
        scored: list[tuple[float, OpenInvoice, dict[str, Any]]] = []
        for invoice in candidates:
            confidence = AMOUNT_BASE
            why: dict[str, Any] = {"number": invoice.number}
            if invoice.customer_id in payers:
                confidence += AMOUNT_IBAN
                why["account_known"] = True
            if name:
                known_name = self.ctx.customer_names.get(invoice.customer_id, "")
                likeness = name_similarity(name, known_name)
                confidence += AMOUNT_NAME * likeness
                if likeness >= 0.5:
                    why["likeness"] = percent(likeness)
            scored.append((min(AMOUNT_CAP, confidence), invoice, why))
        scored.sort(key=lambda entry: (-entry[0], _oldest_first(entry[1])))
        top = scored[0][0]
        rivals = sum(1 for confidence, _, _ in scored if top - confidence <= AMBIGUITY_MARGIN)
        for confidence, invoice, why in scored[:MAX_SUGGESTIONS]:
            if rivals > 1 and top - confidence <= AMBIGUITY_MARGIN:
                confidence -= AMBIGUITY_PENALTY
                why = {**why, "rivals": rivals}
            reason = Reason("amount", why)
            found.append(
                self._paying(
                    line, [invoice], invoice.customer_id, "amount_name", confidence, reason
                )
            )
        return found

    def _customer_credit(self, line: Line) -> list[Suggestion]:
        customers = set(self._payer_customers(line))
        if (mandate_customer := self.ctx.mandates.get(line.mandate_reference or "")) is not None:
            customers.add(mandate_customer)
        if len(customers) == 1:
            (customer_id,) = customers
            return [
                Suggestion(
                    "customer_credit",
                    KNOWN_ACCOUNT_CREDIT,
                    customer_id=customer_id,
                    credit=line.amount,
                    reason=Reason("account_credit"),
                )
            ]
        name = line.counterparty_name
        if not name or customers:
            return []
        alike = [
            (likeness, customer_id)
            for customer_id in self.ctx.customers_named(name)
            if (likeness := name_similarity(name, self.ctx.customer_names.get(customer_id, "")))
            >= NAME_CREDIT_MIN_LIKENESS
        ]
        if len(alike) != 1:
            return []
        likeness, customer_id = alike[0]
        return [
            Suggestion(
                "customer_credit",
                _rounded(NAME_CREDIT * likeness),
                customer_id=customer_id,
                credit=line.amount,
                reason=Reason("name_credit", {"likeness": percent(likeness)}),
            )
        ]


def _best(found: Iterable[Suggestion]) -> tuple[Suggestion, ...]:
    """Up to three suggestions, best first, each way of booking once."""
    unique: dict[tuple[Any, ...], Suggestion] = {}
    for suggestion in sorted(found, key=lambda s: -s.confidence):
        key = (suggestion.customer_id, suggestion.parts, suggestion.credit, suggestion.batch_id)
        unique.setdefault(key, suggestion)
    return tuple(list(unique.values())[:MAX_SUGGESTIONS])
