from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest

from faktura.core.admin_permissions import (
    MasterDataAdmin,
    MatrixAdmin,
    MatrixInline,
    ReadOnlyAdmin,
    actor_of,
    allows,
)
from faktura.core.errors import DomainError
from faktura.core.models import AuditEntry, BankAccount, Company, MaintenanceMode, NumberRange


class BankAccountInline(MatrixInline):
    model = BankAccount
    extra = 0


@admin.register(Company)
class CompanyAdmin(MasterDataAdmin):
    inlines = [BankAccountInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "legal_name",
                    "legal_form",
                    "street",
                    "house_number",
                    "postcode",
                    "city",
                    "country",
                ]
            },
        ),
        (
            "Register und Steuern",
            {
                "fields": [
                    "register_court",
                    "register_number",
                    "managing_directors",
                    "tax_number",
                    "vat_id",
                    "creditor_id",
                    "small_business",
                ]
            },
        ),
        ("Kontakt", {"fields": ["email", "phone", "website", "contact_name"]}),
        (
            "Zahlungsbedingungen",
            {
                "fields": [
                    "payment_term_days",
                    "early_payment_discount_days",
                    "early_payment_discount_percent",
                ]
            },
        ),
        (
            "Freigabe und Automatik",
            {
                "fields": [
                    "four_eyes_required",
                    "two_factor_required",
                    "approval_threshold",
                    "approval_for_new_customers",
                    "approval_for_manual_invoices",
                    "auto_finalize",
                ]
            },
        ),
        ("Sprache und Zeit", {"fields": ["default_language", "time_zone"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not Company.objects.exists()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Only an admin switches the four-eyes principle (else one could approve oneself).
        fields = [] if allows(request, "settings.four_eyes") else ["four_eyes_required"]
        if not allows(request, "settings.two_factor"):
            fields.append("two_factor_required")
        return fields


@admin.register(NumberRange)
class NumberRangeAdmin(MasterDataAdmin):
    list_display = ["kind", "pattern", "yearly_reset"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["kind"] if obj else []


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "object_id", "action"]


@admin.register(MaintenanceMode)
class MaintenanceModeAdmin(MatrixAdmin):
    """The maintenance switch (admins only); the one write page open during maintenance
    (``core.middleware``), so that it can be switched off here too."""

    list_display = ["__str__", "since", "message", "changed_by", "changed_at"]
    fields = ["active", "message", "since", "changed_by", "changed_at"]
    readonly_fields = ["since", "changed_by", "changed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not MaintenanceMode.objects.exists()

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        from faktura.core import services

        actor = actor_of(request)
        if actor is None:  # pragma: no cover - the admin signs in staff only
            return
        assert isinstance(obj, MaintenanceMode)
        try:
            state = services.set_maintenance(actor=actor, active=obj.active, message=obj.message)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = state.pk
