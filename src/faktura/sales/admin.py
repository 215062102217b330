from django.contrib import admin

from faktura.core.admin_permissions import ReadOnlyAdmin
from faktura.sales.models import Order


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "source", "external_reference", "created_at"]
    readonly_fields = [
        "customer",
        "source",
        "external_reference",
        "request",
        "created_by",
        "created_at",
    ]
