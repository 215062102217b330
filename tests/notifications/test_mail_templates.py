"""The company's own mail texts: saved only when they compile in the mail template language,
name the mail's placeholders and render; reset to the built-in text; both audited. A mail
queued after saving carries the new words, and the fixed parts stay around them."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.dunning.models import NoticeSettings
from faktura.dunning.pre_due import send_pre_due_reminders
from faktura.notifications import mail, mail_texts, services
from faktura.notifications.mail_texts import MailText, TemplateRefused
from faktura.notifications.models import MailTemplate, OutboxMessage
from faktura.notifications.template_services import reset_mail_template, save_mail_template
from tests.documents.pipeline_helpers import finalized, run_tasks
from tests.dunning.helpers import SYSTEM, overdue

pytestmark = pytest.mark.django_db

VIEWER = Actor(label="user:vera", user_id=None, roles=frozenset({"viewer"}))
SUBJECT = "Ihre Rechnung {{ number }} – {{ seller.name }}"
BODY = (
    "Hallo {{ customer_name }},\n\n"
    "vielen Dank für Ihren Auftrag! Unsere Rechnung {{ number }} über {{ amount }} "
    "ist{% if due_date %} am {{ due_date }}{% else %} sofort{% endif %} fällig."
)


def save(actor, event="invoice_issued", language="de", subject=SUBJECT, body=BODY):
    return save_mail_template(
        actor=actor, event=event, language=language, subject=subject, body=body
    )


def refused(actor, **kwargs) -> TemplateRefused:
    with pytest.raises(TemplateRefused) as error:
        save(actor, **kwargs)
    assert MailTemplate.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="mail_template.").exists()
    return error.value


@pytest.mark.parametrize("language", mail_texts.LANGUAGES)
@pytest.mark.parametrize("event", mail_texts.EVENTS)
def test_every_built_in_text_passes_the_check_its_placeholders_documented(company, event, language):
    built_in = mail_texts.default(event, language)
    assert mail_texts.check(
        event=event, language=language, subject=built_in.subject, body=built_in.body
    ) == MailText(built_in.subject, built_in.body)


def test_a_valid_text_is_saved_and_audited_with_before_and_after(company, actor):
    row = save(actor, body=BODY + "\r\n\r\n")  # a browser's line ends, trailing blank lines
    assert (row.event, row.language, row.subject, row.body) == (
        "invoice_issued",
        "de",
        SUBJECT,
        BODY,
    )
    assert row.changed_by == "user:anna"
    entry = AuditEntry.objects.get(action="mail_template.saved")
    assert entry.object_id == "invoice_issued:de"
    assert entry.data["before"] is None
    assert entry.data["after"] == {"subject": SUBJECT, "body": BODY}

    save(actor, subject="Rechnung {{ number }}")
    assert MailTemplate.objects.get().subject == "Rechnung {{ number }}"
    second = AuditEntry.objects.filter(action="mail_template.saved").order_by("-pk").first()
    assert second.data["before"] == {"subject": SUBJECT, "body": BODY}
    assert second.data["after"]["subject"] == "Rechnung {{ number }}"


def test_a_syntax_error_is_refused_and_nothing_changes(company, actor):
    error = refused(actor, body="Offen: {{ amount }}{% if due_date %} bis {{ due_date }}")
    assert error.code == "mail_template_syntax"
    assert error.field == "body"
    assert "endif" in error.params["detail"]
    # Braces left open would be sent as they are: refused too.
    error = refused(actor, body="Offen sind {{ amount, bitte zahlen Sie.")
    assert error.code == "mail_template_syntax"
    assert error.params["detail"].startswith("line 1: {{")


def test_an_unknown_placeholder_is_refused_naming_it_and_the_known_ones(company, actor):
    error = refused(actor, body="Bitte zahlen Sie auf {{ customer.iban }} ({{ amount }}).")
    assert error.code == "mail_template_placeholder"
    assert error.params["names"] == "{{ customer.iban }}"
    assert "{{ amount }}" in error.params["allowed"]
    assert "{{ due_date }}" in error.params["allowed"]
    # A placeholder of another mail is unknown here.
    assert refused(actor, subject="Kündigung vom {{ submitted }}").code == (
        "mail_template_placeholder"
    )
    # Lookups beyond the documented ones reach nothing either.
    assert refused(actor, body="{{ seller.bank }} {{ seller.name.upper }}").params["names"] == (
        "{{ seller.bank }}, {{ seller.name.upper }}"
    )


@pytest.mark.parametrize(
    ("body", "tag"),
    [
        ("{% load static %}Hallo", "load"),
        ('{% include "notifications/mail/base.txt" %}', "include"),
        ('{% extends "notifications/mail/base.txt" %}', "extends"),
        ("{% url 'backoffice:start' %}", "url"),
        ("{% debug %}", "debug"),
        ("{% for x in footer %}{{ x }}{% endfor %}", "for"),
        ("{% with a=seller %}{{ a }}{% endwith %}", "with"),
        ("{% now 'Y' %}", "now"),
    ],
)
def test_tags_that_reach_beyond_the_mail_are_refused(company, actor, body, tag):
    error = refused(actor, body=body)
    assert error.code == "mail_template_tag"
    assert error.params["tag"] == tag
    assert error.params["line"] == 1


def test_only_the_few_text_filters_and_no_fixed_values_in_braces(company, actor):
    error = refused(actor, body="Rechnung vom {{ issue_date|date:'Y' }}")
    assert (error.code, error.params["filter"]) == ("mail_template_filter", "date")
    assert refused(actor, body='{{ "Fester Text" }}').code == "mail_template_literal"
    assert refused(actor, body="{{ number|safe }}").code == "mail_template_filter"
    row = save(actor, body="{{ customer_name|upper }}: {{ due_date|default:'sofort' }}")
    assert row.body.startswith("{{ customer_name|upper }}")


def test_empty_too_long_and_unprintable_texts_are_refused(company, actor):
    assert refused(actor, subject="  ").code == "mail_template_empty"
    assert refused(actor, body="x" * 5001).code == "mail_template_too_long"
    with pytest.raises(InvalidInput) as error:
        save(actor, body="Hallo\x00")
    assert error.value.code == "text_not_printable"
    assert MailTemplate.objects.count() == 0


def test_unknown_mails_and_languages_are_refused(company, actor):
    for event, language in (("staff_digest", "de"), ("dunning_notice", "de"), ("x", "de")):
        with pytest.raises(NotFound):
            save(actor, event=event, language=language)
    with pytest.raises(NotFound):
        save(actor, language="fr")
    assert MailTemplate.objects.count() == 0


def test_a_role_without_the_permission_changes_nothing(company, actor):
    save(actor)
    with pytest.raises(PermissionRefused):
        save(VIEWER, subject="Anders")
    with pytest.raises(PermissionRefused):
        reset_mail_template(actor=VIEWER, event="invoice_issued", language="de")
    assert MailTemplate.objects.get().subject == SUBJECT
    assert AuditEntry.objects.filter(action__startswith="mail_template.").count() == 1


def test_reset_goes_back_to_the_built_in_text_and_keeps_the_old_one_in_the_audit(company, actor):
    save(actor)
    reset_mail_template(actor=actor, event="invoice_issued", language="de")
    assert MailTemplate.objects.count() == 0
    entry = AuditEntry.objects.get(action="mail_template.reset")
    assert entry.data["before"] == {"subject": SUBJECT, "body": BODY}
    with pytest.raises(StateConflict) as again:
        reset_mail_template(actor=actor, event="invoice_issued", language="de")
    assert again.value.code == "mail_template_is_default"
    assert AuditEntry.objects.filter(action="mail_template.reset").count() == 1


def test_an_invoice_mail_queued_after_saving_carries_the_new_text(
    company, business_customer, actor
):
    save(actor)
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get(invoice=invoice)
    assert message.subject == f"Ihre Rechnung {invoice.number} – Muster Software GmbH"
    text = message.body_text
    assert text.startswith("Sehr geehrte Damen und Herren,\n\nHallo Beispiel Handel AG,\n\n")
    assert f"Unsere Rechnung {invoice.number} über 119,00 € ist am 30.11.2026 fällig." in text
    assert "anbei erhalten Sie unsere Rechnung" not in text
    # The fixed parts stay: payment details, the attachment, the closing and legal footer.
    assert "IBAN: DE02 1203 0000 0000 2020 51" in text
    assert f"Verwendungszweck: {invoice.number}" in text
    assert f"finden Sie als PDF im Anhang ({invoice.number}.pdf)" in text
    assert "Mit freundlichen Grüßen" in text
    assert "Amtsgericht" in text
    html = message.body_html
    assert '<p style="margin:0 0 16px;">Hallo Beispiel Handel AG,</p>' in html
    assert "anbei erhalten Sie unsere Rechnung" not in html
    assert ">Belegnummer</td>" in html  # the facts table
    email = services.build_email(message)
    assert email.subject == message.subject
    assert email.attachments[0][0] == f"{invoice.number}.pdf"


def test_after_a_reset_the_next_mail_has_the_built_in_text_again(company, business_customer, actor):
    save(actor)
    reset_mail_template(actor=actor, event="invoice_issued", language="de")
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get(invoice=invoice)
    assert message.subject == f"Rechnung {invoice.number} von Muster Software GmbH"
    assert f"anbei erhalten Sie unsere Rechnung {invoice.number}" in message.body_text


def test_the_text_of_the_customers_language_is_used(company, actor, english_customer):
    save(actor)  # German only: the English customer gets the built-in English text
    invoice = finalized(english_customer, actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get(invoice=invoice)
    assert message.language == "en"
    assert message.subject.startswith("Invoice ")
    save(
        actor,
        language="en",
        subject="Your invoice {{ number }}",
        body="Dear {{ customer_name }}, here is invoice {{ number }} for {{ amount }}.",
    )
    services.queue_document_mail(invoice_id=invoice.pk, actor=actor, resend=True)
    resent = OutboxMessage.objects.get(invoice=invoice, is_resend=True)
    assert resent.subject == f"Your invoice {invoice.number}"
    assert f"Dear Northwind Ltd, here is invoice {invoice.number} for €119.00." in resent.body_text


def test_a_reminder_run_uses_the_saved_text_and_keeps_the_transfer_details(consumer, actor):
    NoticeSettings.objects.create(pre_due_reminder_days=3)
    invoice = overdue(consumer, actor, due=dt.date(2026, 11, 30))
    save(
        actor,
        event="payment_due_soon",
        subject="Kleine Erinnerung: {{ number }}",
        body="{{ customer_name }}, bitte denken Sie an {{ amount }} bis {{ due_date }}.",
    )
    send_pre_due_reminders(on=dt.date(2026, 11, 27), actor=SYSTEM)
    message = OutboxMessage.objects.get(event="payment_due_soon")
    assert message.subject == f"Kleine Erinnerung: {invoice.number}"
    assert "Max Mustermann, bitte denken Sie an 100,00 € bis 30.11.2026." in message.body_text
    assert "Bitte überweisen Sie 100,00 € bis zum 30.11.2026" in message.body_text


def test_values_are_escaped_in_the_html_and_plain_in_the_text(company, actor):
    ctx = mail_texts.sample_context("mandate_granted", "de")
    ctx["customer_name"] = "Müller & <Söhne>"
    own = {("mandate_granted", "de"): MailText("Mandat", "<b>{{ customer_name }}</b>")}
    composed = mail.render("mandate_granted", ctx, own_texts=own)
    assert "<b>Müller & <Söhne></b>" in composed.text
    assert "&lt;b&gt;Müller &amp; &lt;Söhne&gt;&lt;/b&gt;" in composed.html
    assert "<b>Müller" not in composed.html
    # The mandate's data stay in both versions (SEPA: reference and creditor identifier).
    assert "Mandatsreferenz: MANDAT-000017" in composed.text
    assert "Gläubiger-Identifikationsnummer: DE98ZZZ09999999999" in composed.text
    assert "MANDAT-000017" in composed.html


def test_the_fixed_parts_of_other_mails_stay_beside_an_own_text(company):
    own = {(event, "de"): MailText("Betreff", "Unser eigener Text.") for event in mail_texts.EVENTS}

    def text(event: str) -> str:
        composed = mail.render(event, mail_texts.sample_context(event, "de"), own_texts=own)
        assert composed.subject == "Betreff"
        assert "Unser eigener Text." in composed.text
        assert "Unser eigener Text." in composed.html
        return composed.text

    sign_in = text("portal_sign_in")
    assert "Unser eigener Text.\n\nMit diesem Link melden Sie sich an" in sign_in
    assert "https://portal.example.de/anmelden?t=BEISPIEL" in sign_in
    arrears = text("arrears_debit_announced")
    assert "- Rechnung RE-2026-00031: 29,90 €" in arrears
    assert "Insgesamt buchen wir am 30.11.2026 62,80 € von Ihrem Konto" in arrears
    cancelled = text("contract_cancelled")  # § 312k (4) BGB: receipt, content, end
    assert "Eingegangen am: 16.11.2026 09:30 Uhr" in cancelled
    assert "endet am 31.12.2026" in cancelled
    assert "Eingegangen am: 16.11.2026 09:30 Uhr" in text("cancellation_received")
    assert "Neuer Preis: 34,90 € je Monat" in text("price_change")
    assert "Rechnung: RE-2026-00042\nBetrag: 29,90 €" in text("payment_failed")
    assert "Kosten der Bank: 3,00 €" in text("direct_debit_returned")
    assert "Kundennummer: K-40123" in text("account_statement")
    assert "Preis: 299,00 € je Jahr" in text("renewal_upcoming")
    assert "Erste Abrechnung: 24.11.2026" in text("trial_ending")


def test_an_own_text_that_fails_to_render_sends_the_built_in_one(company, actor, caplog):
    # Written past the service (which would refuse it): the mail still goes out.
    MailTemplate.objects.create(
        event="mandate_granted",
        language="de",
        subject="{% if %}",
        body="x",
        changed_at=dt.datetime(2026, 11, 16, tzinfo=dt.UTC),
        changed_by="user:anna",
    )
    composed = mail.render("mandate_granted", mail_texts.sample_context("mandate_granted", "de"))
    assert composed.subject == "Ihr SEPA-Lastschriftmandat MANDAT-000017"
    assert "the built-in one is sent" in caplog.text
