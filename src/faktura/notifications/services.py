"""Queue and send the e-mails that deliver finalized documents.

Queueing is one short transaction: it locks the customer's account and the document,
composes the whole message, records it in the audit log and enqueues the send task, so the
message exists exactly when the decision to send it was committed. Sending runs after the
commit: it claims the row, talks SMTP outside any transaction, then records the outcome.
A failed attempt changes nothing about the document; it is retried after 1 min, 5 min,
30 min, 2 h and 12 h, and after the sixth failed attempt the message and the document's
delivery status are "failed" for staff to see.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import smtplib
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from faktura.core import audit, bulk, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import NotFound, StateConflict
from faktura.customers.models import Customer
from faktura.documents.archive import ArchiveDamaged, DocumentNotArchived, read_archived
from faktura.documents.models import ArchivedDocument, Letterhead
from faktura.documents.snapshot import DocumentSnapshot
from faktura.invoicing.models import Invoice
from faktura.notifications import mail
from faktura.notifications.models import BACKOFF_MINUTES, MAX_ATTEMPTS, OutboxMessage
from faktura.workers.lease import current_worker_id

logger = logging.getLogger(__name__)

State = OutboxMessage.State
SYSTEM_ACTOR = Actor.system("mail")
# A message claimed longer ago than this was lost with its worker and is sent again.
STALE_CLAIM = dt.timedelta(minutes=15)
# What a failed SMTP conversation raises: smtplib's errors, refused or dropped connections,
# timeouts, DNS failures (all OSError).
DELIVERY_ERRORS = (smtplib.SMTPException, OSError)


def lock_document(invoice_id: int) -> Invoice:
    """Lock the customer's account, then the document (the lock order of all services)."""
    customer = (
        Customer.objects.select_for_update().filter(invoices__id=invoice_id).order_by().first()
    )
    if customer is None:
        raise NotFound(f"Invoice {invoice_id} does not exist.", code="invoice_not_found")
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    invoice.customer = customer
    return invoice


def _recipients(invoice: Invoice) -> tuple[list[str], list[str]]:
    return customer_recipients(invoice.customer, fallback=invoice.buyer.get("email", ""))


def customer_recipients(customer: Customer, *, fallback: str = "") -> tuple[list[str], list[str]]:
    """The customer's address (or ``fallback``) and the addresses that get a copy."""
    to = [customer.email or fallback]
    cc = [
        address.strip()
        for address in (customer.additional_emails or "").replace(";", ",").split(",")
        if address.strip() and address.strip() not in to
    ]
    return [address for address in to if address], cc


def queue_document_mail(
    *,
    invoice_id: int,
    actor: Actor,
    resend: bool = False,
    snapshot: DocumentSnapshot | None = None,
) -> OutboxMessage:
    """Queue the mail that delivers an archived document; enqueue its sending.

    Idempotent for the first mail: without ``resend`` an existing first message is returned
    unchanged. ``resend=True`` always queues a new message with the archived file.
    ``snapshot`` spares rebuilding it when the caller has it.
    Raises NotFound, StateConflict (not finalized; ``no_recipient``) and
    DocumentNotArchived (not rendered yet, or blocked by validation).
    """
    from faktura.documents.pipeline import kinds_for

    permissions.require(actor, "invoice.send")
    with transaction.atomic():
        invoice = lock_document(invoice_id)
        if not invoice.is_finalized:
            raise StateConflict(
                f"{invoice} is not finalized; only finalized documents are sent.",
                code="invoice_not_finalized",
            )
        if not resend:
            existing = OutboxMessage.objects.filter(invoice=invoice, is_resend=False).first()
            if existing is not None:
                return existing
        # XRechnung is delivered as the XML itself; everything else as the PDF/A-3 with the
        # embedded Factur-X XML.
        kind = kinds_for(invoice)[0]
        document = ArchivedDocument.objects.filter(invoice=invoice, kind=kind).first()
        if document is None:
            reason = f": {invoice.delivery_error}" if invoice.delivery_status == "blocked" else ""
            raise DocumentNotArchived(
                f"{invoice} has no archived {kind.upper()} to send yet{reason}"
            )
        letterhead = Letterhead.current()
        message, entry = queue_locked(
            invoice,
            actor=actor,
            resend=resend,
            document=document,
            snapshot=snapshot,
            accent=letterhead.accent_colour if letterhead else mail.DEFAULT_ACCENT,
        )
        if entry is not None:
            audit.record_many(actor=actor, entries=[entry])
    return message


