"""Back-office views of imported statements: read-only, because only services book them."""

from __future__ import annotations

from django.contrib import admin

from faktura.banking.models import BankStatement, BankTransaction, CsvMappingProfile, ProviderEvent
from faktura.core.admin_permissions import MasterDataAdmin, ReadOnlyAdmin


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
class CsvMappingProfileAdmin(MasterDataAdmin):
    """Configuration, not money: column mappings are edited here (checked on save)."""

    list_display = ["name", "bank"]
    search_fields = ["name", "bank"]


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "type", "event_id", "state"]
    list_filter = ["provider", "state", "type"]
    search_fields = ["event_id", "object_id"]
    raw_id_fields = ["invoice", "payment", "return_event"]
