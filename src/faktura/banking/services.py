"""Import bank statements and account for every line: idempotent, atomic, audited.

An import parses the whole file first (a bad file raises its StatementParseError and
writes nothing), matches the lines not seen before against what Faktura expects (see
``faktura.banking.matching``), stores the statement and those lines in one transaction
(``INSERT … ON CONFLICT DO NOTHING`` on the line checksum, so a concurrent or
overlapping import never stores a line twice), and then books each matched line
through the payment and collection services, payment lines a chunk of them per
transaction (customers locked first, DESIGN invariant 4; see ``booking``) — during the
import, or, for more than FAKTURA_STATEMENT_INLINE_BOOKINGS (500) matched lines, by the
task ``book_matched_transactions`` in chunks, enqueued in the storing transaction. A
crash between storing and booking leaves lines in state ``matched``; importing the file
again (or the task) books them, and every booking is idempotent by the line's checksum
(payment ``external_id``, return ``source_reference``), so the result is what a single
run would have produced (DESIGN invariant 6).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum

from faktura.banking import booking, matching, selectors
from faktura.banking.models import BankStatement, BankTransaction, CsvMappingProfile
from faktura.banking.statements.csv_import import CsvMapping
from faktura.banking.statements.detect import parse_statements
from faktura.banking.statements.model import Statement, StatementTransaction
from faktura.core import audit, bulk, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments import locks
from faktura.payments import selectors as payment_selectors
from faktura.payments import services as payments
from faktura.payments.models import Payment

State = BankTransaction.State

__all__ = [
    "ImportResult",
    "assign_transaction",
    "assign_transactions_to_invoice",
    "book_matched",
    "ignore_transaction",
    "import_statement",
    "rematch_unmatched",
]

book_matched = booking.book_matched
rematch_unmatched = booking.rematch_unmatched
_PENDING_PREFIX = "pending:"
# Up to this many matched lines are booked during the import; more go to the task worker
# in chunks of one booking transaction each.
INLINE_BOOKINGS = 500
BOOKING_CHUNK = booking.BOOKING_CHUNK


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did; ``new + duplicates == transactions``."""

    statement_ids: tuple[int, ...]
    already_imported: bool
    transactions: int
    new: int
    duplicates: int
    booked: int
    unmatched: int
    returns: int
    ignored: int
    booked_amount: Decimal
    # Matched lines the task worker books (more than FAKTURA_STATEMENT_INLINE_BOOKINGS).
    queued: int = 0
    # Lines of earlier imports that this import's information allowed to book.
    rematched: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    statement_id: int
    created: bool
    transactions: int
    new: int
    states: Counter[str]
    booked_amount: Decimal


# --- import --------------------------------------------------------------------------------


def import_statement(
    *, data: bytes, filename: str = "", actor: Actor, csv_mapping_id: int | None = None
) -> ImportResult:
    """Import a camt.052/053/054, MT940 or (with a saved mapping) CSV file and book it.

    Matched lines are booked before it returns, or — more than
    FAKTURA_STATEMENT_INLINE_BOOKINGS (500) of them — by the task worker (``queued``).
    Idempotent: the same file again is recognised by its SHA-256 and changes nothing;
    an overlapping statement stores and books only the lines not seen before (by line
    checksum). Raises StatementParseError (InvalidInput) with the parser's code when the
    file cannot be read — nothing is written then; NotFound csv_mapping_not_found;
    InvalidInput csv_mapping_invalid; PermissionRefused without the accountant role.
    """
    permissions.require(actor, "statement.import")
    mapping = _csv_mapping(csv_mapping_id)
    statements = parse_statements(
        data, filename=filename, expected_currency="EUR", csv_mapping=mapping
    )
    sha256 = hashlib.sha256(data).hexdigest()
    outcomes = [
        _import_one(statement, sha256=sha256, filename=filename, actor=actor)
        for statement in statements
    ]
    rematched = 0
    if any(outcome.new for outcome in outcomes):
        rematched = booking.rematch_unmatched(
            actor=actor, exclude_statement_ids=[o.statement_id for o in outcomes]
        )
    states: Counter[str] = Counter()
    for outcome in outcomes:
        states.update(outcome.states)
    return ImportResult(
        statement_ids=tuple(o.statement_id for o in outcomes),
        already_imported=not any(o.created for o in outcomes),
        transactions=sum(o.transactions for o in outcomes),
        new=sum(o.new for o in outcomes),
        duplicates=sum(o.transactions - o.new for o in outcomes),
        booked=states[State.BOOKED],
        queued=states[State.MATCHED],
        unmatched=states[State.UNMATCHED],
        returns=states[State.RETURNED],
        ignored=states[State.IGNORED],
        booked_amount=sum((o.booked_amount for o in outcomes), ZERO),
        rematched=rematched,
    )