def queue_locked(
    invoice: Invoice,
    *,
    actor: Actor,
    resend: bool,
    document: ArchivedDocument,
    snapshot: DocumentSnapshot | None = None,
    accent: str = mail.DEFAULT_ACCENT,
    composed: mail.ComposedMail | None = None,
) -> tuple[OutboxMessage, audit.PendingEntry | None]:
    """Compose and queue the mail inside the caller's transaction (customer and document
    locked, ``document`` archived); return it and the audit entry the caller records.

    Without ``resend`` an existing first message is returned with no entry. ``composed``
    is the mail composed beforehand, outside the locks, for ``document.filename``.
    """
    from faktura.customers.portal import document_link
    from faktura.documents.pipeline import snapshot_of
    from faktura.notifications.tasks import send_outbox_message

    assert transaction.get_connection().in_atomic_block, "queue_locked needs a transaction"
    if not resend:
        existing = OutboxMessage.objects.filter(invoice=invoice, is_resend=False).first()
        if existing is not None:
            return existing, None
    if not _recipients(invoice)[0]:
        raise StateConflict(f"{invoice.customer} has no e-mail address.", code="no_recipient")
    if composed is None:
        composed = mail.compose(
            snapshot or snapshot_of(invoice),
            attachments=[document.filename],
            accent=accent,
            portal_url=document_link(customer_id=invoice.customer_id, invoice_id=invoice.pk),
        )
    message = new_message(invoice, actor=actor, resend=resend, document=document, composed=composed)
    message.save()
    invoice.delivery_status = "queued"
    invoice.delivery_error = ""
    invoice.save(update_fields=["delivery_status", "delivery_error", "updated_at"])
    send_outbox_message.enqueue(message.pk)
    return message, queued_entry(invoice, message, document)


def has_recipient(invoice: Invoice) -> bool:
    """Whether the document has an address to go to (``invoice.customer`` loaded)."""
    return bool(_recipients(invoice)[0])


def new_message(
    invoice: Invoice,
    *,
    actor: Actor,
    resend: bool,
    document: ArchivedDocument,
    composed: mail.ComposedMail,
) -> OutboxMessage:
    """The unsaved outbox message that delivers ``document`` (``invoice.customer`` loaded,
    locked by the caller; the recipients are the customer's addresses at this moment)."""
    to, cc = _recipients(invoice)
    if not to:
        raise StateConflict(f"{invoice.customer} has no e-mail address.", code="no_recipient")
    seller = invoice.seller
    return OutboxMessage(
        invoice=invoice,
        event=composed.event,
        is_resend=resend,
        from_email=formataddr((seller.get("name", ""), settings.DEFAULT_FROM_EMAIL)),
        reply_to=[seller["email"]] if seller.get("email") else [],
        to=to,
        cc=cc,
        subject=composed.subject,
        language=composed.language,
        body_text=composed.text,
        body_html=composed.html,
        attachments=[document.pk],
        state=State.QUEUED,
        created_by=actor.label,
        created_at=clock.now(),
    )


def queued_entry(
    invoice: Invoice, message: OutboxMessage, document: ArchivedDocument
) -> audit.PendingEntry:
    """The audit entry of a queued (saved) message."""
    return audit.PendingEntry(
        chain=audit.customer_chain(invoice.customer_id),
        action="document.resend_queued" if message.is_resend else "document.mail_queued",
        object_type=invoice.kind,
        object_id=invoice.pk,
        data={
            "number": invoice.number,
            "message": message.pk,
            "to": message.to,
            "cc": message.cc,
            "attachments": [document.filename],
            "sha256": document.sha256,
        },
    )


def queue_many_locked(messages: list[OutboxMessage]) -> None:
    """Insert the first messages of a chunk of documents and enqueue one send task for them.

    Runs inside the caller's transaction, which holds the customers' and the documents'
    locks and has checked that none of them has a first message yet (the unique constraint
    refuses a second one). Marks the documents "queued". Each message is still sent, and
    retried, on its own (``send_outbox_messages`` calls ``send_message`` per id).
    """
    from faktura.notifications.tasks import send_outbox_messages

    assert transaction.get_connection().in_atomic_block, "queue_many_locked needs a transaction"
    if not messages:
        return
    _insert_messages(messages)
    Invoice.objects.filter(pk__in=[m.invoice_id for m in messages]).update(
        delivery_status="queued", delivery_error="", updated_at=timezone.now()
    )
    send_outbox_messages.enqueue([m.pk for m in messages])


