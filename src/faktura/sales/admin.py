from django.contrib import admin

from faktura.core.admin_permissions import ReadOnlyAdmin
from faktura.sales.models import Order


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "customer",
        "source",
        "external_reference",
        "risk_decision",
        "risk_score",
        "created_at",
    ]
    list_filter = ["risk_decision", "source"]
    readonly_fields = [
        "customer",
        "source",
        "external_reference",
        "request",
        "risk_decision",
        "risk_score",
        "risk_reasons",
        "created_by",
        "created_at",
    ]
