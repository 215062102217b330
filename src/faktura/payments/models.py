"""Payments, their allocations to invoices, and what follows from money coming and going.

Nothing here is edited to change money state: the open amount of an invoice and the
credit balance of a customer are derived (see ``faktura.payments.selectors``):

* open amount (DESIGN invariant 8) = payable − credit notes − active allocations
  − active write-offs;
* a payment's unallocated amount = amount − active allocations − returned amounts;
* customer credit = Σ unallocated amounts of the customer's payments − reserved refunds.

Only ``faktura.payments.services`` (and its modules ``returns`` and ``refunds``) write
these rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import StateConflict

_MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}


class Payment(models.Model):
    """Money received: from a statement line, a provider event, or manual entry."""

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
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    date = models.DateField(_("Datum"))
    method = models.CharField(_("Zahlungsart"), max_length=20, choices=Method.choices)
    source = models.CharField(_("Quelle"), max_length=20, choices=Source.choices)
    reference = models.CharField(_("Verwendungszweck / Referenz"), max_length=500, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    # Statement transaction checksum, provider event id, direct-debit item: applied once.
    external_id = models.CharField(_("Externe Kennung"), max_length=200, null=True, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Zahlung")
        verbose_name_plural = _("Zahlungen")
        ordering: ClassVar = ["-date", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="unique_payment_external_id",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes: ClassVar = [
            # A customer's payment as the receivables reports read it (credit at a date),
            # from the index alone on PostgreSQL.
            models.Index(
                fields=["id"],
                include=["customer", "date", "amount"],
                condition=Q(customer__isnull=False),
                name="payment_credit_columns",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency}"


class Allocation(models.Model):
    """A payment (part) assigned to an invoice; reversing it (return, chargeback) reopens it."""

    # Indexed below with the columns every open amount sums (SUM(amount) of the allocations
    # active at a time): PostgreSQL then sums them from the index alone, in key order.
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    amount = models.DecimalField(**_MONEY)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.CharField(max_length=150, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("Zuordnung")
        verbose_name_plural = _("Zuordnungen")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive")
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["invoice"],
                include=["amount", "created_at", "reversed_at"],
                name="allocation_invoice_sums",
            ),
            models.Index(
                fields=["payment"],
                include=["amount", "created_at", "reversed_at"],
                name="allocation_payment_sums",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice_id}"

    @property
    def is_active(self) -> bool:
        return self.reversed_at is None


class WriteOff(models.Model):
    """A small difference the company forgoes; reduces the open amount like an allocation."""

    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="write_offs"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="write_offs"
    )
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    reason = models.CharField(_("Grund"), max_length=200)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Ausbuchung")
        verbose_name_plural = _("Ausbuchungen")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="write_off_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.reason})"


class PaymentSettings(models.Model):
    """The one row of payment and collection settings (defaults from the environment)."""

    require_payment_confirmation = models.BooleanField(
        _("Manuelle Zahlungen der Kasse bestätigen lassen"),
        default=False,
        help_text=_("Eine zweite Person (Buchhaltung, Freigabe) bucht sie erst."),
    )
    # Empty: the environment's FAKTURA_WRITE_OFF_TOLERANCE (1.00) and
    # FAKTURA_RETURN_FEE_DEFAULT (3.00) apply (see the effective_* properties).
    write_off_tolerance = models.DecimalField(_("Ausbuchung bis"), **_MONEY, null=True, blank=True)
    return_fee_default = models.DecimalField(
        _("Rücklastschriftgebühr (wenn die Bank keine meldet)"), **_MONEY, null=True, blank=True
    )
    charge_fee_on_rejected_debit = models.BooleanField(
        _("Gebühr auch für abgewiesene Lastschriften (pain.002)"),
        default=False,
        help_text=_(
            "Eine vor dem Einzug abgewiesene Lastschrift kostet die Bank meist nichts; "
            "nur wenn Ihre Bank dafür berechnet, wird die Rücklastschriftgebühr erhoben."
        ),
    )
    pre_notification_days = models.PositiveSmallIntegerField(
        _("Vorabankündigung (Tage)"),
        default=14,
        help_text=_("14 Tage, oder die mit den Kunden vereinbarte kürzere Frist."),
    )
    # Credit check (docs/risk-and-post.md): what an order of a risky customer gets.
    default_credit_limit = models.DecimalField(
        _("Standard-Kreditlimit"),
        **_MONEY,
        null=True,
        blank=True,
        help_text=_("Gilt für Kunden ohne eigenes Kreditlimit; leer: kein Limit."),
    )
    risk_score_threshold = models.PositiveSmallIntegerField(
        _("Risiko-Schwelle (Punkte)"),
        default=50,
        help_text=_("Ab dieser Punktzahl (0–100) gilt ein Kunde als riskant."),
    )
    risk_action = models.CharField(
        _("Bei Überschreitung"),
        max_length=20,
        choices=[
            ("approval", _("Freigabe anfordern")),
            ("prepayment", _("Vorkasse (sofort fällig)")),
            ("none", _("Nichts tun")),
        ],
        # Off until the company sets a limit or threshold that suits it.
        default="none",
    )

    class Meta:
        verbose_name = _("Zahlungseinstellungen")
        verbose_name_plural = _("Zahlungseinstellungen")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> PaymentSettings:
        """Return the stored settings, or the defaults (never writes)."""
        return cls.objects.order_by("pk").first() or cls()

    @property
    def effective_write_off_tolerance(self) -> Decimal:
        if self.write_off_tolerance is not None:
            return self.write_off_tolerance
        return _setting_amount("FAKTURA_WRITE_OFF_TOLERANCE", "1.00")

    @property
    def effective_return_fee(self) -> Decimal:
        if self.return_fee_default is not None:
            return self.return_fee_default
        return _setting_amount("FAKTURA_RETURN_FEE_DEFAULT", "3.00")


def _setting_amount(name: str, default: str) -> Decimal:
    return Decimal(str(getattr(settings, name, default))).quantize(Decimal("0.01"))


class PaymentRequest(models.Model):
    """A manual booking by the cashier waiting for a second person (to-do list)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Wartet auf Bestätigung")
        CONFIRMED = "confirmed", _("Gebucht")
        REJECTED = "rejected", _("Abgelehnt")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    date = models.DateField(_("Datum"))
    method = models.CharField(max_length=20, choices=Payment.Method.choices)
    reference = models.CharField(max_length=500, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    requested_by = models.CharField(max_length=150)
    requested_by_user_id = models.IntegerField(null=True, blank=True)
    requested_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="request"
    )

    class Meta:
        verbose_name = _("Zahlung zur Bestätigung")
        verbose_name_plural = _("Zahlungen zur Bestätigung")

    def __str__(self) -> str:
        return f"{self.date} {self.amount} ({self.get_status_display()})"


