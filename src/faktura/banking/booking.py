"""Book statement lines that matching decided on, through the payment and collection services.

Each matched line is booked in a transaction of its own that locks the customer first
(DESIGN invariant 4) and calls the payment or collection services inside it; every
booking is idempotent by the line's checksum (payment ``external_id``, return
``source_reference``), so booking the same line again after a crash changes nothing.
A booking those services refuse sends the line to the to-do list with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet, Sum

from faktura.banking import matching, selectors
from faktura.banking.models import BankStatement, BankTransaction
from faktura.collection import services as collection
from faktura.collection.models import DirectDebitBatch, DirectDebitItem
from faktura.core import bulk, clock, permissions, validators
from faktura.core.actors import Actor
from faktura.core.errors import DomainError, StateConflict
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice
from faktura.payments import locks
from faktura.payments import services as payments
from faktura.payments.models import Payment

State = BankTransaction.State

# How many waiting lines each import tries to match again (oldest first).
REMATCH_LIMIT = 5000
# Decisions that the payment or collection services carry out (the line is "matched").
BOOKING_ACTIONS = frozenset({"book", "settle_batch", "return"})
_PLANNED_FIELDS = ("id", "state", "match_plan", "suggestions", "booking_date", "customer_id")
_PAYMENT_FIELDS = (
    "amount",
    "checksum",
    "remittance_information",
    "end_to_end_id",
    "counterparty_name",
    "counterparty_iban",
)
# Payment lines booked per transaction (customers locked once, rows written in bulk).
BOOKING_CHUNK = 500


def apply_decision(row: BankTransaction, decision: matching.Decision) -> None:
    """Write a matching decision into the (unsaved or re-read) line."""
    match = decision.match
    best = match or (decision.suggestions[0] if decision.suggestions else None)
    row.match_method = best.method if best else ""
    row.match_confidence = Decimal(f"{best.confidence:.3f}") if best else None
    row.suggestions = [s.to_json() for s in decision.suggestions]
    # Matching's note as a code, put into words when shown (banking.reasons).
    row.note = ""
    row.note_code = decision.note.code if decision.note else ""
    row.note_params = dict(decision.note.params) if decision.note else {}
    row.customer_id = match.customer_id if match else None
    row.match_plan = None
    if decision.action in BOOKING_ACTIONS:
        assert match is not None
        row.state = State.MATCHED
        row.match_plan = {"action": decision.action, **match.to_json()}
    elif decision.action == "link_payment":
        row.state = State.BOOKED
        row.payment_id = match.payment_id if match else None
    elif decision.action == "link_return":
        row.state = State.RETURNED
        row.return_event_id = match.return_event_id if match else None
    elif decision.action == "refund_sent":
        row.state = State.BOOKED
        row.refund_id = match.refund_id if match else None
    elif decision.action == "ignore":
        row.state = State.IGNORED
    else:
        row.state = State.UNMATCHED


def book_matched(
    *, actor: Actor, statement_id: int | None = None, transaction_ids: Iterable[int] | None = None
) -> list[int]:
    """Book every line in state matched (of one statement, or the ids given).

    Returns the ids of the lines this call moved (booked, returned, or sent to the to-do
    list): a line another process booked meanwhile is skipped under its lock and not
    returned, so that each caller reports only what it did itself.

    Returns first (a debit returned on the same statement is then not settled), then
    direct-debit credits (per file: the items the lines name, or the whole file for a
    collective booking), then payments in line order. A line
    whose booking is refused (the invoice was paid meanwhile, …) goes to the to-do list
    with the reason in ``note``; nothing of it is written.
    """
    queryset = BankTransaction.objects.filter(state=State.MATCHED)
    if statement_id is not None:
        queryset = queryset.filter(statement_id=statement_id)
    if transaction_ids is not None:
        queryset = queryset.filter(pk__in=list(transaction_ids))
    # What the booking steps read of a line before they lock it (they re-read it then).
    rows = list(queryset.order_by("pk").only(*_PLANNED_FIELDS))
    moved: set[int] = set()
    batches: dict[int, list[BankTransaction]] = {}
    for row in rows:
        if (row.match_plan or {}).get("action") == "return" and _guarded(row, _book_return, actor):
            moved.add(row.pk)
    for row in rows:
        plan = row.match_plan or {}
        if plan.get("action") == "settle_batch":
            batches.setdefault(plan["batch"], []).append(row)
    for batch_id, members in batches.items():
        try:
            moved.update(_settle(batch_id, members, actor))
        except DomainError as error:
            moved.update(row.pk for row in members if _fail(row, error))
    moved.update(
        _book_payments([r for r in rows if (r.match_plan or {}).get("action") == "book"], actor)
    )
    return [row.pk for row in rows if row.pk in moved]


def _guarded(row: BankTransaction, book: Any, actor: Actor) -> bool:
    """Book the line; whether this call moved it (False: someone else booked it first)."""
    try:
        return bool(book(row, actor))
    except DomainError as error:
        return _fail(row, error)


def _fail(row: BankTransaction, error: DomainError) -> bool:
    """The planned booking was refused: the line goes to the to-do list, plan as suggestion."""
    plan = dict(row.match_plan or {})
    plan.pop("action", None)
    suggestions = [plan, *(s for s in row.suggestions if s != plan)][: matching.MAX_SUGGESTIONS]
    changed = BankTransaction.objects.filter(pk=row.pk, state=State.MATCHED).update(
        state=State.UNMATCHED,
        match_plan=None,
        suggestions=suggestions,
        note=f"{error.code}: {error.message}"[:500],
        note_code="",
        note_params={},
    )
    return changed > 0


def _locked_row(pk: int) -> BankTransaction | None:
    """The line under lock, if it still waits for booking (another worker may have booked it)."""
    row = BankTransaction.objects.select_for_update().get(pk=pk)
    return row if row.state == State.MATCHED else None


def _locked_rows(pks: list[int]) -> list[BankTransaction]:
    """The lines under lock (id order) that still wait for booking (what booking reads)."""
    return list(
        BankTransaction.objects.select_for_update()
        .filter(pk__in=pks, state=State.MATCHED)
        .order_by("pk")
        .only(*_PLANNED_FIELDS, *_PAYMENT_FIELDS)
    )


def payer_iban(value: str) -> str:
    if not value:
        return ""
    try:
        return validators.normalize_iban(value)
    except ValidationError:
        return ""  # kept on the line; the payment does without a foreign-format account


def reference_of(row: BankTransaction) -> str:
    return (" ".join(row.remittance_information.split()) or row.end_to_end_id)[:500]


def _book_payments(rows: list[BankTransaction], actor: Actor) -> set[int]:
    """Book the payment lines chunk by chunk; the ids of the lines this call moved."""
    moved: set[int] = set()
    for start in range(0, len(rows), BOOKING_CHUNK):
        chunk = rows[start : start + BOOKING_CHUNK]
        try:
            moved.update(_book_chunk(chunk, actor))
        except DomainError as error:  # refused as a whole (the actor may not book)
            moved.update(row.pk for row in chunk if _fail(row, error))
    return moved


def _book_chunk(rows: list[BankTransaction], actor: Actor) -> list[int]:
    """Record the chunk's lines as payments of their planned customers, allocated as planned.

    One transaction: the chunk's customers locked first (id order), then the lines still
    waiting; ``payments.record_payments`` re-checks every line's plan under its locks.
    A line it refuses goes to the to-do list (in the same transaction); the others are
    marked booked. A crash leaves the whole chunk waiting, and booking it again is
    idempotent by the line's checksum (the payment's ``external_id``).
    """
    plans: list[dict[str, Any]] = [row.match_plan or {} for row in rows]
    customers = {plan["customer"] for plan in plans if plan.get("customer") is not None}
    # The invoices' customers too (the same, unless a plan is stale): every customer the
    # chunk touches is locked here at once, in id order, before anything else.
    invoice_ids = {int(part["id"]) for plan in plans for part in plan.get("invoices", [])}
    customers.update(
        Invoice.objects.filter(pk__in=invoice_ids).values_list("customer_id", flat=True)
    )
    with transaction.atomic():
        locks.lock_customer_ids(customers)
        locked = _locked_rows([row.pk for row in rows])
        if not locked:
            return []
        outcome = payments.record_payments(
            actor=actor,
            payments=[_incoming(row) for row in locked],
            overpayment=True,
        )
        now = clock.now()
        booked = []
        for row in locked:
            payment = outcome.payments.get(row.pk)
            if payment is None:
                continue
            row.state = State.BOOKED
            row.payment_id = payment.pk
            row.customer_id = (row.match_plan or {}).get("customer") or row.customer_id
            row.decided_by = actor.label
            row.decided_at = now
            booked.append(row)
        bulk.update_fields(booked, ["state", "payment", "customer", "decided_by", "decided_at"])
        BankTransaction.objects.filter(pk__in=[row.pk for row in booked]).update(match_plan=None)
        for row in locked:
            if (error := outcome.refused.get(row.pk)) is not None:
                _fail(row, error)
    return [row.pk for row in locked]


def _incoming(row: BankTransaction) -> payments.IncomingPayment:
    plan = row.match_plan or {}
    return payments.IncomingPayment(
        key=row.pk,
        amount=row.amount,
        date=row.booking_date,
        method=Payment.Method.TRANSFER,
        source=Payment.Source.STATEMENT,
        reference=reference_of(row),
        payer_name=row.counterparty_name,
        payer_iban=payer_iban(row.counterparty_iban),
        customer_id=plan.get("customer"),
        external_id=row.checksum,
        allocations=tuple(
            (int(part["id"]), Decimal(part["amount"])) for part in plan.get("invoices", [])
        ),
        # Only a payer who named invoices (or an instalment of an agreement on them) chose
        # what is paid; otherwise a payment on a dunned claim pays costs, interest,
        # principal (§ 367 BGB).
        names_invoice=plan.get("method") in ("invoice_number", "instalment_reference"),
    )


def _book_return(row: BankTransaction, actor: Actor) -> bool:
    plan = row.match_plan or {}
    customer_id = plan.get("customer")
    with transaction.atomic():
        if customer_id is not None:
            locks.lock_customer(customer_id)
        locked = _locked_row(row.pk)
        if locked is None:
            return False
        event = payments.record_returned_debit(
            actor=actor,
            reason_code=locked.return_reason_code,
            source_reference=locked.checksum,
            end_to_end_id=plan["end_to_end_id"],
            return_fee=locked.return_fee,
            booking_date=locked.booking_date,
        )
        _done(
            locked,
            actor,
            state=State.RETURNED,
            return_event_id=event.pk,
            payment_id=event.payment_id,
            customer_id=event.customer_id,
        )
    return True


def _settle(batch_id: int, rows: list[BankTransaction], actor: Actor) -> list[int]:
    """Settle what the lines credit of a direct-debit file; link each line to its payment.

    A line with an item's end-to-end id settles that item alone; a line without one
    (a collective booking of the file, matched by its reference and total) settles
    every item still with the bank. Returns the ids of the lines this call booked.
    """
    moved = []
    with transaction.atomic():
        batch = DirectDebitBatch.objects.get(pk=batch_id)
        ids = set(
            DirectDebitItem.objects.filter(batch_id=batch_id).values_list(
                "end_to_end_id", flat=True
            )
        )
        collective = any(row.end_to_end_id not in ids for row in rows)
        credited = sorted({row.end_to_end_id for row in rows if row.end_to_end_id in ids})
        if batch.status in DirectDebitBatch.OPEN:
            collection.settle_direct_debit_items(
                batch_id=batch_id,
                actor=actor,
                end_to_end_ids=None if collective else credited,
                booking_date=min(r.booking_date for r in rows),
            )
        elif batch.status not in (
            DirectDebitBatch.Status.SETTLED,
            DirectDebitBatch.Status.RETURNED,
        ):
            raise StateConflict(
                f"Direct-debit file {batch_id} is {batch.status}.", code="batch_not_settleable"
            )
        items = {
            item.end_to_end_id: item
            for item in DirectDebitItem.objects.filter(batch_id=batch_id).select_related(
                "allocation"
            )
        }
        external = {
            p.external_id: p.pk
            for p in Payment.objects.filter(
                source=Payment.Source.STATEMENT,
                external_id__startswith=f"sepa-dd:{batch.message_id}:",
            )
        }
        for row in rows:
            locked = _locked_row(row.pk)
            if locked is None:
                continue
            moved.append(locked.pk)
            item = items.get(locked.end_to_end_id)
            if item is None:  # one booking for the whole file
                _done(locked, actor, state=State.BOOKED)
            elif item.state == DirectDebitItem.State.SETTLED:
                payment_id = external.get(f"sepa-dd:{batch.message_id}:{item.end_to_end_id}")
                _done(
                    locked,
                    actor,
                    state=State.BOOKED,
                    payment_id=payment_id,
                    customer_id=item.customer_id,
                )
            elif item.state == DirectDebitItem.State.RETURNED:
                # Credited and returned on the same statement: the return accounts for it.
                _done(
                    locked,
                    actor,
                    state=State.RETURNED,
                    return_event_id=item.return_event_id,
                    customer_id=item.customer_id,
                )
            else:
                raise StateConflict(
                    f"The direct debit {item.end_to_end_id} is {item.state}.",
                    code="direct_debit_not_settled",
                )
    return moved


def _done(row: BankTransaction, actor: Actor, *, state: str, **links: Any) -> None:
    BankTransaction.objects.filter(pk=row.pk).update(
        state=state,
        match_plan=None,
        decided_by=actor.label,
        decided_at=clock.now(),
        **{name: value for name, value in links.items() if value is not None},
    )


def rematch_unmatched(*, actor: Actor, exclude_statement_ids: Sequence[int] = ()) -> int:
    """Match the to-do list again with what is known now; book what matches; return how many.

    A payment that came before its invoice was finalized, or the rest of a direct-debit
    file that was waiting for its returns, is booked by the next import.
    """
    permissions.require(actor, "bank_transaction.assign")
    rows = list(
        BankTransaction.objects.filter(state=State.UNMATCHED)
        .exclude(statement_id__in=list(exclude_statement_ids))
        .order_by("pk")[:REMATCH_LIMIT]
    )
    if not rows:
        return 0
    decisions = matching.Matcher(selectors.match_context(rows)).match_all(rows)
    promoted = []
    with transaction.atomic():
        for row, decision in zip(rows, decisions, strict=True):
            if decision.action in ("unmatched", "ignore"):
                continue
            apply_decision(row, decision)
            changed = BankTransaction.objects.filter(pk=row.pk, state=State.UNMATCHED).update(
                state=row.state,
                match_method=row.match_method,
                match_confidence=row.match_confidence,
                match_plan=row.match_plan,
                suggestions=row.suggestions,
                note=row.note,
                note_code=row.note_code,
                note_params=row.note_params,
                customer_id=row.customer_id,
                payment_id=row.payment_id,
                return_event_id=row.return_event_id,
                refund_id=row.refund_id,
            )
            if changed:
                promoted.append(row.pk)
    if not promoted:
        return 0
    book_matched(actor=actor, transaction_ids=promoted)
    for statement_id in {row.statement_id for row in rows if row.pk in promoted}:
        update_counts(statement_id)
    return BankTransaction.objects.filter(
        pk__in=promoted, state__in=(State.BOOKED, State.RETURNED)
    ).count()


def update_counts(statement_id: int) -> tuple[Counter[str], Decimal]:
    rows = BankTransaction.objects.filter(statement_id=statement_id)
    states = state_counts(rows)
    amount = rows.filter(state=State.BOOKED, direction="credit").aggregate(s=Sum("amount"))["s"]
    BankStatement.objects.filter(pk=statement_id).update(
        booked_count=states[State.BOOKED],
        unmatched_count=states[State.UNMATCHED],
        return_count=states[State.RETURNED],
        ignored_count=states[State.IGNORED],
    )
    return states, round_money(amount or ZERO)


def state_counts(rows: QuerySet[BankTransaction]) -> Counter[str]:
    grouped = rows.order_by().values_list("state").annotate(n=Count("pk"))
    return Counter(dict(grouped.values_list("state", "n")))
