"""Cost claims beside invoices, and the § 367 BGB order in which a payment pays them.

Dunning costs (dunning fees, the EUR 40 flat fee, default interest, returned-debit fees)
are claims of their own, without VAT, that a payment can pay like an invoice. Their rows
and their allocations belong to the dunning app, which sits above payments; it registers
a ``CostLedger`` here (``DunningConfig.ready``), and the booking services of this app ask
the ledger inside the booking's transaction, under its locks. Without a ledger (the
dunning app not installed) payments behave as before: money goes to invoices only.

The order (``plan``): a payment on a dunned claim whose payer named no invoice pays the
costs first, then the interest, then the principal (§ 367 (1) BGB); among the principal
claims the oldest due first (§ 366 (2) BGB). What is left is the customer's credit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import QuerySet

from faktura.core import audit
from faktura.core.actors import Actor
from faktura.core.money import ZERO

COSTS = "costs"
INTEREST = "interest"


@dataclass(slots=True)
class CostClaim:
    """An open cost claim as the ledger read it under lock; ``open_amount`` is consumed
    while a booking plans (several payments of one statement)."""

    key: tuple[str, int]  # ("dunning_fee" | "fee_item", id): the ledger's handle
    kind: str  # COSTS or INTEREST
    customer_id: int
    open_amount: Decimal
    invoice_id: int | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class NoticeClaims:
    """What a dunning notice named by its reference claims: the customer, the notice's
    invoices (principal) and cost claims (keys)."""

    notice_id: int
    reference: str
    customer_id: int
    invoice_ids: tuple[int, ...]
    cost_keys: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    total: Decimal = ZERO  # the total the notice asked for


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    id: int
    due_date: dt.date | None
    open_amount: Decimal


@dataclass(slots=True)
class Plan367:
    costs: list[tuple[CostClaim, Decimal]]
    invoices: list[tuple[int, Decimal]]
    rest: Decimal


class CostLedger(Protocol):
    def active_allocations(self) -> QuerySet[Any]:
        """Allocations of payments to cost claims not reversed (fields payment, amount)."""
        ...

    def open_claims(
        self, customer_ids: Iterable[int], *, lock: bool = True
    ) -> dict[int, list[CostClaim]]:
        """The customers' open cost claims (not paid, not waived), locked, in § 367
        order: costs before interest, each oldest first."""
        ...

    def notices(self, texts: Iterable[str]) -> dict[str, NoticeClaims]:
        """Notices named by a payment reference in ``texts`` (text → notice)."""
        ...

    def pay(
        self,
        parts: Sequence[tuple[int, CostClaim, Decimal]],
        *,
        actor: Actor,
        now: dt.datetime,
    ) -> list[audit.PendingEntry]:
        """Write the allocations (payment id, claim, amount); mark covered claims paid.
        Returns the audit entries to append (the caller appends them in order)."""
        ...

    def reverse(
        self, payment_id: int, *, actor: Actor, now: dt.datetime
    ) -> list[audit.PendingEntry]:
        """Reverse the payment's active allocations to cost claims (its money went back:
        a returned debit) and reopen the claims they had paid. Returns the audit entries
        to append; the caller holds the customer's lock."""
        ...

    def charges(self, customer_id: int) -> QuerySet[Any]:
        """The customer's cost claims of the ledger's own (waived ones included), for the
        account statement: fields pk, created_at, waived_at, amount, paid_amount (active
        allocations), kind, period_start, period_end, invoice_id, invoice__number."""
        ...

    def open_total(self, customer_id: int) -> Decimal:
        """Σ open amounts of every cost claim of the customer (fee items included)."""
        ...


LEDGERS: list[CostLedger] = []


def ledger() -> CostLedger | None:
    return LEDGERS[0] if LEDGERS else None


def register(ledger_: CostLedger) -> None:
    if not any(type(known) is type(ledger_) for known in LEDGERS):
        LEDGERS.append(ledger_)


def plan(
    available: Decimal,
    *,
    costs: Sequence[CostClaim],
    invoices: Sequence[OpenInvoice],
) -> Plan367:
    """Apply ``available`` to costs, then interest, then principal (oldest due first).

    Claims with nothing open are skipped; the amounts taken are not consumed here (the
    caller does, so that a plan it refuses leaves its figures untouched).
    """
    left = available
    paid_costs: list[tuple[CostClaim, Decimal]] = []
    for kind in (COSTS, INTEREST):
        for claim in costs:
            if claim.kind != kind or claim.open_amount <= 0 or left <= 0:
                continue
            part = min(left, claim.open_amount)
            paid_costs.append((claim, part))
            left -= part
    paid_invoices: list[tuple[int, Decimal]] = []
    for invoice in sorted(invoices, key=lambda i: (i.due_date or dt.date.max, i.id)):
        if invoice.open_amount <= 0 or left <= 0:
            continue
        part = min(left, invoice.open_amount)
        paid_invoices.append((invoice.id, part))
        left -= part
    return Plan367(paid_costs, paid_invoices, max(left, ZERO))
