"""Back-office views of plans, courses, subscriptions and billing runs.

Read-mostly: every change of a plan or a subscription goes through the services (they
keep the billing dates, prorations and the audit log right). Only the billing settings
and a customer's billing profile are edited in place, through the audited master-data
service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import MasterDataAdmin, ReadOnlyAdmin, actor_of
from faktura.core.errors import DomainError
from faktura.subscriptions import cancellation
from faktura.subscriptions.models import (
    BillingIssue,
    BillingProfile,
    BillingRun,
    BillingSettings,
    CancellationRequest,
    Coupon,
    Course,
    CourseInstalment,
    Plan,
    PriceChange,
    Subscription,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PriceChangeInline(_ReadOnlyInline):
    model = PriceChange
    fields = ("effective_from", "price", "needs_consent", "notice_days", "created_by")
    readonly_fields = fields


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "interval", "timing", "price", "price_mode", "active"]
    list_filter = ["interval", "timing", "active"]
    search_fields = ["code", "name"]
    inlines = [PriceChangeInline]


class CourseInstalmentInline(_ReadOnlyInline):
    model = CourseInstalment
    fields = ("number", "due_on", "amount")
    readonly_fields = fields


@admin.register(Course)
class CourseAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "starts_on", "ends_on", "price", "price_mode", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    inlines = [CourseInstalmentInline]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "customer",
        "plan",
        "course",
        "quantity",
        "status",
        "billing_anchor",
        "next_billing_on",
        "ends_on",
    ]
    list_filter = ["status", "payment_method"]
    search_fields = ["customer__name", "customer__number", "external_reference"]
    list_select_related = ["customer", "plan", "course"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "value", "duration", "redeemable_until", "active"]
    list_filter = ["kind", "duration", "active"]
    search_fields = ["code", "name"]


@admin.register(BillingSettings)
class BillingSettingsAdmin(MasterDataAdmin):
    """Settings: editable, one row."""

    list_display = ["review_days", "negative_proration", "trial_notice_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not BillingSettings.objects.exists()


@admin.register(BillingProfile)
class BillingProfileAdmin(MasterDataAdmin):
    list_display = ["customer", "invoice_per_subscription", "review_days"]
    autocomplete_fields = ["customer"]


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "billing_date",
        "status",
        "periods_found",
        "charges_found",
        "invoices_made",
        "invoices_finalized",
        "errors",
        "started_at",
    ]
    list_filter = ["status"]


@admin.register(BillingIssue)
class BillingIssueAdmin(ReadOnlyAdmin):
    list_display = ["billing_date", "customer", "subscription", "code", "resolved_at"]
    list_filter = ["code"]
    search_fields = ["customer__name", "message"]


@admin.action(description=_("Als bearbeitet markieren"))
def mark_cancellations_processed(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[CancellationRequest]
) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover - the admin signs in staff only
        return
    done = 0
    for pk in queryset.filter(status=CancellationRequest.Status.OPEN).values_list("pk", flat=True):
        try:
            cancellation.process_request(actor=actor, request_id=pk)
            done += 1
        except DomainError as error:
            messages.error(request, f"{pk}: {error.message}")
    if done:
        messages.success(
            request, _("%(count)d Kündigung(en) als bearbeitet markiert.") % {"count": done}
        )


@admin.register(CancellationRequest)
class CancellationRequestAdmin(ReadOnlyAdmin):
    """Declarations from the cancellation button (§ 312k BGB), exactly as submitted."""

    list_display = [
        "submitted_at",
        "name",
        "customer_number",
        "email",
        "contract",
        "kind",
        "desired_end",
        "status",
        "customer",
        "subscription",
        "ends_on",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["name", "email", "customer_number", "contract"]
    list_select_related = ["customer", "subscription__plan"]
    actions = [mark_cancellations_processed]
