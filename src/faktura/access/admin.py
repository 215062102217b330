"""Back office for access: blocks and overrides are read here and changed by the services
(API ``/customers/{id}/access``); the settings are edited in place."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from faktura.access.models import AccessBlock, AccessOverride, AccessSettings
from faktura.core.admin_permissions import MasterDataAdmin, ReadOnlyAdmin


@admin.register(AccessBlock)
class AccessBlockAdmin(ReadOnlyAdmin):
    list_display = ["since", "customer", "reason", "level", "effect", "created_by", "ended_at"]
    list_filter = ["reason", "effect", "end_reason"]
    search_fields = ["customer__name", "why", "invoices__number"]


@admin.register(AccessOverride)
class AccessOverrideAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "until", "why", "created_by", "revoked_at"]
    search_fields = ["customer__name", "why"]


@admin.register(AccessSettings)
class AccessSettingsAdmin(MasterDataAdmin):
    list_display = ["returned_debit_effect", "chargeback_effect", "subscriptions_while_blocked"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not AccessSettings.objects.exists()
