"""Documents in the admin: read-only; actions call the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.invoicing import services
from faktura.invoicing.models import Invoice, InvoiceAllowance, InvoiceLine, InvoiceTax


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LineInline(_ReadOnlyInline):
    model = InvoiceLine
    fields = [
        "position",
        "sku",
        "name",
        "quantity",
        "unit_code",
        "unit_price",
        "discount_percent",
        "discount_amount",
        "net_amount",
        "tax_rate",
    ]


class AllowanceInline(_ReadOnlyInline):
    model = InvoiceAllowance


class TaxInline(_ReadOnlyInline):
    model = InvoiceTax


def _apply(request: HttpRequest, queryset: QuerySet[Invoice], operation: str) -> None:
    actor = Actor.for_user(request.user)
    done = 0
    for invoice in queryset.order_by("pk"):
        try:
            getattr(services, operation)(invoice_id=invoice.pk, actor=actor)
            done += 1
        except DomainError as error:
            messages.error(request, f"{invoice}: {error.message}")
    if done:
        messages.success(request, _("%(count)d Dokument(e) bearbeitet.") % {"count": done})


@admin.action(description=_("Festschreiben"))
def finalize(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "finalize_invoice")


@admin.action(description=_("Freigeben"))
def approve(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "approve_invoice")


@admin.action(description=_("Stornieren (Stornorechnung)"))
def cancel(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "cancel_invoice")


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "kind",
        "status",
        "customer",
        "issue_date",
        "due_date",
        "grand_total",
        "delivery_status",
    ]
    list_filter = ["kind", "status", "delivery_status"]
    search_fields = ["number", "customer__name", "customer__number"]
    inlines = [LineInline, AllowanceInline, TaxInline]
    actions = [finalize, approve, cancel]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # documents come from orders (API, back office, subscriptions)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.is_finalized

    def delete_model(self, request: HttpRequest, obj: Invoice) -> None:
        services.discard_draft(invoice_id=obj.pk, actor=Actor.for_user(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _apply(request, queryset, "discard_draft")
