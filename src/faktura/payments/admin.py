"""Back-office views of money in: read-only, because only services change money state."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from faktura.core.admin_permissions import MasterDataAdmin, ReadOnlyAdmin
from faktura.payments.models import (
    Allocation,
    Dispute,
    FeeItem,
    Payment,
    PaymentRequest,
    PaymentSettings,
    Refund,
    RefundBatch,
    ReturnEvent,
    SavedPaymentMethod,
    WriteOff,
)


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    readonly_fields = (
        "invoice",
        "amount",
        "created_at",
        "created_by",
        "reversed_at",
        "reversed_by",
        "reversal_reason",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["date", "amount", "currency", "method", "source", "customer", "reference"]
    list_filter = ["method", "source"]
    search_fields = ["reference", "payer_name", "payer_iban", "external_id"]
    inlines = [AllocationInline]


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "invoice", "customer", "amount", "reason", "created_by"]


@admin.register(PaymentRequest)
class PaymentRequestAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "amount", "method", "customer", "status", "requested_by"]
    list_filter = ["status"]


@admin.register(ReturnEvent)
class ReturnEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "reason_code",
        "consequence",
        "customer",
        "invoice",
        "amount",
        "fee_amount",
    ]
    list_filter = ["kind", "consequence", "reason_code"]
    search_fields = ["source_reference", "end_to_end_id"]


@admin.register(FeeItem)
class FeeItemAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "invoice", "amount", "reason", "state"]
    list_filter = ["state"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["opened_at", "invoice", "customer", "reason_code", "cleared_at"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "customer", "amount", "status", "iban", "batch"]
    list_filter = ["status"]


@admin.register(RefundBatch)
class RefundBatchAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "message_id", "status", "transaction_count", "control_sum"]
    exclude = ["xml"]


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(MasterDataAdmin):
    """Settings, not money: editable, one row."""

    list_display = [
        "require_payment_confirmation",
        "write_off_tolerance",
        "return_fee_default",
        "charge_fee_on_rejected_debit",
        "pre_notification_days",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not PaymentSettings.objects.exists()


@admin.register(SavedPaymentMethod)
class SavedPaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["customer", "label", "provider", "payment_method_id", "active", "created_at"]
    list_filter = ["provider", "active"]
    search_fields = ["label", "provider_customer_id", "payment_method_id"]