def queue_messages_locked(messages: list[OutboxMessage]) -> None:
    """Insert messages that deliver no document (notices to subscribers) and enqueue one
    send task for them, inside the caller's transaction: the messages exist exactly when
    what decided to send them is committed. Sent and retried like every other message."""
    from faktura.notifications.tasks import send_outbox_messages

    assert transaction.get_connection().in_atomic_block, "queue_messages_locked needs a transaction"
    if not messages:
        return
    assert all(message.invoice_id is None for message in messages), "no document mails here"
    _insert_messages(messages)
    send_outbox_messages.enqueue([m.pk for m in messages])


def _insert_messages(messages: list[OutboxMessage]) -> None:
    """Insert new messages and set their primary keys, as ``bulk_create`` does.

    On PostgreSQL ``bulk_create`` sends each column as one array (``UNNEST``), and psycopg
    (on Python 3.11) escapes every double quote inside array elements in Python code,
    about a microsecond each: 0.1 ms for one HTML body. Here the rows go by COPY with ids
    taken from the sequence first (``core.bulk.insert``): escaped by psycopg's C code, and
    about three times faster than one parameter per value (``VALUES (…), (…)``) for the
    dunning run's 50,000 mails. Like ``bulk_create``: no ``save()``, no signals.
    """
    assert all(message.pk is None for message in messages), "new messages only"
    bulk.insert(messages, with_ids=True)


