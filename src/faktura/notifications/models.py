"""The outbox: every e-mail Faktura sends, written in the transaction that decides to send it.

A message is composed completely when it is queued (recipients, subject, text and HTML,
references to the archived attachments), so every retry sends the same mail and the record
shows what the customer received. Sending happens after the commit, in a task.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Delays before attempts 2 … 6; after the sixth failed attempt the message is "failed".
BACKOFF_MINUTES = (1, 5, 30, 120, 720)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1


class OutboxMessage(models.Model):
    class Event(models.TextChoices):
        INVOICE_ISSUED = "invoice_issued", _("Rechnung ausgestellt")
        CREDIT_NOTE_ISSUED = "credit_note_issued", _("Gutschrift ausgestellt")
        CANCELLATION_ISSUED = "cancellation_issued", _("Stornorechnung ausgestellt")
        TRIAL_ENDING = "trial_ending", _("Testphase endet")
        RENEWAL_UPCOMING = "renewal_upcoming", _("Verlängerung steht bevor")
        PRICE_CHANGE = "price_change", _("Preisänderung")
        PAYMENT_FAILED = "payment_failed", _("Zahlung fehlgeschlagen")
        DIRECT_DEBIT_RETURNED = "direct_debit_returned", _("Lastschrift zurückgegeben")
        ARREARS_DEBIT_ANNOUNCED = "arrears_debit_announced", _("Einzug von Rückständen angekündigt")
        DUNNING_NOTICE = "dunning_notice", _("Zahlungserinnerung / Mahnung")
        PAYMENT_DUE_SOON = "payment_due_soon", _("Zahlungshinweis vor Fälligkeit")
        STAFF_DIGEST = "staff_digest", _("Hinweis an Mitarbeiter (Mahnwesen)")
        ACCOUNT_STATEMENT = "account_statement", _("Kontoauszug des Kundenkontos")
        PORTAL_SIGN_IN = "portal_sign_in", _("Anmeldelink zum Kundenportal")
        CONTRACT_CANCELLED = "contract_cancelled", _("Kündigung bestätigt")
        CANCELLATION_RECEIVED = "cancellation_received", _("Eingang einer Kündigung bestätigt")
        MANDATE_GRANTED = "mandate_granted", _("SEPA-Mandat erteilt")

    class State(models.TextChoices):
        QUEUED = "queued", _("In Warteschlange")
        SENDING = "sending", _("Wird gesendet")
        SENT = "sent", _("Gesendet")
        FAILED = "failed", _("Fehlgeschlagen")

    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox_messages",
        verbose_name=_("Dokument"),
    )
    event = models.CharField(_("Anlass"), max_length=30, choices=Event.choices)
    is_resend = models.BooleanField(_("Erneuter Versand"), default=False)
    from_email = models.CharField(_("Absender"), max_length=300)
    reply_to = models.JSONField(_("Antwort an"), default=list, blank=True)
    to = models.JSONField(_("An"), default=list)
    cc = models.JSONField(_("Kopie an"), default=list, blank=True)
    subject = models.CharField(_("Betreff"), max_length=300)
    language = models.CharField(_("Sprache"), max_length=5, default="de")
    body_text = models.TextField(_("Text"))
    body_html = models.TextField(_("HTML"), blank=True)
    # ids of faktura.documents.ArchivedDocument and "dunning_letter:<pk>", attached byte for
    # byte as archived; a document that is not archived (the account statement) is kept
    # here itself: {"filename", "content_type", "sha256", "size", "content_base64"}.
    attachments = models.JSONField(_("Anhänge"), default=list, blank=True)
    state = models.CharField(
        _("Status"), max_length=10, choices=State.choices, default=State.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("Versuche"), default=0)
    last_error = models.TextField(_("Letzter Fehler"), blank=True)
    next_attempt_at = models.DateTimeField(_("Nächster Versuch"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The worker sending it (``faktura worker``'s id; empty from a command): when that
    # worker's lease expires the message goes back to the queue at once.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(_("Gesendet am"), null=True, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(_("Erstellt am"))

    class Meta:
        verbose_name = _("E-Mail")
        verbose_name_plural = _("Postausgang")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            # One first mail per document; re-sends are further rows.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(is_resend=False, invoice__isnull=False),
                name="one_initial_mail_per_document",
            )
        ]
        indexes: ClassVar = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return self.subject


class MailTemplate(models.Model):
    """The company's own subject and message of one customer mail in one language.

    No row: the built-in text. Written only by ``template_services`` (checked, audited);
    the mail template language and what stays fixed are described in ``mail_texts``.
    """

    class Language(models.TextChoices):
        DE = "de", _("Deutsch")
        EN = "en", _("Englisch")

    # One of mail_texts.KINDS (an OutboxMessage.Event); no choices, so that a new event
    # needs no migration here.
    event = models.CharField(_("E-Mail"), max_length=30)
    language = models.CharField(_("Sprache"), max_length=2, choices=Language.choices)
    subject = models.CharField(_("Betreff"), max_length=200)
    body = models.TextField(_("Text"))
    changed_at = models.DateTimeField(_("Geändert am"))
    changed_by = models.CharField(_("Geändert von"), max_length=150)

    class Meta:
        verbose_name = _("E-Mail-Vorlage")
        verbose_name_plural = _("E-Mail-Vorlagen")
        ordering: ClassVar = ["event", "language"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "language"], name="one_mail_text_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.language})"
