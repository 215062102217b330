"""Dunning in the back office: policies with their levels, runs, notices and fees, read-only.

Changes go through the services only: notices are approved or cancelled and fees waived
by action (the reason is typed in the field beside the action), levels are changed with
``PATCH /dunning-policy/{id}/levels/{number}`` (``dunning.services.update_level``),
instalment agreements with ``POST /instalment-agreements`` (``dunning.instalments``).
Collection cases are approved, recalled or written off by action; the CSV layouts are
master data edited here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import MasterDataAdmin, ReadOnlyAdmin, actor_of
from faktura.core.errors import DomainError
from faktura.dunning import collection_handover, services, staff
from faktura.dunning.models import (
    BaseRate,
    CollectionCase,
    CollectionCaseInvoice,
    CollectionExport,
    CollectionExportLayout,
    CollectionPayment,
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    DunningPolicy,
    DunningRun,
    Instalment,
    InstalmentAgreement,
    InstalmentAgreementInvoice,
    NoticeSettings,
    PreDueReminder,
    StaffDigest,
    ToDoEntry,
)


class ReasonActionForm(helpers.ActionForm):
    reason = forms.CharField(label=_("Grund"), required=False, max_length=500)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _all_fields(model: Any) -> list[str]:
    return [f.name for f in model._meta.fields]


def _apply(request: HttpRequest, ids: list[int], call: Callable[[int], Any], label: str) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover - the admin signs in staff only
        return
    done = 0
    for pk in ids:
        try:
            call(pk)
            done += 1
        except DomainError as error:
            messages.error(request, f"{label} {pk}: {error.message}")
    if done:
        messages.success(request, _("%(count)d Eintrag/Einträge bearbeitet.") % {"count": done})


def _reason(request: HttpRequest) -> str:
    return str(request.POST.get("reason", ""))


# --- policies ------------------------------------------------------------------------------


_LEVEL_FIELDS: tuple[str, ...] = (
    "number",
    "name",
    "days",
    "fee_consumer",
    "fee_business",
    "flat_fee",
    "interest",
    "minimum_open_amount",
    "review_required",
    "access_effect",
    "deadline_days",
    "subject_de",
    "subject_en",
)


class LevelInline(_ReadOnlyInline):
    model = DunningLevel
    fields = _LEVEL_FIELDS
    readonly_fields = _LEVEL_FIELDS


@admin.register(DunningPolicy)
class DunningPolicyAdmin(ReadOnlyAdmin):
    list_display = ["name", "is_default", "customer_kinds", "one_notice_per_invoice"]
    inlines = [LevelInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(DunningPolicy)


@admin.register(BaseRate)
class BaseRateAdmin(ReadOnlyAdmin):
    list_display = ["valid_from", "rate"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(BaseRate)


@admin.register(DunningRun)
class DunningRunAdmin(ReadOnlyAdmin):
    list_display = [
        "run_date",
        "status",
        "customers_checked",
        "invoices_overdue",
        "notices_sent",
        "notices_proposed",
        "fees_charged",
        "errors",
        "started_by",
    ]
    list_filter = ["status"]
    date_hierarchy = "run_date"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(DunningRun)


# --- notices -------------------------------------------------------------------------------


@admin.action(description=_("Mahnvorschläge freigeben (versenden)"))
def approve_notices(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[DunningNotice]
) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    _apply(request, ids, lambda pk: services.approve_notice(notice_id=pk, actor=actor), "#")


@admin.action(description=_("Mahnvorschläge verwerfen (Grund angeben)"))
def cancel_notices(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[DunningNotice]
) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    reason = _reason(request)
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    _apply(
        request,
        ids,
        lambda pk: services.cancel_notice(notice_id=pk, actor=actor, reason=reason),
        "#",
    )


_ITEM_FIELDS: tuple[str, ...] = (
    "number",
    "issue_date",
    "due_date",
    "original_amount",
    "paid_amount",
    "open_amount",
    "fees",
    "interest",
    "active",
)


class NoticeItemInline(_ReadOnlyInline):
    model = DunningNoticeItem
    fields = _ITEM_FIELDS
    readonly_fields = _ITEM_FIELDS


class NoticeFeeInline(_ReadOnlyInline):
    model = DunningFee
    fields = ("kind", "amount", "period_start", "period_end", "rate", "waived_at")
    readonly_fields = fields


@admin.register(DunningNotice)
class DunningNoticeAdmin(ReadOnlyAdmin):
    list_display = [
        "notice_date",
        "level_name",
        "customer",
        "status",
        "total",
        "deadline",
        "sent_at",
    ]
    list_filter = ["status", "level"]
    search_fields = ["customer__name", "customer__number", "items__number"]
    list_select_related = ["customer"]
    date_hierarchy = "notice_date"
    actions = [approve_notices, cancel_notices]
    action_form = ReasonActionForm
    inlines = [NoticeItemInline, NoticeFeeInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(DunningNotice)


# --- fees ----------------------------------------------------------------------------------


@admin.action(description=_("Mahnkosten erlassen (Grund angeben)"))
def waive_fees(modeladmin: Any, request: HttpRequest, queryset: QuerySet[DunningFee]) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    reason = _reason(request)
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    _apply(request, ids, lambda pk: services.waive_fee(fee_id=pk, reason=reason, actor=actor), "#")


@admin.register(DunningFee)
class DunningFeeAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "customer",
        "kind",
        "amount",
        "period_start",
        "period_end",
        "paid_at",
        "waived_at",
    ]
    list_filter = ["kind"]
    search_fields = ["customer__name", "customer__number", "reason"]
    list_select_related = ["customer"]
    actions = [waive_fees]
    action_form = ReasonActionForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(DunningFee)


# --- collection (Inkasso) -------------------------------------------------------------------


def _case_ids(queryset: QuerySet[CollectionCase]) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True))


@admin.action(description=_("Inkasso-Übergabe freigeben"))
def approve_cases(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[CollectionCase]
) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    _apply(
        request,
        _case_ids(queryset),
        lambda pk: collection_handover.approve_case(case_id=pk, actor=actor),
        "#",
    )


@admin.action(description=_("Inkassofall zurückrufen (Grund angeben)"))
def recall_cases(modeladmin: Any, request: HttpRequest, queryset: QuerySet[CollectionCase]) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    reason = _reason(request)
    _apply(
        request,
        _case_ids(queryset),
        lambda pk: collection_handover.recall_case(case_id=pk, actor=actor, why=reason),
        "#",
    )


@admin.action(description=_("Uneinbringlich ausbuchen (Grund angeben)"))
def write_off_cases(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[CollectionCase]
) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    reason = _reason(request)
    _apply(
        request,
        _case_ids(queryset),
        lambda pk: collection_handover.write_off_case(case_id=pk, actor=actor, why=reason),
        "#",
    )


class CaseInvoiceInline(_ReadOnlyInline):
    model = CollectionCaseInvoice
    fields = ("invoice", "open_amount", "active")
    readonly_fields = fields


class AgencyPaymentInline(_ReadOnlyInline):
    model = CollectionPayment
    fields = ("date", "amount", "costs", "payment", "created_by")
    readonly_fields = fields


@admin.register(CollectionCase)
class CollectionCaseAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "status", "proposed_on", "approved_at", "exported_at"]
    list_filter = ["status"]
    search_fields = ["customer__name", "customer__number", "items__invoice__number"]
    list_select_related = ["customer"]
    actions = [approve_cases, recall_cases, write_off_cases]
    action_form = ReasonActionForm
    inlines = [CaseInvoiceInline, AgencyPaymentInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(CollectionCase)


@admin.register(CollectionExport)
class CollectionExportAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "layout", "case_count", "row_count", "created_by"]
    exclude = ["csv", "zip"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for name in _all_fields(CollectionExport) if name not in ("csv", "zip")]


@admin.register(CollectionExportLayout)
class CollectionExportLayoutAdmin(MasterDataAdmin):
    """The agency's CSV columns: ``[{"header": …, "field": …, "format": …}]``; the field
    keys and formats are listed in the operations guide."""

    list_display = ["name", "is_default"]


# --- instalment agreements -----------------------------------------------------------------


class InstalmentInline(_ReadOnlyInline):
    model = Instalment
    fields = ("number", "reference", "due_date", "amount", "paid_amount")
    readonly_fields = fields


class CoveredInvoiceInline(_ReadOnlyInline):
    model = InstalmentAgreementInvoice
    fields = ("invoice", "open_amount", "active")
    readonly_fields = fields


@admin.register(InstalmentAgreement)
class InstalmentAgreementAdmin(ReadOnlyAdmin):
    """Read-only: agreements are made and cancelled through ``POST /instalment-agreements``
    (``dunning.instalments``)."""

    list_display = ["reference", "customer", "status", "total", "agreed_on", "ended_on"]
    list_filter = ["status"]
    search_fields = ["reference", "customer__name", "customer__number", "note"]
    list_select_related = ["customer"]
    inlines = [CoveredInvoiceInline, InstalmentInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(InstalmentAgreement)


# --- notices to staff and pre-due reminders ----------------------------------------------


@admin.register(NoticeSettings)
class NoticeSettingsAdmin(MasterDataAdmin):
    """Settings, not money: editable, one row."""

    list_display = ["service_email", "staff_language", "pre_due_reminder_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not NoticeSettings.objects.exists()


@admin.action(description=_("Als erledigt markieren"))
def mark_done(modeladmin: Any, request: HttpRequest, queryset: QuerySet[ToDoEntry]) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    ids = list(queryset.filter(done_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    _apply(request, ids, lambda pk: staff.mark_done(entry_id=pk, actor=actor), "#")


class _DoneFilter(admin.SimpleListFilter):
    title = _("Erledigt")
    parameter_name = "done"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("offen")), ("yes", _("erledigt"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ToDoEntry]) -> Any:
        if self.value() == "no":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(ToDoEntry)
class ToDoEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "date",
        "kind",
        "customer",
        "invoice_numbers",
        "level_name",
        "amount",
        "done_at",
        "done_by",
    ]
    list_filter = [_DoneFilter, "kind", "level"]
    search_fields = ["customer__name", "customer__number", "invoice__number"]
    list_select_related = ["customer"]
    date_hierarchy = "date"
    actions = [mark_done]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(ToDoEntry)


@admin.register(PreDueReminder)
class PreDueReminderAdmin(ReadOnlyAdmin):
    list_display = ["sent_on", "invoice", "customer", "due_date", "message"]
    search_fields = ["customer__name", "customer__number", "invoice__number"]
    list_select_related = ["customer", "invoice"]
    date_hierarchy = "sent_on"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(PreDueReminder)


@admin.register(StaffDigest)
class StaffDigestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "run", "last_entry", "entries", "mails"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _all_fields(StaffDigest)
