"""Customers (Debitoren): who is invoiced, and how."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from faktura.core import text, validators

# The fields that end up on documents and mails as text.
TEXT_FIELDS = (
    "name",
    "contact_name",
    "street",
    "house_number",
    "postcode",
    "city",
    "phone",
    "additional_emails",
    "dunning_block_reason",
)


class Customer(models.Model):
    class Kind(models.TextChoices):
        CONSUMER = "consumer", _("Verbraucher")
        BUSINESS = "business", _("Unternehmen")
        PUBLIC_BODY = "public_body", _("Öffentliche Verwaltung")

    class PaymentMethod(models.TextChoices):
        TRANSFER = "transfer", _("Überweisung")
        DIRECT_DEBIT = "direct_debit", _("SEPA-Lastschrift")
        PROVIDER = "provider", _("Online-Zahlung")

    number = models.CharField(_("Kundennummer"), max_length=30, unique=True)
    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices, default=Kind.BUSINESS)
    name = models.CharField(_("Name / Firma"), max_length=200)
    contact_name = models.CharField(_("Ansprechpartner"), max_length=100, blank=True)
    street = models.CharField(_("Straße"), max_length=120)
    house_number = models.CharField(_("Hausnummer"), max_length=20, blank=True)
    postcode = models.CharField(_("PLZ"), max_length=20)
    city = models.CharField(_("Ort"), max_length=100)
    country = models.CharField(_("Land"), max_length=2, default="DE")
    email = models.EmailField(_("E-Mail für Rechnungen"))
    additional_emails = models.CharField(
        _("Weitere E-Mail-Adressen"),
        max_length=500,
        blank=True,
        help_text=_("Durch Komma getrennt, erhalten eine Kopie."),
    )
    phone = models.CharField(_("Telefon"), max_length=50, blank=True)
    language = models.CharField(
        _("Sprache"), max_length=5, choices=settings.LANGUAGES, default="de"
    )
    vat_id = models.CharField(_("USt-IdNr."), max_length=20, blank=True)
    leitweg_id = models.CharField(_("Leitweg-ID"), max_length=46, blank=True)
    xrechnung_syntax = models.CharField(
        _("XRechnung-Syntax"),
        max_length=3,
        choices=[("cii", "CII"), ("ubl", "UBL")],
        default="cii",
        help_text=_("Nur für Kunden mit Leitweg-ID."),
    )
    payment_term_days = models.PositiveSmallIntegerField(
        _("Zahlungsziel (Tage)"),
        null=True,
        blank=True,
        help_text=_("Leer: Standard des Unternehmens."),
    )
    preferred_payment_method = models.CharField(
        _("Zahlungsart"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.TRANSFER,
    )
    dunning_block = models.BooleanField(_("Mahnsperre"), default=False)
    dunning_block_until = models.DateField(_("Mahnsperre bis"), null=True, blank=True)
    dunning_block_reason = models.CharField(_("Grund der Mahnsperre"), max_length=200, blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_customers",
        verbose_name=_("Betreuer"),
    )
    credit_limit = models.DecimalField(
        _("Kreditlimit"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    delivery_by_post = models.BooleanField(
        _("Versand per Post"),
        default=False,
        help_text=_(
            "Rechnungen, Gutschriften und Mahnungen kommen zusätzlich in den täglichen "
            "Druckstapel (Briefversand)."
        ),
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Kunde")
        verbose_name_plural = _("Kunden")
        ordering: ClassVar = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def is_consumer(self) -> bool:
        return self.kind == self.Kind.CONSUMER

    def clean(self) -> None:
        # Copied onto every document: refuse what no document can show (core.text).
        errors: dict[str, Any] = text.field_errors(self, TEXT_FIELDS)
        if self.vat_id:
            try:
                self.vat_id = validators.normalize_vat_id(self.vat_id)
            except ValidationError as error:
                errors["vat_id"] = error
        if self.leitweg_id:
            try:
                self.leitweg_id = validators.normalize_leitweg_id(self.leitweg_id)
            except ValidationError as error:
                errors["leitweg_id"] = error
        if self.kind == self.Kind.PUBLIC_BODY and not self.leitweg_id:
            errors["leitweg_id"] = _(
                "Öffentliche Auftraggeber brauchen eine Leitweg-ID (XRechnung)."
            )
        if self.dunning_block_until and not self.dunning_block:
            errors["dunning_block_until"] = _("Ein Enddatum setzt eine Mahnsperre voraus.")
        self.country = (self.country or "").upper()
        if errors:
            raise ValidationError(errors)


class PortalAccount(models.Model):
    """The sign-in of a customer to the portal: a user without a staff role, bound to
    exactly one customer (the magic link signs in this user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_account"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="portal_accounts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Portalzugang")
        verbose_name_plural = _("Portalzugänge")

    def __str__(self) -> str:
        return f"{self.customer} ({self.user})"
