"""Imported bank statements, their lines, CSV column mappings, and payment-provider events.

Only ``faktura.banking.services`` (statement lines) and the payment providers
(``faktura.payments.providers``, their events) write these rows. A statement line is
stored once across all files: its ``checksum`` is unique, so an overlapping or repeated
statement adds nothing (DESIGN invariant 6).
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.banking import reasons
from faktura.banking.statements.csv_import import CsvMapping

_MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}


class BankStatement(models.Model):
    """One account's statement from one imported file (a multi-account file gives several)."""

    class Format(models.TextChoices):
        CAMT052 = "camt.052", "camt.052"
        CAMT053 = "camt.053", "camt.053"
        CAMT054 = "camt.054", "camt.054"
        MT940 = "mt940", "MT940"
        CSV = "csv", "CSV"

    account_iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    account_identification = models.CharField(_("Konto"), max_length=70)
    format = models.CharField(_("Format"), max_length=10, choices=Format.choices)
    version = models.CharField(_("Version"), max_length=10, blank=True)
    statement_id = models.CharField(_("Auszugsnummer"), max_length=140, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    filename = models.CharField(_("Datei"), max_length=255, blank=True)
    # The same file twice is recognised by its hash; overlapping files by line checksums.
    file_sha256 = models.CharField(_("SHA-256 der Datei"), max_length=64)
    opening_balance = models.DecimalField(**_MONEY, null=True, blank=True)
    closing_balance = models.DecimalField(**_MONEY, null=True, blank=True)
    transaction_count = models.PositiveIntegerField(_("Umsätze in der Datei"), default=0)
    new_count = models.PositiveIntegerField(_("Neu"), default=0)
    duplicate_count = models.PositiveIntegerField(_("Schon bekannt"), default=0)
    booked_count = models.PositiveIntegerField(_("Gebucht"), default=0)
    unmatched_count = models.PositiveIntegerField(_("Nicht zugeordnet"), default=0)
    return_count = models.PositiveIntegerField(_("Rücklastschriften"), default=0)
    ignored_count = models.PositiveIntegerField(_("Ignoriert"), default=0)
    imported_by = models.CharField(max_length=150)
    imported_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Kontoauszug")
        verbose_name_plural = _("Kontoauszüge")
        ordering: ClassVar = ["-imported_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["account_identification", "file_sha256"],
                name="unique_statement_file_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.account_identification} {self.statement_id}".strip()


class BankTransaction(models.Model):
    """One line of a statement (a batch entry is split into its transactions)."""

    class State(models.TextChoices):
        NEW = "new", _("Neu")
        MATCHED = "matched", _("Zugeordnet, wird gebucht")
        BOOKED = "booked", _("Gebucht")
        UNMATCHED = "unmatched", _("Nicht zugeordnet")
        IGNORED = "ignored", _("Ignoriert")
        RETURNED = "returned", _("Rücklastschrift erfasst")

    class Direction(models.TextChoices):
        CREDIT = "credit", _("Eingang")
        DEBIT = "debit", _("Ausgang")

    # States a person may still decide on (the to-do list and what was put aside).
    OPEN_STATES: ClassVar[tuple[str, ...]] = ("new", "unmatched", "ignored")

    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="transactions"
    )
    # StatementTransaction.checksum ("pending:" in front for lines the bank has not booked
    # yet, so that their booked version later is new): the idempotency key across files.
    checksum = models.CharField(max_length=80, unique=True)
    bank_reference = models.CharField(max_length=140, blank=True)
    booking_date = models.DateField(_("Buchungstag"))
    value_date = models.DateField(_("Valuta"))
    amount = models.DecimalField(_("Betrag"), **_MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    entry_status = models.CharField(max_length=10, default="booked")
    end_to_end_id = models.CharField(_("End-to-End-ID"), max_length=140, blank=True)
    mandate_reference = models.CharField(_("Mandatsreferenz"), max_length=140, blank=True)
    creditor_reference = models.CharField(max_length=140, blank=True)
    remittance_information = models.TextField(_("Verwendungszweck"), blank=True)
    counterparty_name = models.CharField(_("Name"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    counterparty_bic = models.CharField(_("BIC"), max_length=11, blank=True)
    bank_transaction_code = models.CharField(max_length=100, blank=True)
    is_return = models.BooleanField(_("Rückgabe"), default=False)
    return_reason_code = models.CharField(_("Rückgabegrund"), max_length=35, blank=True)
    return_fee = models.DecimalField(**_MONEY, null=True, blank=True)
    original_amount = models.DecimalField(**_MONEY, null=True, blank=True)
    batch_reference = models.CharField(max_length=140, blank=True)

    state = models.CharField(max_length=10, choices=State.choices, default=State.NEW)
    match_method = models.CharField(_("Zuordnung über"), max_length=30, blank=True)
    match_confidence = models.DecimalField(
        _("Sicherheit"), max_digits=4, decimal_places=3, null=True, blank=True
    )
    # The automatic match that is being booked (state matched): what to book, exactly.
    match_plan = models.JSONField(null=True, blank=True)
    # Up to three proposals for the to-do list, best first.
    suggestions = models.JSONField(default=list, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transactions",
    )
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transactions",
    )
    return_event = models.ForeignKey(
        "payments.ReturnEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transactions",
    )
    refund = models.ForeignKey(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transactions",
    )
    # A person's words (why it was ignored) or a refused booking's error; matching's own
    # notes are a code and its parameters, put into words when shown (banking.reasons).
    note = models.CharField(_("Hinweis"), max_length=500, blank=True)
    note_code = models.CharField(max_length=40, blank=True)
    note_params = models.JSONField(default=dict, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Kontoumsatz")
        verbose_name_plural = _("Kontoumsätze")
        ordering: ClassVar = ["-booking_date", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["state"], name="banking_tx_state"),
            models.Index(fields=["statement", "state"], name="banking_tx_statement_state"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="bank_tx_amount_not_negative"),
        ]

    @property
    def status(self) -> str:
        """The bank's entry status (booked, pending, info), named as the parsers name it."""
        return self.entry_status

    @property
    def note_text(self) -> str:
        """The note in the active language (matching's code, or the text kept)."""
        return reasons.of_note(self.note_code, self.note_params, self.note)

    def __str__(self) -> str:
        sign = "-" if self.direction == self.Direction.DEBIT else "+"
        return f"{self.booking_date} {sign}{self.amount} {self.counterparty_name}".strip()


# CsvMapping fields that are tuples in the dataclass and lists in JSON.
_TUPLE_FIELDS = frozenset({"remittance", "debit_markers", "pending_markers"})


class CsvMappingProfile(models.Model):
    """A bank's CSV column layout, saved once and chosen at import (``--csv-mapping NAME``)."""

    name = models.CharField(_("Name"), max_length=100, unique=True)
    bank = models.CharField(_("Bank"), max_length=100, blank=True)
    # The fields of faktura.banking.statements.csv_import.CsvMapping, as JSON.
    mapping = models.JSONField(_("Spaltenzuordnung"), default=dict)

    class Meta:
        verbose_name = _("CSV-Spaltenzuordnung")
        verbose_name_plural = _("CSV-Spaltenzuordnungen")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    def to_mapping(self) -> CsvMapping:
        """Return the parser's mapping; raises ValueError when the stored fields do not fit."""
        known = {field.name for field in dataclass_fields(CsvMapping)}
        data = dict(self.mapping or {})
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown mapping fields: {', '.join(unknown)}")
        for name in _TUPLE_FIELDS & set(data):
            value = data[name]
            data[name] = tuple(value) if isinstance(value, list | tuple) else (value,)
        data.setdefault("name", self.name)
        try:
            return CsvMapping(**data)
        except TypeError as error:
            raise ValueError(str(error)) from None

    def clean(self) -> None:
        try:
            self.to_mapping()
        except ValueError as error:
            raise ValidationError({"mapping": str(error)}) from None


class ProviderEvent(models.Model):
    """A webhook event of a payment provider, stored once: its id is applied exactly once."""

    class State(models.TextChoices):
        APPLIED = "applied", _("Gebucht")
        RECORDED = "recorded", _("Vermerkt, nichts zu buchen")
        IGNORED = "ignored", _("Ignoriert")
        FAILED = "failed", _("Nicht gebucht, bitte prüfen")

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices)
    livemode = models.BooleanField(default=False)
    object_id = models.CharField(max_length=255, blank=True)
    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provider_events",
    )
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provider_events",
    )
    return_event = models.ForeignKey(
        "payments.ReturnEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provider_events",
    )
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    event_created_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Ereignis eines Zahlungsanbieters")
        verbose_name_plural = _("Ereignisse der Zahlungsanbieter")
        ordering: ClassVar = ["-received_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="unique_provider_event")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
