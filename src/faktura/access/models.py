"""A customer's access: independent block reasons, staff overrides, and the settings.

The access status is never stored: it is derived from the active blocks (block beats
restrict beats active), unless an active ``AccessOverride`` lets the customer in. A
block ends (``ended_at``) when its claims are paid, when staff lift it, or never; it is
not deleted, so the history of who was blocked when and why stays.

An override is staff's "allow anyway": it wins over every block until its ``until`` date
(inclusive; empty: until revoked) or until it is revoked. It does not end the blocks: when
it expires, the blocks still active count again.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    ACTIVE = "active", _("Aktiv")
    RESTRICTED = "restricted", _("Eingeschränkt")
    BLOCKED = "blocked", _("Gesperrt")


class Effect(models.TextChoices):
    RESTRICT = "restrict", _("Einschränken")
    BLOCK = "block", _("Sperren")


class AccessBlock(models.Model):
    """One reason why a customer's access is restricted or blocked."""

    class Reason(models.TextChoices):
        DUNNING_LEVEL = "dunning_level", _("Mahnstufe erreicht")
        RETURNED_DEBIT = "returned_debit", _("Rücklastschrift")
        CHARGEBACK = "chargeback", _("Chargeback")
        COLLECTION = "collection", _("An Inkasso übergeben")
        MANUAL = "manual", _("Manuell")

    class EndReason(models.TextChoices):
        PAID = "paid", _("Forderungen bezahlt")
        LIFTED = "lifted", _("Von Hand aufgehoben")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="access_blocks"
    )
    reason = models.CharField(_("Grund"), max_length=20, choices=Reason.choices)
    level = models.PositiveSmallIntegerField(_("Mahnstufe"), null=True, blank=True)
    effect = models.CharField(_("Wirkung"), max_length=10, choices=Effect.choices)
    since = models.DateTimeField(_("seit"))
    created_by = models.CharField(_("von"), max_length=150)
    why = models.CharField(_("Begründung"), max_length=500, blank=True)
    # The claims the block is about: paid in full, the block ends by itself.
    invoices = models.ManyToManyField("invoicing.Invoice", related_name="access_blocks", blank=True)
    ended_at = models.DateTimeField(_("beendet am"), null=True, blank=True)
    ended_by = models.CharField(_("beendet von"), max_length=150, blank=True)
    end_reason = models.CharField(
        _("Beendigungsgrund"), max_length=20, choices=EndReason.choices, blank=True
    )
    end_why = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Zugangssperre")
        verbose_name_plural = _("Zugangssperren")
        ordering: ClassVar = ["-since", "-id"]
        indexes: ClassVar = [
            # The booking hook asks "has this customer any active block?" on every payment.
            models.Index(
                fields=["customer"], condition=Q(ended_at__isnull=True), name="access_block_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.get_effect_display()})"


class AccessOverride(models.Model):
    """Staff let a customer in despite its blocks, until a date or until revoked."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="access_overrides"
    )
    until = models.DateField(_("bis einschließlich"), null=True, blank=True)
    why = models.CharField(_("Begründung"), max_length=500)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    revoke_why = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Zugangsfreigabe")
        verbose_name_plural = _("Zugangsfreigaben")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} bis {self.until or '∞'}"

    def is_active(self, today: dt.date) -> bool:
        return self.revoked_at is None and (self.until is None or self.until >= today)


class AccessSettings(models.Model):
    """The one row of access settings (never written by ``load``)."""

    class WhileBlocked(models.TextChoices):
        KEEP = "keep", _("Weiter abrechnen")
        PAUSE = "pause", _("Abrechnung aussetzen")

    returned_debit_effect = models.CharField(
        _("Wirkung einer Rücklastschrift"),
        max_length=10,
        choices=Effect.choices,
        default=Effect.BLOCK,
    )
    chargeback_effect = models.CharField(
        _("Wirkung eines Chargebacks"), max_length=10, choices=Effect.choices, default=Effect.BLOCK
    )
    subscriptions_while_blocked = models.CharField(
        _("Abonnements gesperrter Kunden"),
        max_length=10,
        choices=WhileBlocked.choices,
        default=WhileBlocked.KEEP,
        help_text=_(
            "Ausgesetzte Leistungszeiträume werden nach der Entsperrung einmal abgerechnet."
        ),
    )

    class Meta:
        verbose_name = _("Zugangseinstellungen")
        verbose_name_plural = _("Zugangseinstellungen")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> AccessSettings:
        return cls.objects.order_by("pk").first() or cls()
