"""The reporting app's records: the DATEV export's client data and account mapping; the
deletion log of purged archive files and legal holds.

A purged file's archive row stays (it is the record that the document existed, with its
SHA-256); the file goes, and a ``PurgedDocument`` row says when, by whom and why that was
allowed (its ``retention_until`` had passed). ``faktura check`` takes that row as the proof
that a missing file is no damage.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import ImmutableDocument


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


class PurgedDocumentQuerySet(models.QuerySet["PurgedDocument"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableDocument("The deletion log is never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableDocument("The deletion log is never deleted.")


class PurgedDocument(models.Model):
    """One archived file deleted after its retention period (the deletion log)."""

    class Kind(models.TextChoices):
        INVOICE_ARCHIVE = "invoice_archive", _("Archivierter Beleg")
        DUNNING_LETTER = "dunning_letter", _("Mahnschreiben")

    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices)
    # The archive row (documents.ArchivedDocument or dunning.NoticeLetter), which stays.
    object_id = models.PositiveBigIntegerField(_("Archiv-ID"))
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("Kunde")
    )
    document = models.CharField(_("Dokument"), max_length=100)
    file_name = models.CharField(_("Dateiname"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("Größe (Bytes)"))
    retention_until = models.DateField(_("Aufbewahren bis"))
    deleted_at = models.DateTimeField(_("Gelöscht am"))
    deleted_by = models.CharField(_("Gelöscht von"), max_length=150)

    objects = PurgedDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("Gelöschtes Dokument")
        verbose_name_plural = _("Löschprotokoll")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="unique_purged_document")
        ]

    def __str__(self) -> str:
        return self.file_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableDocument(f"{self} is logged and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableDocument(f"{self} is logged and cannot be deleted.")


class LegalHold(models.Model):
    """Aufbewahrungssperre: nothing of the customer is purged while the hold is active.

    Set for a tax audit, a lawsuit or an open assessment period (the retention period runs
    longer while the tax assessment is open, § 147 (3) sentence 5 AO). Cleared, it stays as
    history; at most one hold per customer is active.
    """

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="legal_holds",
        verbose_name=_("Kunde"),
    )
    reason = models.CharField(_("Grund"), max_length=500)
    set_at = models.DateTimeField(_("Gesetzt am"))
    set_by = models.CharField(_("Gesetzt von"), max_length=150)
    cleared_at = models.DateTimeField(_("Aufgehoben am"), null=True, blank=True)
    cleared_by = models.CharField(_("Aufgehoben von"), max_length=150, blank=True)
    clear_reason = models.CharField(_("Grund der Aufhebung"), max_length=500, blank=True)

    objects: ClassVar[models.Manager[LegalHold]] = models.Manager()

    class Meta:
        verbose_name = _("Aufbewahrungssperre")
        verbose_name_plural = _("Aufbewahrungssperren")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(cleared_at__isnull=True),
                name="one_active_legal_hold",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.reason}"

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class InvoiceOpenNow(models.Model):
    """What a finalized invoice claims now, and the latest moment that counts for it.

    ``credited`` = its finalized corrections; ``open_amount`` = payable − credited − active
    allocations − active write-offs, as ``invoicing.selectors.with_open_amounts`` computes
    it. ``counted_until``
    is the latest of the moments by which a report as of a date counts the rows behind it
    (an allocation's or write-off's creation and reversal, a correction's issue date).
    For a date D after it, the invoice's state at D is its state now; so the open items
    at D read only the invoices open now or changed after D (``reporting.open_items``).

    Kept on PostgreSQL by triggers on the rows that change it (migration reporting 0004),
    whichever service writes them; ``faktura check`` compares it with a recomputation.
    """

    invoice = models.OneToOneField(
        "invoicing.Invoice", on_delete=models.CASCADE, primary_key=True, related_name="open_now"
    )
    credited = models.DecimalField(max_digits=14, decimal_places=2)
    open_amount = models.DecimalField(max_digits=14, decimal_places=2)
    counted_until = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("offener Betrag einer Rechnung (jetzt)")
        verbose_name_plural = _("offene Beträge der Rechnungen (jetzt)")
        indexes: ClassVar = [
            models.Index(fields=["invoice"], condition=~Q(open_amount=0), name="invoice_open_now"),
            models.Index(fields=["counted_until"], name="invoice_open_counted_until"),
        ]

    def __str__(self) -> str:
        return f"invoice {self.invoice_id}: {self.open_amount}"


class PaymentCreditNow(models.Model):
    """What of a payment is not allocated now (``unallocated``: amount − active
    allocations − returns − active allocations to dunning costs), and the latest moment
    that counts for it; as ``InvoiceOpenNow`` for the payments' side of the open items."""

    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.CASCADE, primary_key=True, related_name="credit_now"
    )
    unallocated = models.DecimalField(max_digits=14, decimal_places=2)
    counted_until = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("nicht zugeordneter Betrag einer Zahlung (jetzt)")
        verbose_name_plural = _("nicht zugeordnete Beträge der Zahlungen (jetzt)")
        indexes: ClassVar = [
            models.Index(
                fields=["payment"], condition=~Q(unallocated=0), name="payment_credit_now"
            ),
            models.Index(fields=["counted_until"], name="payment_credit_counted_until"),
        ]

    def __str__(self) -> str:
        return f"payment {self.payment_id}: {self.unallocated}"
