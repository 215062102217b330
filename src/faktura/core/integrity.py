"""Integrity checks of `faktura check`: audit chains, finalized documents, number ranges,
archived files.

Every check reads one consistent snapshot of the database (``consistent_snapshot``), so a
check on a live system sees each chain head together with exactly the entries it counts,
and each document together with its audit entries: it never reports a difference that is
only a write committed between two of its reads.

Checks stream: each reads its rows in one ordered pass and compares two ordered streams
(``merge_by_key``), so memory stays flat however large the installation is.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from django.db import transaction
from django.db.models.functions import Length

from faktura.core.audit import verify_chains
from faktura.core.models import AuditEntry, NumberCounter, NumberRange

# Further checks (the document archive, bank files, stuck work) register themselves here;
# they run inside the same snapshot as the checks of this module.
EXTRA_CHECKS: list[Callable[[], Iterator[str]]] = []

L = TypeVar("L")
R = TypeVar("R")
K = TypeVar("K")

# How many missing numbers of one period are named before the rest is counted.
NAMED_GAPS = 20


@contextmanager
def consistent_snapshot() -> Iterator[None]:
    """Run the block in one read-only transaction that sees one snapshot of the database.

    PostgreSQL: REPEATABLE READ, READ ONLY; a snapshot takes no lock that blocks writers.
    SQLite: a deferred transaction (the connection's IMMEDIATE mode would take the write
    lock and hold off every writer for the whole check); its first read fixes the
    snapshot. In WAL mode writers go on meanwhile; in rollback-journal mode their commits
    wait for the check. Inside a caller's transaction the block runs in that transaction.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        yield
        return
    with ExitStack() as stack:
        if connection.vendor == "sqlite":
            connection.ensure_connection()  # connecting resets the transaction mode
            mode = connection.transaction_mode
            connection.transaction_mode = "DEFERRED"
            try:
                stack.enter_context(transaction.atomic())
            finally:
                connection.transaction_mode = mode
        else:
            stack.enter_context(transaction.atomic())
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # Must be the transaction's first statement.
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def all_problems() -> Iterator[str]:
    """Yield every integrity problem, all read from one consistent snapshot."""
    with consistent_snapshot():
        for problem in verify_chains():
            yield str(problem)
        yield from finalized_document_problems()
        yield from number_range_problems()
        for check in EXTRA_CHECKS:
            yield from check()


# --- streaming comparison of audit entries with the rows they record ----------------------


def object_key(object_id: object) -> tuple[int, str]:
    """Sort key of an object id that orders numeric ids numerically, like the database.

    Audit entries store object ids as text; ordering text by (length, text) orders
    non-negative integers without leading zeros as numbers, in SQL and in Python alike,
    and never fails on an id that is not a number.
    """
    text = str(object_id)
    return len(text), text


def entries_by_object(
    *, actions: Iterable[str], object_types: Iterable[str]
) -> Iterator[dict[str, Any]]:
    """Stream the audit entries of ``actions`` on ``object_types`` in ``object_key`` order."""
    return (
        AuditEntry.objects.filter(action__in=list(actions), object_type__in=list(object_types))
        .annotate(id_length=Length("object_id"))
        .order_by("id_length", "object_id", "pk")
        .values("pk", "action", "object_type", "object_id", "data")
        .iterator(chunk_size=2000)
    )


def merge_by_key(
    left: Iterable[L],
    right: Iterable[R],
    *,
    left_key: Callable[[L], K],
    right_key: Callable[[R], K],
) -> Iterator[tuple[K, list[L], list[R]]]:
    """Join two streams sorted by their keys: yield (key, left items, right items) per key.

    Either list may be empty (the key occurs on one side only). Holds one key's items.
    """
    left_groups = _groups(left, left_key)
    right_groups = _groups(right, right_key)
    next_left = next(left_groups, None)
    next_right = next(right_groups, None)
    while next_left is not None or next_right is not None:
        if next_right is None or (next_left is not None and next_left[0] < next_right[0]):
            assert next_left is not None
            yield next_left[0], next_left[1], []
            next_left = next(left_groups, None)
        elif next_left is None or next_right[0] < next_left[0]:
            yield next_right[0], [], next_right[1]
            next_right = next(right_groups, None)
        else:
            yield next_left[0], next_left[1], next_right[1]
            next_left = next(left_groups, None)
            next_right = next(right_groups, None)


def _groups(items: Iterable[Any], key: Callable[[Any], Any]) -> Iterator[tuple[Any, list[Any]]]:
    current: Any = None
    group: list[Any] = []
    for item in items:
        item_key = key(item)
        if group and item_key != current:
            yield current, group
            group = []
        current = item_key
        group.append(item)
    if group:
        yield current, group


