"""Webhooks in the back office: endpoints added through the service (the secret is shown
once), deliveries with their attempts read-only, redelivery and deactivation by action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from faktura.core.admin_permissions import MatrixAdmin, ReadOnlyAdmin, actor_of
from faktura.core.errors import DomainError
from faktura.webhooks import services
from faktura.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "description"]


@admin.action(description=_("Ausgewählte Endpunkte deaktivieren"))
def deactivate_endpoints(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover - the admin signs in staff only
        return
    for endpoint_id in queryset.order_by("pk").values_list("pk", flat=True):
        services.update_endpoint(actor=actor, endpoint_id=endpoint_id, active=False)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MatrixAdmin):
    list_display = ["url", "events", "active", "description", "created_at", "created_by"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    actions = [deactivate_endpoints]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = EndpointForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["url", "events", "description"]
        return ["url", "events", "active", "description", "created_at", "created_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        actor = actor_of(request)
        if change or actor is None:  # pragma: no cover - change is read-only
            return
        created, secret = services.create_endpoint(
            actor=actor, url=obj.url, events=obj.events or [], description=obj.description
        )
        obj.pk = created.pk
        obj.__dict__.update(
            {f.attname: getattr(created, f.attname) for f in WebhookEndpoint._meta.concrete_fields}
        )
        messages.warning(
            request,
            _("Signaturgeheimnis (wird nur jetzt angezeigt): %(secret)s") % {"secret": secret},
        )


@admin.action(description=_("Erneut zustellen"))
def redeliver(modeladmin: Any, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
    actor = actor_of(request)
    if actor is None:  # pragma: no cover
        return
    done = 0
    for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
        try:
            services.redeliver(delivery_id=delivery_id, actor=actor)
            done += 1
        except DomainError as error:
            messages.error(request, error.message)
    if done:
        messages.success(request, _("%(count)d Zustellung(en) neu eingereiht.") % {"count": done})


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ["attempted_at", "status_code", "duration_ms", "error"]
    readonly_fields = ("attempted_at", "status_code", "duration_ms", "error")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    actions = [redeliver]
    inlines = [AttemptInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in WebhookDelivery._meta.fields]
