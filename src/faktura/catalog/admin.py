from django.contrib import admin

from faktura.catalog.models import Product, StockMovement, TaxRate


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "rate", "active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
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


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["created_at", "product", "quantity", "document_number"]
    readonly_fields = ["created_at", "product", "quantity", "document_number"]
