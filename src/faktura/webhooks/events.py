"""The event types Faktura sends to webhook endpoints (docs/webhooks.md lists them).

Another app registers its own with ``register`` at import time; ``emit`` refuses a type
that is not registered (a programming error, not a user's).
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "invoice.finalized": "A document (invoice, credit note, cancellation) was finalized",
    "invoice.paid": "An invoice's open amount reached 0 through a payment or credit",
    "invoice.overdue": "An invoice passed its due date unpaid",
    "payment.received": "Money was received (bank statement, provider, direct debit, by hand)",
    "payment.returned": "A direct debit came back or a card payment was charged back",
    "dunning.notice_sent": "A payment reminder or dunning notice was sent",
    "customer.access_changed": "A customer's access status changed (active, restricted, blocked)",
    "subscription.created": "A subscription was created",
    "subscription.updated": "A subscription's plan or quantity changed (now or scheduled)",
    "subscription.cancelled": "A subscription was cancelled or terminated (it ends on ends_on)",
    "subscription.ended": "A subscription ended",
}


def register(event_type: str, description: str) -> None:
    EVENT_TYPES.setdefault(event_type, description)
