"""The reporting app's settings: the DATEV export's client data and account mapping."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Chart(models.TextChoices):
    """The DATEV standard charts of accounts (Standardkontenrahmen)."""

    SKR03 = "skr03", "SKR 03"
    SKR04 = "skr04", "SKR 04"


class DebtorAccountSource(models.TextChoices):
    CUSTOMER_NUMBER = "customer_number", _("Start + Ziffern der Kundennummer")
    CUSTOMER_ID = "customer_id", _("Start + interne Kunden-ID")


class DatevSettings(models.Model):
    """The one row of DATEV settings; without it the FAKTURA_DATEV_* settings apply."""

    consultant_number = models.PositiveIntegerField(
        _("Beraternummer"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1001), MaxValueValidator(9999999)],
    )
    client_number = models.PositiveIntegerField(
        _("Mandantennummer"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99999)],
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("Beginn des Wirtschaftsjahres (Monat)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    account_length = models.PositiveSmallIntegerField(
        _("Sachkontenlänge"),
        default=4,
        validators=[MinValueValidator(4), MaxValueValidator(8)],
        help_text=_("Stellen der Sachkonten; Debitorenkonten haben eine Stelle mehr."),
    )
    chart = models.CharField(
        _("Kontenrahmen"), max_length=5, choices=Chart.choices, default=Chart.SKR03
    )
    debtor_account_source = models.CharField(
        _("Debitorenkonto aus"),
        max_length=20,
        choices=DebtorAccountSource.choices,
        default=DebtorAccountSource.CUSTOMER_NUMBER,
    )
    debtor_account_start = models.PositiveIntegerField(
        _("Debitorenkonten ab"),
        default=10000,
        help_text=_("Kunde K00042 wird bei 10000 zum Debitor 10042."),
    )
    export_payments = models.BooleanField(
        _("Zahlungen exportieren"),
        default=True,
        help_text=_(
            "Aus, wenn die Kanzlei die Kontoumsätze direkt von der Bank bezieht: "
            "sonst wären Zahlungen doppelt gebucht."
        ),
    )
    lock_bookings = models.BooleanField(
        _("Buchungen festschreiben"),
        default=False,
        help_text=_("Meist aus: die Kanzlei prüft den Stapel und schreibt selbst fest."),
    )

    objects: ClassVar[models.Manager[DatevSettings]] = models.Manager()

    class Meta:
        verbose_name = _("DATEV-Einstellungen")
        verbose_name_plural = _("DATEV-Einstellungen")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> DatevSettings:
        """Return the stored settings, or defaults from the FAKTURA_DATEV_* settings."""
        stored = cls.objects.order_by("pk").first()
        if stored is not None:
            return stored
        return cls(
            consultant_number=getattr(settings, "FAKTURA_DATEV_CONSULTANT_NUMBER", None),
            client_number=getattr(settings, "FAKTURA_DATEV_CLIENT_NUMBER", None),
            chart=getattr(settings, "FAKTURA_DATEV_CHART", Chart.SKR03),
        )


class AccountPurpose(models.TextChoices):
    """What an account of the mapping is for (one account per chart and purpose)."""

    REVENUE_19 = "revenue_19", _("Erlöse 19 % USt")
    REVENUE_7 = "revenue_7", _("Erlöse 7 % USt")
    REVENUE_REVERSE_CHARGE = (
        "revenue_reverse_charge",
        _("Erlöse EU-Leistungen, Steuerschuld beim Leistungsempfänger (§ 13b UStG)"),
    )
    REVENUE_INTRA_COMMUNITY = (
        "revenue_intra_community",
        _("Steuerfreie innergemeinschaftliche Lieferungen (§ 4 Nr. 1b UStG)"),
    )
    REVENUE_EXPORT = "revenue_export", _("Steuerfreie Ausfuhrlieferungen (§ 4 Nr. 1a UStG)")
    REVENUE_NOT_TAXABLE = (
        "revenue_not_taxable",
        _("Im Inland nicht steuerbare Leistungen (§ 3a Abs. 2 UStG, Drittland)"),
    )
    REVENUE_EXEMPT = "revenue_exempt", _("Steuerfreie Umsätze (§ 4 Nr. 8 ff., § 19 UStG)")
    BANK = "bank", _("Bank")
    UNASSIGNED = "unassigned", _("Zahlungen ohne Kunde (Durchlaufende Posten)")
    FEES = "fees", _("Mahngebühren, Verzugspauschale, Rücklastschriftgebühren")
    INTEREST = "interest", _("Verzugszinsen")
    WRITE_OFF_19 = "write_off_19", _("Forderungsverluste 19 % USt")
    WRITE_OFF_7 = "write_off_7", _("Forderungsverluste 7 % USt")
    WRITE_OFF_OTHER = "write_off_other", _("Forderungsverluste (ohne USt-Korrektur)")


class DatevAccount(models.Model):
    """An account of the mapping, overriding the chart's default (see datev/accounts.py)."""

    chart = models.CharField(_("Kontenrahmen"), max_length=5, choices=Chart.choices)
    purpose = models.CharField(_("Zweck"), max_length=30, choices=AccountPurpose.choices)
    account = models.PositiveIntegerField(_("Konto"), validators=[MinValueValidator(1)])
    tax_key = models.CharField(
        _("BU-Schlüssel"),
        max_length=4,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{1,4}$", _("Nur Ziffern, höchstens vier."))],
        help_text=_("Leer bei Automatikkonten (die Standardkonten sind es)."),
    )

    objects: ClassVar[models.Manager[DatevAccount]] = models.Manager()

    class Meta:
        verbose_name = _("DATEV-Konto")
        verbose_name_plural = _("DATEV-Kontenzuordnung")
        ordering: ClassVar = ["chart", "purpose"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chart", "purpose"], name="unique_datev_account")
        ]

    def __str__(self) -> str:
        return f"{Chart(self.chart).label} {AccountPurpose(self.purpose).label}: {self.account}"
