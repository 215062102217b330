"""SEPA mandates and direct-debit batches (pain.008.001.08 files with their items).

An invoice is collected at most once at a time: one item per invoice may be pending,
submitted or settled (a database constraint). A returned item frees the invoice only
when the return allows a new attempt (AM04, MS03: ``may_retry``).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from faktura.collection.calendar import add_months
from faktura.payments.models import BankFile

# EPC SDD rulebook: a mandate lapses 36 months after its last collection.
MANDATE_VALIDITY_MONTHS = 36


class Scheme(models.TextChoices):
    CORE = "CORE", _("SEPA-Basislastschrift (CORE)")
    B2B = "B2B", _("SEPA-Firmenlastschrift (B2B)")


class Mandate(models.Model):
    class Kind(models.TextChoices):
        RECURRING = "recurring", _("Wiederkehrend")
        ONE_OFF = "one_off", _("Einmalig")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Aktiv")
        REVOKED = "revoked", _("Widerrufen")
        EXPIRED = "expired", _("Verfallen")
        UNUSABLE = "unusable", _("Unbrauchbar")

    reference = models.CharField(_("Mandatsreferenz"), max_length=35, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="mandates"
    )
    signature_date = models.DateField(_("Unterschrieben am"))
    scheme = models.CharField(_("Verfahren"), max_length=4, choices=Scheme.choices)
    kind = models.CharField(_("Art"), max_length=10, choices=Kind.choices, default=Kind.RECURRING)
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("Grund"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    debtor_name = models.CharField(_("Kontoinhaber"), max_length=70)
    street = models.CharField(_("Straße"), max_length=70)
    house_number = models.CharField(_("Hausnummer"), max_length=16, blank=True)
    postcode = models.CharField(_("PLZ"), max_length=16)
    city = models.CharField(_("Ort"), max_length=35)
    country = models.CharField(_("Land"), max_length=2, default="DE")
    last_collection_date = models.DateField(_("Letzter Einzug"), null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("SEPA-Mandat")
        verbose_name_plural = _("SEPA-Mandate")
        ordering: ClassVar = ["-signature_date", "-id"]

    def __str__(self) -> str:
        return self.reference

    @property
    def expires_on(self) -> dt.date:
        """The first day on which the mandate may no longer be used (36 months unused)."""
        return add_months(self.last_collection_date or self.signature_date, MANDATE_VALIDITY_MONTHS)

    def is_expired(self, on: dt.date) -> bool:
        return self.status == self.Status.EXPIRED or on >= self.expires_on

    def is_used_up(self) -> bool:
        """A one-off mandate allows a single collection."""
        return self.kind == self.Kind.ONE_OFF and self.last_collection_date is not None

    def is_usable(self, on: dt.date) -> bool:
        return (
            self.status == self.Status.ACTIVE
            and not self.is_expired(on)
            and not (self.is_used_up())
        )

    @property
    def sequence_type(self) -> str:
        # Since November 2016 a first collection may be sent as RCUR (STANDARDS 2.1).
        return "OOFF" if self.kind == self.Kind.ONE_OFF else "RCUR"


class DirectDebitBatch(BankFile):
    """One pain.008.001.08 file for one scheme and collection date.

    Settled item by item: the batch is settled when no item is with the bank any more
    (each one credited, rejected or returned), partly settled until then.
    """

    class Status(models.TextChoices):
        CREATED = "created", _("Erstellt")
        SUBMITTED = "submitted", _("An die Bank übergeben")
        # Some items credited, others still with the bank (settled item by item).
        PARTLY_SETTLED = "partly_settled", _("Teilweise gutgeschrieben")
        SETTLED = "settled", _("Gutgeschrieben")
        # Every item came back (rejected or returned) before any was credited.
        RETURNED = "returned", _("Zurückgegeben")
        DISCARDED = "discarded", _("Verworfen")

    # With the bank: items may still be credited, rejected or returned.
    OPEN: ClassVar[tuple[str, ...]] = ("submitted", "partly_settled")

    MUTABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "status",
            "submitted_at",
            "submitted_by",
            "settled_at",
            "settled_by",
            "discarded_at",
            "discarded_by",
        }
    )

    scheme = models.CharField(_("Verfahren"), max_length=4, choices=Scheme.choices)
    collection_date = models.DateField(_("Fälligkeitstag"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.CharField(max_length=150, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.CharField(max_length=150, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("Lastschriftdatei")
        verbose_name_plural = _("Lastschriftdateien")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"Lastschriftdatei {self.pk} {self.scheme} {self.collection_date}"

    @property
    def file_name(self) -> str:
        return f"pain008-{self.scheme}-{self.collection_date:%Y%m%d}-{self.pk:06d}.xml"


class DirectDebitItem(models.Model):
    """One invoice collected in a batch, with the amount and the mandate used (an arrears
    item may also collect the customer's dunning costs: ``costs_amount``)."""

    class State(models.TextChoices):
        PENDING = "pending", _("In Datei, nicht übergeben")
        SUBMITTED = "submitted", _("Übergeben")
        SETTLED = "settled", _("Eingegangen")
        RETURNED = "returned", _("Zurückgegeben")
        DISCARDED = "discarded", _("Verworfen")

    # The states that hold the invoice: it is not collected a second time meanwhile.
    HOLDING: ClassVar[tuple[str, ...]] = ("pending", "submitted", "settled")

    batch = models.ForeignKey(DirectDebitBatch, on_delete=models.PROTECT, related_name="items")
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="direct_debit_items"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="direct_debit_items"
    )
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="items")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    end_to_end_id = models.CharField(max_length=35)
    sequence_type = models.CharField(max_length=4)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    # After a return: may a later batch collect the invoice again (AM04, MS03)?
    may_retry = models.BooleanField(default=False)
    # An overdue claim collected with the customer's regular debit (ArrearsDebit): a
    # return of it gets no AM04/MS03 retry; only the arrears limit allows another attempt.
    arrears = models.BooleanField(default=False)
    # Of ``amount``, the dunning costs collected with the arrears (ArrearsCostDebit); the
    # rest collects the invoice. Settlement pays the costs, a return reopens them.
    costs_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # Set at settlement: the money received for this item, and where it was allocated.
    payment = models.OneToOneField(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_debit_item",
    )
    allocation = models.OneToOneField(
        "payments.Allocation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_debit_item",
    )
    return_event = models.ForeignKey(
        "payments.ReturnEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_debit_items",
    )

    class Meta:
        verbose_name = _("Lastschrift")
        verbose_name_plural = _("Lastschriften")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(state__in=("pending", "submitted", "settled")),
                name="one_open_direct_debit_per_invoice",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="direct_debit_amount_positive"),
            # The costs ride on an invoice: something of the amount is the invoice's.
            models.CheckConstraint(
                condition=Q(costs_amount__gte=0, costs_amount__lt=F("amount")),
                name="direct_debit_costs_within_amount",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["end_to_end_id"])]

    def __str__(self) -> str:
        return f"{self.end_to_end_id} {self.amount}"


