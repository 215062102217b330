"""Pre-due reminders: a transfer payer hears N days before an invoice falls due (optional).

Off unless ``NoticeSettings.pre_due_reminder_days`` is above 0. Only invoices paid by
transfer: a direct debit and a card or provider payment are collected without the
customer doing anything. One reminder per invoice ever: a ``PreDueReminder`` row (one per
invoice, the database refuses a second) and its outbox mail are written in one
transaction, so a crash leaves both or neither and a second run sends nothing.

Selected by a window, not an exact day: an invoice is reminded on any day from N days
before its due date up to the day before it, so a job that missed days (catch-up) still
reminds what is not yet due, and an invoice already due gets none (dunning takes over).
An invoice whose payment term is N days or shorter gets none either: the invoice mail
itself has just told the customer the due date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from faktura.core import clock, permissions
from faktura.core.actors import Actor
from faktura.core.models import Company
from faktura.customers.models import Customer
from faktura.documents.models import Letterhead
from faktura.documents.pdf import texts
from faktura.dunning.models import NoticeSettings, PreDueReminder
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.parties import buyer_data, seller_data
from faktura.invoicing.selectors import with_open_amounts
from faktura.notifications import customer_mail, mail, mail_texts
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage

TRANSFER = "transfer"
CHUNK_CUSTOMERS = 200


def _candidates(on: dt.date, days: int, customer_ids: list[int] | None = None) -> list[dict]:
    """Open transfer invoices in their reminder window on ``on`` without a reminder yet."""
    invoices = Invoice.objects.filter(
        status=Status.FINALIZED,
        kind=Kind.INVOICE,
        payment_method=TRANSFER,
        due_date__gt=on,
        due_date__lte=on + dt.timedelta(days=days),
        pre_due_reminder__isnull=True,
    )
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=customer_ids)
    rows = (
        with_open_amounts(invoices)
        .filter(open_amount__gt=0)
        .order_by("customer_id", "due_date", "pk")
        .values("pk", "customer_id", "number", "issue_date", "due_date", "open_amount", "seller")
    )
    return [
        row
        for row in rows
        if row["issue_date"] is not None
        and row["due_date"] - dt.timedelta(days=days) > row["issue_date"]
    ]


def send_pre_due_reminders(*, on: dt.date, actor: Actor) -> dict[str, int]:
    """Queue the reminder of every transfer invoice in its window on ``on``, once each.

    Returns the counts: ``sent``, and ``no_recipient`` (customers without an address; they
    still get it on a later day, while in time, once an address is added).
    """
    permissions.require(actor, "dunning.run")
    days = NoticeSettings.load().pre_due_reminder_days
    counts = {"sent": 0, "no_recipient": 0}
    if days <= 0:
        return counts
    customer_ids = sorted({row["customer_id"] for row in _candidates(on, days)})
    for start in range(0, len(customer_ids), CHUNK_CUSTOMERS):
        chunk = customer_ids[start : start + CHUNK_CUSTOMERS]
        with transaction.atomic():
            _send_chunk(chunk, on=on, days=days, actor=actor, counts=counts)
    return counts


def _send_chunk(
    customer_ids: list[int], *, on: dt.date, days: int, actor: Actor, counts: dict[str, int]
) -> None:
    """Lock the customers, re-read what is due under the lock, write reminders and mails."""
    customers = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk")
    }
    rows = _candidates(on, days, customer_ids)
    if not rows:
        return
    company = Company.get()
    seller = customer_mail.party(seller_data(company))
    letterhead = Letterhead.current()
    accent = letterhead.accent_colour if letterhead else mail.DEFAULT_ACCENT
    own_texts = mail_texts.saved_all()
    now = clock.now()
    reminders: list[PreDueReminder] = []
    messages: list[OutboxMessage] = []
    for row in rows:
        customer = customers[row["customer_id"]]
        to, cc = outbox.customer_recipients(customer)
        if not to:
            counts["no_recipient"] += 1
            continue
        composed = mail.render(
            OutboxMessage.Event.PAYMENT_DUE_SOON,
            _context(customer, row, seller, accent),
            own_texts=own_texts,
        )
        messages.append(
            customer_mail.outbox_message(composed, seller=seller, to=to, cc=cc, actor=actor)
        )
        reminders.append(
            PreDueReminder(
                invoice_id=row["pk"],
                customer_id=customer.pk,
                due_date=row["due_date"],
                sent_on=on,
                created_at=now,
                created_by=actor.label,
            )
        )
    outbox.queue_messages_locked(messages)
    for reminder, message in zip(reminders, messages, strict=True):
        reminder.message = message
    PreDueReminder.objects.bulk_create(reminders)
    counts["sent"] += len(reminders)


def _context(customer: Customer, row: dict[str, Any], seller: Any, accent: str) -> dict[str, Any]:
    lang = customer_mail.language_of(customer)
    bank = (row["seller"] or {}).get("bank") or {}
    return {
        "lang": lang,
        "accent": accent,
        "greeting": texts.party_salutation(customer_mail.party(buyer_data(customer)), lang),
        "closing": texts.TEXT[lang]["closing"],
        "seller": seller,
        "footer": mail.seller_footer_lines(seller, lang),
        "customer_name": customer.name,
        "document_title": texts.TEXT[lang]["invoice"],
        "number": row["number"],
        "issue_date": texts.date(row["issue_date"], lang),
        "due_date": texts.date(row["due_date"], lang),
        "amount": texts.money(row["open_amount"], "EUR", lang).replace(texts.NBSP, " "),
        "payment": TRANSFER,
        "account_holder": bank.get("account_holder") or seller.name,
        "iban": texts.format_iban(bank.get("iban", "")) if bank.get("iban") else "",
        "bic": bank.get("bic", ""),
        "bank_name": bank.get("bank_name", ""),
        "reference": row["number"],
    }
