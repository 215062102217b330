from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from faktura.core.admin_permissions import MasterDataAdmin
from faktura.reporting.models import DatevAccount, DatevSettings


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
