"""Outgoing webhooks: the endpoints of the customer's own product and what was sent there.

A delivery is written in the transaction that decides the event (an outbox, like the
mails): nothing leaves before that transaction commits, and nothing decided is lost when
a process dies. Each attempt to send it is kept (status code, error, duration).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

# Delays before attempts 2 … 8: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 48 h (about 2.9 days
# from the first attempt to the last); after the eighth failed attempt it is "failed".
BACKOFF_MINUTES = (1, 5, 30, 120, 360, 720, 2880)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    # A shared secret: both sides need it as it is to compute the signature, so it is kept
    # in clear (unlike API keys, of which only a hash is kept). Shown once on creation.
    secret = models.CharField(_("Geheimnis"), max_length=100, editable=False)
    # After a rotation the old secret signs too (a second v1 value) until it expires, so
    # that the receiver can switch to the new one without losing a delivery.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        _("Altes Geheimnis gültig bis"), null=True, blank=True, editable=False
    )
    # Event types sent to this endpoint; empty: every event.
    events = models.JSONField(_("Ereignisse"), default=list, blank=True)
    active = models.BooleanField(_("Aktiv"), default=True)
    description = models.CharField(_("Beschreibung"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("Erstellt am"))
    created_by = models.CharField(_("Erstellt von"), max_length=150)

    class Meta:
        verbose_name = _("Webhook-Endpunkt")
        verbose_name_plural = _("Webhook-Endpunkte")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    def signing_secrets(self, at: dt.datetime) -> list[str]:
        """The secrets a delivery at ``at`` is signed with: the current one first."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and at < expires:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Ausstehend")
        DELIVERED = "delivered", _("Zugestellt")
        FAILED = "failed", _("Fehlgeschlagen")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("Endpunkt"),
    )
    event_id = models.UUIDField(_("Ereignis-ID"))
    event_type = models.CharField(_("Ereignis"), max_length=60)
    payload = models.JSONField(_("Inhalt"))
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("Versuche"), default=0)
    next_attempt_at = models.DateTimeField(_("Nächster Versuch"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("Letzter Statuscode"), null=True)
    last_error = models.TextField(_("Letzter Fehler"), blank=True)
    last_attempt_at = models.DateTimeField(_("Letzter Versuch"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("Zugestellt am"), null=True, blank=True)
    # Set while a sender talks to the endpoint; released when that worker is found dead
    # or the claim is older than a request can last (``services.release_stale_claims``).
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("Erstellt am"))
    created_by = models.CharField(_("Ausgelöst von"), max_length=150)

    class Meta:
        verbose_name = _("Webhook-Zustellung")
        verbose_name_plural = _("Webhook-Zustellungen")
        ordering: ClassVar = ["-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="one_delivery_per_endpoint_and_event"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("Zustellung"),
    )
    attempted_at = models.DateTimeField(_("Zeitpunkt"))
    status_code = models.PositiveSmallIntegerField(_("Statuscode"), null=True)
    error = models.TextField(_("Fehler"), blank=True)
    duration_ms = models.PositiveIntegerField(_("Dauer (ms)"))

    class Meta:
        verbose_name = _("Zustellversuch")
        verbose_name_plural = _("Zustellversuche")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S}"
