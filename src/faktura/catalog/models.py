"""Products, prices, tax rates and stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from faktura.core import text

# UN/ECE Recommendation 20 unit codes most used on German invoices.
UNIT_CODES = {
    "C62": _("Stück"),
    "H87": _("Stück"),
    "HUR": _("Stunde"),
    "DAY": _("Tag"),
    "WEE": _("Woche"),
    "MON": _("Monat"),
    "ANN": _("Jahr"),
    "KGM": _("Kilogramm"),
    "MTR": _("Meter"),
    "LTR": _("Liter"),
    "MIN": _("Minute"),
    "LS": _("Pauschale"),
    "SET": _("Set"),
    "E48": _("Leistungseinheit"),
}


class TaxRate(models.Model):
    """A VAT rate with its EN 16931 category (BT-151/BT-118)."""

    class Category(models.TextChoices):
        STANDARD = "S", _("Normal- oder ermäßigter Satz (S)")
        ZERO = "Z", _("Nullsatz (Z)")
        EXEMPT = "E", _("Steuerbefreit (E)")
        REVERSE_CHARGE = "AE", _("Steuerschuldnerschaft des Leistungsempfängers (AE)")
        INTRA_COMMUNITY = "K", _("Innergemeinschaftliche Lieferung (K)")
        EXPORT = "G", _("Ausfuhr (G)")
        NOT_SUBJECT = "O", _("Nicht steuerbar (O)")

    # Categories that carry no VAT and need an exemption reason (BR-E-10, BR-AE-10, BR-IC-10 …)
    EXEMPTION_CATEGORIES = frozenset({"E", "AE", "K", "G", "O"})

    code = models.SlugField(_("Kürzel"), max_length=30, unique=True)
    name = models.CharField(_("Bezeichnung"), max_length=100)
    category = models.CharField(_("Kategorie"), max_length=2, choices=Category.choices)
    rate = models.DecimalField(
        _("Satz (%)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    exemption_reason = models.CharField(_("Befreiungsgrund"), max_length=300, blank=True)
    exemption_reason_code = models.CharField(_("Befreiungscode (VATEX)"), max_length=30, blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        verbose_name = _("Steuersatz")
        verbose_name_plural = _("Steuersätze")
        ordering: ClassVar = ["-rate", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = text.field_errors(self, ("name", "exemption_reason"))
        if self.category == self.Category.STANDARD and (self.rate or 0) <= 0:
            errors["rate"] = _("Kategorie S braucht einen Satz über 0 % (BR-S-05).")
        if self.category != self.Category.STANDARD and self.rate:
            errors["rate"] = _("Nur Kategorie S hat einen Satz über 0 %.")
        if self.category in self.EXEMPTION_CATEGORIES and not self.exemption_reason:
            errors["exemption_reason"] = _("Diese Kategorie braucht einen Befreiungsgrund.")
        if errors:
            raise ValidationError(errors)


class SupplyKind(models.TextChoices):
    """Goods (Lieferung, § 3 (1) UStG) or a service (sonstige Leistung, § 3 (9) UStG).

    Decides the VAT category of a sale to a business abroad: goods to the EU are an
    intra-community supply (K), services to the EU are reverse charge (AE), services
    outside the EU are not taxable in Germany (O), goods outside the EU an export (G).
    """

    GOODS = "goods", _("Lieferung (Ware)")
    SERVICE = "service", _("Sonstige Leistung (Dienstleistung)")


class Product(models.Model):
    class PriceMode(models.TextChoices):
        NET = "net", _("Netto")
        GROSS = "gross", _("Brutto (Verbraucherpreis)")

    Kind = SupplyKind

    sku = models.CharField(_("Artikelnummer"), max_length=50, unique=True)
    name = models.CharField(_("Bezeichnung"), max_length=200)
    description = models.TextField(_("Beschreibung"), blank=True)
    unit_code = models.CharField(
        _("Einheit"),
        max_length=3,
        default="C62",
        choices=[(code, format_lazy("{} – {}", code, label)) for code, label in UNIT_CODES.items()],
    )
    price_mode = models.CharField(
        _("Preisart"), max_length=5, choices=PriceMode.choices, default=PriceMode.NET
    )
    unit_price = models.DecimalField(
        _("Einzelpreis"),
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Netto, oder brutto inkl. USt bei Verbraucherpreisen."),
    )
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, related_name="products", verbose_name=_("Steuersatz")
    )
    kind = models.CharField(
        _("Art der Leistung"),
        max_length=7,
        choices=SupplyKind.choices,
        default=SupplyKind.SERVICE,
        help_text=_(
            "Entscheidet die Steuer bei Verkäufen an Unternehmen im Ausland: Lieferung in die "
            "EU steuerfrei (K), Dienstleistung in die EU Reverse Charge (AE), Dienstleistung "
            "außerhalb der EU nicht steuerbar (O), Lieferung außerhalb der EU Ausfuhr (G)."
        ),
    )
    track_stock = models.BooleanField(_("Bestand führen"), default=False)
    stock_level = models.DecimalField(_("Bestand"), max_digits=14, decimal_places=4, default=0)
    low_stock_threshold = models.DecimalField(
        _("Meldebestand"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        verbose_name = _("Artikel")
        verbose_name_plural = _("Artikel")
        ordering: ClassVar = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def clean(self) -> None:
        # Copied onto invoice lines: refuse what no document can show (core.text).
        errors = text.field_errors(self, ("sku", "name", "description"), multiline=("description",))
        if errors:
            raise ValidationError(errors)


class StockMovement(models.Model):
    """Why a tracked product's stock level changed (finalized invoice, restocking credit note)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    quantity = models.DecimalField(max_digits=14, decimal_places=4)  # negative = out
    document_number = models.CharField(max_length=30)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Lagerbewegung")
        verbose_name_plural = _("Lagerbewegungen")

    def __str__(self) -> str:
        return f"{self.product_id}: {self.quantity} ({self.document_number})"
