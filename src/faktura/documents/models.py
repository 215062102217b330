"""The document archive (written once, never changed) and the company's letterhead.

An ArchivedDocument is the original of a finalized document as it left Faktura: the PDF/A-3
with its embedded Factur-X XML, or for XRechnung the XML itself (GoBD: the original
e-invoice format is what must be kept). Rows and files are never updated or deleted:
``save()`` on a stored row, ``delete()`` and the bulk ``QuerySet.update()/delete()`` raise
ImmutableDocument, like finalized invoices do (§ 146 (4) AO).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, default_storage, storages
from django.core.validators import FileExtensionValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import DomainError, ImmutableDocument


def archive_storage() -> Storage:
    """The storage of archived documents: ``STORAGES["archive"]`` if configured, else default.

    Any django-storages backend works; for S3-like stores configure ``file_overwrite=False``
    (and object lock / versioning) so an existing object can never be replaced.
    """
    if "archive" in settings.STORAGES:
        return storages["archive"]
    return default_storage


def retention_until(issue_date: dt.date, document_class: str = "invoice") -> dt.date:
    """Return the last day of retention: end of the year of issue plus N years.

    § 147 (4) AO: the period starts with the end of the calendar year in which the document
    was issued; N comes from ``settings.FAKTURA_RETENTION_YEARS`` (invoices 8, books 10).
    """
    years = settings.FAKTURA_RETENTION_YEARS[document_class]
    return dt.date(issue_date.year + years, 12, 31)


class ArchivedDocumentQuerySet(models.QuerySet["ArchivedDocument"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableDocument("Archived documents are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableDocument("Archived documents are never deleted.")


class ArchivedDocument(models.Model):
    """One archived file of a finalized document, stored once with its SHA-256."""

    class Kind(models.TextChoices):
        PDF = "pdf", _("PDF")
        XML = "xml", _("XML (XRechnung)")

    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        related_name="archived_documents",
        verbose_name=_("Dokument"),
    )
    kind = models.CharField(_("Art"), max_length=3, choices=Kind.choices)
    file = models.FileField(_("Datei"), storage=archive_storage, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("Größe (Bytes)"))
    content_type = models.CharField(_("MIME-Typ"), max_length=100)
    filename = models.CharField(_("Dateiname"), max_length=100)
    created_at = models.DateTimeField(_("Archiviert am"))
    retention_until = models.DateField(_("Aufbewahren bis"))
    # The e-invoice that was validated: the XML itself, or the one embedded in the PDF.
    einvoice_sha256 = models.CharField(_("SHA-256 der E-Rechnung"), max_length=64, blank=True)
    validation = models.TextField(_("Validierung"), blank=True)

    objects = ArchivedDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("Archiviertes Dokument")
        verbose_name_plural = _("Archiv")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="unique_archived_kind")
        ]

    def __str__(self) -> str:
        return self.filename

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableDocument(f"{self} is archived and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableDocument(f"{self} is archived and cannot be deleted.")


_HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Farbe als #rrggbb, z. B. #1f4e79"))
_MIME_BY_SUFFIX = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
}
_IMAGE = FileExtensionValidator(["png", "jpg", "jpeg", "svg"])
_BACKGROUND = FileExtensionValidator(["pdf", "png", "jpg", "jpeg", "svg"])


class Letterhead(models.Model):
    """The company's letterhead for PDF documents (one per installation, like Company)."""

    logo = models.FileField(
        _("Logo"),
        upload_to="letterhead/",
        blank=True,
        validators=[_IMAGE],
        help_text=_("PNG, JPEG oder SVG; erscheint im Kopf, wenn kein Briefpapier gesetzt ist."),
    )
    first_page_background = models.FileField(
        _("Briefpapier erste Seite"),
        upload_to="letterhead/",
        blank=True,
        validators=[_BACKGROUND],
        help_text=_("A4, eine Seite: PDF (Schriften eingebettet), PNG, JPEG oder SVG."),
    )
    following_pages_background = models.FileField(
        _("Briefpapier Folgeseiten"),
        upload_to="letterhead/",
        blank=True,
        validators=[_BACKGROUND],
    )
    accent_colour = models.CharField(
        _("Akzentfarbe"), max_length=7, default="#1f4e79", validators=[_HEX_COLOUR]
    )
    show_footer = models.BooleanField(
        _("Fußzeile mit Pflichtangaben drucken"),
        default=True,
        help_text=_("Ausschalten, wenn das Briefpapier die Pflichtangaben schon trägt."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Briefpapier")
        verbose_name_plural = _("Briefpapier")

    def __str__(self) -> str:
        return str(_("Briefpapier"))

    @classmethod
    def current(cls) -> Letterhead | None:
        return cls.objects.order_by("pk").first()

    def clean(self) -> None:
        try:
            self.to_pdf_letterhead()
        except DomainError as error:  # unsupported file type, empty file, bad colour
            raise ValidationError(error.message) from None

    def to_pdf_letterhead(self) -> Any:
        """Return the ``faktura.documents.pdf.Letterhead`` the renderer takes."""
        from faktura.documents.pdf import Asset
        from faktura.documents.pdf import Letterhead as PdfLetterhead

        def asset(field: models.fields.files.FieldFile) -> Asset | None:
            if not field:
                return None
            suffix = PurePosixPath(field.name or "").suffix.lower()
            mime = _MIME_BY_SUFFIX.get(suffix, suffix)
            if not getattr(field, "_committed", True):
                # A fresh upload (the admin form calls clean() before saving): read it and
                # rewind, never close it, or the save that follows has nothing to store.
                upload = field.file
                upload.seek(0)
                data = upload.read()
                upload.seek(0)
                return Asset(data=data, mime=mime)
            field.open("rb")
            try:
                data = field.read()
            finally:
                field.close()
            return Asset(data=data, mime=mime)

        return PdfLetterhead(
            logo=asset(self.logo),
            first_page_background=asset(self.first_page_background),
            following_pages_background=asset(self.following_pages_background),
            accent_colour=self.accent_colour,
            footer=self.show_footer,
        )


def safe_filename(number: str, extension: str) -> str:
    """``RE-2026-00001`` → ``RE-2026-00001.pdf``; anything but [A-Za-z0-9._-] becomes ``_``."""
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', number)}.{extension}"


# --- delivery by post (documents.print_batch) ----------------------------------------------


class PrintBatch(models.Model):
    """One day's letters for the post: a duplex-ready PDF with a cover list, archived once."""

    batch_date = models.DateField(_("Datum"))
    document_count = models.PositiveIntegerField(_("Dokumente"))
    sheet_count = models.PositiveIntegerField(
        _("Blätter (doppelseitig)"), help_text=_("Deckblatt eingeschlossen.")
    )
    file = models.FileField(_("Datei"), storage=archive_storage, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("Größe (Bytes)"))
    filename = models.CharField(_("Dateiname"), max_length=100)
    created_at = models.DateTimeField(_("Erstellt am"))
    created_by = models.CharField(_("Erstellt von"), max_length=150)

    content_type = "application/pdf"

    class Meta:
        verbose_name = _("Druckstapel")
        verbose_name_plural = _("Druckstapel")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return self.filename


class PostalDelivery(models.Model):
    """A document sent by post in a print batch: one per document, never a second."""

    batch = models.ForeignKey(
        PrintBatch, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("Stapel")
    )
    position = models.PositiveIntegerField(_("Position"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    invoice = models.OneToOneField(
        "invoicing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="postal_delivery",
    )
    dunning_notice = models.OneToOneField(
        "dunning.DunningNotice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="postal_delivery",
    )
    document_number = models.CharField(_("Dokument"), max_length=40)
    recipient = models.CharField(_("Empfänger"), max_length=200)
    pages = models.PositiveSmallIntegerField(_("Seiten (mit Leerseite)"))

    class Meta:
        verbose_name = _("Briefversand")
        verbose_name_plural = _("Briefversand")
        ordering: ClassVar = ["batch", "position"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=False, dunning_notice__isnull=True)
                | models.Q(invoice__isnull=True, dunning_notice__isnull=False),
                name="postal_delivery_of_one_document",
            )
        ]

    def __str__(self) -> str:
        return self.document_number
