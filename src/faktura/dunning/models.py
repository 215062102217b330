"""Dunning (Mahnwesen): policies and their levels, the daily run, notices and their fees.

Each overdue invoice has a ``DunningCase``: the level it reached, when, and whether it was
handed to collection. A ``DunningNotice`` is one notice to one customer at one level; its
``DunningNoticeItem`` rows hold the figures of each invoice on it. Fees, the EUR 40 flat
fee and default interest are ``DunningFee`` rows: claims without VAT (damages are no
taxable supply), open until paid or waived.

The database keeps the run idempotent: a notice per customer, level and run date once
(consolidated) or per invoice; an invoice on one active notice per level; a dunning fee per
notice once; the flat fee per invoice once; interest per invoice and first day once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import ImmutableDocument
from faktura.documents.models import archive_storage

_MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}
MAX_LEVEL = 4


class BaseRate(models.Model):
    """The base rate of § 247 BGB from a date on (data: a new value is a new migration)."""

    valid_from = models.DateField(_("Gültig ab"), unique=True)
    rate = models.DecimalField(_("Basiszinssatz (%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("Basiszinssatz")
        verbose_name_plural = _("Basiszinssätze")
        ordering: ClassVar = ["valid_from"]

    def __str__(self) -> str:
        return f"{self.valid_from}: {self.rate} %"


class DunningPolicy(models.Model):
    """How a group of customers is dunned: levels, fees, texts."""

    name = models.CharField(_("Name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("Standard"), default=False)
    customer_kinds = models.JSONField(
        _("Für Kundenarten"),
        default=list,
        blank=True,
        help_text=_("consumer, business, public_body; leer: nur per Kunde zugeordnet."),
    )
    one_notice_per_invoice = models.BooleanField(_("Eine Mahnung je Rechnung"), default=False)
    collection_after_days = models.PositiveSmallIntegerField(
        _("Inkasso-Vorschlag nach (Tage)"),
        default=14,
        help_text=_(
            "Tage nach der letzten Mahnstufe, bis ein Fall zur Inkasso-Übergabe vorgeschlagen wird."
        ),
    )
    cancel_subscriptions_on_collection = models.BooleanField(
        _("Abonnements bei Inkasso-Übergabe beenden"), default=False
    )
    # Rückstände mit der nächsten regulären Lastschrift einziehen (faktura.collection.arrears).
    collect_arrears_by_debit = models.BooleanField(
        _("Rückstände mit der nächsten Lastschrift einziehen"),
        default=False,
        help_text=_(
            "Überfällige Rechnungen von Lastschriftkunden werden angekündigt und mit der "
            "nächsten regulären Lastschrift eingezogen."
        ),
    )
    arrears_debit_limit = models.PositiveSmallIntegerField(
        _("Höchstens so oft je Forderung"),
        default=1,
        help_text=_("Wie oft eine Forderung mit einer Lastschrift nachgezogen werden darf."),
    )

    class Meta:
        verbose_name = _("Mahnrichtlinie")
        verbose_name_plural = _("Mahnrichtlinien")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DunningLevel(models.Model):
    """One step of a policy: 0 payment reminder, 1 first, 2 second, 3 third/final notice."""

    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(_("Stufe"), validators=[MaxValueValidator(MAX_LEVEL)])
    name = models.CharField(_("Bezeichnung"), max_length=100)
    days = models.PositiveSmallIntegerField(
        _("Tage"),
        help_text=_("Stufe 0: Tage nach Fälligkeit; sonst Tage nach der vorigen Stufe."),
    )
    fee_consumer = models.DecimalField(
        _("Gebühr Verbraucher"),
        default=Decimal("0.00"),
        validators=[MinValueValidator(0)],
        **_MONEY,
    )
    fee_business = models.DecimalField(
        _("Gebühr Unternehmen"),
        default=Decimal("0.00"),
        validators=[MinValueValidator(0)],
        **_MONEY,
    )
    flat_fee = models.BooleanField(
        _("Pauschale 40 EUR (§ 288 Abs. 5 BGB)"),
        default=False,
        help_text=_("Einmal je Forderung, nur gegenüber Nicht-Verbrauchern."),
    )
    interest = models.BooleanField(_("Verzugszinsen"), default=False)
    minimum_open_amount = models.DecimalField(
        _("Mindestbetrag offen"), default=Decimal("5.00"), **_MONEY
    )
    review_required = models.BooleanField(_("Prüfung vor Versand"), default=False)
    # What the customer's product is told when a notice of this level is sent (access app);
    # the block ends by itself when the dunned invoices are paid.
    access_effect = models.CharField(
        _("Zugang ab dieser Stufe"),
        max_length=10,
        choices=[("", _("unverändert")), ("restrict", _("einschränken")), ("block", _("sperren"))],
        blank=True,
        default="",
    )
    deadline_days = models.PositiveSmallIntegerField(_("Frist (Tage)"), default=10)
    subject_de = models.CharField(_("Betreff (de)"), max_length=200)
    text_de = models.TextField(_("Text (de)"))
    subject_en = models.CharField(_("Betreff (en)"), max_length=200)
    text_en = models.TextField(_("Text (en)"))

    class Meta:
        verbose_name = _("Mahnstufe")
        verbose_name_plural = _("Mahnstufen")
        ordering: ClassVar = ["policy", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["policy", "number"], name="one_level_number_per_policy")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.number} {self.name}"

    def fee_for(self, *, consumer: bool) -> Decimal:
        return self.fee_consumer if consumer else self.fee_business

    def texts(self, language: str) -> tuple[str, str]:
        if language == "en":
            return self.subject_en, self.text_en
        return self.subject_de, self.text_de


class CustomerDunning(models.Model):
    """A customer's own dunning settings (the policy, when not the one of the kind)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="dunning_profile"
    )
    policy = models.ForeignKey(
        DunningPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("Mahnprofil des Kunden")
        verbose_name_plural = _("Mahnprofile der Kunden")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.policy_id}"


