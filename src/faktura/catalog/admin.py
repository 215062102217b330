"""Tax rates, products and stock in the admin: products are saved through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from faktura.catalog import services
from faktura.catalog.models import Product, StockMovement, TaxRate
from faktura.core.admin_permissions import MasterDataAdmin, MatrixAdmin, ReadOnlyAdmin, actor_of
from faktura.core.errors import DomainError


@admin.register(TaxRate)
class TaxRateAdmin(MasterDataAdmin):
    list_display = ["code", "name", "category", "rate", "active"]


@admin.register(Product)
class ProductAdmin(MatrixAdmin):
    list_display = [
        "sku",
        "name",
        "unit_code",
        "price_mode",
        "unit_price",
        "tax_rate",
        "kind",
        "track_stock",
        "stock_level",
    ]
    list_filter = ["tax_rate", "kind", "track_stock", "active"]
    search_fields = ["sku", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Stock changes through stock movements only; the opening stock at creation.
        return ["stock_level"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        # Through the services, so the permission check and the audit log are never skipped.
        actor = actor_of(request)
        if actor is None:  # pragma: no cover - the admin signs in staff only
            return
        try:
            if change:
                fields = {
                    name: form.cleaned_data[name]
                    for name in form.changed_data
                    if name in services.EDITABLE_FIELDS
                }
                saved = services.update_product(product_id=obj.pk, actor=actor, **fields)
            else:
                allowed = services.EDITABLE_FIELDS + services.CREATE_ONLY_FIELDS
                fields = {
                    name: value
                    for name, value in form.cleaned_data.items()
                    if name in allowed and value is not None
                }
                saved = services.create_product(actor=actor, **fields)
            obj.pk = saved.pk
        except DomainError as error:
            messages.error(request, error.message)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "product", "quantity", "document_number"]
    readonly_fields = ["created_at", "product", "quantity", "document_number"]
