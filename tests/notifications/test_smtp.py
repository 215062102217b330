"""Delivery through a real SMTP server (aiosmtpd on localhost): what arrives, and what a
failing server leaves behind."""

from __future__ import annotations

import datetime as dt

import pytest
from aiosmtpd.controller import Controller

from faktura.core import clock
from faktura.core.models import AuditEntry
from faktura.documents.archive import read_archived
from faktura.documents.models import ArchivedDocument
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from faktura.notifications.services import send_message
from tests.conftest import TODAY
from tests.documents.pipeline_helpers import finalized, pending_tasks, run_tasks
from tests.notifications.conftest import SmtpServer, free_port, use_smtp

pytestmark = pytest.mark.django_db

NOW = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)


def _deliver(customer, actor, *lines) -> tuple[Invoice, OutboxMessage]:
    invoice = finalized(customer, actor, *lines)
    run_tasks("process_finalized_document")
    return invoice, OutboxMessage.objects.get(invoice=invoice, is_resend=False)


def _attachments(message) -> list[tuple[str, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_content())
        for part in message.iter_attachments()
    ]


def test_german_invoice_arrives_with_the_archived_pdf_byte_for_byte(
    smtp_server, business_customer, actor, archive_dir
):
    invoice, message = _deliver(business_customer, actor)
    assert run_tasks("send_outbox_message") == 1

    [(recipients, received)] = smtp_server.received
    assert recipients == ["buchhaltung@beispiel.de"]
    assert received["To"] == "buchhaltung@beispiel.de"
    assert received["From"] == "Muster Software GmbH <rechnung@muster-software.de>"
    assert received["Reply-To"] == "rechnung@muster-software.de"
    assert received["Subject"] == "Rechnung RE-2026-00001 von Muster Software GmbH"
    assert received["Content-Language"] == "de"
    assert received["Message-ID"] == f"<faktura-outbox-{message.pk}@muster-software.de>"
    text = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Bitte überweisen Sie 119,00 € bis zum 30.11.2026 auf unser Konto:" in text
    assert "IBAN: DE02 1203 0000 0000 2020 51" in text
    assert "Verwendungszweck: RE-2026-00001" in text
    assert "Rechnung RE-2026-00001" in received.get_body(("html",)).get_content()
    archived_pdf = (archive_dir / "archive/2026/RE-2026-00001.pdf").read_bytes()
    assert _attachments(received) == [("RE-2026-00001.pdf", "application/pdf", archived_pdf)]

    message.refresh_from_db()
    assert (message.state, message.attempts, message.sent_at) == ("sent", 1, NOW)
    invoice.refresh_from_db()
    assert invoice.delivery_status == "sent"
    assert invoice.content_hash == invoice.compute_content_hash()
    assert AuditEntry.objects.filter(action="document.sent", object_id=str(invoice.pk)).count() == 1


def test_english_customer_gets_an_english_mail_with_a_copy(smtp_server, english_customer, actor):
    _invoice, message = _deliver(english_customer, actor)
    send_message(message.pk)

    [(recipients, received)] = smtp_server.received
    assert recipients == ["accounts@northwind.example", "cfo@northwind.example"]
    assert received["Cc"] == "cfo@northwind.example"
    assert received["Subject"] == "Invoice RE-2026-00001 from Muster Software GmbH"
    assert received["Content-Language"] == "en"
    text = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Dear Jane Smith,\n\nPlease find attached our invoice RE-2026-00001")
    assert "Please transfer €119.00 by 30 November 2026 to our account:" in text
    assert "Reference: RE-2026-00001" in text
    [(name, _type, data)] = _attachments(received)
    assert name == "RE-2026-00001.pdf"
    assert data == read_archived(ArchivedDocument.objects.get())


