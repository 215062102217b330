"""Admin of the reporting app: the DATEV settings and account mapping; legal holds (set and
cleared through the services, audited) and the deletion log (read only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import MasterDataAdmin, MatrixAdmin, ReadOnlyAdmin, actor_of
from faktura.core.errors import DomainError
from faktura.dunning.admin import ReasonActionForm
from faktura.reporting import services
from faktura.reporting.models import DatevAccount, DatevSettings, LegalHold, PurgedDocument


@admin.register(DatevSettings)
class DatevSettingsAdmin(MasterDataAdmin):
    """Settings, one row: the client data of the DATEV export."""

    list_display = ["consultant_number", "client_number", "chart", "account_length"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not DatevSettings.objects.exists()


@admin.register(DatevAccount)
class DatevAccountAdmin(MasterDataAdmin):
    """The account mapping; a purpose without a row uses the chart's default account."""

    list_display = ["chart", "purpose", "account", "tax_key"]
    list_filter = ["chart"]
    list_editable = ["account", "tax_key"]


@admin.action(description=_("Aufbewahrungssperre aufheben (Grund angeben)"))
def clear_legal_holds(modeladmin: Any, request: HttpRequest, queryset: QuerySet[LegalHold]) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover - the admin signs in staff only
        return
    reason = str(request.POST.get("reason", ""))
    done = 0
    active = queryset.filter(cleared_at__isnull=True).order_by("pk")
    for customer_id, number in active.values_list("customer_id", "customer__number"):
        try:
            services.clear_legal_hold(customer_id=customer_id, reason=reason, actor=actor)
            done += 1
        except DomainError as error:
            messages.error(request, f"{number}: {error.message}")
    if done:
        messages.success(request, _("%(count)d Sperre(n) aufgehoben.") % {"count": done})


@admin.register(LegalHold)
class LegalHoldAdmin(MatrixAdmin):
    list_display = ["customer", "reason", "set_at", "set_by", "cleared_at", "cleared_by"]
    list_filter = [("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["customer__name", "customer__number", "reason"]
    fields = ["customer", "reason"]
    autocomplete_fields = ["customer"]
    action_form = ReasonActionForm
    actions = [clear_legal_holds]

    def save_model(self, request: HttpRequest, obj: LegalHold, form: Any, change: bool) -> None:
        actor = actor_of(request)
        if actor is None or change:  # pragma: no cover - holds are never edited
            return
        hold = services.set_legal_hold(customer_id=obj.customer.pk, reason=obj.reason, actor=actor)
        obj.pk = hold.pk

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().add_view(request, *args, **kwargs)
        except DomainError as error:
            # An active hold already, or no reason: say so instead of a server error.
            messages.error(request, error.message)
            return HttpResponseRedirect(request.path)


@admin.register(PurgedDocument)
class PurgedDocumentAdmin(ReadOnlyAdmin):
    list_display = [
        "deleted_at",
        "document",
        "kind",
        "customer",
        "retention_until",
        "sha256",
        "deleted_by",
    ]
    list_filter = ["kind"]
    search_fields = ["document", "file_name", "customer__name", "sha256"]