class FeeItem(models.Model):
    """A charge to the customer (bank fee of a returned debit), billed or claimed later."""

    class State(models.TextChoices):
        OPEN = "open", _("Offen")
        BILLED = "billed", _("Berechnet")
        PAID = "paid", _("Bezahlt")
        CANCELLED = "cancelled", _("Storniert")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="fee_items"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fee_items",
        verbose_name=_("Zugehörige Rechnung"),
    )
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    reason = models.CharField(_("Grund"), max_length=200)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    return_event = models.ForeignKey(
        "payments.ReturnEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fees",
    )
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("Gebühr")
        verbose_name_plural = _("Gebühren")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="fee_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.reason}"


class ReturnEvent(models.Model):
    """A returned direct debit or a chargeback: the dunning capability picks these up.

    ``source_reference`` (statement transaction key, provider dispute id) makes recording
    idempotent: the same return twice changes nothing.
    """

    class Kind(models.TextChoices):
        RETURNED_DEBIT = "returned_debit", _("Rücklastschrift")
        CHARGEBACK = "chargeback", _("Rückbelastung")

    class Consequence(models.TextChoices):
        RETRY = "retry", _("Erneut einziehen")
        MANDATE_UNUSABLE = "mandate_unusable", _("Mandat unbrauchbar, Überweisung")
        DISPUTE = "dispute", _("Widerspruch: kein automatischer Einzug")
        MANUAL = "manual", _("Manuell klären")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="return_events"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="return_events",
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="returns"
    )
    allocation = models.OneToOneField(
        Allocation, on_delete=models.PROTECT, null=True, blank=True, related_name="return_event"
    )
    end_to_end_id = models.CharField(max_length=35, blank=True)
    reason_code = models.CharField(_("Rückgabegrund"), max_length=35, blank=True)
    consequence = models.CharField(max_length=20, choices=Consequence.choices)
    # The principal the bank or provider took back (reduces the payment's unallocated amount).
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    fee_amount = models.DecimalField(_("Gebühr"), **_MONEY, default=Decimal("0.00"))
    source_reference = models.CharField(max_length=200, unique=True)
    booking_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    dunning_processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Rücklastschrift / Rückbelastung")
        verbose_name_plural = _("Rücklastschriften / Rückbelastungen")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reason_code} {self.amount}"


