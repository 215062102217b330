"""Notices to staff: to-do entries and one digest mail per recipient and run.

The business's own people hear of dunning, not the customer: when the run takes an
invoice up for the first time (it became overdue: the same moment ``invoice.overdue`` goes
to the webhooks) and when a notice reaches a level (sent or proposed), a ``ToDoEntry`` is
written in the chunk's transaction, in bulk (COPY), once each: the database refuses a
second entry per invoice (overdue) and per notice (level), so a run repeated for a date
writes nothing new.

The mails follow at the end of the run (``send_digests``): every entry not told yet (after
the last ``StaffDigest``) goes into one mail per recipient, the customer's account manager
(their user's e-mail) and the customer-service address of ``NoticeSettings``, in the staff
language of the settings. A
run that makes 100,000 entries sends one mail per account manager plus one, each listing
the first ``DIGEST_LINES`` customers with the total; the rest is on the to-do list. An
entry with nobody to tell counts as told. A run that dies before its digest leaves the
entries untold; the next run's digest includes them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Count, Max, Sum
from django.template.loader import render_to_string
from django.utils import translation

from faktura.core import audit, bulk, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.money import ZERO
from faktura.customers.models import Customer
from faktura.documents.pdf import texts
from faktura.dunning.models import (
    DunningCase,
    DunningNotice,
    DunningNoticeItem,
    DunningRun,
    NoticeSettings,
    StaffDigest,
    ToDoEntry,
)
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage

# Customers listed in one digest mail; the rest is counted and waits on the to-do list.
DIGEST_LINES = 50

# The columns ``record_entries`` writes, in its rows' order.
_COLUMNS = (
    "kind",
    "customer_id",
    "invoice_id",
    "notice_id",
    "level",
    "level_name",
    "invoice_numbers",
    "amount",
    "due_date",
    "date",
    "created_at",
    "done_by",
)


def record_entries(
    notices: list[DunningNotice],
    items_of: list[list[DunningNoticeItem]],
    new_cases: Iterable[DunningCase],
    *,
    on: dt.date,
) -> int:
    """Write the to-do entries of a chunk's new notices and newly overdue invoices (inside
    the chunk's transaction; the notices are saved). Returns the number written."""
    now = clock.now()
    items = {item.invoice_id: item for rows in items_of for item in rows}
    rows: list[tuple[Any, ...]] = []
    cases = list(new_cases)
    # A cancelled payment reminder takes its invoices' cases with it: taken up again, the
    # invoice is not newly overdue, and its entry exists.
    known = (
        set(
            ToDoEntry.objects.filter(
                bulk.column_in(ToDoEntry, "invoice", [case.invoice_id for case in cases]),
                kind=ToDoEntry.Kind.OVERDUE,
            ).values_list("invoice_id", flat=True)
        )
        if cases
        else set()
    )
    for case in cases:
        if case.invoice_id in known:
            continue
        item = items[case.invoice_id]
        rows.append(
            (
                ToDoEntry.Kind.OVERDUE.value,
                case.customer_id,
                case.invoice_id,
                None,
                case.level,
                "",
                [item.number],
                item.open_amount,
                item.due_date,
                on,
                now,
                "",
            )
        )
    for notice, notice_items in zip(notices, items_of, strict=True):
        rows.append(
            (
                ToDoEntry.Kind.LEVEL.value,
                notice.customer_id,
                notice.invoice_id,
                notice.pk,
                notice.level,
                notice.level_name,
                [item.number for item in notice_items],
                notice.total,
                min((item.due_date for item in notice_items), default=None),
                on,
                now,
                "",
            )
        )
    hold_for_entries()
    _insert(rows)
    return len(rows)


