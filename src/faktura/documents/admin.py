"""The archive (read-only, with a download that serves the verified bytes) and the letterhead."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import MasterDataAdmin, ReadOnlyAdmin
from faktura.documents.archive import read_archived
from faktura.documents.models import ArchivedDocument, Letterhead, PostalDelivery, PrintBatch
from faktura.documents.print_batch import read_batch


@admin.register(ArchivedDocument)
class ArchivedDocumentAdmin(ReadOnlyAdmin):
    list_display = [
        "filename",
        "kind",
        "invoice",
        "size",
        "created_at",
        "retention_until",
        "download",
    ]
    list_filter = ["kind"]
    search_fields = ["filename", "invoice__number", "sha256"]
    list_select_related = ["invoice"]
    readonly_fields = [
        "invoice",
        "kind",
        "filename",
        "file_name",
        "sha256",
        "size",
        "content_type",
        "created_at",
        "retention_until",
        "einvoice_sha256",
        "validation",
        "download",
    ]
    fields = list(readonly_fields)

    @admin.display(description=_("Speicherort"))
    def file_name(self, obj: ArchivedDocument) -> str:
        return obj.file.name or ""

    @admin.display(description=_("Datei"))
    def download(self, obj: ArchivedDocument) -> str:
        url = reverse("admin:documents_archiveddocument_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Herunterladen"))

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="documents_archiveddocument_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = get_object_or_404(ArchivedDocument.objects.select_related("invoice"), pk=pk)
        if not self.has_view_permission(request, document):
            raise PermissionDenied
        # read_archived checks the SHA-256: an altered file is refused, never served.
        response = HttpResponse(read_archived(document), content_type=document.content_type)
        response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
        return response


@admin.register(Letterhead)
class LetterheadAdmin(MasterDataAdmin):
    list_display = ["__str__", "accent_colour", "show_footer", "updated_at"]
    fields = [
        "logo",
        "first_page_background",
        "following_pages_background",
        "accent_colour",
        "show_footer",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not Letterhead.objects.exists()


class PostalDeliveryInline(admin.TabularInline[PostalDelivery, PrintBatch]):
    model = PostalDelivery
    extra = 0
    can_delete = False
    fields = ["position", "document_number", "recipient", "customer", "pages"]
    readonly_fields = ["position", "document_number", "recipient", "customer", "pages"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PrintBatch)
class PrintBatchAdmin(ReadOnlyAdmin):
    list_display = ["filename", "batch_date", "document_count", "sheet_count", "download"]
    list_filter = ["batch_date"]
    readonly_fields = [
        "batch_date",
        "document_count",
        "sheet_count",
        "filename",
        "sha256",
        "size",
        "created_at",
        "created_by",
        "download",
    ]
    fields = list(readonly_fields)
    inlines = [PostalDeliveryInline]

    @admin.display(description=_("Datei"))
    def download(self, obj: PrintBatch) -> str:
        url = reverse("admin:documents_printbatch_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Herunterladen"))

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="documents_printbatch_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        batch = get_object_or_404(PrintBatch, pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        response = HttpResponse(read_batch(batch), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
        return response


@admin.register(PostalDelivery)
class PostalDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["document_number", "recipient", "batch", "pages"]
    search_fields = ["document_number", "recipient"]
    list_select_related = ["batch"]
    readonly_fields = [
        "batch",
        "position",
        "document_number",
        "recipient",
        "customer",
        "invoice",
        "dunning_notice",
        "pages",
    ]
    fields = list(readonly_fields)
