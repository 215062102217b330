from django.contrib import admin

from faktura.payments.models import Allocation, Payment


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    readonly_fields = [
        "invoice",
        "amount",
        "created_at",
        "created_by",
        "reversed_at",
        "reversal_reason",
    ]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["date", "amount", "currency", "method", "source", "customer", "reference"]
    inlines = [AllocationInline]