# --- finalized documents --------------------------------------------------------------------


def finalized_document_problems() -> Iterator[str]:
    """Compare finalized documents and their finalization entries, both ways.

    Each finalized document must have its entry, and its content must hash as recorded;
    each finalization entry must still have its finalized document (a deleted document
    is named by the number its entry recorded).
    """
    from faktura.invoicing.models import Kind

    kinds = list(Kind.values)
    entries = entries_by_object(actions=[f"{kind}.finalized" for kind in kinds], object_types=kinds)
    for _key, recorded, found in merge_by_key(
        entries,
        _finalized_documents(),
        left_key=lambda entry: object_key(entry["object_id"]),
        right_key=lambda document: object_key(document[0].pk),
    ):
        if not found:
            yield _document_gone(recorded[0])
            continue
        invoice, lines, taxes, allowances = found[0]
        name = f"{invoice.get_kind_display()} {invoice.number} (id {invoice.pk})"
        if not recorded:
            yield f"{name}: no finalization record in the audit log"
            continue
        if len(recorded) > 1:
            numbers = ", ".join(f"#{entry['pk']}" for entry in recorded)
            yield f"{name}: finalized more than once in the audit log (entries {numbers})"
        entry = recorded[0]
        actual = invoice.compute_content_hash(lines=lines, taxes=taxes, allowances=allowances)
        if actual != entry["data"].get("content_hash"):
            yield (
                f"{name}: content differs from its finalization record (altered after finalization)"
            )
        elif entry["data"].get("number") != invoice.number:
            yield (
                f"{name}: number differs from its finalization record "
                f"({entry['data'].get('number')})"
            )
        elif invoice.content_hash != actual:
            yield f"{name}: stored hash differs from its content"


def _finalized_documents() -> Iterator[tuple[Any, list[Any], list[Any], list[Any]]]:
    """Stream each finalized document with its lines, taxes and allowances, in id order.

    Four ordered queries joined here, instead of related queries per chunk of documents.
    """
    from faktura.invoicing.models import (
        FINALIZED_STATES,
        Invoice,
        InvoiceAllowance,
        InvoiceLine,
        InvoiceTax,
    )

    def parts(model: Any) -> Iterator[Any]:
        return (
            model.objects.filter(invoice__status__in=FINALIZED_STATES)
            .order_by("invoice_id", "pk")
            .iterator(chunk_size=5000)
        )

    documents = Invoice.objects.finalized().order_by("pk").iterator(chunk_size=2000)
    streams = [
        _grouped_by_invoice(parts(model)) for model in (InvoiceLine, InvoiceTax, InvoiceAllowance)
    ]
    pending: list[tuple[int, list[Any]] | None] = [next(stream, None) for stream in streams]
    for invoice in documents:
        found: list[list[Any]] = []
        for index, stream in enumerate(streams):
            # Parts of an invoice that is not in the stream (none: the same filter) are passed.
            while pending[index] is not None and pending[index][0] < invoice.pk:  # type: ignore[index]
                pending[index] = next(stream, None)
            current = pending[index]
            if current is not None and current[0] == invoice.pk:
                found.append(current[1])
                pending[index] = next(stream, None)
            else:
                found.append([])
        yield invoice, found[0], found[1], found[2]


def _grouped_by_invoice(parts: Iterator[Any]) -> Iterator[tuple[int, list[Any]]]:
    return _groups(parts, lambda part: part.invoice_id)


def _document_gone(entry: dict[str, Any]) -> str:
    """Describe a finalization entry whose document is not (or no longer) finalized."""
    from faktura.invoicing.models import Invoice, Kind

    label = Kind(entry["object_type"]).label if entry["object_type"] in Kind.values else "?"
    number = entry["data"].get("number")
    name = f"{label} {number} (id {entry['object_id']})"
    # Only for a record that shows a problem: one query each, never on a healthy system.
    object_id = str(entry["object_id"])
    status: list[str] = []
    if object_id.isdigit():
        status = list(Invoice.objects.filter(pk=int(object_id)).values_list("status", flat=True))
    if not status:
        return (
            f"{name}: finalized according to audit entry #{entry['pk']}, "
            "but the document is missing (deleted)"
        )
    return (
        f"{name}: finalized according to audit entry #{entry['pk']}, "
        f"but the document is not finalized (status {status[0]})"
    )


# --- number ranges --------------------------------------------------------------------------


