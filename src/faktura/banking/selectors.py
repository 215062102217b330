"""Reads behind statement matching and the to-do list of unmatched bank lines.

``match_context`` loads what matching needs for a batch of lines with a few queries
(open invoices once, everything else only for the references the lines contain), so
matching itself never touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from lxml import etree

from faktura.banking import matching
from faktura.banking.models import BankTransaction
from faktura.banking.remittance import compile_number_pattern
from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
from faktura.core import bulk
from faktura.core.models import NumberRange
from faktura.core.money import round_money
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments import claims
from faktura.payments.models import Payment, Refund

T = TypeVar("T")

DEFAULT_THRESHOLD = 0.9
REFUND_PREFIX = "ERSTATTUNG-"  # payments.models.Refund.end_to_end_id
# A debit we collected: which of several items with the same end-to-end id (an invoice
# collected again after AM04) a statement line means. Lower is likelier.
_ITEM_STATE_RANK = {"submitted": 0, "settled": 0, "returned": 1, "pending": 2}


def match_threshold() -> float:
    """FAKTURA_MATCH_THRESHOLD (default 0.9): confidence from which lines are booked."""
    return float(getattr(settings, "FAKTURA_MATCH_THRESHOLD", DEFAULT_THRESHOLD))


def _chunks(values: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    size = size or min(connection.features.max_query_params or 2000, 2000) - 10
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def one_of(model: type[Model], column: str, values: Sequence[Any]) -> Iterator[Q | RawSQL]:
    """Conditions selecting the rows whose ``column`` is one of ``values``.

    On PostgreSQL one condition with an array parameter (``bulk.column_in``): for 50,000
    values about five times faster than ``IN`` lists, which other databases get in
    chunks (their parameter limits).
    """
    if not values:
        return
    if connection.vendor == "postgresql":
        yield bulk.column_in(model, column, values)
        return
    for chunk in _chunks(values):
        yield bulk.column_in(model, column, chunk)


def existing_values(model: type[Model], column: str, values: Sequence[str]) -> set[str]:
    """Which of ``values`` the (indexed) text ``column`` of ``model`` holds."""
    found: set[str] = set()
    for condition in one_of(model, column, values):
        found.update(model._default_manager.filter(condition).values_list(column, flat=True))
    return found


def invoice_number_patterns() -> tuple[str, ...]:
    """The invoice number range's pattern (``RE-{year}-{seq:05d}``), if it can be searched."""
    patterns = []
    for pattern in NumberRange.objects.filter(kind=NumberRange.Kind.INVOICE).values_list(
        "pattern", flat=True
    ):
        try:
            compile_number_pattern(pattern)
        except ValueError:
            continue
        patterns.append(pattern)
    return tuple(patterns)


def _invoices(
    conditions: Iterable[Q | RawSQL], **where: Any
) -> tuple[dict[str, matching.OpenInvoice], dict[str, matching.KnownInvoice]]:
    """Invoices chosen by ``conditions`` (one query each): the open ones, and the rest by number.

    The open amount is invoicing's own (``with_open_amounts``, DESIGN invariant 8).
    """
    open_: dict[str, matching.OpenInvoice] = {}
    known: dict[str, matching.KnownInvoice] = {}
    for condition in conditions:
        rows = (
            with_open_amounts(Invoice.objects.filter(condition, number__isnull=False, **where))
            .order_by()
            .values_list("pk", "number", "customer_id", "open_amount", "due_date", "status", "kind")
        )
        for pk, number, customer_id, amount, due, status, kind in rows:
            if status == Status.FINALIZED and kind == Kind.INVOICE and amount > 0:
                open_[number] = matching.OpenInvoice(
                    pk, number, customer_id, round_money(amount), due
                )
            else:
                known[number] = matching.KnownInvoice(pk, number, customer_id)
    return open_, known


def _debit_item(row: dict[str, Any]) -> matching.DebitItem:
    return matching.DebitItem(
        id=row["pk"],
        batch_id=row["batch_id"],
        invoice_id=row["invoice_id"],
        customer_id=row["customer_id"],
        amount=row["amount"],
        end_to_end_id=row["end_to_end_id"],
        mandate_reference=row["mandate__reference"],
        state=row["state"],
        payment_id=row["allocation__payment_id"],
        return_event_id=row["return_event_id"],
    )


_ITEM_FIELDS = (
    "pk",
    "batch_id",
    "invoice_id",
    "customer_id",
    "amount",
    "end_to_end_id",
    "mandate__reference",
    "state",
    "allocation__payment_id",
    "return_event_id",
)


def _debit_items(end_to_end_ids: set[str]) -> dict[str, matching.DebitItem]:
    found: dict[str, matching.DebitItem] = {}
    ours = existing_values(DirectDebitItem, "end_to_end_id", sorted(end_to_end_ids))
    for chunk in _chunks(sorted(ours)):
        rows = (
            DirectDebitItem.objects.filter(end_to_end_id__in=chunk)
            .exclude(state=DirectDebitItem.State.DISCARDED)
            .values(*_ITEM_FIELDS)
        )
        for row in rows:
            item = _debit_item(row)
            current = found.get(item.end_to_end_id)
            rank = (_ITEM_STATE_RANK.get(item.state, 3), -item.id)
            if current is None or rank < (_ITEM_STATE_RANK.get(current.state, 3), -current.id):
                found[item.end_to_end_id] = item
    return found


