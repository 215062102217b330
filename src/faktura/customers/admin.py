from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from faktura.core import clock
from faktura.core.admin_permissions import MatrixAdmin, actor_of
from faktura.core.errors import DomainError
from faktura.customers import services
from faktura.customers.models import Customer
from faktura.reporting.risk import customer_risk


@admin.register(Customer)
class CustomerAdmin(MatrixAdmin):
    list_display = [
        "number",
        "name",
        "kind",
        "city",
        "email",
        "preferred_payment_method",
        "dunning_block",
        "delivery_by_post",
    ]
    list_filter = [
        "kind",
        "preferred_payment_method",
        "dunning_block",
        "delivery_by_post",
        "language",
    ]
    search_fields = ["number", "name", "email", "vat_id"]
    readonly_fields = ["number", "risk", "created_at", "updated_at"]

    @admin.display(description=_("Bonität (Risikopunkte)"))
    def risk(self, obj: Customer) -> str:
        if obj.pk is None:
            return "–"
        _figures, assessed = customer_risk(obj.pk, today=clock.today())
        return format_html_join(
            "",
            "{}<br>",
            [(f"{assessed.score} / 100",), *((line,) for line in assessed.reasons)],
        )

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        # Through the services, so numbering and the audit log are never skipped.
        actor = actor_of(request)
        if actor is None:  # pragma: no cover - the admin signs in staff only
            return
        fields = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.EDITABLE_FIELDS
        }
        if "account_manager" in form.changed_data:
            manager = form.cleaned_data["account_manager"]
            fields["account_manager_id"] = manager.pk if manager else None
        try:
            if change:
                saved = services.update_customer(customer_id=obj.pk, actor=actor, **fields)
            else:
                all_fields = {
                    name: form.cleaned_data[name]
                    for name in form.cleaned_data
                    if name in services.EDITABLE_FIELDS
                }
                if form.cleaned_data.get("account_manager"):
                    all_fields["account_manager_id"] = form.cleaned_data["account_manager"].pk
                saved = services.create_customer(actor=actor, **all_fields)
            obj.pk, obj.number = saved.pk, saved.number
        except DomainError as error:
            messages.error(request, error.message)
