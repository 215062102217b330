"""API keys (stored hashed, shown once), the stored first responses of idempotent requests,
and the stored fixed parts of finalized invoices' resources."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

SCOPES = ("read", "write")


class ApiKey(models.Model):
    """A secret that lets a shop or script act through the API as one staff user.

    Only the SHA-256 of the secret is stored; the secret itself is shown once at creation.
    The key's roles are the roles of its user; its scopes limit it to reading or writing.
    """

    name = models.CharField(
        _("Name"),
        max_length=100,
        help_text=_("Erscheint im Protokoll als api:<Name>, z. B. api:shop."),
    )
    prefix = models.CharField(
        _("Präfix"),
        max_length=8,
        help_text=_("Die ersten Zeichen des Schlüssels nach fk_live_, zum Wiedererkennen."),
    )
    key_hash = models.CharField(_("SHA-256 des Schlüssels"), max_length=64, unique=True)
    scopes = models.JSONField(_("Berechtigungen"), default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_keys",
        verbose_name=_("handelt als Benutzer"),
    )
    created_at = models.DateTimeField(_("erstellt"))
    last_used_at = models.DateTimeField(_("zuletzt benutzt"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("widerrufen"), null=True, blank=True)

    class Meta:
        verbose_name = _("API-Schlüssel")
        verbose_name_plural = _("API-Schlüssel")
        ordering: ClassVar = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} (fk_live_{self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotencyRecord(models.Model):
    """The first successful response to a request with an ``Idempotency-Key``.

    A retry with the same key and the same request gets this response again instead of
    a second order; the unique constraint makes two concurrent first requests collide.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Idempotenz-Eintrag")
        verbose_name_plural = _("Idempotenz-Einträge")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["api_key", "key"], name="unique_idempotency_key")
        ]
        indexes: ClassVar = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class InvoiceResource(models.Model):
    """The JSON of a finalized invoice's API resource as a %-template: "%s" where the values
    that may still change go, "%" doubled elsewhere (``api.invoice_reads``); stored at its
    first read, for every process.

    ``version`` names the resource's schema: after an upgrade that changes it, the first
    read stores the new form again.
    """

    invoice = models.OneToOneField(
        "invoicing.Invoice", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.CharField(max_length=16)
    template = models.TextField()

    class Meta:
        verbose_name = _("gespeicherte API-Darstellung einer Rechnung")
        verbose_name_plural = _("gespeicherte API-Darstellungen von Rechnungen")

    def __str__(self) -> str:
        return f"invoice {self.invoice_id} ({self.version})"