def _submitted_batches() -> tuple[dict[int, matching.SubmittedBatch], dict[str, int]]:
    """Direct-debit files with the bank, their items still open, and their references.

    A file partly settled already is booked collectively only for what is still open.
    """
    items: dict[int, list[tuple[int, Decimal]]] = {}
    for pk, batch_id, amount in DirectDebitItem.objects.filter(
        batch__status__in=DirectDebitBatch.OPEN, state=DirectDebitItem.State.SUBMITTED
    ).values_list("pk", "batch_id", "amount"):
        items.setdefault(batch_id, []).append((pk, amount))
    batches: dict[int, matching.SubmittedBatch] = {}
    references: dict[str, int] = {}
    for batch in DirectDebitBatch.objects.filter(
        status__in=DirectDebitBatch.OPEN, pk__in=list(items)
    ):
        refs = [batch.message_id] if batch.message_id else []
        # Banks name a batch booking by the file's MsgId or its PmtInfId (camt Btch).
        try:
            root = etree.fromstring(batch.file_bytes())
            refs += [e.text for e in root.iter("{*}PmtInfId") if e.text]
        except etree.XMLSyntaxError:
            pass
        members = items[batch.pk]
        batches[batch.pk] = matching.SubmittedBatch(
            id=batch.pk,
            references=tuple(refs),
            item_ids=frozenset(pk for pk, _ in members),
            amount=sum((amount for _, amount in members), Decimal("0.00")),
        )
        for ref in refs:
            references[ref] = batch.pk
    return batches, references


def _payers(lines: Sequence[matching.Line]) -> dict[str, frozenset[int]]:
    """Customers per payer IBAN: from their mandates and from payments they made before."""
    ibans = {line.counterparty_iban for line in lines if line.counterparty_iban}
    payers: dict[str, set[int]] = {}
    for chunk in _chunks(sorted(ibans)):
        for iban, customer_id in Mandate.objects.filter(iban__in=chunk).values_list(
            "iban", "customer_id"
        ):
            payers.setdefault(iban, set()).add(customer_id)
        for iban, customer_id in (
            Payment.objects.filter(payer_iban__in=chunk, customer__isnull=False)
            .values_list("payer_iban", "customer_id")
            .distinct()
        ):
            payers.setdefault(iban, set()).add(customer_id)
    return {iban: frozenset(ids) for iban, ids in payers.items()}


def _instalments(
    lines: Sequence[matching.Line],
) -> tuple[dict[str, tuple[str, ...]], dict[str, matching.OpenInstalment]]:
    """Instalment references the lines name, and those instalments of active agreements."""
    from faktura.dunning.instalments import open_instalments
    from faktura.dunning.references import find_instalment_references

    found: dict[str, tuple[str, ...]] = {}
    for line in lines:
        references = find_instalment_references(matching.text_of(line))
        if references:
            found[line.checksum] = references
    if not found:
        return found, {}
    wanted = sorted({r for references in found.values() for r in references})
    return found, {
        reference: matching.OpenInstalment(reference, customer_id, open_amount, numbers)
        for reference, (customer_id, open_amount, numbers) in open_instalments(wanted).items()
    }


