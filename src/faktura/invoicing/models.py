"""Invoices, credit notes and cancellations: drafts until finalized, then never changed.

The model layer itself refuses to change a finalized document (GoBD, § 146 (4) AO):
``save()`` without an allowed ``update_fields`` set, ``delete()``, and the bulk
``QuerySet.update()/delete()`` all raise ImmutableDocument. Only operational state that
is not part of the document (delivery, dunning) may change afterwards.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import ImmutableDocument

_Part = TypeVar("_Part", bound=models.Model)

FINALIZED_STATES = ("finalized",)


class Status(models.TextChoices):
    DRAFT = "draft", _("Entwurf")
    PENDING_APPROVAL = "pending_approval", _("Wartet auf Freigabe")
    APPROVED = "approved", _("Freigegeben")
    REJECTED = "rejected", _("Abgelehnt")
    FINALIZED = "finalized", _("Festgeschrieben")


class Kind(models.TextChoices):
    INVOICE = "invoice", _("Rechnung")
    CREDIT_NOTE = "credit_note", _("Gutschrift (Rechnungskorrektur)")
    CANCELLATION = "cancellation", _("Stornorechnung")


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def update(self, **kwargs: Any) -> int:
        if (
            set(kwargs) - Invoice.MUTABLE_AFTER_FINALIZATION
            and self.filter(status__in=FINALIZED_STATES).exists()
        ):
            raise ImmutableDocument("A finalized document cannot be changed.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(status__in=FINALIZED_STATES).exists():
            raise ImmutableDocument("A finalized document cannot be deleted.")
        return super().delete()

    def finalized(self) -> InvoiceQuerySet:
        return self.filter(status__in=FINALIZED_STATES)


class Invoice(models.Model):
    # Operational state outside the frozen document; grows with delivery and dunning.
    MUTABLE_AFTER_FINALIZATION: ClassVar[frozenset[str]] = frozenset(
        {"delivery_status", "delivery_error", "updated_at"}
    )

    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(
        _("Status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    number = models.CharField(_("Nummer"), max_length=30, null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("Kunde"),
    )
    order = models.OneToOneField(
        "sales.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("Ursprüngliche Rechnung"),
    )
    is_manual = models.BooleanField(_("manuell erstellt"), default=False)
    currency = models.CharField(max_length=3, default="EUR")
    price_mode = models.CharField(max_length=5, default="net")
    language = models.CharField(max_length=5, default="de")
    issue_date = models.DateField(_("Rechnungsdatum"), null=True, blank=True)
    service_date_start = models.DateField(_("Leistung von"), null=True, blank=True)
    service_date_end = models.DateField(_("Leistung bis"), null=True, blank=True)
    due_date = models.DateField(_("Fällig am"), null=True, blank=True)
    payment_term_days = models.PositiveSmallIntegerField(default=14)
    early_payment_discount_days = models.PositiveSmallIntegerField(null=True, blank=True)
    early_payment_discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    payment_method = models.CharField(max_length=20, default="transfer")
    buyer_reference = models.CharField(_("Käuferreferenz / Leitweg-ID"), max_length=100, blank=True)
    order_reference = models.CharField(_("Bestellreferenz"), max_length=100, blank=True)
    note = models.TextField(_("Hinweis"), blank=True)
    document_discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    document_discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    restock = models.BooleanField(_("Bestand zurückbuchen"), default=False)
    # Copies of seller and buyer taken into the document (§ 14 (4) no. 1 UStG).
    seller = models.JSONField(default=dict)
    buyer = models.JSONField(default=dict)
    line_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # BT-106
    allowance_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # BT-107
    tax_basis_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # BT-109
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # BT-110
    grand_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # BT-112
    payable_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # BT-115
    approval_reasons = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=150)
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.CharField(max_length=150, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    finalized_by = models.CharField(max_length=150, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    delivery_status = models.CharField(max_length=20, default="pending")
    delivery_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()
    _loaded_status: str | None

    class Meta:
        verbose_name = _("Rechnung")
        verbose_name_plural = _("Rechnungen")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["number"], condition=Q(number__isnull=False), name="unique_document_number"
            ),
            models.CheckConstraint(
                condition=Q(status="finalized", number__isnull=False, issue_date__isnull=False)
                | ~Q(status="finalized"),
                name="finalized_has_number",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["customer", "status"]),
            # The columns of an open item: the receivables reports read a million
            # finalized invoices from this index alone (PostgreSQL; elsewhere a plain one).
            models.Index(
                fields=["id"],
                include=["customer", "issue_date", "due_date", "payable_amount", "number"],
                condition=Q(status="finalized", kind="invoice"),
                name="invoice_open_item_columns",
            ),
            # The back office's list: newest first, a page at a time.
            models.Index(fields=["issue_date", "id"], name="invoice_by_issue_date"),
            # The to-do inbox counts the documents whose delivery is blocked on every page.
            models.Index(
                fields=["delivery_status"],
                condition=Q(delivery_status="blocked"),
                name="invoice_delivery_blocked",
            ),
        ]
        permissions: ClassVar = [("approve_invoice", "Can approve or reject invoices")]

    def __str__(self) -> str:
        return self.number or f"{self.get_kind_display()} (Entwurf {self.pk})"

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Invoice:
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    @property
    def is_finalized(self) -> bool:
        return self.status in FINALIZED_STATES

    @property
    def type_code(self) -> str:
        return "380" if self.kind == Kind.INVOICE else "381"

    def _stored_status(self) -> str | None:
        if hasattr(self, "_loaded_status"):
            return self._loaded_status
        if self.pk is None:
            return None
        return Invoice.objects.filter(pk=self.pk).values_list("status", flat=True).first()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._stored_status() in FINALIZED_STATES:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or set(update_fields) - self.MUTABLE_AFTER_FINALIZATION:
                raise ImmutableDocument(f"{self} is finalized and cannot be changed.")
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._stored_status() in FINALIZED_STATES:
            raise ImmutableDocument(f"{self} is finalized and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def compute_content_hash(
        self,
        *,
        lines: list[InvoiceLine] | None = None,
        taxes: list[InvoiceTax] | None = None,
        allowances: list[InvoiceAllowance] | None = None,
    ) -> str:
        """Hash the frozen figures: what `faktura check` compares with the finalization record.

        The parts given are used instead of reading them (callers that read many at once).
        """
        document = {field: _canonical(getattr(self, field)) for field in FROZEN_FIELDS}
        document["lines"] = [
            _line_document(line)
            for line in sorted(
                self.lines.all() if lines is None else lines, key=lambda line: line.position
            )
        ]
        document["allowances"] = [
            {f: _canonical(getattr(a, f)) for f in ALLOWANCE_FIELDS}
            # No allowance total, no allowances (BR-CO-11): spares a query on the hot path.
            for a in sorted(
                (self.allowances.all() if allowances is None else allowances)
                if self.allowance_total or self.pk is None
                else [],
                key=lambda a: (a.tax_category, a.tax_rate),
            )
        ]
        document["taxes"] = [
            {f: _canonical(getattr(t, f)) for f in TAX_FIELDS}
            for t in sorted(
                self.taxes.all() if taxes is None else taxes, key=lambda t: (t.category, t.rate)
            )
        ]
        payload = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


def _line_document(line: InvoiceLine) -> dict[str, object]:
    document = {f: _canonical(getattr(line, f)) for f in LINE_FIELDS}
    if line.service_date_start is not None or line.service_date_end is not None:
        # Only when set: lines finalized before line periods existed keep their hash.
        for f in LINE_PERIOD_FIELDS:
            document[f] = _canonical(getattr(line, f))
    return document


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class _PartQuerySet(models.QuerySet[_Part]):
    def _touches_finalized(self) -> bool:
        return self.filter(invoice__status__in=FINALIZED_STATES).exists()

    def update(self, **kwargs: Any) -> int:
        if self._touches_finalized():
            raise ImmutableDocument("Lines of a finalized document cannot be changed.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self._touches_finalized():
            raise ImmutableDocument("Lines of a finalized document cannot be deleted.")
        return super().delete()


class LineQuerySet(_PartQuerySet["InvoiceLine"]):
    pass


class AllowanceQuerySet(_PartQuerySet["InvoiceAllowance"]):
    pass


class TaxQuerySet(_PartQuerySet["InvoiceTax"]):
    pass


class _DocumentPart(models.Model):
    """Base of rows that belong to a document and freeze with it."""

    class Meta:
        abstract = True

    def _document_is_finalized(self) -> bool:
        invoice_id = getattr(self, "invoice_id", None)
        return (
            invoice_id is not None
            and Invoice.objects.filter(pk=invoice_id, status__in=FINALIZED_STATES).exists()
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._document_is_finalized():
            raise ImmutableDocument("Parts of a finalized document cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._document_is_finalized():
            raise ImmutableDocument("Parts of a finalized document cannot be deleted.")
        return super().delete(*args, **kwargs)


class InvoiceLine(_DocumentPart):
    # Indexed by unique_line_position (invoice first): one index less to keep per line.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    position = models.PositiveIntegerField()
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credited_line = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credits"
    )
    sku = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit_code = models.CharField(max_length=3, default="C62")
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)  # as entered (net/gross)
    net_unit_price = models.DecimalField(max_digits=14, decimal_places=4)  # BT-146
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    net_discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # BT-136
    net_amount = models.DecimalField(max_digits=14, decimal_places=2)  # BT-131
    gross_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    tax_rate_code = models.CharField(max_length=30)
    tax_category = models.CharField(max_length=2)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    tax_exemption_reason = models.CharField(max_length=300, blank=True)
    tax_exemption_reason_code = models.CharField(max_length=30, blank=True)
    # Goods or service (catalog.SupplyKind), copied from the product or the order line; it
    # decided the tax category. "" on lines drafted before it was recorded. Frozen with the
    # document like every part, but not in the content hash: the category it decided is.
    supply_kind = models.CharField(max_length=7, blank=True, default="")
    # BG-26 invoice line period (BT-134/135), e.g. the month a subscription line bills:
    # both or neither. In the content hash only when set (see compute_content_hash).
    service_date_start = models.DateField(_("Leistung von"), null=True, blank=True)
    service_date_end = models.DateField(_("Leistung bis"), null=True, blank=True)

    objects = LineQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["invoice", "position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["invoice", "position"], name="unique_line_position"),
            models.CheckConstraint(
                condition=Q(service_date_start__isnull=True, service_date_end__isnull=True)
                | Q(
                    service_date_start__isnull=False,
                    service_date_end__isnull=False,
                    service_date_end__gte=models.F("service_date_start"),
                ),
                name="line_period_complete_and_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class InvoiceAllowance(_DocumentPart):
    """A document-level allowance (BG-20), one per VAT category it reduces."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="allowances")
    tax_category = models.CharField(max_length=2)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    base_amount = models.DecimalField(max_digits=14, decimal_places=2)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=200, default="Rabatt")

    objects = AllowanceQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.reason} {self.amount} ({self.tax_category} {self.tax_rate} %)"


