"""Orders: the input that invoices are made from (API, back office, subscriptions)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Order(models.Model):
    class Source(models.TextChoices):
        API = "api", _("API")
        BACKOFFICE = "backoffice", _("Backoffice (manuell)")
        SUBSCRIPTION = "subscription", _("Abonnement")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="orders"
    )
    external_reference = models.CharField(
        _("Externe Referenz"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_(
            "Bestellnummer des Shops; eine zweite Bestellung mit derselben Referenz "
            "ergibt keine zweite Rechnung."
        ),
    )
    source = models.CharField(_("Herkunft"), max_length=20, choices=Source.choices)
    request = models.JSONField(_("Auftragsdaten"), help_text=_("Die Positionen, wie übergeben."))
    created_by = models.CharField(_("Erstellt von"), max_length=150)
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The credit check's decision when the order was placed (sales.credit_check).
    risk_decision = models.CharField(
        _("Bonitätsprüfung"),
        max_length=20,
        choices=[
            ("normal", _("Normal")),
            ("approval", _("Freigabe angefordert")),
            ("prepayment", _("Vorkasse")),
        ],
        default="normal",
    )
    risk_score = models.PositiveSmallIntegerField(_("Risikopunkte"), null=True, blank=True)
    risk_reasons = models.JSONField(_("Gründe"), default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Auftrag")
        verbose_name_plural = _("Aufträge")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"Auftrag {self.pk} ({self.external_reference or self.get_source_display()})"