def test_xrechnung_is_sent_as_the_archived_xml(smtp_server, company, actor):
    from faktura.customers.services import create_customer

    authority = create_customer(
        actor=actor,
        kind="public_body",
        name="Stadtverwaltung Musterstadt",
        street="Rathausplatz",
        house_number="1",
        postcode="12345",
        city="Musterstadt",
        email="rechnung@musterstadt.de",
        leitweg_id="04011000-1234512345-06",
    )
    _invoice, message = _deliver(authority, actor)
    send_message(message.pk)
    [(_recipients, received)] = smtp_server.received
    xml = read_archived(ArchivedDocument.objects.get(kind="xml"))
    assert _attachments(received) == [("RE-2026-00001.xml", "application/xml", xml)]


def test_nothing_listening_leaves_the_mail_queued_for_a_retry(
    no_smtp_server, business_customer, actor
):
    invoice, message = _deliver(business_customer, actor)
    send_message(message.pk)

    message.refresh_from_db()
    assert message.state == "queued"
    assert message.attempts == 1
    assert message.next_attempt_at == NOW + dt.timedelta(minutes=1)
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.sent_at is None
    invoice.refresh_from_db()
    assert invoice.delivery_status == "queued"
    assert invoice.delivery_error == ""
    assert invoice.content_hash == invoice.compute_content_hash()
    [retry] = pending_tasks("send_outbox_message")[1:]  # the first is the original send
    assert retry.args_kwargs["args"] == [message.pk]
    assert retry.run_after == message.next_attempt_at


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 Mailbox temporarily unavailable", "SMTPDataError"),
        ("550 5.7.1 Message rejected", "SMTPDataError"),
    ],
)
def test_a_refusing_server_leaves_the_mail_queued(settings, business_customer, actor, reply, error):
    server = SmtpServer(port=free_port(), reply=reply)
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        use_smtp(settings, server.port)
        invoice, message = _deliver(business_customer, actor)
        send_message(message.pk)
    finally:
        controller.stop()
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("queued", 1)
    assert message.next_attempt_at > clock.now()
    assert message.last_error.startswith(error)
    assert reply.split(" ", 1)[0] in message.last_error
    invoice.refresh_from_db()
    assert invoice.delivery_status != "sent"
    assert invoice.content_hash == invoice.compute_content_hash()
    assert server.received == []


def test_a_retry_is_not_sent_before_it_is_due(no_smtp_server, business_customer, actor):
    _invoice, message = _deliver(business_customer, actor)
    send_message(message.pk)
    send_message(message.pk)  # the same minute: not due yet, no second attempt
    message.refresh_from_db()
    assert message.attempts == 1


def test_six_failed_attempts_fail_the_delivery_for_staff(no_smtp_server, business_customer, actor):
    invoice, message = _deliver(business_customer, actor)
    delays = []
    at = NOW
    for _attempt in range(6):
        with clock.frozen(at):
            send_message(message.pk)
        message.refresh_from_db()
        if message.next_attempt_at is not None:
            delays.append(message.next_attempt_at - at)
            at = message.next_attempt_at
    assert delays == [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=30),
        dt.timedelta(hours=2),
        dt.timedelta(hours=12),
    ]
    assert (message.state, message.attempts, message.next_attempt_at) == ("failed", 6, None)
    invoice.refresh_from_db()
    assert invoice.delivery_status == "failed"
    assert invoice.delivery_error.startswith("ConnectionRefusedError")
    assert invoice.content_hash == invoice.compute_content_hash()
    entry = AuditEntry.objects.get(action="document.mail_failed")
    assert entry.data["attempts"] == 6
    with clock.frozen(at + dt.timedelta(days=1)):
        send_message(message.pk)  # a failed message stays failed until staff re-send it
    message.refresh_from_db()
    assert message.attempts == 6


def test_a_retry_succeeds_once_the_server_is_back(settings, business_customer, actor):
    port = free_port()
    use_smtp(settings, port)
    invoice, message = _deliver(business_customer, actor)
    send_message(message.pk)
    message.refresh_from_db()
    assert message.state == "queued"

    server = SmtpServer(port=port)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with clock.frozen(message.next_attempt_at):
            send_message(message.pk)
    finally:
        controller.stop()
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(server.received) == 1
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "sent"