def build_email(message: OutboxMessage) -> EmailMultiAlternatives:
    """The e-mail of ``message``, its attachments read (and hash-checked) from the archive."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=message.to,
        cc=message.cc,
        reply_to=message.reply_to,
        # One Message-ID per outbox message: a mail sent twice after a lost worker is
        # recognisable as the same mail.
        headers={
            "Message-ID": f"<faktura-outbox-{message.pk}@{domain}>",
            "Content-Language": message.language,
        },
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    from faktura.dunning.letter import attachment as dunning_letter

    documents = ArchivedDocument.objects.select_related("invoice").filter(
        pk__in=[pk for pk in message.attachments if isinstance(pk, int)]
    )
    by_pk = {document.pk: document for document in documents}
    for reference in message.attachments:
        # Archived documents by pk; a dunning letter as "dunning_letter:<pk>"; a file kept
        # in the message itself as a dict.
        if isinstance(reference, dict):
            email.attach(*inline_attachment(reference))
            continue
        letter = dunning_letter(reference)
        if letter is not None:
            email.attach(*letter)
        elif reference in by_pk:
            document = by_pk[reference]
            email.attach(document.filename, read_archived(document), document.content_type)
    return email


def inline_attachment(data: dict[str, Any]) -> tuple[str, bytes, str]:
    """A file kept in the message (not archived): name, bytes checked against its SHA-256,
    MIME type."""
    content = base64.b64decode(data["content_base64"])
    if hashlib.sha256(content).hexdigest() != data["sha256"]:
        raise ArchiveDamaged(
            f"Attachment {data['filename']}: the stored file was altered (SHA-256 mismatch).",
            code="archived_file_altered",
        )
    return str(data["filename"]), content, str(data["content_type"])


def inline(filename: str, content: bytes, content_type: str) -> dict[str, Any]:
    """The attachment entry that keeps ``content`` in the message itself."""
    return {
        "filename": filename,
        "content_type": content_type,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "content_base64": base64.b64encode(content).decode("ascii"),
    }


def send_message(message_id: int) -> OutboxMessage | None:
    """Send one queued message that is due; record success or schedule the retry.

    Does nothing for a message that is sent, failed, being sent by another worker, or not
    due yet (its retry task or ``faktura send-outbox`` comes back for it).
    """
    now = clock.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        )
        if message is None or message.state != State.QUEUED:
            return message
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return message
        message.state = State.SENDING
        message.claimed_at = now
        # Named, so the claim is released as soon as this worker is found dead: a crash
        # repeats at most this one message, under the same Message-ID.
        message.claimed_by = current_worker_id()
        message.save(update_fields=["state", "claimed_at", "claimed_by"])
    try:
        email = build_email(message)
    except ArchiveDamaged as error:
        # Retrying cannot repair the archive: staff must restore the file from a backup.
        return _record_failure(message.pk, error, final=True)
    try:
        email.send(fail_silently=False)
    except DELIVERY_ERRORS as error:
        logger.warning("mail %s not sent: %s", message.pk, error)
        return _record_failure(message.pk, error)
    return _record_sent(message.pk)


def _locked_message(message_id: int) -> OutboxMessage:
    message = OutboxMessage.objects.get(pk=message_id)
    if message.invoice_id is not None:
        Customer.objects.select_for_update().filter(
            invoices__id=message.invoice_id
        ).order_by().first()
    return OutboxMessage.objects.select_for_update().get(pk=message_id)


def _record_sent(message_id: int) -> OutboxMessage:
    with transaction.atomic():
        message = _locked_message(message_id)
        message.state = State.SENT
        message.attempts += 1
        message.sent_at = clock.now()
        message.next_attempt_at = None
        message.last_error = ""
        message.save(
            update_fields=["state", "attempts", "sent_at", "next_attempt_at", "last_error"]
        )
        if message.invoice_id is not None:
            Invoice.objects.filter(pk=message.invoice_id).update(
                delivery_status="sent", delivery_error=""
            )
            _audit(message, "document.sent", {"to": message.to, "cc": message.cc})
    return message


def _record_failure(message_id: int, error: BaseException, *, final: bool = False) -> OutboxMessage:
    from faktura.notifications.tasks import send_outbox_message

    text = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        message = _locked_message(message_id)
        message.attempts += 1
        message.last_error = text
        if final or message.attempts >= MAX_ATTEMPTS:
            message.state = State.FAILED
            message.next_attempt_at = None
        else:
            message.state = State.QUEUED
            delay = dt.timedelta(minutes=BACKOFF_MINUTES[message.attempts - 1])
            message.next_attempt_at = clock.now() + delay
        message.save(update_fields=["state", "attempts", "last_error", "next_attempt_at"])
        if message.state == State.FAILED:
            if message.invoice_id is not None:
                Invoice.objects.filter(pk=message.invoice_id).update(
                    delivery_status="failed", delivery_error=text
                )
                _audit(
                    message, "document.mail_failed", {"attempts": message.attempts, "error": text}
                )
        elif message.next_attempt_at is not None:
            task = send_outbox_message
            if task.get_backend().supports_defer:
                task.using(run_after=message.next_attempt_at).enqueue(message.pk)
            # Without deferred tasks the retry waits for `faktura send-outbox` (cron).
    return message


def _audit(message: OutboxMessage, action: str, data: dict[str, object]) -> None:
    assert message.invoice_id is not None
    invoice = Invoice.objects.only("pk", "kind", "number", "customer_id").get(pk=message.invoice_id)
    audit.record(
        chain=audit.customer_chain(invoice.customer_id),
        actor=SYSTEM_ACTOR,
        action=action,
        object_type=invoice.kind,
        object_id=invoice.pk,
        data={"number": invoice.number, "message": message.pk, **data},
    )


def release_stale_claims(*, older_than: dt.timedelta = STALE_CLAIM) -> int:
    """Put messages whose sender vanished mid-send (worker killed) back in the queue.

    A message claimed by a ``faktura worker`` goes back as soon as that worker's lease has
    expired. Any claim older than ``older_than`` goes back too (a sender whose bookkeeping
    failed after the claim, a ``send-outbox`` or plain ``db_worker`` that died): no SMTP
    conversation lasts that long (``EMAIL_TIMEOUT``). The message keeps its primary key,
    so a mail that did leave before the crash is repeated with the same Message-ID.
    """
    from faktura.workers.lease import dead_worker_ids

    lost = Q(claimed_at__lt=clock.now() - older_than)
    dead = dead_worker_ids()
    if dead:
        lost |= Q(claimed_by__in=dead)
    with transaction.atomic():
        return (
            OutboxMessage.objects.filter(state=State.SENDING)
            .filter(lost)
            .update(state=State.QUEUED, next_attempt_at=None, claimed_by="")
        )


def due_message_ids() -> list[int]:
    now = clock.now()
    return list(
        OutboxMessage.objects.filter(state=State.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def send_messages(message_ids: list[int]) -> None:
    """Send each of ``message_ids`` as ``send_message`` does, one after the other.

    A message that fails is retried on its own (``send_message`` schedules its retry); an
    unexpected error in one message does not keep the others from being sent and is
    raised after the last one (the stale claim is released by ``faktura send-outbox``).
    """
    error: Exception | None = None
    for message_id in message_ids:
        try:
            send_message(message_id)
        except Exception as exc:
            logger.exception("mail %s: sending failed unexpectedly", message_id)
            error = error or exc
    if error is not None:
        raise error


SEND_BATCH = 100  # messages per send task queued by ``resume_outbox``


def resume_outbox() -> dict[str, int]:
    """Release the mails of dead senders and queue a send task for every due mail that no
    waiting or running task will send; return the counts. Idempotent; sends nothing itself.
    """
    from faktura.notifications.tasks import send_outbox_message, send_outbox_messages

    released = release_stale_claims()
    due = due_message_ids()
    if not due:
        return {"released": released, "queued": 0}
    covered: set[int] = set()
    paths = {send_outbox_message.module_path, send_outbox_messages.module_path}
    for args in DBTaskResult.objects.filter(
        status__in=["READY", "RUNNING"], task_path__in=paths
    ).values_list("args_kwargs", flat=True):
        for arg in args.get("args", []):
            covered.update(arg if isinstance(arg, list) else [arg])
    missing = [pk for pk in due if pk not in covered]
    for start in range(0, len(missing), SEND_BATCH):
        send_outbox_messages.enqueue(missing[start : start + SEND_BATCH])
    return {"released": released, "queued": len(missing)}


def send_due_messages() -> dict[str, int]:
    """Send every queued message that is due (``faktura send-outbox``); return the counts."""
    counts = {"released": release_stale_claims(), "sent": 0, "retry": 0, "failed": 0}
    for message_id in due_message_ids():
        message = send_message(message_id)
        if message is None:
            continue
        if message.state == State.SENT:
            counts["sent"] += 1
        elif message.state == State.FAILED:
            counts["failed"] += 1
        elif message.state == State.QUEUED:
            counts["retry"] += 1
    return counts


def retry_message(*, message_id: int, actor: Actor) -> OutboxMessage:
    """Send a failed message again: the same mail as composed (recipients, text,
    attachments), its attempts counted from zero, sent by the task worker after the commit.

    A document's delivery status goes back to "queued". Raises NotFound
    message_not_found; StateConflict message_not_failed (queued, being sent or sent);
    PermissionRefused without ``mail.retry``.
    """
    from faktura.notifications.tasks import send_outbox_message

    permissions.require(actor, "mail.retry")
    found = OutboxMessage.objects.filter(pk=message_id).values("invoice__customer_id").first()
    if found is None:
        raise NotFound(f"No outbox message {message_id}.", code="message_not_found")
    with transaction.atomic():
        if found["invoice__customer_id"] is not None:  # the customer's account first
            Customer.objects.select_for_update().get(pk=found["invoice__customer_id"])
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.state != State.FAILED:
            raise StateConflict(
                f"Message {message_id} is {message.state}, not failed.", code="message_not_failed"
            )
        failed_attempts = message.attempts
        message.state = State.QUEUED
        message.attempts = 0
        message.next_attempt_at = None
        message.claimed_at = None
        message.claimed_by = ""
        message.save(
            update_fields=["state", "attempts", "next_attempt_at", "claimed_at", "claimed_by"]
        )
        data = {"message": message.pk, "failed_attempts": failed_attempts}
        if message.invoice_id is not None:
            invoice = Invoice.objects.only("pk", "kind", "number", "customer_id").get(
                pk=message.invoice_id
            )
            Invoice.objects.filter(pk=invoice.pk).update(
                delivery_status="queued", delivery_error="", updated_at=timezone.now()
            )
            audit.record(
                chain=audit.customer_chain(invoice.customer_id),
                actor=actor,
                action="document.mail_retried",
                object_type=invoice.kind,
                object_id=invoice.pk,
                data={"number": invoice.number, **data},
            )
        else:
            audit.record(
                chain=audit.COMPANY_CHAIN,
                actor=actor,
                action="mail.retried",
                object_type="outbox_message",
                object_id=message.pk,
                data=data,
            )
        send_outbox_message.enqueue(message.pk)
    return message