class Dispute(models.Model):
    """The customer disputes an invoice (MD06, chargeback): no automatic collection."""

    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="disputes"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="disputes"
    )
    reason_code = models.CharField(max_length=35, blank=True)
    return_event = models.ForeignKey(
        ReturnEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes"
    )
    opened_at = models.DateTimeField()
    opened_by = models.CharField(max_length=150)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Widerspruch")
        verbose_name_plural = _("Widersprüche")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_dispute_per_invoice",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.reason_code}"


class BankFileQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        mutable: frozenset[str] = self.model.MUTABLE
        if set(kwargs) - mutable and self.exclude(checksum="").exists():
            raise StateConflict("A bank file cannot be changed.", code="batch_immutable")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.exclude(checksum="").exists():
            raise StateConflict("A bank file cannot be deleted.", code="batch_immutable")
        return super().delete()


class BankFile(models.Model):
    """A SEPA file made once and kept byte for byte; only its status may change afterwards.

    The row is inserted first (its id names the file: GrpHdr/MsgId), then the XML and
    its SHA-256 are written once; from then on ``save()`` refuses anything but the
    status fields in ``MUTABLE``, and downloads return exactly the stored bytes.
    """

    MUTABLE: ClassVar[frozenset[str]] = frozenset({"status"})

    message_id = models.CharField(max_length=35, blank=True)
    xml = models.BinaryField(default=b"")
    checksum = models.CharField(_("SHA-256"), max_length=64, blank=True)
    transaction_count = models.PositiveIntegerField(default=0)
    control_sum = models.DecimalField(**_MONEY, default=Decimal("0.00"))
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    objects = BankFileQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._sealed = bool(instance.__dict__.get("checksum"))
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and getattr(self, "_sealed", False):
            update_fields = kwargs.get("update_fields")
            if update_fields is None or set(update_fields) - self.MUTABLE:
                raise StateConflict(
                    f"{self} is a bank file and cannot be changed.", code="batch_immutable"
                )
        super().save(*args, **kwargs)
        self._sealed = bool(self.checksum)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.checksum:
            raise StateConflict(
                f"{self} is a bank file and cannot be deleted.", code="batch_immutable"
            )
        return super().delete(*args, **kwargs)

    def seal(self, *, xml: bytes, message_id: str, count: int, total: Decimal) -> None:
        """Store the file once (inside the creating transaction)."""
        if self.checksum:
            raise StateConflict(f"{self} already holds its file.", code="batch_immutable")
        self.xml = xml
        self.checksum = hashlib.sha256(xml).hexdigest()
        self.message_id = message_id
        self.transaction_count = count
        self.control_sum = total
        super().save(
            update_fields=["xml", "checksum", "message_id", "transaction_count", "control_sum"]
        )
        self._sealed = True

    def file_bytes(self) -> bytes:
        return bytes(self.xml)


class RefundBatch(BankFile):
    """A pain.001.001.09 file paying out approved refunds, released by an approver."""

    class Status(models.TextChoices):
        CREATED = "created", _("Erstellt")
        RELEASED = "released", _("Freigegeben")
        DISCARDED = "discarded", _("Verworfen")

    MUTABLE: ClassVar[frozenset[str]] = frozenset(
        {"status", "released_at", "released_by", "discarded_at", "discarded_by"}
    )

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    execution_date = models.DateField(_("Ausführungsdatum"))
    # Four-eyes by person: who made the file, whatever key or login they used.
    created_by_user_id = models.IntegerField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("Erstattungsdatei")
        verbose_name_plural = _("Erstattungsdateien")

    def __str__(self) -> str:
        return f"Erstattungsdatei {self.pk} ({self.get_status_display()})"

    @property
    def file_name(self) -> str:
        return f"pain001-erstattungen-{self.execution_date:%Y%m%d}-{self.pk:06d}.xml"


