"""Notices to staff: to-do entries and one digest mail per recipient and run.

The business's own people hear of dunning, not the customer: when the run takes an
invoice up for the first time (it became overdue: the same moment ``invoice.overdue`` goes
to the webhooks) and when a notice reaches a level (sent or proposed), a ``ToDoEntry`` is
written in the chunk's transaction, in bulk (COPY), once each: the database refuses a
second entry per invoice (overdue) and per notice (level), so a run repeated for a date
writes nothing new.

The mails follow at the end of the run (``send_digests``): every entry not told yet goes
into one mail per recipient, the customer's account manager (their user's e-mail) and the
customer-service address of ``NoticeSettings``, in the staff language of the settings. A
run that makes 100,000 entries sends one mail per account manager plus one, each listing
the first ``DIGEST_LINES`` customers with the total; the rest is on the to-do list. An
entry with nobody to tell counts as told. A run that dies before its digest leaves the
entries untold; the next run's digest includes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.db import transaction

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
    NoticeSettings,
    ToDoEntry,
)
from faktura.notifications import mail
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage

# Customers listed in one digest mail; the rest is counted and waits on the to-do list.
DIGEST_LINES = 200
# Entries marked as told per UPDATE.
MARK_BATCH = 5000


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
    entries: list[ToDoEntry] = []
    for case in new_cases:
        item = items[case.invoice_id]
        entries.append(
            ToDoEntry(
                kind=ToDoEntry.Kind.OVERDUE,
                customer_id=case.customer_id,
                invoice_id=case.invoice_id,
                level=case.level,
                invoice_numbers=[item.number],
                amount=item.open_amount,
                due_date=item.due_date,
                date=on,
                created_at=now,
            )
        )
    for notice, rows in zip(notices, items_of, strict=True):
        entries.append(
            ToDoEntry(
                kind=ToDoEntry.Kind.LEVEL,
                customer_id=notice.customer_id,
                invoice_id=notice.invoice_id,
                notice_id=notice.pk,
                level=notice.level,
                level_name=notice.level_name,
                invoice_numbers=[item.number for item in rows],
                amount=notice.total,
                due_date=min((item.due_date for item in rows), default=None),
                date=on,
                created_at=now,
            )
        )
    bulk.insert(entries)
    return len(entries)


# --- the digest mails --------------------------------------------------------------------


@dataclass
class _Customer:
    name: str
    number: str
    rows: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass
class _Digest:
    address: str
    customers: dict[int, _Customer] = field(default_factory=dict)
    overdue: int = 0
    levels: int = 0
    amount: Decimal = ZERO


def send_digests(*, actor: Actor, on: dt.date) -> dict[str, int]:
    """Queue one digest mail per recipient for every entry not told yet; mark them told.

    One transaction; the entries are locked (``SKIP LOCKED``), so two runs at once never
    tell an entry twice. Returns the counts of entries and mails.
    """
    config = NoticeSettings.load()
    lang = config.staff_language if config.staff_language in ("de", "en") else "de"
    service = config.service_email.strip()
    with transaction.atomic():
        rows = list(
            ToDoEntry.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(mailed_at__isnull=True)
            .order_by("customer_id", "kind", "pk")
            .values(
                "pk",
                "kind",
                "customer_id",
                "customer__name",
                "customer__number",
                "customer__account_manager__email",
                "invoice_numbers",
                "level",
                "level_name",
                "amount",
                "due_date",
                "date",
                "notice__status",
            )
        )
        if not rows:
            return {"entries": 0, "mails": 0}
        digests: dict[str, _Digest] = {}
        for row in rows:
            manager = (row["customer__account_manager__email"] or "").strip()
            for address in dict.fromkeys(a for a in (manager, service) if a):
                digest = digests.get(address.lower())
                if digest is None:
                    digest = digests[address.lower()] = _Digest(address)
                _add(digest, row)
        now = clock.now()
        messages = [_message(d, lang=lang, on=on, actor=actor, now=now) for d in digests.values()]
        outbox.queue_messages_locked(messages)
        ids = [row["pk"] for row in rows]
        for start in range(0, len(ids), MARK_BATCH):
            ToDoEntry.objects.filter(pk__in=ids[start : start + MARK_BATCH]).update(mailed_at=now)
    return {"entries": len(rows), "mails": len(messages)}


def _add(digest: _Digest, row: Mapping[str, Any]) -> None:
    customer = digest.customers.get(row["customer_id"])
    if customer is None:
        customer = digest.customers[row["customer_id"]] = _Customer(
            row["customer__name"], row["customer__number"] or ""
        )
    customer.rows.append(row)
    if row["kind"] == ToDoEntry.Kind.OVERDUE:
        digest.overdue += 1
        digest.amount += row["amount"]
    else:
        digest.levels += 1


def _lines(customer: _Customer, lang: str) -> dict[str, Any]:
    """What the template prints of one customer (only for the customers listed)."""
    overdue: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    for row in customer.rows:
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
    return {"name": customer.name, "number": customer.number, "overdue": overdue, "levels": levels}


def _plain(value: str) -> str:
    return value.replace(texts.NBSP, " ")


def _message(
    digest: _Digest, *, lang: str, on: dt.date, actor: Actor, now: dt.datetime
) -> OutboxMessage:
    company = Company.objects.order_by("pk").first()
    name = company.legal_name if company else ""
    customers = list(digest.customers.values())
    composed = mail.render(
        OutboxMessage.Event.STAFF_DIGEST,
        {
            "lang": lang,
            "accent": mail.DEFAULT_ACCENT,
            "company": name,
            "date": texts.date(on, lang),
            "customers": [_lines(c, lang) for c in customers[:DIGEST_LINES]],
            "more_customers": max(0, len(customers) - DIGEST_LINES),
            "customer_count": len(customers),
            "overdue": digest.overdue,
            "levels": digest.levels,
            "amount": _plain(texts.money(digest.amount, "EUR", lang)),
        },
    )
    return OutboxMessage(
        event=composed.event,
        from_email=formataddr((name, settings.DEFAULT_FROM_EMAIL)),
        reply_to=[],
        to=[digest.address],
        cc=[],
        subject=composed.subject,
        language=composed.language,
        body_text=composed.text,
        body_html=composed.html,
        attachments=[],
        state=OutboxMessage.State.QUEUED,
        created_by=actor.label,
        created_at=now,
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
