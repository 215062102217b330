"""Back-office views of mandates and direct-debit files (read-only: services write them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
from faktura.core.admin_permissions import ReadOnlyAdmin


@admin.register(Mandate)
class MandateAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "customer",
        "scheme",
        "kind",
        "status",
        "signature_date",
        "last_collection_date",
    ]
    list_filter = ["status", "scheme", "kind"]
    search_fields = ["reference", "iban", "debtor_name"]


class DirectDebitItemInline(admin.TabularInline):
    model = DirectDebitItem
    extra = 0
    fields = ("invoice", "mandate", "amount", "end_to_end_id", "sequence_type", "state")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DirectDebitBatch)
class DirectDebitBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "scheme",
        "collection_date",
        "status",
        "transaction_count",
        "control_sum",
        "created_at",
    ]
    list_filter = ["status", "scheme"]
    exclude = ["xml"]
    inlines = [DirectDebitItemInline]