class DunningCase(models.Model):
    """The dunning state of one invoice: the level it reached and since when."""

    invoice = models.OneToOneField(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="dunning_case"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="dunning_cases"
    )
    level = models.PositiveSmallIntegerField(_("Erreichte Stufe"))
    level_reached_on = models.DateField(_("Stufe erreicht am"))
    # The date the waiting time for the next level counts from: the day the last notice
    # went out (a proposal waiting for review does not count).
    last_notice_on = models.DateField(_("Letzte Mahnung am"), null=True, blank=True)
    handed_to_collection = models.BooleanField(_("An Inkasso übergeben"), default=False)
    handed_to_collection_on = models.DateField(_("Übergeben am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Mahnfall")
        verbose_name_plural = _("Mahnfälle")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.level}"


class DunningRun(models.Model):
    """One dunning run for a date: what it found, proposed and sent."""

    class Status(models.TextChoices):
        RUNNING = "running", _("läuft")
        FINISHED = "finished", _("abgeschlossen")
        FAILED = "failed", _("abgebrochen")

    run_date = models.DateField(_("Stichtag"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150)
    customers_checked = models.PositiveIntegerField(default=0)
    invoices_overdue = models.PositiveIntegerField(default=0)
    invoices_skipped = models.PositiveIntegerField(default=0)
    notices_sent = models.PositiveIntegerField(default=0)
    notices_proposed = models.PositiveIntegerField(default=0)
    fees_charged = models.PositiveIntegerField(default=0)
    interest_periods = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_messages = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("Mahnlauf")
        verbose_name_plural = _("Mahnläufe")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"{self.run_date} ({self.get_status_display()})"


class DunningNotice(models.Model):
    """One notice (reminder or dunning letter) to a customer at one level."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Vorgeschlagen")
        APPROVED = "approved", _("Freigegeben")
        SENT = "sent", _("Versendet")
        CANCELLED = "cancelled", _("Verworfen")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="dunning_notices"
    )
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(_("Stufe"))
    level_name = models.CharField(_("Bezeichnung"), max_length=100)
    run = models.ForeignKey(
        DunningRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices"
    )
    # The one invoice of a notice per invoice (policy.one_notice_per_invoice); else empty.
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notice_date = models.DateField(_("Datum"))
    deadline = models.DateField(_("Zahlungsfrist"))
    language = models.CharField(_("Sprache"), max_length=5, default="de")
    consumer = models.BooleanField(_("Verbraucher"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    principal_total = models.DecimalField(_("Offene Rechnungsbeträge"), **_MONEY)
    fees_total = models.DecimalField(_("Mahngebühren"), **_MONEY)
    interest_total = models.DecimalField(_("Verzugszinsen"), **_MONEY)
    return_fees_total = models.DecimalField(_("Rücklastschriftkosten"), **_MONEY)
    total = models.DecimalField(_("Gesamtbetrag"), **_MONEY)
    return_fees = models.JSONField(
        _("Rücklastschriftkosten (Posten)"), default=list, blank=True
    )  # [{"fee_item": id, "invoice": number, "reason": …, "amount": "…"}]
    message = models.ForeignKey(
        "notifications.OutboxMessage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Mahnung")
        verbose_name_plural = _("Mahnungen")
        ordering: ClassVar = ["-notice_date", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["customer", "level", "notice_date"],
                condition=Q(invoice__isnull=True),
                name="one_notice_per_customer_level_day",
            ),
            models.UniqueConstraint(
                fields=["customer", "level", "notice_date", "invoice"],
                condition=Q(invoice__isnull=False),
                name="one_notice_per_invoice_level_day",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["status"], name="dunning_notice_status")]

    def __str__(self) -> str:
        return f"{self.level_name} {self.notice_date} ({self.customer_id})"

    @property
    def reference(self) -> str:
        """The payment reference on the letter, the mail and in the QR code: a payment
        quoting it is matched to this notice (``faktura.dunning.costs``)."""
        return f"M-{self.notice_date:%Y}-{self.pk:06d}"


class DunningNoticeItem(models.Model):
    """One invoice on a notice with its figures on the notice date."""

    notice = models.ForeignKey(DunningNotice, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    # False once the notice is cancelled: the invoice may get this level again.
    active = models.BooleanField(default=True)
    number = models.CharField(max_length=30)
    issue_date = models.DateField()
    due_date = models.DateField()
    original_amount = models.DecimalField(**_MONEY)
    paid_amount = models.DecimalField(**_MONEY)  # payments, credit notes, write-offs
    open_amount = models.DecimalField(**_MONEY)
    fees = models.DecimalField(default=Decimal("0.00"), **_MONEY)
    interest = models.DecimalField(default=Decimal("0.00"), **_MONEY)

    class Meta:
        ordering: ClassVar = ["notice", "due_date", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["invoice", "level"],
                condition=Q(active=True),
                name="invoice_once_per_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.level})"


class DunningFee(models.Model):
    """A dunning fee, the EUR 40 flat fee or a period of default interest: a claim without
    VAT, open until paid or waived."""

    class Kind(models.TextChoices):
        FEE = "fee", _("Mahngebühr")
        FLAT_40 = "flat_40", _("Verzugspauschale 40 EUR")
        INTEREST = "interest", _("Verzugszinsen")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="dunning_fees"
    )
    notice = models.ForeignKey(
        DunningNotice, on_delete=models.PROTECT, null=True, blank=True, related_name="fees"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    reason = models.CharField(_("Grund"), max_length=200, blank=True)
    # Interest: the days (both included), the principal and the yearly rate in percent.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    principal = models.DecimalField(null=True, blank=True, **_MONEY)
    rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    paid_at = models.DateTimeField(null=True, blank=True)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.CharField(max_length=150, blank=True)
    waived_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Mahnkosten")
        verbose_name_plural = _("Mahnkosten")
        ordering: ClassVar = ["pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["notice"],
                condition=Q(kind="fee", notice__isnull=False),
                name="one_fee_per_notice",
            ),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(kind="flat_40"), name="one_flat_fee_per_invoice"
            ),
            models.UniqueConstraint(
                fields=["invoice", "period_start"],
                condition=Q(kind="interest"),
                name="interest_once_per_invoice_period",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["customer", "kind"], name="dunning_fee_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def is_open(self) -> bool:
        return self.paid_at is None and self.waived_at is None


class CostAllocation(models.Model):
    """A payment (part) applied to a cost claim: a ``DunningFee`` (dunning fee, flat fee,
    interest period) or a returned-debit ``payments.FeeItem``, exactly one of them.

    The cost claim's open amount = its amount − its active allocations; it is paid
    (``paid_at``, ``FeeItem.State.PAID``) when nothing is open. The payment's unallocated
    amount counts these rows like its invoice allocations (``payments.claims``).
    """

    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, related_name="cost_allocations"
    )
    fee = models.ForeignKey(
        DunningFee, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    fee_item = models.ForeignKey(
        "payments.FeeItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cost_allocations",
    )
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Zuordnung zu Mahnkosten")
        verbose_name_plural = _("Zuordnungen zu Mahnkosten")
        ordering: ClassVar = ["pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="cost_allocation_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(fee__isnull=False, fee_item__isnull=True)
                | Q(fee__isnull=True, fee_item__isnull=False),
                name="cost_allocation_one_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} → {self.fee_id or self.fee_item_id}"


class NoticeLetterQuerySet(models.QuerySet["NoticeLetter"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableDocument("Archived letters are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableDocument("Archived letters are never deleted.")


class NoticeLetter(models.Model):
    """The archived dunning letter (PDF/A) of a sent notice: stored once with its SHA-256.

    ``documents.ArchivedDocument`` belongs to an invoice, so a notice's letter has this row
    of its own, written by the same archive rules (``dunning/letter.py``): the file first,
    fsynced, under a deterministic name, never overwritten; then the row (one per notice)
    and its ``dunning_letter.archived`` audit entry; ``faktura check`` compares all three.
    """

    notice = models.OneToOneField(
        DunningNotice, on_delete=models.PROTECT, related_name="letter", verbose_name=_("Mahnung")
    )
    file = models.FileField(_("Datei"), storage=archive_storage, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("Größe (Bytes)"))
    filename = models.CharField(_("Dateiname"), max_length=100)
    created_at = models.DateTimeField(_("Archiviert am"))
    retention_until = models.DateField(_("Aufbewahren bis"))

    objects = NoticeLetterQuerySet.as_manager()

    content_type = "application/pdf"

    class Meta:
        verbose_name = _("Mahnschreiben")
        verbose_name_plural = _("Mahnschreiben")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return self.filename

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableDocument(f"{self} is archived and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableDocument(f"{self} is archived and cannot be deleted.")


# --- collection (Inkasso) -------------------------------------------------------------------


class CollectionExportLayout(models.Model):
    """The column layout of the CSV handed to the collection agency.

    ``columns`` is the ordered list of ``{"header": …, "field": …, "format": …}``; the field
    keys are those of ``faktura.dunning.collection_handover.FIELDS``, ``format`` is optional
    (``date``, ``amount``, ``percent``, ``text``) and defaults to the field's own.
    """

    name = models.CharField(_("Name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("Standard"), default=False)
    columns = models.JSONField(_("Spalten"), default=list)

    class Meta:
        verbose_name = _("Inkasso-Exportformat")
        verbose_name_plural = _("Inkasso-Exportformate")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="one_default_collection_layout",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from faktura.core.errors import InvalidInput
        from faktura.dunning.collection_handover import check_columns

        try:
            check_columns(self.columns)
        except InvalidInput as error:
            raise ValidationError({"columns": error.message}) from error


class CollectionExport(models.Model):
    """One handover to the agency: the CSV and the ZIP of attachments, kept byte for byte
    with their SHA-256 (written once, like the SEPA bank files)."""

    layout = models.ForeignKey(
        CollectionExportLayout, on_delete=models.PROTECT, related_name="exports"
    )
    csv = models.BinaryField(default=b"")
    csv_sha256 = models.CharField(_("SHA-256 (CSV)"), max_length=64)
    zip = models.BinaryField(default=b"")
    zip_sha256 = models.CharField(_("SHA-256 (ZIP)"), max_length=64)
    case_count = models.PositiveIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("Inkasso-Export")
        verbose_name_plural = _("Inkasso-Exporte")
        ordering: ClassVar = ["-pk"]

    def __str__(self) -> str:
        return f"Inkasso-Export {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            from faktura.core.errors import StateConflict

            raise StateConflict(
                f"{self} is archived and cannot be changed.", code="collection_export_immutable"
            )
        super().save(*args, **kwargs)


class CollectionCase(models.Model):
    """A customer's hopeless claims proposed for, and handed to, a collection agency."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Vorgeschlagen")
        APPROVED = "approved", _("Freigegeben")
        EXPORTED = "exported", _("Übergeben")
        RECALLED = "recalled", _("Zurückgerufen")
        CLOSED = "closed", _("Abgeschlossen")

    OPEN_STATUSES: ClassVar[tuple[str, ...]] = ("proposed", "approved", "exported")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="collection_cases"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_on = models.DateField(_("Vorgeschlagen am"))
    proposed_by = models.CharField(max_length=150)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    export = models.ForeignKey(
        CollectionExport, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recalled_by = models.CharField(max_length=150, blank=True)
    recall_reason = models.CharField(max_length=500, blank=True)
    written_off_at = models.DateTimeField(null=True, blank=True)
    written_off_by = models.CharField(max_length=150, blank=True)
    write_off_reason = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Inkassofall")
        verbose_name_plural = _("Inkassofälle")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"Inkassofall {self.pk} ({self.status})"


class CollectionCaseInvoice(models.Model):
    """An invoice in a collection case; an invoice is in one open case at most."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="collection_items"
    )
    active = models.BooleanField(default=True)
    open_amount = models.DecimalField(_("Offen bei Vorschlag"), **_MONEY)

    class Meta:
        verbose_name = _("Rechnung im Inkassofall")
        verbose_name_plural = _("Rechnungen im Inkassofall")
        ordering: ClassVar = ["pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(active=True), name="one_open_collection_per_invoice"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.invoice_id}"


class CollectionPayment(models.Model):
    """Money the agency reports as collected, with the agency's costs."""

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="payments")
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    costs = models.DecimalField(_("Kosten des Inkassobüros"), **_MONEY)
    date = models.DateField(_("Datum"))
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("Zahlung über Inkasso")
        verbose_name_plural = _("Zahlungen über Inkasso")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.amount}"