class DebitAnnouncement(models.Model):
    """A new debit date announced to the customer (pre-notification) after a return.

    A debit returned for insufficient funds (AM04) or without a reason (MS03) is collected
    again at most ``MAX_RECOLLECTIONS`` times, each time announced anew: never before the
    announced date (SEPA rulebook: the debtor is told the amount and the date in advance).
    """

    MAX_RECOLLECTIONS: ClassVar[int] = 2

    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="debit_announcements"
    )
    debit_date = models.DateField(_("Angekündigtes Lastschriftdatum"))
    return_event = models.OneToOneField(
        "payments.ReturnEvent", on_delete=models.PROTECT, related_name="announcement"
    )
    announced_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Lastschriftankündigung")
        verbose_name_plural = _("Lastschriftankündigungen")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.debit_date}"


class ArrearsDebit(models.Model):
    """An overdue invoice announced to be collected with the customer's next regular debit.

    Per dunning policy (``collect_arrears_by_debit``): the customer is told the amount and
    the date first (SEPA pre-notification, one mail with the regular debit and the arrears
    of that date); the first file collecting on or after that date adds it as an item of
    its own (``DirectDebitItem.arrears``). One claim is collected this way at most
    ``arrears_debit_limit`` times (returned attempts count).
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="arrears_debits"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="arrears_debits"
    )
    amount = models.DecimalField(_("Angekündigter Betrag"), max_digits=14, decimal_places=2)
    debit_date = models.DateField(_("Angekündigtes Lastschriftdatum"))
    announced_at = models.DateTimeField()
    announced_by = models.CharField(max_length=150)
    # The item that collected it (None: still waiting for its file; a discarded file's
    # item is replaced by the next file's).
    item = models.OneToOneField(
        DirectDebitItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="arrears_debit",
    )
    message = models.ForeignKey(
        "notifications.OutboxMessage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("Rückstand per Lastschrift")
        verbose_name_plural = _("Rückstände per Lastschrift")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="arrears_debit_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.amount} am {self.debit_date}"


class ArrearsCostDebit(models.Model):
    """A dunning cost claim announced to be collected with the customer's arrears.

    Announced in the same pre-notification as the customer's ``ArrearsDebit`` rows (one
    row per cost claim, ``payments.claims.CostClaim.key``); the file collecting the
    arrears adds it to the item of the customer's oldest arrears invoice
    (``DirectDebitItem.costs_amount``): a debit always collects an invoice.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="arrears_cost_debits"
    )
    claim_type = models.CharField(max_length=20)  # "dunning_fee" | "fee_item"
    claim_id = models.PositiveBigIntegerField()
    label = models.CharField(max_length=40)
    amount = models.DecimalField(_("Angekündigter Betrag"), max_digits=14, decimal_places=2)
    debit_date = models.DateField(_("Angekündigtes Lastschriftdatum"))
    announced_at = models.DateTimeField()
    announced_by = models.CharField(max_length=150)
    # The arrears item that collected it (None: still waiting; a discarded file's item is
    # replaced by the next file's).
    item = models.ForeignKey(
        DirectDebitItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="arrears_cost_debits",
    )
    message = models.ForeignKey(
        "notifications.OutboxMessage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("Mahnkosten per Lastschrift")
        verbose_name_plural = _("Mahnkosten per Lastschrift")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="arrears_cost_debit_amount_positive"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["claim_type", "claim_id"])]

    @property
    def key(self) -> tuple[str, int]:
        return (self.claim_type, self.claim_id)

    def __str__(self) -> str:
        return f"{self.claim_type} {self.claim_id}: {self.amount} am {self.debit_date}"