def match_context(
    lines: Sequence[matching.Line], *, threshold: float | None = None
) -> matching.MatchContext:
    """Load what matching ``lines`` needs, with a few queries that scale with the lines.

    Open invoices are loaded by what the lines can point at — the invoice numbers they
    name, the customers their accounts and mandates identify, and, for the lines that
    name no open invoice, the amounts they pay — not all open invoices of all time.
    Plus direct debits by end-to-end id and mandate, batches with the bank, refunds.
    """
    credits = [line for line in lines if line.direction == "credit" and line.status == "booked"]
    patterns = invoice_number_patterns()
    numbers = matching.find_numbers(credits, patterns)
    instalment_refs, instalments = _instalments(credits)
    named = sorted(
        {n for found in numbers.values() for n in found}
        | {n for i in instalments.values() for n in i.invoice_numbers}
    )
    invoices, known = _invoices(one_of(Invoice, "number", named))

    payers = _payers(credits)
    references = {line.mandate_reference for line in lines if line.mandate_reference}
    mandates: dict[str, int] = {}
    for chunk in _chunks(sorted(references)):
        mandates.update(
            Mandate.objects.filter(reference__in=chunk).values_list("reference", "customer_id")
        )

    end_to_end_ids = {line.end_to_end_id for line in lines if line.end_to_end_id}
    items = _debit_items(end_to_end_ids)

    # The customers the payers' accounts or mandates identify: all their open invoices.
    identified = {
        customer_id
        for ids in payers.values()
        if len(ids) <= matching.MAX_CUSTOMERS_PER_ACCOUNT
        for customer_id in ids
    } | set(mandates.values())
    invoiced = {"status": Status.FINALIZED, "kind": Kind.INVOICE}
    more, _ = _invoices(one_of(Invoice, "customer_id", sorted(identified)), **invoiced)
    invoices.update(more)
    # Lines that name no open invoice are matched by amount: invoices of that amount.
    unexplained = [
        line
        for line in credits
        if line.end_to_end_id not in items
        and not any(n in invoices for n in numbers.get(line.checksum, ()))
    ]
    amounts = sorted({line.amount for line in unexplained})
    more, _ = _invoices(one_of(Invoice, "payable_amount", amounts), **invoiced)
    invoices.update(more)
    # Names: of every customer when some line may be identified by its payer's name only.
    if any(line.counterparty_name for line in unexplained):
        names = dict(Customer.objects.values_list("pk", "name"))
    else:
        customer_ids = {i.customer_id for i in invoices.values()} | identified
        names = {}
        for condition in one_of(Customer, "id", sorted(customer_ids)):
            names.update(Customer.objects.filter(condition).values_list("pk", "name"))

    by_mandate: dict[str, list[matching.DebitItem]] = {}
    orphan_returns = {
        line.mandate_reference
        for line in lines
        if line.is_return and line.mandate_reference and line.end_to_end_id not in items
    }
    for chunk in _chunks(sorted(orphan_returns)):
        rows = DirectDebitItem.objects.filter(
            mandate__reference__in=chunk,
            state__in=(DirectDebitItem.State.SUBMITTED, DirectDebitItem.State.SETTLED),
        ).values(*_ITEM_FIELDS)
        for row in rows:
            item = _debit_item(row)
            by_mandate.setdefault(item.mandate_reference, []).append(item)
    batches, batch_references = _submitted_batches()

    refund_ids = {
        int(e2e.removeprefix(REFUND_PREFIX))
        for e2e in end_to_end_ids
        if e2e.startswith(REFUND_PREFIX) and e2e.removeprefix(REFUND_PREFIX).isdigit()
    }
    refunds = {
        f"{REFUND_PREFIX}{pk}": pk
        for pk in Refund.objects.filter(
            pk__in=refund_ids, status__in=(Refund.Status.BATCHED, Refund.Status.PAID)
        ).values_list("pk", flat=True)
    }

    # Dunning notices quoted by their reference (letter, mail, EPC QR code).
    ledger = claims.ledger()
    quoted = ledger.notices(line.remittance_information for line in credits) if ledger else {}
    notices = {
        line.checksum: quoted[line.remittance_information]
        for line in credits
        if line.remittance_information in quoted
    }

    return matching.MatchContext(
        number_patterns=patterns,
        notices=notices,
        numbers=numbers,
        open_invoices=invoices,
        known_invoices=known,
        customers_by_iban=payers,
        customer_names=names,
        mandates=mandates,
        debit_items=items,
        debit_items_by_mandate=by_mandate,
        batches=batches,
        batch_references=batch_references,
        refunds=refunds,
        instalment_refs=instalment_refs,
        instalments=instalments,
        threshold=match_threshold() if threshold is None else threshold,
    )


# --- the to-do list ----------------------------------------------------------------------


def bank_transactions(
    *, state: str | None = None, statement_id: int | None = None
) -> QuerySet[BankTransaction]:
    """Statement lines, optionally of one state or statement."""
    queryset = BankTransaction.objects.select_related("statement")
    if state:
        queryset = queryset.filter(state=state)
    if statement_id is not None:
        queryset = queryset.filter(statement_id=statement_id)
    return queryset


def unmatched_transactions() -> QuerySet[BankTransaction]:
    """The to-do list: lines nobody has accounted for, with up to three suggestions each."""
    return bank_transactions(state=BankTransaction.State.UNMATCHED).order_by("pk")


class ImportProgress:
    """How far the booking of imported statements has come: lines per state.

    Lines still ``new`` or ``matched`` are being booked (by the import, or by the task
    worker in chunks for a large file); the import is done when none is left.
    """

    WAITING = (BankTransaction.State.NEW, BankTransaction.State.MATCHED)

    def __init__(self, statements: list[Any], counts: dict[str, int]) -> None:
        self.statements = statements
        self.counts = counts
        self.total = sum(counts.values())
        self.waiting = sum(counts.get(state, 0) for state in self.WAITING)
        self.done = self.total - self.waiting
        self.finished = self.waiting == 0
        self.percent = 100 if not self.total else self.done * 100 // self.total

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


def import_progress(statement_ids: Sequence[int]) -> ImportProgress:
    """The statements and their lines per state (two queries, whatever their size)."""
    from django.db.models import Count

    from faktura.banking.models import BankStatement

    statements = list(BankStatement.objects.filter(pk__in=list(statement_ids)).order_by("pk"))
    rows = (
        BankTransaction.objects.filter(statement_id__in=[s.pk for s in statements])
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
    )
    return ImportProgress(statements, {row["state"]: row["n"] for row in rows})
