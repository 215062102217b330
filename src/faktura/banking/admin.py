"""Back-office views of imported statements: read-only, because only services book them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from faktura.banking.models import BankStatement, BankTransaction, CsvMappingProfile, ProviderEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only: the admin shows them, it never edits them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = [
        "imported_at",
        "format",
        "account_identification",
        "statement_id",
        "transaction_count",
        "new_count",
        "duplicate_count",
        "booked_count",
        "unmatched_count",
        "return_count",
    ]
    list_filter = ["format"]
    search_fields = ["account_identification", "statement_id", "filename", "file_sha256"]


@admin.register(BankTransaction)
class BankTransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "booking_date",
        "direction",
        "amount",
        "counterparty_name",
        "state",
        "match_method",
        "match_confidence",
    ]
    list_filter = ["state", "direction", "is_return", "match_method"]
    search_fields = [
        "counterparty_name",
        "counterparty_iban",
        "remittance_information",
        "end_to_end_id",
        "mandate_reference",
    ]
    raw_id_fields = ["statement", "customer", "payment", "return_event", "refund"]


@admin.register(CsvMappingProfile)
class CsvMappingProfileAdmin(admin.ModelAdmin):
    """Configuration, not money: column mappings are edited here (checked on save)."""

    list_display = ["name", "bank"]
    search_fields = ["name", "bank"]


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "type", "event_id", "state"]
    list_filter = ["provider", "state", "type"]
    search_fields = ["event_id", "object_id"]
    raw_id_fields = ["invoice", "payment", "return_event"]