class Refund(models.Model):
    """Customer credit paid back by transfer: requested, approved, put into a file, paid."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Beantragt")
        APPROVED = "approved", _("Genehmigt")
        REJECTED = "rejected", _("Abgelehnt")
        BATCHED = "batched", _("In Überweisungsdatei")
        PAID = "paid", _("Ausgezahlt")

    # Statuses that hold the money: it is no longer available as credit.
    RESERVING: ClassVar[tuple[str, ...]] = ("requested", "approved", "batched", "paid")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    account_holder = models.CharField(_("Kontoinhaber"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    reason = models.CharField(_("Grund"), max_length=140, blank=True)
    batch = models.ForeignKey(
        RefundBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    requested_by = models.CharField(max_length=150)
    requested_by_user_id = models.IntegerField(null=True, blank=True)
    requested_at = models.DateTimeField()
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.CharField(max_length=150, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Erstattung")
        verbose_name_plural = _("Erstattungen")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.end_to_end_id} {self.amount}"

    @property
    def end_to_end_id(self) -> str:
        return f"ERSTATTUNG-{self.pk}"


class SavedPaymentMethod(models.Model):
    """A customer's payment method saved with a provider, charged without the customer.

    Only the provider's ids are kept (customer ``cus_…``, payment method ``pm_…``) and a
    label for people ("Visa •••• 4242"); the card itself never reaches Faktura. A method
    is deactivated, never deleted: charges and subscriptions keep pointing at it.
    """

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="saved_payment_methods"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.STRIPE)
    provider_customer_id = models.CharField(max_length=255)
    payment_method_id = models.CharField(max_length=255)
    label = models.CharField(max_length=100, blank=True)
    # What the provider tells of a card, never its number: to show it and to see it expire.
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("Gespeicherte Zahlungsmethode")
        verbose_name_plural = _("Gespeicherte Zahlungsmethoden")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["provider", "payment_method_id"],
                condition=Q(active=True),
                name="one_active_saved_payment_method",
            )
        ]

    def __str__(self) -> str:
        return self.label or f"{self.get_provider_display()} {self.payment_method_id}"

    @property
    def card_brand_display(self) -> str:
        """The card's brand for people: "Visa", "Mastercard", "American Express" …"""
        return _BRANDS.get(self.card_brand, self.card_brand.replace("_", " ").title())

    @property
    def card_expiry(self) -> str:
        """ "08/2029", or empty when the provider named no expiry."""
        if self.card_exp_month is None or self.card_exp_year is None:
            return ""
        return f"{self.card_exp_month:02d}/{self.card_exp_year}"

    def card_expired(self, on: dt.date) -> bool:
        """Whether the card's last valid month lies before ``on``'s month."""
        if self.card_exp_month is None or self.card_exp_year is None:
            return False
        return (self.card_exp_year, self.card_exp_month) < (on.year, on.month)


_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "cartes_bancaires": "Cartes Bancaires",
    "eftpos_au": "eftpos",
}


class CardRetry(models.Model):
    """The tries to charge an invoice from a saved card after a soft decline.

    A declined card is tried again on a schedule (``FAKTURA_CARD_RETRY_DAYS``, default
    after 3, 7 and 14 days: four tries over two weeks), never after a hard decline (a
    stolen card, a closed account: trying again cannot help). While a try is ahead the
    invoice is not dunned; when the tries are spent it is.
    """

    class State(models.TextChoices):
        RETRYING = "retrying", _("Wird erneut versucht")
        EXHAUSTED = "exhausted", _("Versuche ausgeschöpft")
        CHARGED = "charged", _("Belastet")

    invoice = models.OneToOneField(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="card_retry"
    )
    method = models.ForeignKey(SavedPaymentMethod, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices)
    tries = models.PositiveSmallIntegerField(_("Versuche"), default=1)
    last_decline_code = models.CharField(max_length=60, blank=True)
    hard_decline = models.BooleanField(default=False)
    first_declined_at = models.DateTimeField()
    next_try_at = models.DateTimeField(_("Nächster Versuch"), null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Erneuter Kartenversuch")
        verbose_name_plural = _("Erneute Kartenversuche")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.get_state_display()} ({self.tries})"