class InvoiceTax(_DocumentPart):
    """One line of the VAT breakdown (BG-23)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    category = models.CharField(max_length=2)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    taxable_amount = models.DecimalField(max_digits=14, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2)
    exemption_reason = models.CharField(max_length=300, blank=True)
    exemption_reason_code = models.CharField(max_length=30, blank=True)

    objects = TaxQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.category} {self.rate} %: {self.tax_amount} auf {self.taxable_amount}"


FROZEN_FIELDS = (
    "kind",
    "status",
    "number",
    "customer_id",
    "original_id",
    "currency",
    "price_mode",
    "language",
    "issue_date",
    "service_date_start",
    "service_date_end",
    "due_date",
    "payment_term_days",
    "early_payment_discount_days",
    "early_payment_discount_percent",
    "payment_method",
    "buyer_reference",
    "order_reference",
    "note",
    "document_discount_percent",
    "document_discount_amount",
    "restock",
    "seller",
    "buyer",
    "line_total",
    "allowance_total",
    "tax_basis_total",
    "tax_total",
    "grand_total",
    "payable_amount",
    "finalized_by",
    "finalized_at",
)
LINE_FIELDS = (
    "position",
    "product_id",
    "credited_line_id",
    "sku",
    "name",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "net_unit_price",
    "discount_percent",
    "discount_amount",
    "net_discount_amount",
    "net_amount",
    "gross_amount",
    "tax_rate_code",
    "tax_category",
    "tax_rate",
    "tax_exemption_reason",
    "tax_exemption_reason_code",
)
LINE_PERIOD_FIELDS = ("service_date_start", "service_date_end")
ALLOWANCE_FIELDS = ("tax_category", "tax_rate", "amount", "base_amount", "percent", "reason")
TAX_FIELDS = (
    "category",
    "rate",
    "taxable_amount",
    "tax_amount",
    "exemption_reason",
    "exemption_reason_code",
)
