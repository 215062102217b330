"""The reporting app's records: the deletion log of purged archive files, legal holds.

A purged file's archive row stays (it is the record that the document existed, with its
SHA-256); the file goes, and a ``PurgedDocument`` row says when, by whom and why that was
allowed (its ``retention_until`` had passed). ``faktura check`` takes that row as the proof
that a missing file is no damage.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import ImmutableDocument


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
