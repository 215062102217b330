"""Payments and their allocations to invoices; the open amount follows from allocations."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class Payment(models.Model):
    class Method(models.TextChoices):
        TRANSFER = "transfer", _("Überweisung")
        DIRECT_DEBIT = "direct_debit", _("SEPA-Lastschrift")
        PROVIDER = "provider", _("Online-Zahlung")
        CASH = "cash", _("Bar")

    class Source(models.TextChoices):
        STATEMENT = "statement", _("Kontoauszug")
        PROVIDER = "provider", _("Zahlungsanbieter")
        MANUAL = "manual", _("Manuelle Erfassung")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    amount = models.DecimalField(_("Betrag"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    date = models.DateField(_("Datum"))
    method = models.CharField(_("Zahlungsart"), max_length=20, choices=Method.choices)
    source = models.CharField(_("Quelle"), max_length=20, choices=Source.choices)
    reference = models.CharField(_("Verwendungszweck / Referenz"), max_length=500, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Zahlung")
        verbose_name_plural = _("Zahlungen")
        ordering: ClassVar = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency}"


class Allocation(models.Model):
    """A payment (part) assigned to an invoice; reversing it (return, chargeback) reopens it."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("Zuordnung")
        verbose_name_plural = _("Zuordnungen")
