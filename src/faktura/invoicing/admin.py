"""Documents in the admin: read-only; actions call the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import MatrixAdmin, actor_of
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
        "service_date_start",
        "service_date_end",
        "tax_rate",
    ]


class AllowanceInline(_ReadOnlyInline):
    model = InvoiceAllowance


class TaxInline(_ReadOnlyInline):
    model = InvoiceTax


def _apply(request: HttpRequest, queryset: QuerySet[Invoice], operation: str) -> int:
    """Call the service for each document; report each refusal; return how many succeeded."""
    actor = actor_of(request)
    if actor is None:  # pragma: no cover - the admin signs in staff only
        return 0
    done = 0
    for invoice in queryset.order_by("pk"):
        try:
            getattr(services, operation)(invoice_id=invoice.pk, actor=actor)
            done += 1
        except DomainError as error:
            messages.error(request, f"{invoice}: {error.message}")
    if done:
        messages.success(request, _("%(count)d Dokument(e) bearbeitet.") % {"count": done})
    return done


@admin.action(description=_("Festschreiben"))
def finalize(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "finalize_invoice")


@admin.action(description=_("Freigeben"))
def approve(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "approve_invoice")


@admin.action(description=_("Stornieren (Stornorechnung)"))
def cancel(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "cancel_invoice")


@admin.action(description=_("Entwürfe verwerfen"))
def discard(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    _apply(request, queryset, "discard_draft")


_REFUSED = "_faktura_delete_refused"


@admin.register(Invoice)
class InvoiceAdmin(MatrixAdmin):
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
    actions = [finalize, approve, cancel, discard]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # documents come from orders (API, back office, subscriptions)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_finalized)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Drafts are discarded by the service, one by one, with a message for each refusal
        # (Django's bulk delete would report success for what the service refused).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: Invoice) -> None:
        actor = actor_of(request)
        try:
            if actor is None:  # pragma: no cover - the admin signs in staff only
                raise DomainError("Not signed in.")
            services.discard_draft(invoice_id=obj.pk, actor=actor)
        except DomainError as error:
            setattr(request, _REFUSED, True)
            messages.error(request, f"{obj}: {error.message}")

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        if getattr(request, _REFUSED, False):
            return HttpResponseRedirect(reverse("admin:invoicing_invoice_changelist"))
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _apply(request, queryset, "discard_draft")