def _invoice_numbers(kinds: tuple[str, ...]) -> Callable[[], Iterator[tuple[str, int | None]]]:
    def numbers() -> Iterator[tuple[str, int | None]]:
        from faktura.invoicing.models import Invoice

        rows = (
            Invoice.objects.filter(kind__in=kinds, number__isnull=False)
            .values_list("number", "issue_date")
            .iterator(chunk_size=5000)
        )
        for number, issue_date in rows:
            yield str(number), issue_date.year if issue_date else None

    return numbers


# Range kind → the numbers that were taken from it, each with the year it was taken in
# (the document's issue date). Gapless ranges only (§ 14 (4) no. 4 UStG); customer numbers
# may have gaps. Apps with further numbered documents register here.
NUMBERED_DOCUMENTS: dict[str, Callable[[], Iterator[tuple[str, int | None]]]] = {
    NumberRange.Kind.INVOICE: _invoice_numbers(("invoice",)),
    NumberRange.Kind.CREDIT_NOTE: _invoice_numbers(("credit_note", "cancellation")),
}


def number_range_problems() -> Iterator[str]:
    """Check that every number of each document range up to its counter exists, once.

    One pass over the numbered documents of a range, with one bit per number taken: a
    missing number is a deleted document (§ 14 (4) no. 4 UStG: consecutive numbers).
    Numbers made under an earlier pattern of the range cannot be placed; they are counted,
    so that a period with as many documents as numbers taken passes.
    """
    for number_range in NumberRange.objects.filter(kind__in=list(NUMBERED_DOCUMENTS)).order_by(
        "kind"
    ):
        counters = dict(
            NumberCounter.objects.filter(number_range=number_range).values_list(
                "period", "last_value"
            )
        )
        seen = {period: bytearray(last + 1) for period, last in counters.items()}
        unplaced = dict.fromkeys(counters, 0)
        parse = _number_parser(number_range.pattern)
        label = number_range.get_kind_display()
        for number, year in NUMBERED_DOCUMENTS[number_range.kind]():
            period = (year or 0) if number_range.yearly_reset else 0
            seq = parse(number)
            if seq is not None and year is not None:
                try:
                    if number_range.format(year=year, seq=seq) != number:
                        seq = None
                except (KeyError, ValueError, IndexError):
                    seq = None
            if period not in counters:
                yield f"number range {label}: {number} was never taken (no counter for {period})"
                continue
            if seq is None:
                unplaced[period] += 1
            elif seq > counters[period]:
                yield (
                    f"number range {label}: {number} is beyond its counter "
                    f"({counters[period]} taken in {period or 'total'})"
                )
            elif seen[period][seq]:
                yield f"number range {label}: {number} is used more than once"
            else:
                seen[period][seq] = 1
        for period, last in sorted(counters.items()):
            yield from _gaps(number_range, label, period, last, seen[period], unplaced[period])


def _gaps(
    number_range: NumberRange, label: str, period: int, last: int, seen: bytearray, unplaced: int
) -> Iterator[str]:
    missing = last - seen.count(1)  # seen[0] is never set
    if missing <= unplaced:
        # Every number is there; numbers made under an earlier pattern fill the gaps.
        return
    where = f"in {period}" if period else "in total"
    if unplaced or (not period and "{year" in number_range.pattern):
        # Numbers that cannot be named: made under an earlier pattern, or with a year that
        # the counter does not know.
        yield (
            f"number range {label}: {missing - unplaced} of the {last} numbers taken {where} "
            "are missing (deleted documents)"
        )
        return
    absent = (seq for seq in range(1, last + 1) if not seen[seq])
    names: list[str] = []
    for seq in absent:
        if len(names) == NAMED_GAPS:
            break
        names.append(number_range.format(year=period, seq=seq))
    rest = missing - len(names)
    more = f" and {rest} more" if rest else ""
    yield (
        f"number range {label}: {', '.join(names)}{more} missing: the counter says {last} "
        f"numbers were taken {where} (deleted documents)"
    )


def _number_parser(pattern: str) -> Callable[[str], int | None]:
    """Return a function that reads the sequence number out of a number of ``pattern``."""
    parts = []
    has_seq = False
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError:
        return lambda number: None
    for literal, field, _spec, _conversion in parsed:
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field == "seq":
            parts.append(r"(?P=seq)" if has_seq else r"(?P<seq>\d+)")
            has_seq = True
        else:
            parts.append(r".+?")
    if not has_seq:
        return lambda number: None
    regex = re.compile("".join(parts))

    def parse(number: str) -> int | None:
        match = regex.fullmatch(number)
        return int(match.group("seq")) if match else None

    return parse
