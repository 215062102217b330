"""Arrears collected with the customer's next regular direct debit (per dunning policy).

A dunning policy may say (``collect_arrears_by_debit``, off by default) that the overdue
invoices of a customer who pays by direct debit are collected with that customer's next
regular debit instead of waiting for a transfer. SEPA wants the debtor told the amount
and the date in advance (pre-notification), so it happens in two steps:

1. ``announce_arrears_debits`` (daily, before the files are made) finds each customer
   whose next regular debit can still be announced in time (its date at least the
   pre-notification days ahead), and the customer's claims that qualify: finalized
   invoices past their due date and open, in dunning (a notice went out), not disputed,
   not handed to collection, the customer without a dunning block, not being collected
   already, and collected this way fewer than ``arrears_debit_limit`` times (returned
   attempts count). One mail tells the customer every claim, the regular invoices of
   that date and the total; an ``ArrearsDebit`` per claim records it.
2. ``collectable_arrears`` hands the announced claims to the first file collecting on or
   after the announced date (never earlier), each as an item of its own
   (``DirectDebitItem.arrears``; EndToEndId = invoice number, so settlement, returns and
   pain.002 rejects work per claim), for the announced amount or the smaller amount
   still open. A claim paid or disputed meanwhile is left out.

A returned arrears debit gets no automatic new attempt of its own (no AM04/MS03 retry,
``payments.returns``): only a later regular debit takes it again, while the limit allows.

Dunning costs go with the arrears: the customer's open cost claims (dunning fees, flat
fees and interest of notices sent or approved, returned-debit fees: what
``payments.claims.ledger().open_claims`` returns) are announced in the same mail, one
``ArrearsCostDebit`` per claim, and counted in its total; the same limit holds per cost
claim. A direct-debit item always collects an invoice, so the file adds the costs (the
announced amount or the smaller amount still open) to the item of the customer's oldest
arrears invoice in it (``DirectDebitItem.costs_amount``). Costs alone, without an
arrears invoice, are not announced and not collected: they stay claims paid by transfer;
costs ride only on a debit of the announcement that stated them (its arrears paid before
the file: announced again with the customer's next arrears).
Settlement pays the costs part to the claims (§ 367 order); a return or a pain.002
reject reverses those allocations and reopens the claims (``payments.returns``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from faktura.collection import selectors
from faktura.collection.models import (
    ArrearsCostDebit,
    ArrearsDebit,
    DirectDebitItem,
    Mandate,
    Scheme,
)
from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.money import ZERO, round_money
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments import claims as cost_claims
from faktura.payments import locks
from faktura.payments.models import Dispute, PaymentSettings

# How far ahead the announcement looks for a customer's next regular debit.
LOOKAHEAD_DAYS = 45


@dataclass(frozen=True)
class Claim:
    """An overdue invoice that may be collected with the next debit, and its open amount."""

    invoice: Invoice
    amount: Decimal


@dataclass(frozen=True)
class ArrearsCollectable:
    """An announced claim that a file collecting on ``collection_date`` takes."""

    invoice: Invoice
    mandate: Mandate
    amount: Decimal
    arrears_debit: ArrearsDebit
    # The customer's announced costs that ride on this item (its oldest arrears invoice of
    # the file), each with the amount collected: announced, or the smaller amount open.
    costs: tuple[tuple[ArrearsCostDebit, Decimal], ...] = ()

    @property
    def costs_amount(self) -> Decimal:
        return sum((amount for _, amount in self.costs), ZERO)


def _policies(customers: Iterable[Customer], on: dt.date) -> dict[int, Any]:
    """The dunning policy of each customer whose policy collects arrears by debit and who
    has no dunning block in force on ``on``."""
    from faktura.dunning.models import CustomerDunning, DunningPolicy
    from faktura.dunning.run import Context, block_in_force

    customers = list(customers)
    if not customers or not DunningPolicy.objects.filter(collect_arrears_by_debit=True).exists():
        return {}
    context = Context.load()
    overrides = dict(
        CustomerDunning.objects.filter(
            customer_id__in=[c.pk for c in customers], policy__isnull=False
        ).values_list("customer_id", "policy_id")
    )
    result = {}
    for customer in customers:
        policy_id = context.policy_for(customer, overrides.get(customer.pk))
        policy = context.policies.get(policy_id) if policy_id is not None else None
        if (
            policy is not None
            and policy.collect_arrears_by_debit
            and not block_in_force(customer, on)
        ):
            result[customer.pk] = policy
    return result


def arrears_claims(
    *, customer_ids: Collection[int], on: dt.date, exclude_invoice_ids: Collection[int] = ()
) -> dict[int, list[Claim]]:
    """The claims of each customer that may be collected with a debit now (oldest first).

    See the module docstring for what qualifies; ``on`` decides "overdue" and the block.
    """
    from faktura.dunning.models import DunningCase

    policies = _policies(Customer.objects.filter(pk__in=list(customer_ids)), on)
    if not policies:
        return {}
    queryset = (
        Invoice.objects.filter(
            status=Status.FINALIZED,
            kind=Kind.INVOICE,
            due_date__lt=on,
            customer_id__in=list(policies),
        )
        .exclude(pk__in=list(exclude_invoice_ids))
        .filter(
            Exists(DunningCase.objects.filter(invoice=OuterRef("pk"), handed_to_collection=False)),
            ~Exists(Dispute.objects.filter(invoice=OuterRef("pk"), cleared_at__isnull=True)),
            ~Exists(
                DirectDebitItem.objects.filter(
                    state__in=DirectDebitItem.HOLDING, invoice=OuterRef("pk")
                )
            ),
        )
    )
    rows = list(
        with_open_amounts(queryset)
        .filter(open_amount__gt=0)
        .order_by("customer_id", "due_date", "pk")
    )
    collected: dict[int, int] = dict(
        DirectDebitItem.objects.filter(invoice_id__in=[r.pk for r in rows], arrears=True)
        .exclude(state=DirectDebitItem.State.DISCARDED)
        .order_by()
        .values_list("invoice_id")
        .annotate(n=Count("pk"))
    )
    claims: dict[int, list[Claim]] = {}
    for invoice in rows:
        amount = round_money(invoice.open_amount)
        if amount <= 0:
            continue
        if collected.get(invoice.pk, 0) >= policies[invoice.customer_id].arrears_debit_limit:
            continue
        claims.setdefault(invoice.customer_id, []).append(Claim(invoice, amount))
    return claims


def arrears_costs(
    *, customer_ids: Collection[int], on: dt.date, lock: bool
) -> dict[int, list[cost_claims.CostClaim]]:
    """The open cost claims of each customer that may go with the arrears (§ 367 order).

    The customer's policy collects arrears by debit (no dunning block on ``on``); a claim
    being collected already is left out, and one collected this way ``arrears_debit_limit``
    times (returned attempts count). ``lock``: the ledger locks the claim rows.
    """
    ledger = cost_claims.ledger()
    if ledger is None:
        return {}
    policies = _policies(Customer.objects.filter(pk__in=list(customer_ids)), on)
    if not policies:
        return {}
    open_claims = ledger.open_claims(list(policies), lock=lock)
    if not open_claims:
        return {}
    attempts: Counter[tuple[str, int]] = Counter()
    busy: set[tuple[str, int]] = set()
    for claim_type, claim_id, state in ArrearsCostDebit.objects.filter(
        customer_id__in=list(open_claims), item__isnull=False
    ).values_list("claim_type", "claim_id", "item__state"):
        if state == DirectDebitItem.State.DISCARDED:
            continue
        attempts[(claim_type, claim_id)] += 1
        if state in DirectDebitItem.HOLDING:
            busy.add((claim_type, claim_id))
    result: dict[int, list[cost_claims.CostClaim]] = {}
    for customer_id, claims in open_claims.items():
        limit = policies[customer_id].arrears_debit_limit
        usable = [c for c in claims if c.key not in busy and attempts[c.key] < limit]
        if usable:
            result[customer_id] = usable
    return result


def _waiting() -> Q:
    """Announcements not collected yet (a discarded file's item does not count)."""
    return Q(item__isnull=True) | Q(item__state=DirectDebitItem.State.DISCARDED)


def collectable_arrears(
    *,
    collection_date: dt.date,
    scheme: str,
    customer_ids: Collection[int] | None = None,
    exclude_invoice_ids: Collection[int] = (),
) -> list[ArrearsCollectable]:
    """The announced claims a file of ``scheme`` collecting on ``collection_date`` takes.

    Only announcements dated on or before the collection date; each claim checked again
    (still open, still qualifying), for the announced amount or the smaller open amount,
    with the customer's usable mandate of ``scheme`` that no dispute pauses.
    """
    waiting = ArrearsDebit.objects.filter(_waiting(), debit_date__lte=collection_date)
    if customer_ids is not None:
        waiting = waiting.filter(customer_id__in=list(customer_ids))
    announced: dict[int, ArrearsDebit] = {}
    for row in waiting.order_by("pk"):
        announced.setdefault(row.invoice_id, row)
    if not announced:
        return []
    claims = arrears_claims(
        customer_ids={row.customer_id for row in announced.values()},
        on=clock.today(),
        exclude_invoice_ids=exclude_invoice_ids,
    )
    paused = set(selectors.paused_mandates())
    mandates: dict[int, Mandate | None] = {}
    result = []
    for customer_id, customer_claims in sorted(claims.items()):
        for claim in customer_claims:
            waiting_row = announced.get(claim.invoice.pk)
            if waiting_row is None:
                continue
            if customer_id not in mandates:
                mandates[customer_id] = selectors.usable_mandate(customer_id, on=collection_date)
            mandate = mandates[customer_id]
            if mandate is None or mandate.scheme != scheme or mandate.pk in paused:
                continue
            if mandate.kind == Mandate.Kind.ONE_OFF:
                continue  # a one-off mandate collects its one invoice, nothing more
            result.append(
                ArrearsCollectable(
                    invoice=claim.invoice,
                    mandate=mandate,
                    amount=min(claim.amount, waiting_row.amount),
                    arrears_debit=waiting_row,
                )
            )
    return _with_costs(result, collection_date)


def _with_costs(
    result: list[ArrearsCollectable], collection_date: dt.date
) -> list[ArrearsCollectable]:
    """Add the costs announced together with arrears of the file (same announcement) to
    the oldest arrears item of that announcement, for the announced amount or the smaller
    amount still open. Costs whose announcement has no arrears in the file keep waiting:
    they are never collected with a debit that another announcement stated."""
    announcements = {(c.invoice.customer_id, c.arrears_debit.announced_at) for c in result}
    if not announcements:
        return result
    waiting: dict[tuple[int, dt.datetime], list[ArrearsCostDebit]] = {}
    for row in ArrearsCostDebit.objects.filter(
        _waiting(),
        debit_date__lte=collection_date,
        customer_id__in={customer_id for customer_id, _ in announcements},
    ).order_by("pk"):
        if (row.customer_id, row.announced_at) in announcements:
            waiting.setdefault((row.customer_id, row.announced_at), []).append(row)
    if not waiting:
        return result
    # Read without row locks: the file's transaction holds the customers' locks, under
    # which every booking of a cost claim runs.
    still_open = {
        claim.key: claim
        for claims in arrears_costs(
            customer_ids={customer_id for customer_id, _ in waiting},
            on=clock.today(),
            lock=False,
        ).values()
        for claim in claims
    }
    with_costs = []
    for collectable in result:
        announcement = (collectable.invoice.customer_id, collectable.arrears_debit.announced_at)
        rows = waiting.pop(announcement, [])  # the first (oldest) item of it takes them
        taken = tuple(
            (row, min(row.amount, round_money(still_open[row.key].open_amount)))
            for row in rows
            if row.key in still_open
        )
        taken = tuple((row, amount) for row, amount in taken if amount > 0)
        if taken:
            collectable = dataclasses.replace(collectable, costs=taken)
        with_costs.append(collectable)
    return with_costs


# --- the announcement -------------------------------------------------------------------------


@dataclass(frozen=True)
class _NextDebit:
    customer_id: int
    debit_date: dt.date
    mandate: Mandate
    regular: tuple[Invoice, ...]  # the customer's invoices collected on that date
    regular_amount: Decimal


def _next_debits(today: dt.date, days: int) -> dict[int, _NextDebit]:
    """Each customer's next regular debit that can still be announced in time."""
    earliest = today + dt.timedelta(days=days)
    horizon = earliest + dt.timedelta(days=LOOKAHEAD_DAYS)
    planned: dict[int, list[tuple[dt.date, selectors.Collectable]]] = {}
    for scheme in Scheme.values:
        found = selectors.collectable_invoices(collection_date=horizon, scheme=scheme)
        announced = selectors.latest_announcements([c.invoice.pk for c in found])
        for collectable in found:
            day = selectors.planned_debit_date(
                collectable.invoice,
                pre_notification_days=days,
                announced=announced.get(collectable.invoice.pk),
            )
            if day >= earliest and collectable.mandate.kind == Mandate.Kind.RECURRING:
                planned.setdefault(collectable.invoice.customer_id, []).append((day, collectable))
    result = {}
    for customer_id, entries in planned.items():
        day = min(d for d, _ in entries)
        regular = [c for d, c in entries if d == day]
        result[customer_id] = _NextDebit(
            customer_id=customer_id,
            debit_date=day,
            mandate=regular[0].mandate,
            regular=tuple(c.invoice for c in regular),
            regular_amount=sum((c.amount for c in regular), ZERO),
        )
    return result


def announce_arrears_debits(*, actor: Actor, on: dt.date | None = None) -> int:
    """Announce the arrears that the customers' next regular debits will collect; how many.

    Idempotent: a claim announced and not yet collected is not announced again. Each
    customer's announcement is one transaction (customer locked, claims read again).
    """
    from faktura.dunning.models import DunningPolicy

    permissions.require(actor, "direct_debit.create")
    if not DunningPolicy.objects.filter(collect_arrears_by_debit=True).exists():
        return 0  # the option is off everywhere (the default): nothing to look at
    today = on or clock.today()
    days = PaymentSettings.load().pre_notification_days
    debits = _next_debits(today, days)
    if not debits:
        return 0
    exclude = {invoice.pk for debit in debits.values() for invoice in debit.regular}
    candidates = arrears_claims(customer_ids=list(debits), on=today, exclude_invoice_ids=exclude)
    announced = 0
    for customer_id in sorted(candidates):
        with transaction.atomic():
            customer = locks.lock_customer(customer_id)
            claims = arrears_claims(
                customer_ids=[customer_id], on=today, exclude_invoice_ids=exclude
            ).get(customer_id, [])
            waiting = dict(
                ArrearsDebit.objects.filter(_waiting(), customer_id=customer_id).values_list(
                    "invoice_id", "announced_at"
                )
            )
            # Announcements that still have a claim to collect: their costs wait with it.
            live = {waiting[c.invoice.pk] for c in claims if c.invoice.pk in waiting}
            claims = [c for c in claims if c.invoice.pk not in waiting]
            if not claims:
                continue
            # The costs go with these arrears (never alone), each announced once; costs of
            # an announcement whose claims were all paid meanwhile are announced anew.
            waiting_costs = {
                row.key
                for row in ArrearsCostDebit.objects.filter(
                    _waiting(), customer_id=customer_id, announced_at__in=live
                )
            }
            costs = [
                c
                for c in arrears_costs(customer_ids=[customer_id], on=today, lock=True).get(
                    customer_id, []
                )
                if c.key not in waiting_costs
            ]
            announced += len(_announce(customer, debits[customer_id], claims, costs, actor))
    return announced


# How the announcement names the cost claims, one line per group.
_COST_GROUPS = (
    ("dunning_fees", "Mahnkosten", "dunning costs"),
    ("interest", "Verzugszinsen", "default interest"),
    ("return_fees", "Rücklastschriftkosten", "returned-debit fees"),
)


def _cost_group(claim: cost_claims.CostClaim) -> str:
    if claim.key[0] == "fee_item":
        return "return_fees"
    return "interest" if claim.kind == cost_claims.INTEREST else "dunning_fees"


def _cost_lines(
    costs: list[tuple[cost_claims.CostClaim, Decimal]], lang: str
) -> list[dict[str, str]]:
    lines = []
    for group, de, en in _COST_GROUPS:
        total = sum((amount for claim, amount in costs if _cost_group(claim) == group), ZERO)
        if total > 0:
            lines.append({"label": de if lang == "de" else en, "amount": _money(total, lang)})
    return lines


def _announce(
    customer: Customer,
    debit: _NextDebit,
    claims: list[Claim],
    costs: list[cost_claims.CostClaim],
    actor: Actor,
) -> list[ArrearsDebit]:
    from faktura.notifications import customer_mail
    from faktura.notifications import services as outbox
    from faktura.notifications.models import OutboxMessage

    now = clock.now()
    announced_costs = [(c, round_money(c.open_amount)) for c in costs]
    announced_costs = [(c, amount) for c, amount in announced_costs if amount > 0]
    arrears_total = sum((c.amount for c in claims), ZERO) + sum(
        (amount for _, amount in announced_costs), ZERO
    )
    ctx = customer_mail.base_context(customer)
    lang = ctx["lang"]
    seller = ctx["seller"]
    ctx |= {
        "document_title": "Vorabankündigung" if lang == "de" else "Pre-notification",
        "debit_date": _date(debit.debit_date, lang),
        "claims": [
            {"number": c.invoice.number or "", "amount": _money(c.amount, lang)} for c in claims
        ],
        "costs": _cost_lines(announced_costs, lang),
        "regular": _money(debit.regular_amount, lang) if debit.regular_amount else "",
        "regular_numbers": ", ".join(i.number or "" for i in debit.regular),
        "total": _money(debit.regular_amount + arrears_total, lang),
        "iban": debit.mandate.iban,
        "mandate_reference": debit.mandate.reference,
        "creditor_id": getattr(seller, "creditor_id", "") or _creditor_id(),
    }
    message = customer_mail.message(
        customer, OutboxMessage.Event.ARREARS_DEBIT_ANNOUNCED, ctx, actor=actor
    )
    if message is not None:
        outbox.queue_messages_locked([message])
    rows = ArrearsDebit.objects.bulk_create(
        [
            ArrearsDebit(
                customer=customer,
                invoice=c.invoice,
                amount=c.amount,
                debit_date=debit.debit_date,
                announced_at=now,
                announced_by=actor.label,
                message=message if message is not None and message.pk else None,
            )
            for c in claims
        ]
    )
    cost_rows = ArrearsCostDebit.objects.bulk_create(
        [
            ArrearsCostDebit(
                customer=customer,
                claim_type=claim.key[0],
                claim_id=claim.key[1],
                label=claim.label,
                amount=amount,
                debit_date=debit.debit_date,
                announced_at=now,
                announced_by=actor.label,
                message=message if message is not None and message.pk else None,
            )
            for claim, amount in announced_costs
        ]
    )
    audit.record_many(
        actor=actor,
        entries=[
            audit.PendingEntry(
                chain=audit.customer_chain(customer.pk),
                action="direct_debit.arrears_announced",
                object_type="invoice",
                object_id=row.invoice_id,
                data={
                    "number": row.invoice.number,
                    "amount": row.amount,
                    "debit_date": row.debit_date,
                    "mandate": debit.mandate.reference,
                    "total": debit.regular_amount + arrears_total,
                    "mailed": message is not None,
                },
            )
            for row in rows
        ]
        + [
            audit.PendingEntry(
                chain=audit.customer_chain(customer.pk),
                action="direct_debit.arrears_costs_announced",
                object_type=row.claim_type,
                object_id=row.claim_id,
                data={
                    "kind": row.label,
                    "amount": row.amount,
                    "debit_date": row.debit_date,
                    "mandate": debit.mandate.reference,
                },
            )
            for row in cost_rows
        ],
    )
    return rows


def _creditor_id() -> str:
    from faktura.core.models import Company

    return Company.get().creditor_id or ""


def _money(value: Decimal, lang: str) -> str:
    from faktura.documents.pdf import texts

    return texts.money(value, "EUR", lang).replace(texts.NBSP, " ")


def _date(value: dt.date, lang: str) -> str:
    from faktura.documents.pdf import texts

    return texts.date(value, lang)
