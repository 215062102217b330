"""After a returned direct debit: announce a new attempt, or stop, and tell the customer.

A debit returned for insufficient funds (AM04) or without a reason (MS03) is collected
again at most ``DebitAnnouncement.MAX_RECOLLECTIONS`` times. Each new attempt is announced
first (a new pre-notification, with the configured pre-notification days, on a TARGET2
business day) and never collected earlier. Other returns are not collected again
automatically. Every return is mailed to the customer: why, the bank's fee, what follows.
Runs inside the transaction that records the return (customer locked).
"""

from __future__ import annotations

import datetime as dt

from faktura.collection.calendar import on_or_after
from faktura.collection.models import DebitAnnouncement, DirectDebitItem, Mandate
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.customers.models import Customer
from faktura.documents.pdf import texts
from faktura.invoicing.models import Invoice
from faktura.notifications import customer_mail
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage
from faktura.payments.models import PaymentSettings, ReturnEvent

# What the customer is told of the bank's reason (ISO 20022 return reason codes).
REASONS = {
    "de": {
        "AM04": "Ihr Konto war nicht ausreichend gedeckt",
        "MS03": "die Bank hat keinen Grund genannt",
        "MS02": "Sie haben der Lastschrift widersprochen",
        "MD06": "Sie haben die Erstattung der Lastschrift verlangt",
        "AC01": "die IBAN ist nicht gültig",
        "AC04": "das Konto ist aufgelöst",
        "AC06": "das Konto ist gesperrt",
        "AG01": "für dieses Konto sind Lastschriften nicht erlaubt",
        "MD01": "der Bank liegt kein Mandat vor",
        "MD07": "der Kontoinhaber ist verstorben",
    },
    "en": {
        "AM04": "your account did not hold enough funds",
        "MS03": "the bank gave no reason",
        "MS02": "you objected to the debit",
        "MD06": "you asked for the debit to be refunded",
        "AC01": "the IBAN is not valid",
        "AC04": "the account is closed",
        "AC06": "the account is blocked",
        "AG01": "direct debits are not allowed on this account",
        "MD01": "the bank holds no mandate",
        "MD07": "the account holder has died",
    },
}


def plan_recollection(
    *, item: DirectDebitItem, event: ReturnEvent, today: dt.date | None = None
) -> dt.date | None:
    """Announce the next attempt of a returned debit, or None when none may follow.

    Only for returns whose reason allows it (``ReturnEvent.Consequence.RETRY``), at most
    ``MAX_RECOLLECTIONS`` times per invoice.
    """
    if event.consequence != ReturnEvent.Consequence.RETRY:
        return None
    earlier = (
        DirectDebitItem.objects.filter(
            invoice_id=item.invoice_id,
            state=DirectDebitItem.State.RETURNED,
            return_event__consequence=ReturnEvent.Consequence.RETRY,
        )
        .exclude(pk=item.pk)
        .count()
    )
    if earlier >= DebitAnnouncement.MAX_RECOLLECTIONS:
        return None
    today = today or clock.today()
    days = PaymentSettings.load().pre_notification_days
    debit_date = on_or_after(today + dt.timedelta(days=days))
    DebitAnnouncement.objects.create(
        invoice_id=item.invoice_id,
        debit_date=debit_date,
        return_event=event,
        announced_at=clock.now(),
    )
    return debit_date


def notify_return(
    *,
    event: ReturnEvent,
    invoice: Invoice,
    mandate: Mandate | None,
    next_debit: dt.date | None,
    actor: Actor,
) -> OutboxMessage | None:
    """Queue the mail that tells the customer of the returned debit (None: no address)."""
    customer = Customer.objects.get(pk=event.customer_id)
    ctx = customer_mail.base_context(customer)
    lang = ctx["lang"]
    bank = (invoice.seller or {}).get("bank") or {}
    ctx |= {
        "document_title": "Rücklastschrift" if lang == "de" else "Returned direct debit",
        "number": invoice.number or "",
        "amount": _money(event.amount, lang),
        "fee": _money(event.fee_amount, lang) if event.fee_amount else "",
        "reason": REASONS[lang].get(event.reason_code, ""),
        "reason_code": event.reason_code,
        "next_debit": texts.date(next_debit, lang) if next_debit else "",
        "mandate_reference": mandate.reference if mandate else "",
        "creditor_id": (invoice.seller or {}).get("creditor_id", ""),
        "iban": bank.get("iban", ""),
        "account_holder": bank.get("account_holder", ""),
    }
    message = customer_mail.message(
        customer, OutboxMessage.Event.DIRECT_DEBIT_RETURNED, ctx, actor=actor
    )
    if message is not None:
        outbox.queue_messages_locked([message])
    return message


def _money(value: object, lang: str) -> str:
    return texts.money(value, "EUR", lang).replace(texts.NBSP, " ")  # type: ignore[arg-type]