def _insert(rows: list[tuple[Any, ...]]) -> None:
    """Insert plain rows: by COPY on PostgreSQL, without a model instance per row (the run
    writes up to 150,000 entries: model objects would cost it seconds); else bulk_create."""
    if not rows:
        return
    connection = connections[router.db_for_write(ToDoEntry)]
    if connection.vendor != "postgresql":
        ToDoEntry.objects.bulk_create(
            [ToDoEntry(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]
        )
        return
    quote = connection.ops.quote_name
    meta = ToDoEntry._meta
    # Each name is its field's column (``attname``: customer_id, not customer).
    columns = ", ".join(quote(name) for name in _COLUMNS)
    numbers = _COLUMNS.index("invoice_numbers")
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = list(row)
            values[numbers] = json.dumps(values[numbers])
            copy.write_row(values)


# --- the digest mails --------------------------------------------------------------------


@dataclass
class _Digest:
    address: str
    customers: int = 0
    overdue: int = 0
    levels: int = 0
    amount: Decimal = ZERO
    listed: list[int] = field(default_factory=list)  # the first DIGEST_LINES customer ids


def send_digests(*, run: DunningRun | None, actor: Actor) -> dict[str, int]:
    """Queue one digest mail per recipient for every entry not told yet.

    The entries not told yet are those after the last digest's ``last_entry``. The digest
    takes the exclusive side of the lock whose shared side every chunk that writes entries
    holds until it commits (``hold_for_entries``): when it has the lock, no entry is in
    flight, so no entry with a lower id can appear later, and two digests never tell one
    entry twice (``StaffDigest.last_entry`` is unique, too). The entries are read by
    aggregate and the lines of the listed customers only: the work stays bounded however
    many entries the run made. Returns the counts of entries and mails.
    """
    config = NoticeSettings.load()
    lang = config.staff_language if config.staff_language in ("de", "en") else "de"
    service = config.service_email.strip()
    with transaction.atomic():
        _lock(shared=False)
        told = StaffDigest.objects.aggregate(last=Max("last_entry"))["last"] or 0
        entries = ToDoEntry.objects.filter(pk__gt=told)
        last = entries.aggregate(last=Max("pk"))["last"]
        if last is None:
            return {"entries": 0, "mails": 0}
        entries = entries.filter(pk__lte=last)
        digests: dict[str, _Digest] = {}

        def digest_of(address: str) -> _Digest:
            found = digests.get(address.lower())
            if found is None:
                found = digests[address.lower()] = _Digest(address)
            return found

        # Who looks after which customer, in customer order: the customers to list.
        for customer_id, manager in (
            entries.order_by("customer_id")
            .values_list("customer_id", "customer__account_manager__email")
            .distinct()
        ):
            for address in dict.fromkeys(a for a in ((manager or "").strip(), service) if a):
                digest = digest_of(address)
                digest.customers += 1
                if len(digest.listed) < DIGEST_LINES:
                    digest.listed.append(customer_id)
        count = 0
        for total in (
            entries.order_by()
            .values("customer__account_manager__email", "kind")
            .annotate(count=Count("pk"), amount=Sum("amount"))
        ):
            count += total["count"]
            manager = (total["customer__account_manager__email"] or "").strip()
            for address in dict.fromkeys(a for a in (manager, service) if a):
                _count(digest_of(address), total)
        listed = {pk for digest in digests.values() for pk in digest.listed}
        lines: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        names: dict[int, tuple[str, str]] = {}
        for row in (
            entries.filter(customer_id__in=listed)
            .order_by("customer_id", "kind", "pk")
            .values(
                "customer_id",
                "customer__name",
                "customer__number",
                "kind",
                "invoice_numbers",
                "level",
                "level_name",
                "amount",
                "due_date",
                "notice__status",
            )
        ):
            lines[row["customer_id"]].append(row)
            names[row["customer_id"]] = (row["customer__name"], row["customer__number"] or "")
        company = Company.objects.order_by("pk").first()
        sender = company.legal_name if company else ""
        on = run.run_date if run is not None else clock.today()
        messages = [
            _message(d, lines, names, lang=lang, on=on, sender=sender, actor=actor)
            for d in digests.values()
        ]
        outbox.queue_messages_locked(messages)
        # Entries with nobody to tell are told, too: a service address set later gets no
        # backlog.
        StaffDigest.objects.create(
            run=run, last_entry=last, entries=count, mails=len(messages), created_at=clock.now()
        )
    return {"entries": count, "mails": len(messages)}


# Namespace and key of the advisory lock between writing entries and telling them.
_LOCK = (0x46414E, 0)


def hold_for_entries() -> None:
    """Inside a transaction that writes entries: hold the lock's shared side until commit."""
    _lock(shared=True)


def _lock(*, shared: bool) -> None:
    """PostgreSQL: the transaction-scoped advisory lock. SQLite needs none: its writers take
    turns, so an entry with a lower id never commits after one with a higher id is read."""
    connection = connections[router.db_for_write(ToDoEntry)]
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", list(_LOCK))


def _count(digest: _Digest, total: Mapping[str, Any]) -> None:
    if total["kind"] == ToDoEntry.Kind.OVERDUE:
        digest.overdue += total["count"]
        digest.amount += total["amount"] or ZERO
    else:
        digest.levels += total["count"]


def _customer(
    customer_id: int,
    lines: Mapping[int, list[Mapping[str, Any]]],
    names: Mapping[int, tuple[str, str]],
    lang: str,
) -> dict[str, Any]:
    """What the template prints of one listed customer."""
    overdue: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    for row in lines.get(customer_id, []):
        line = {
            "invoices": ", ".join(row["invoice_numbers"]),
            "amount": _plain(texts.money(row["amount"], "EUR", lang)),
            "due_date": texts.date(row["due_date"], lang) if row["due_date"] else "",
            "level": row["level"],
            "level_name": row["level_name"],
            # proposed (waiting for review), sent, or approved without a mail (by post)
            "state": row["notice__status"] or "",
        }
        (overdue if row["kind"] == ToDoEntry.Kind.OVERDUE else levels).append(line)
    name, number = names.get(customer_id, ("", ""))
    return {"name": name, "number": number, "overdue": overdue, "levels": levels}


def _plain(value: str) -> str:
    return value.replace(texts.NBSP, " ")


def _message(
    digest: _Digest,
    lines: Mapping[int, list[Mapping[str, Any]]],
    names: Mapping[int, tuple[str, str]],
    *,
    lang: str,
    on: dt.date,
    sender: str,
    actor: Actor,
) -> OutboxMessage:
    """The plain-text digest (an internal mail: no HTML part, no letterhead)."""
    ctx = {
        "company": sender,
        "date": texts.date(on, lang),
        "customers": [_customer(pk, lines, names, lang) for pk in digest.listed],
        "more_customers": max(0, digest.customers - len(digest.listed)),
        "customer_count": digest.customers,
        "overdue": digest.overdue,
        "levels": digest.levels,
        "amount": _plain(texts.money(digest.amount, "EUR", lang)),
    }
    base = f"notifications/mail/{lang}/{OutboxMessage.Event.STAFF_DIGEST.value}"
    with translation.override(lang):
        subject = render_to_string(f"{base}.subject.txt", ctx)
        text = render_to_string(f"{base}.txt", ctx)
    return OutboxMessage(
        event=OutboxMessage.Event.STAFF_DIGEST,
        from_email=formataddr((sender, settings.DEFAULT_FROM_EMAIL)),
        reply_to=[],
        to=[digest.address],
        cc=[],
        subject=" ".join(subject.split()),  # one line: no header injection
        language=lang,
        body_text=text.strip() + "\n",
        body_html="",
        attachments=[],
        state=OutboxMessage.State.QUEUED,
        created_by=actor.label,
        created_at=clock.now(),
    )


# --- working the list --------------------------------------------------------------------


def mark_done(*, entry_id: int, actor: Actor) -> ToDoEntry:
    """Mark a to-do entry done (who and when; audited on the customer's chain)."""
    permissions.require(actor, "todo.done")
    with transaction.atomic():
        customer_id = (
            ToDoEntry.objects.filter(pk=entry_id).values_list("customer_id", flat=True).first()
        )
        if customer_id is None:
            raise NotFound(f"No to-do entry {entry_id}.", code="todo_entry_not_found")
        Customer.objects.select_for_update().get(pk=customer_id)
        entry = ToDoEntry.objects.select_for_update().get(pk=entry_id)
        if entry.done_at is not None:
            raise StateConflict(
                f"To-do entry {entry_id} was done on {entry.done_at:%Y-%m-%d} by {entry.done_by}.",
                code="todo_entry_done",
            )
        entry.done_at = clock.now()
        entry.done_by = actor.label
        entry.save(update_fields=["done_at", "done_by"])
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="todo.done",
            object_type="todo_entry",
            object_id=entry.pk,
            data={
                "kind": entry.kind,
                "level": entry.level,
                "invoices": entry.invoice_numbers,
            },
        )
    return entry
