"""The outbox: first mail once, re-sends as new messages, the retry schedule, the cron
command, and the words of the mails."""

from __future__ import annotations

import datetime as dt
import io
import smtplib
from dataclasses import replace

import pytest
from django.core import mail as django_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

from faktura.core import clock
from faktura.core.errors import StateConflict
from faktura.core.models import AuditEntry
from faktura.documents.archive import DocumentNotArchived
from faktura.documents.models import ArchivedDocument
from faktura.documents.samples import sample_snapshots
from faktura.invoicing.models import Invoice
from faktura.notifications import mail, services
from faktura.notifications.models import OutboxMessage
from tests.conftest import TODAY
from tests.documents.pipeline_helpers import finalized, pending_tasks, run_tasks
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db

NOW = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)


class DisconnectingBackend(BaseEmailBackend):
    """An SMTP server that hangs up on every attempt."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def failing_smtp(settings):
    settings.EMAIL_BACKEND = f"{__name__}.DisconnectingBackend"


def _delivered(customer, actor) -> tuple[Invoice, OutboxMessage]:
    invoice = finalized(customer, actor)
    run_tasks("process_finalized_document")
    return invoice, OutboxMessage.objects.get(invoice=invoice)


def test_the_first_mail_is_queued_once(business_customer, actor):
    invoice, first = _delivered(business_customer, actor)
    again = services.queue_document_mail(invoice_id=invoice.pk, actor=actor)
    assert again.pk == first.pk
    assert OutboxMessage.objects.count() == 1
    assert len(pending_tasks("send_outbox_message")) == 1


def test_a_resend_queues_a_new_message_with_the_same_archived_file(business_customer, actor):
    invoice, first = _delivered(business_customer, actor)
    run_tasks("send_outbox_message")
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "sent"

    resend = services.queue_document_mail(invoice_id=invoice.pk, actor=actor, resend=True)
    assert resend.pk != first.pk
    assert resend.is_resend is True
    assert resend.state == "queued"
    assert resend.attachments == first.attachments == [ArchivedDocument.objects.get().pk]
    assert (resend.subject, resend.body_text) == (first.subject, first.body_text)
    assert resend.created_by == "user:anna"
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "queued"
    entry = AuditEntry.objects.get(action="document.resend_queued")
    assert entry.data["message"] == resend.pk
    assert entry.actor == "user:anna"
    [task] = pending_tasks("send_outbox_message")
    assert task.args_kwargs["args"] == [resend.pk]

    run_tasks("send_outbox_message")
    assert [m.subject for m in django_mail.outbox] == [first.subject, first.subject]
    assert django_mail.outbox[0].attachments == django_mail.outbox[1].attachments
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "sent"


def test_a_draft_or_an_unrendered_document_cannot_be_sent(business_customer, actor):
    draft = order(business_customer, actor, line())
    with pytest.raises(StateConflict) as not_final:
        services.queue_document_mail(invoice_id=draft.pk, actor=actor, resend=True)
    assert not_final.value.code == "invoice_not_finalized"
    invoice = finalized(business_customer, actor)  # its rendering task has not run yet
    with pytest.raises(DocumentNotArchived) as not_archived:
        services.queue_document_mail(invoice_id=invoice.pk, actor=actor, resend=True)
    assert not_archived.value.code == "document_not_archived"
    assert OutboxMessage.objects.count() == 0
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "pending"


def test_failed_attempts_back_off_1_5_30_120_720_minutes_then_fail(
    failing_smtp, business_customer, actor
):
    invoice, message = _delivered(business_customer, actor)
    schedule = []
    at = NOW
    while True:
        with clock.frozen(at):
            services.send_message(message.pk)
        message.refresh_from_db()
        if message.state != "queued":
            break
        schedule.append((message.attempts, int((message.next_attempt_at - at).total_seconds())))
        at = message.next_attempt_at
    assert schedule == [(1, 60), (2, 300), (3, 1800), (4, 7200), (5, 43200)]
    assert (message.state, message.attempts) == ("failed", 6)
    assert message.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    # The retries were enqueued as deferred tasks, each at its due time.
    retries = pending_tasks("send_outbox_message")[1:]
    assert [task.run_after for task in retries] == [
        NOW + dt.timedelta(minutes=m) for m in (1, 6, 36, 156, 876)
    ]
    invoice.refresh_from_db()
    assert invoice.delivery_status == "failed"
    assert invoice.delivery_error == "SMTPServerDisconnected: Connection unexpectedly closed"


def test_staff_resend_after_failure_starts_a_fresh_message(failing_smtp, business_customer, actor):
    invoice, message = _delivered(business_customer, actor)
    for minutes in (0, 1, 6, 36, 156, 876):
        with clock.frozen(NOW + dt.timedelta(minutes=minutes)):
            services.send_message(message.pk)
    assert OutboxMessage.objects.get(pk=message.pk).state == "failed"
    fresh = services.queue_document_mail(invoice_id=invoice.pk, actor=actor, resend=True)
    assert (fresh.state, fresh.attempts, fresh.next_attempt_at) == ("queued", 0, None)


def test_send_outbox_sends_what_is_due_and_leaves_the_rest(settings, business_customer, actor):
    _first, due = _delivered(business_customer, actor)
    _second, later = _delivered(business_customer, actor)
    OutboxMessage.objects.filter(pk=later.pk).update(next_attempt_at=NOW + dt.timedelta(hours=1))
    out = io.StringIO()
    call_command("send-outbox", stdout=out)
    assert out.getvalue().strip() == (
        "sent 1, retry later 0, failed 0, requeued after a lost worker 0"
    )
    assert OutboxMessage.objects.get(pk=due.pk).state == "sent"
    assert OutboxMessage.objects.get(pk=later.pk).state == "queued"
    assert [m.to for m in django_mail.outbox] == [["buchhaltung@beispiel.de"]]
    call_command("send-outbox", stdout=io.StringIO())  # nothing due: nothing sent twice
    assert len(django_mail.outbox) == 1


def test_send_outbox_requeues_a_mail_whose_worker_vanished(business_customer, actor):
    _invoice, message = _delivered(business_customer, actor)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state="sending", claimed_at=NOW - dt.timedelta(minutes=16)
    )
    services.send_message(message.pk)  # claimed by someone else: left alone
    assert django_mail.outbox == []
    out = io.StringIO()
    call_command("send-outbox", stdout=out)
    assert "sent 1" in out.getvalue()
    assert "requeued after a lost worker 1" in out.getvalue()
    assert OutboxMessage.objects.get(pk=message.pk).state == "sent"


def test_german_invoice_mail_text(business_customer, actor):
    _invoice, message = _delivered(business_customer, actor)
    assert message.body_text == (
        "Sehr geehrte Damen und Herren,\n"
        "\n"
        "anbei erhalten Sie unsere Rechnung RE-2026-00001 vom 16.11.2026 über 119,00 €.\n"
        "\n"
        "Bitte überweisen Sie 119,00 € bis zum 30.11.2026 auf unser Konto:\n"
        "\n"
        "Kontoinhaber: Muster Software GmbH\n"
        "IBAN: DE02 1203 0000 0000 2020 51\n"
        "BIC: BYLADEM1001\n"
        "Bank: Musterbank\n"
        "Verwendungszweck: RE-2026-00001\n"
        "\n"
        "Die Rechnung finden Sie als PDF im Anhang (RE-2026-00001.pdf). Sie enthält die "
        "Rechnungsdaten im Format ZUGFeRD/Factur-X zur direkten Übernahme in Ihre "
        "Buchhaltung.\n"
        "\n"
        "Mit freundlichen Grüßen\n"
        "Muster Software GmbH\n"
        "Erika Mustermann\n"
        "\n"
        "-- \n"
        "Muster Software GmbH · Friedrichstraße 123 · 10117 Berlin\n"
        "Amtsgericht Berlin-Charlottenburg HRB 123456 B · Geschäftsführung: Erika Mustermann\n"
        "USt-IdNr. DE136695976 · Steuernr. 30/123/45678 · +49 30 1234567 · "
        "rechnung@muster-software.de\n"
    )
    assert message.from_email == "Muster Software GmbH <rechnung@localhost>"
    assert message.reply_to == ["rechnung@muster-software.de"]
    assert 'lang="de"' in message.body_html
    assert "Friedrichstraße 123" in message.body_html


def test_credit_note_mail_announces_the_refund(business_customer, actor):
    from faktura.invoicing import services as invoicing

    invoice = finalized(business_customer, actor, line("2", "50.00"))
    credit = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "1")])
    invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get(invoice_id=credit.pk)
    assert message.subject == "Rechnungskorrektur GS-2026-00001 von Muster Software GmbH"
    assert (
        "anbei erhalten Sie unsere Rechnungskorrektur GS-2026-00001 vom 16.11.2026 zur "
        "Rechnung RE-2026-00001 über 59,50 €." in message.body_text
    )
    assert (
        "Den Betrag von 59,50 € erstatten wir Ihnen oder verrechnen ihn mit offenen Posten."
        in message.body_text
    )
    assert "überweisen" not in message.body_text


def test_direct_debit_mail_names_the_debit_date_and_mandate():
    snapshot = sample_snapshots()["direct_debit"]
    composed = mail.compose(snapshot, attachments=[f"{snapshot.number}.pdf"])
    dd = snapshot.direct_debit
    assert dd is not None
    debit_date = f"{dd.debit_date:%d.%m.%Y}"
    assert f"am {debit_date} per SEPA-Lastschrift" in composed.text
    assert f"Mandatsreferenz {dd.mandate_reference}" in composed.text
    assert "XXXX" in composed.text  # the debtor's IBAN is masked
    assert "Verwendungszweck" not in composed.text


def test_english_credit_note_and_cancellation_texts():
    samples = sample_snapshots()
    credit = mail.compose(replace(samples["credit_note"], language="en"), attachments=["x.pdf"])
    assert credit.subject.startswith("Credit note ")
    assert "We will refund the amount of" in credit.text
    assert "The credit note is attached as a PDF (x.pdf)." in credit.text
    cancellation = mail.compose(
        replace(samples["cancellation"], language="en"), attachments=["y.pdf"]
    )
    assert cancellation.subject.startswith("Cancellation ")
    assert "we cancel our invoice" in cancellation.text


def test_admin_action_resends_from_the_outbox_list(admin_client, business_customer, actor):
    _invoice, message = _delivered(business_customer, actor)
    listing = admin_client.get("/admin/notifications/outboxmessage/")
    assert listing.status_code == 200
    assert b"buchhaltung@beispiel.de" in listing.content
    response = admin_client.post(
        "/admin/notifications/outboxmessage/",
        {"action": "resend", "_selected_action": [str(message.pk)]},
    )
    assert response.status_code == 302
    resend = OutboxMessage.objects.get(is_resend=True)
    assert resend.attachments == message.attachments
    assert resend.created_by == "user:admin"


def test_a_failed_message_is_retried_by_staff_as_the_same_mail(
    failing_smtp, business_customer, actor
):
    invoice, message = _delivered(business_customer, actor)
    for minutes in (0, 1, 6, 36, 156, 876):
        with clock.frozen(NOW + dt.timedelta(minutes=minutes)):
            services.send_message(message.pk)
    before = len(pending_tasks("send_outbox_message"))
    retried = services.retry_message(message_id=message.pk, actor=actor)
    assert (retried.pk, retried.state, retried.attempts) == (message.pk, "queued", 0)
    assert retried.subject == message.subject
    assert len(pending_tasks("send_outbox_message")) == before + 1
    invoice.refresh_from_db()
    assert (invoice.delivery_status, invoice.delivery_error) == ("queued", "")
    entry = AuditEntry.objects.get(action="document.mail_retried")
    assert entry.data["failed_attempts"] == 6
    with pytest.raises(StateConflict) as error:
        services.retry_message(message_id=message.pk, actor=actor)
    assert error.value.code == "message_not_failed"
    assert len(pending_tasks("send_outbox_message")) == before + 1


def test_only_an_accountant_retries_a_failed_message(failing_smtp, business_customer, actor):
    from faktura.core.actors import Actor
    from faktura.core.errors import PermissionRefused

    _invoice, message = _delivered(business_customer, actor)
    OutboxMessage.objects.filter(pk=message.pk).update(state="failed", attempts=6)
    viewer = Actor(label="user:vera", user_id=None, roles=frozenset({"viewer"}))
    with pytest.raises(PermissionRefused):
        services.retry_message(message_id=message.pk, actor=viewer)
    assert OutboxMessage.objects.get(pk=message.pk).state == "failed"
    assert not AuditEntry.objects.filter(action="document.mail_retried").exists()
