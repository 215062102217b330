"""The outbox for staff: what was sent, what waits for a retry, what failed and why."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import ReadOnlyAdmin, actor_of
from faktura.core.errors import DomainError
from faktura.notifications import services
from faktura.notifications.models import OutboxMessage


@admin.action(description=_("Erneut senden"))
def resend(modeladmin: Any, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover - the admin signs in staff only
        return
    done = 0
    for invoice_id in sorted({m.invoice_id for m in queryset if m.invoice_id is not None}):
        try:
            services.queue_document_mail(invoice_id=invoice_id, actor=actor, resend=True)
            done += 1
        except DomainError as error:
            messages.error(request, error.message)
    if done:
        messages.success(request, _("%(count)d E-Mail(s) neu eingereiht.") % {"count": done})


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "invoice",
        "event",
        "recipients",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["state", "event", "is_resend"]
    search_fields = ["invoice__number", "to", "subject"]
    list_select_related = ["invoice"]
    actions = [resend]

    @admin.display(description=_("An"))
    def recipients(self, obj: OutboxMessage) -> str:
        return ", ".join(obj.to + obj.cc)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in OutboxMessage._meta.fields]
