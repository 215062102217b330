"""Mail the customer's account statement (PDF) through the outbox."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from faktura.core import audit, permissions
from faktura.core.actors import Actor
from faktura.core.errors import NotFound, StateConflict
from faktura.core.money import ZERO, format_amount
from faktura.customers.models import Customer
from faktura.documents.pdf import texts
from faktura.notifications import customer_mail
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage
from faktura.payments.statement_pdf import _period, language_of, render_account_statement


def send_account_statement(
    *,
    customer_id: int,
    actor: Actor,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> OutboxMessage:
    """Queue a mail with the customer's account statement as PDF to the customer.

    The PDF is rendered before the transaction (no lock waits for Typst) and kept in the
    message, so the record shows exactly what was sent. The transaction locks the
    customer's account, queues the mail and audits ``account_statement.sent``.
    Raises PermissionRefused, NotFound, InvalidInput invalid_period, StateConflict
    customer_without_email.
    """
    permissions.require(actor, "account_statement.send")
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Kunde %(id)s existiert nicht.") % {"id": customer_id})
    if not outbox.customer_recipients(customer)[0]:
        raise StateConflict(
            _("Kunde %(number)s hat keine E-Mail-Adresse.") % {"number": customer.number},
            code="customer_without_email",
        )
    statement, filename, pdf = render_account_statement(
        customer_id, date_from=date_from, date_to=date_to
    )
    lang = language_of(customer)
    closing = statement.closing_balance
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        ctx = {
            **customer_mail.base_context(customer),
            "number": customer.number,
            "period": _period(statement, lang),
            "balance": texts.money(abs(closing), "EUR", lang).replace(texts.NBSP, " "),
            "owes": closing > ZERO,
            "credit": closing < ZERO,
            "attachments": [filename],
        }
        message = customer_mail.message(
            customer, OutboxMessage.Event.ACCOUNT_STATEMENT, ctx, actor=actor
        )
        if message is None:  # the address went away since the check above
            raise StateConflict(
                _("Kunde %(number)s hat keine E-Mail-Adresse.") % {"number": customer.number},
                code="customer_without_email",
            )
        message.attachments = [outbox.inline(filename, pdf, "application/pdf")]
        outbox.queue_messages_locked([message])
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="account_statement.sent",
            object_type="customer",
            object_id=customer.pk,
            data={
                "message": message.pk,
                "from": statement.date_from.isoformat() if statement.date_from else None,
                "to": statement.date_to.isoformat() if statement.date_to else None,
                "closing_balance": format_amount(closing),
                "filename": filename,
                "sha256": message.attachments[0]["sha256"],
                "size": len(pdf),
            },
        )
    return message