class VatCorrection(models.Model):
    """The VAT share of a written-off gross amount at one rate (§ 17 (2) UStG), for the
    accounting export."""

    case = models.ForeignKey(
        CollectionCase, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="vat_corrections"
    )
    write_off = models.ForeignKey(
        "payments.WriteOff", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    date = models.DateField(_("Datum"))
    category = models.CharField(max_length=2)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    gross = models.DecimalField(_("Brutto ausgebucht"), **_MONEY)
    net = models.DecimalField(_("Netto"), **_MONEY)
    vat = models.DecimalField(_("Umsatzsteuer-Korrektur"), **_MONEY)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Umsatzsteuer-Korrektur")
        verbose_name_plural = _("Umsatzsteuer-Korrekturen")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.rate} %: {self.vat}"


# --- instalment agreements (Ratenzahlung) ---------------------------------------------------


class InstalmentAgreement(models.Model):
    """A schedule agreed with a customer for open invoices: while it is active the dunning
    run leaves them alone; a missed instalment (after the grace days) breaks it and dunning
    resumes at the level each invoice had reached."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Aktiv")
        COMPLETED = "completed", _("Erfüllt")
        BROKEN = "broken", _("Geplatzt")
        CANCELLED = "cancelled", _("Aufgehoben")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="instalment_agreements"
    )
    # "RZ-00001"; an instalment's payment reference is "RZ-00001-2" (see dunning.references).
    reference = models.CharField(_("Referenz"), max_length=30, unique=True, null=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    total = models.DecimalField(_("Betrag"), **_MONEY)
    grace_days = models.PositiveSmallIntegerField(
        _("Karenztage"),
        default=7,
        help_text=_("Tage nach Fälligkeit einer Rate, bis die Vereinbarung als geplatzt gilt."),
    )
    note = models.CharField(_("Grund/Notiz"), max_length=500, blank=True)
    agreed_on = models.DateField(_("Vereinbart am"))
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    ended_on = models.DateField(_("Beendet am"), null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=150, blank=True)
    end_reason = models.CharField(_("Grund der Beendigung"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("Ratenzahlungsvereinbarung")
        verbose_name_plural = _("Ratenzahlungsvereinbarungen")
        ordering: ClassVar = ["-pk"]
        indexes: ClassVar = [models.Index(fields=["status"], name="instalment_agreement_status")]

    def __str__(self) -> str:
        return f"{self.reference or self.pk} ({self.status})"


class InstalmentAgreementInvoice(models.Model):
    """An invoice covered by an agreement; ``active`` while the agreement is, and an invoice
    is in one active agreement at most (the run excludes these in its query)."""

    agreement = models.ForeignKey(
        InstalmentAgreement, on_delete=models.CASCADE, related_name="items"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="instalment_items"
    )
    open_amount = models.DecimalField(_("Offen bei Vereinbarung"), **_MONEY)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("Rechnung der Ratenzahlung")
        verbose_name_plural = _("Rechnungen der Ratenzahlung")
        ordering: ClassVar = ["pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(active=True),
                name="one_active_agreement_per_invoice",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id}: {self.invoice_id}"


class Instalment(models.Model):
    """One instalment: due date, amount and what has been paid towards it."""

    agreement = models.ForeignKey(
        InstalmentAgreement, on_delete=models.CASCADE, related_name="instalments"
    )
    number = models.PositiveSmallIntegerField(_("Rate"))
    due_date = models.DateField(_("Fällig am"))
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    paid_amount = models.DecimalField(_("Bezahlt"), default=Decimal("0.00"), **_MONEY)
    reference = models.CharField(_("Zahlungsreferenz"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("Rate")
        verbose_name_plural = _("Raten")
        ordering: ClassVar = ["agreement", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["agreement", "number"], name="one_instalment_number_per_agreement"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount}"

    @property
    def open_amount(self) -> Decimal:
        return max(self.amount - self.paid_amount, Decimal("0.00"))


# --- notices to staff and pre-due reminders ---------------------------------------------------


class NoticeSettings(models.Model):
    """The one row of settings for notices to staff and pre-due reminders (business data,
    edited in the back office; ``load`` never writes)."""

    class Language(models.TextChoices):
        DE = "de", _("Deutsch")
        EN = "en", _("Englisch")

    service_email = models.EmailField(
        _("Kundenservice (E-Mail)"),
        blank=True,
        help_text=_(
            "Erhält eine tägliche Übersicht über überfällige Rechnungen und erreichte "
            "Mahnstufen; leer: nur der Kundenbetreuer."
        ),
    )
    staff_language = models.CharField(
        _("Sprache der Hinweise an Mitarbeiter"),
        max_length=2,
        choices=Language.choices,
        default=Language.DE,
    )
    pre_due_reminder_days = models.PositiveSmallIntegerField(
        _("Zahlungshinweis vor Fälligkeit (Tage)"),
        default=0,
        help_text=_("Überweiser erhalten so viele Tage vor der Fälligkeit einen Hinweis; 0: aus."),
    )

    class Meta:
        verbose_name = _("Einstellungen für Hinweise")
        verbose_name_plural = _("Einstellungen für Hinweise")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> NoticeSettings:
        return cls.objects.order_by("pk").first() or cls()


class ToDoEntry(models.Model):
    """An entry on the staff's to-do list (Aufgabenliste) from dunning: an invoice became
    overdue, or a notice reached a level. Written by the dunning run, once each (the
    database refuses a second one); the account manager and the customer-service address
    hear of it in one digest mail per recipient and run (``StaffDigest``)."""

    class Kind(models.TextChoices):
        OVERDUE = "overdue", _("Rechnung überfällig")
        LEVEL = "level", _("Mahnstufe erreicht")

    kind = models.CharField(_("Art"), max_length=10, choices=Kind.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("Kunde")
    )
    # The unique constraints below index these two.
    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("Rechnung"),
    )
    notice = models.ForeignKey(
        DunningNotice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("Mahnung"),
    )
    level = models.PositiveSmallIntegerField(_("Stufe"))
    level_name = models.CharField(_("Bezeichnung"), max_length=100, blank=True)
    invoice_numbers = models.JSONField(_("Rechnungen"), default=list)
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    due_date = models.DateField(_("Fällig seit"), null=True, blank=True)
    date = models.DateField(_("Datum"))
    created_at = models.DateTimeField(_("Erstellt am"))
    done_at = models.DateTimeField(_("Erledigt am"), null=True, blank=True)
    done_by = models.CharField(_("Erledigt von"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("Aufgabe (Mahnwesen)")
        verbose_name_plural = _("Aufgabenliste (Mahnwesen)")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(kind="overdue"), name="todo_overdue_once"
            ),
            models.UniqueConstraint(
                fields=["notice"], condition=Q(kind="level"), name="todo_level_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {', '.join(self.invoice_numbers)}"


class StaffDigest(models.Model):
    """One round of digest mails to staff: it told the to-do entries after the previous
    round's ``last_entry`` up to its own (see dunning/staff.py)."""

    run = models.ForeignKey(
        DunningRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_entry = models.BigIntegerField(_("Bis Eintrag"), unique=True)
    entries = models.PositiveIntegerField(_("Einträge"))
    mails = models.PositiveSmallIntegerField(_("E-Mails"))
    created_at = models.DateTimeField(_("Erstellt am"))

    class Meta:
        verbose_name = _("Übersicht an Mitarbeiter")
        verbose_name_plural = _("Übersichten an Mitarbeiter")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d} bis {self.last_entry}"


class PreDueReminder(models.Model):
    """The reminder mailed to a transfer payer before an invoice falls due: once per invoice."""

    invoice = models.OneToOneField(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        related_name="pre_due_reminder",
        verbose_name=_("Rechnung"),
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("Kunde")
    )
    due_date = models.DateField(_("Fällig am"))
    sent_on = models.DateField(_("Gesendet am"))
    message = models.ForeignKey(
        "notifications.OutboxMessage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("Zahlungshinweis vor Fälligkeit")
        verbose_name_plural = _("Zahlungshinweise vor Fälligkeit")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"{self.invoice_id} ({self.due_date})"