def _csv_mapping(csv_mapping_id: int | None) -> CsvMapping | None:
    if csv_mapping_id is None:
        return None
    profile = CsvMappingProfile.objects.filter(pk=csv_mapping_id).first()
    if profile is None:
        raise NotFound(
            f"CSV mapping {csv_mapping_id} does not exist.",
            code="csv_mapping_not_found",
            field="csv_mapping",
        )
    try:
        return profile.to_mapping()
    except ValueError as error:
        raise InvalidInput(
            f"The CSV mapping {profile.name} is not usable: {error}",
            code="csv_mapping_invalid",
            field="csv_mapping",
        ) from None


def _key(line: StatementTransaction) -> str:
    """The line's idempotency key; a line the bank has not booked yet is kept apart."""
    return line.checksum if line.status == "booked" else f"{_PENDING_PREFIX}{line.checksum}"


def _row(line: StatementTransaction, *, created_at: Any) -> BankTransaction:
    """An unsaved line; text cut to the column lengths (banks send what they like)."""
    return BankTransaction(
        checksum=_key(line),
        bank_reference=line.bank_reference[:140],
        booking_date=line.booking_date,
        value_date=line.value_date,
        amount=line.amount,
        currency=line.currency,
        direction=line.direction,
        entry_status=line.status,
        end_to_end_id=line.end_to_end_id[:140],
        mandate_reference=line.mandate_reference[:140],
        creditor_reference=line.creditor_reference[:140],
        remittance_information=line.remittance_information,
        counterparty_name=line.counterparty_name[:200],
        counterparty_iban=line.counterparty_iban[:34],
        counterparty_bic=line.counterparty_bic[:11],
        bank_transaction_code=line.bank_transaction_code[:100],
        is_return=line.is_return,
        return_reason_code=line.return_reason_code[:35],
        return_fee=line.return_fee,
        original_amount=line.original_amount,
        batch_reference=line.batch_reference[:140],
        created_at=created_at,
    )


def plan(
    lines: Sequence[StatementTransaction],
) -> tuple[list[StatementTransaction], list[matching.Decision]]:
    """The lines not stored before, and what matching decided for each (reads only)."""
    known = selectors.existing_values(BankTransaction, "checksum", [_key(line) for line in lines])
    unseen = [line for line in lines if _key(line) not in known]
    return unseen, matching.Matcher(selectors.match_context(unseen)).match_all(unseen)


