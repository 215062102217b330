"""Mails to a customer that deliver no document (notices, failed payments): one message.

The greeting, closing, signature and legal footer are those of the document mails, so
every mail of the company looks alike. The message is queued by the caller, inside the
transaction that decided to send it (``services.queue_messages_locked``).
"""

from __future__ import annotations

from email.utils import formataddr
from typing import Any

from django.conf import settings

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.models import Company
from faktura.customers.models import Customer
from faktura.documents.models import Letterhead
from faktura.documents.pdf import texts
from faktura.documents.snapshot import PartySnapshot
from faktura.invoicing.parties import buyer_data, seller_data
from faktura.notifications import mail
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage

_PARTY_FIELDS = set(PartySnapshot.__dataclass_fields__)


def party(data: dict[str, Any]) -> PartySnapshot:
    return PartySnapshot(**{k: v for k, v in data.items() if k in _PARTY_FIELDS and v is not None})


def language_of(customer: Customer) -> str:
    return "en" if customer.language == "en" else "de"


def base_context(customer: Customer) -> dict[str, Any]:
    """What every customer mail template needs: language, greeting, closing, seller, footer,
    the customer's name."""
    lang = language_of(customer)
    seller = party(seller_data(Company.get()))
    letterhead = Letterhead.current()
    return {
        "lang": lang,
        "accent": letterhead.accent_colour if letterhead else mail.DEFAULT_ACCENT,
        "greeting": texts.party_salutation(party(buyer_data(customer)), lang),
        "closing": texts.TEXT[lang]["closing"],
        "seller": seller,
        "footer": mail.seller_footer_lines(seller, lang),
        "customer_name": customer.name,
        "number": "",
    }


def message(
    customer: Customer, event: str, ctx: dict[str, Any], *, actor: Actor
) -> OutboxMessage | None:
    """The rendered, unsaved message of ``event`` to the customer; None without an address."""
    to, cc = outbox.customer_recipients(customer)
    if not to:
        return None
    return outbox_message(mail.render(event, ctx), seller=ctx["seller"], to=to, cc=cc, actor=actor)


def outbox_message(
    composed: mail.ComposedMail,
    *,
    seller: PartySnapshot,
    to: list[str],
    cc: list[str],
    actor: Actor,
) -> OutboxMessage:
    """A composed mail as the unsaved, queued outbox message from the company."""
    return OutboxMessage(
        event=composed.event,
        from_email=formataddr((seller.name, settings.DEFAULT_FROM_EMAIL)),
        reply_to=[seller.email] if seller.email else [],
        to=to,
        cc=cc,
        subject=composed.subject,
        language=composed.language,
        body_text=composed.text,
        body_html=composed.html,
        attachments=[],
        state=OutboxMessage.State.QUEUED,
        created_by=actor.label,
        created_at=clock.now(),
    )