def _import_one(statement: Statement, *, sha256: str, filename: str, actor: Actor) -> _Outcome:
    existing = BankStatement.objects.filter(
        account_identification=statement.account_identification, file_sha256=sha256
    ).first()
    if existing is not None:
        return _again(existing, statement, actor)
    now = clock.now()
    lines = statement.transactions
    unseen, decisions = plan(lines)
    fresh = []
    for line, decision in zip(unseen, decisions, strict=True):
        row = _row(line, created_at=now)
        booking.apply_decision(row, decision)
        fresh.append(row)
    try:
        with transaction.atomic():
            record = BankStatement.objects.create(
                account_iban=statement.account_iban[:34],
                account_identification=statement.account_identification[:70],
                format=statement.format,
                version=statement.version[:10],
                statement_id=statement.statement_id[:140],
                currency=statement.currency,
                filename=filename[-255:],
                file_sha256=sha256,
                opening_balance=statement.opening_balance.amount
                if statement.opening_balance
                else None,
                closing_balance=statement.closing_balance.amount
                if statement.closing_balance
                else None,
                transaction_count=len(lines),
                imported_by=actor.label,
                imported_at=now,
            )
            for row in fresh:
                row.statement = record
            # ON CONFLICT DO NOTHING: a line a concurrent import stored first stays theirs.
            bulk.insert(fresh, ignore_conflicts=True)
            planned = booking.state_counts(BankTransaction.objects.filter(statement=record))
            new = sum(planned.values())
            record.new_count = new
            record.duplicate_count = len(lines) - new
            record.save(update_fields=["new_count", "duplicate_count"])
            matched = list(
                BankTransaction.objects.filter(statement=record, state=State.MATCHED)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            background = len(matched) > _inline_limit()
            if background:
                _enqueue_bookings(record.pk, matched, actor)
            audit.record(
                chain=audit.COMPANY_CHAIN,
                actor=actor,
                action="bank_statement.imported",
                object_type="bank_statement",
                object_id=record.pk,
                data={
                    "format": statement.format,
                    "version": statement.version,
                    "account": statement.account_identification,
                    "statement_id": statement.statement_id,
                    "filename": filename,
                    "sha256": sha256,
                    "transactions": len(lines),
                    "new": new,
                    "duplicates": len(lines) - new,
                    "planned": dict(sorted(planned.items())),
                    "booked_by": "worker" if background else "import",
                },
            )
    except IntegrityError:
        # The same file, imported at the same moment by someone else, who is booking it
        # now: this import did nothing and says so (it does not book beside the winner
        # and report the winner's bookings as its own).
        existing = BankStatement.objects.filter(
            account_identification=statement.account_identification, file_sha256=sha256
        ).first()
        if existing is None:
            raise
        return _Outcome(existing.pk, False, len(lines), 0, Counter(), ZERO)
    if background:
        states, amount = booking.update_counts(record.pk)
        return _Outcome(record.pk, True, len(lines), new, states, amount)
    moved = set(booking.book_matched(statement_id=record.pk, actor=actor))
    booking.update_counts(record.pk)
    # Its own lines: all but the matched ones that a re-import booked meanwhile.
    own = BankTransaction.objects.filter(statement_id=record.pk).exclude(
        pk__in=set(matched) - moved
    )
    states, amount = booking.state_counts(own), _booked_amount(own)
    return _Outcome(record.pk, True, len(lines), new, states, amount)


def _booked_amount(rows: QuerySet[BankTransaction]) -> Decimal:
    total = rows.filter(state=State.BOOKED, direction="credit").aggregate(s=Sum("amount"))["s"]
    return round_money(total or ZERO)


def _inline_limit() -> int:
    """FAKTURA_STATEMENT_INLINE_BOOKINGS (500): more matched lines are booked by the worker."""
    return int(getattr(settings, "FAKTURA_STATEMENT_INLINE_BOOKINGS", INLINE_BOOKINGS))


def _enqueue_bookings(statement_id: int, ids: Sequence[int], actor: Actor) -> None:
    """Book the lines in the task worker(s), in chunks; enqueued in the caller's transaction."""
    from faktura.banking.tasks import book_matched_transactions

    for start in range(0, len(ids), BOOKING_CHUNK):
        book_matched_transactions.enqueue(
            statement_id, list(ids[start : start + BOOKING_CHUNK]), actor.label
        )


def _again(existing: BankStatement, statement: Statement, actor: Actor) -> _Outcome:
    """The same file again: nothing new; book what a crashed import left matched."""
    waiting = BankTransaction.objects.filter(statement=existing, state=State.MATCHED)
    if waiting.count() > _inline_limit():
        # The worker books them (the import enqueued their tasks); nothing to do here.
        return _Outcome(existing.pk, False, len(statement.transactions), 0, Counter(), ZERO)
    # Only what this call moved: lines the first import is still booking are its own.
    recovered = booking.book_matched(statement_id=existing.pk, actor=actor)
    states: Counter[str] = Counter()
    amount = ZERO
    if recovered:
        booking.update_counts(existing.pk)
        done = BankTransaction.objects.filter(pk__in=recovered)
        states = booking.state_counts(done)
        amount = _booked_amount(done)
    return _Outcome(existing.pk, False, len(statement.transactions), 0, states, amount)


# --- the to-do list: decisions by a person ------------------------------------------------------


def _open_line(transaction_id: int) -> BankTransaction:
    row = BankTransaction.objects.filter(pk=transaction_id).first()
    if row is None:
        raise NotFound(
            f"Bank transaction {transaction_id} does not exist.",
            code="bank_transaction_not_found",
        )
    return row


def _check_assignable(row: BankTransaction) -> None:
    if row.state not in BankTransaction.OPEN_STATES:
        raise StateConflict(
            f"Bank transaction {row.pk} is {row.state} already.",
            code="bank_transaction_not_open",
        )
    if row.direction != BankTransaction.Direction.CREDIT or row.is_return:
        raise StateConflict(
            f"Bank transaction {row.pk} is no incoming payment; only those can be assigned.",
            code="bank_transaction_not_incoming",
        )
    if row.entry_status != "booked":
        raise StateConflict(
            f"Bank transaction {row.pk} is not booked by the bank yet.",
            code="bank_transaction_not_booked",
        )


def _owner(invoice_ids: Sequence[int]) -> int:
    owners = dict(Invoice.objects.filter(pk__in=invoice_ids).values_list("pk", "customer_id"))
    for index, invoice_id in enumerate(invoice_ids):
        if invoice_id not in owners:
            raise NotFound(
                f"Invoice {invoice_id} does not exist.",
                code="invoice_not_found",
                field=f"allocations[{index}].invoice",
            )
    if len(set(owners.values())) != 1:
        raise InvalidInput(
            "One bank transaction pays invoices of one customer only.",
            code="invoices_of_several_customers",
            field="allocations",
        )
    return next(iter(owners.values()))


def _record(row: BankTransaction, actor: Actor, customer_id: int) -> Payment:
    return payments.record_payment(
        actor=actor,
        amount=row.amount,
        date=row.booking_date,
        method=Payment.Method.TRANSFER,
        source=Payment.Source.STATEMENT,
        reference=booking.reference_of(row),
        payer_name=row.counterparty_name,
        payer_iban=booking.payer_iban(row.counterparty_iban),
        customer_id=customer_id,
        external_id=row.checksum,
    )


def assign_transaction(
    *,
    transaction_id: int,
    allocations: list[tuple[int, object]],
    actor: Actor,
    customer_id: int | None = None,
) -> BankTransaction:
    """Book one incoming line by hand: to one or more invoices of one customer.

    What the allocations leave of the line's amount stays as the customer's credit;
    without allocations, ``customer_id`` books the whole line as that customer's credit.
    One transaction: the customer is locked first, then the line; the payment and its
    allocations are written by the payment services. Raises NotFound
    bank_transaction_not_found, invoice_not_found, customer_not_found; InvalidInput
    no_allocations, invalid_amount, too_many_decimals, duplicate_invoice,
    invoices_of_several_customers, invoice_of_other_customer,
    allocations_exceed_transaction; StateConflict bank_transaction_not_open,
    bank_transaction_not_incoming, and the allocation errors of the payment services.
    """
    permissions.require(actor, "bank_transaction.assign")
    row = _open_line(transaction_id)
    _check_assignable(row)
    requests: list[tuple[int, Decimal]] = []
    for index, (invoice_id, amount) in enumerate(allocations):
        if any(invoice_id == seen for seen, _ in requests):
            raise InvalidInput(
                f"Invoice {invoice_id} is named twice.",
                code="duplicate_invoice",
                field=f"allocations[{index}].invoice",
            )
        value = locks.positive_amount(amount, field=f"allocations[{index}].amount")
        requests.append((invoice_id, value))
    if requests:
        owner = _owner([invoice_id for invoice_id, _ in requests])
        if customer_id is not None and customer_id != owner:
            raise InvalidInput(
                "The invoices belong to another customer.",
                code="invoice_of_other_customer",
                field="customer",
            )
        customer_id = owner
    elif customer_id is None:
        raise InvalidInput(
            "Name the invoices (and amounts) or the customer whose credit this is.",
            code="no_allocations",
            field="allocations",
        )
    total = sum((amount for _, amount in requests), ZERO)
    if total > row.amount:
        raise InvalidInput(
            f"The allocations ({total}) exceed the transaction's amount ({row.amount}).",
            code="allocations_exceed_transaction",
            field="allocations",
        )
    with transaction.atomic():
        locks.lock_customer(customer_id, field="customer")
        row = BankTransaction.objects.select_for_update().get(pk=transaction_id)
        _check_assignable(row)
        payment = _record(row, actor, customer_id)
        if requests:
            payments.allocate_payment(
                payment_id=payment.pk, allocations=list(requests), actor=actor
            )
        _decided(row, actor, payment=payment, customer_id=customer_id, method="manual")
    row.refresh_from_db()
    return row


def assign_transactions_to_invoice(
    *, transaction_ids: list[int], invoice_id: int, actor: Actor
) -> list[BankTransaction]:
    """Book several incoming lines (instalments) to one invoice, in line order.

    Each line becomes a payment of the invoice's customer; the lines pay the invoice
    until nothing is open, the rest is the customer's credit. One transaction: the
    customer is locked first, then the invoice, then the lines in id order. Raises
    NotFound bank_transaction_not_found, invoice_not_found; InvalidInput
    no_transactions, duplicate_transaction; StateConflict invoice_not_payable,
    invoice_already_paid, bank_transaction_not_open, bank_transaction_not_incoming.
    """
    permissions.require(actor, "bank_transaction.assign")
    if not transaction_ids:
        raise InvalidInput(
            "Name at least one bank transaction.", code="no_transactions", field="transactions"
        )
    if len(set(transaction_ids)) != len(transaction_ids):
        raise InvalidInput(
            "A bank transaction is named twice.",
            code="duplicate_transaction",
            field="transactions",
        )
    owner = Invoice.objects.filter(pk=invoice_id).values_list("customer_id", flat=True)
    customer_id = owner.first()
    if customer_id is None:
        raise NotFound(
            f"Invoice {invoice_id} does not exist.", code="invoice_not_found", field="invoice"
        )
    for transaction_id in transaction_ids:
        _check_assignable(_open_line(transaction_id))
    with transaction.atomic():
        locks.lock_customer(customer_id)
        invoice = locks.lock_invoices([invoice_id])[invoice_id]
        if invoice.status != Status.FINALIZED or invoice.kind != Kind.INVOICE:
            raise StateConflict(
                f"{invoice} is not a finalized invoice; only those can be paid.",
                code="invoice_not_payable",
            )
        open_amount = payment_selectors.open_amounts([invoice_id])[invoice_id]
        if open_amount <= 0:
            raise StateConflict(f"{invoice} is paid already.", code="invoice_already_paid")
        rows = list(
            BankTransaction.objects.select_for_update()
            .filter(pk__in=transaction_ids)
            .order_by("pk")
        )
        for row in rows:
            _check_assignable(row)
        for row in rows:
            payment = _record(row, actor, customer_id)
            part = min(row.amount, open_amount)
            if part > 0:
                payments.allocate_payment(
                    payment_id=payment.pk, allocations=[(invoice_id, part)], actor=actor
                )
                open_amount -= part
            _decided(row, actor, payment=payment, customer_id=customer_id, method="manual")
    return list(BankTransaction.objects.filter(pk__in=transaction_ids).order_by("pk"))


def _decided(
    row: BankTransaction, actor: Actor, *, payment: Payment, customer_id: int, method: str
) -> None:
    BankTransaction.objects.filter(pk=row.pk).update(
        state=State.BOOKED,
        payment=payment,
        customer_id=customer_id,
        match_method=method,
        match_confidence=Decimal("1.000"),
        match_plan=None,
        decided_by=actor.label,
        decided_at=clock.now(),
    )
    audit.record(
        chain=audit.customer_chain(customer_id),
        actor=actor,
        action="bank_transaction.assigned",
        object_type="bank_transaction",
        object_id=row.pk,
        data={
            "payment": payment.pk,
            "amount": row.amount,
            "booking_date": row.booking_date,
            "checksum": row.checksum,
            "was": row.state,
        },
    )


def ignore_transaction(*, transaction_id: int, actor: Actor, reason: str) -> BankTransaction:
    """Put a line aside (not ours to book: a private transfer, a test booking …).

    Raises InvalidInput reason_required; NotFound bank_transaction_not_found;
    StateConflict bank_transaction_not_open (booked, returned, being booked).
    """
    permissions.require(actor, "bank_transaction.assign")
    reason = locks.required_text(reason, field="reason", code="reason_required", max_length=500)
    _open_line(transaction_id)
    with transaction.atomic():
        row = BankTransaction.objects.select_for_update().get(pk=transaction_id)
        if row.state not in (State.NEW, State.UNMATCHED):
            raise StateConflict(
                f"Bank transaction {row.pk} is {row.state}; only waiting lines can be ignored.",
                code="bank_transaction_not_open",
            )
        before = row.state
        row.state = State.IGNORED
        row.note = reason
        row.note_code, row.note_params = "", {}
        row.decided_by = actor.label
        row.decided_at = clock.now()
        row.save(
            update_fields=["state", "note", "note_code", "note_params", "decided_by", "decided_at"]
        )
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="bank_transaction.ignored",
            object_type="bank_transaction",
            object_id=row.pk,
            data={"reason": reason, "was": before, "amount": row.amount},
        )
    return row
