"""API keys in the admin: created with a secret shown once, revoked by action; records read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from faktura.api import keys
from faktura.api.models import ApiKey, IdempotencyRecord
from faktura.core.admin_permissions import MatrixAdmin, ReadOnlyAdmin, actor_of

ACCESS_CHOICES = [("read", _("nur lesen")), ("write", _("lesen und schreiben"))]


class ApiKeyForm(forms.ModelForm):
    access = forms.ChoiceField(label=_("Zugriff"), choices=ACCESS_CHOICES, initial="read")

    class Meta:
        model = ApiKey
        fields = ["name", "user"]


@admin.action(description=_("Ausgewählte Schlüssel widerrufen"))
def revoke(modeladmin: Any, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
    count = keys.revoke_api_keys(queryset.values_list("pk", flat=True))
    messages.success(request, _("%(count)d Schlüssel widerrufen.") % {"count": count})


@admin.register(ApiKey)
class ApiKeyAdmin(MatrixAdmin):
    list_display = ["name", "masked", "user", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    actions = [revoke]
    readonly_fields = [
        "masked",
        "key_hash",
        "scopes",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    @admin.display(description=_("Schlüssel"))
    def masked(self, obj: ApiKey) -> str:
        return f"fk_live_{obj.prefix}…"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = ApiKeyForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "user", "access"]
        return ["name", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        access = form.cleaned_data["access"]
        created, secret = keys.create_api_key(
            name=obj.name,
            user=obj.user,
            scopes=["read", "write"] if access == "write" else ["read"],
            actor=actor_of(request),
        )
        obj.pk = created.pk
        obj.__dict__.update(
            {f.attname: getattr(created, f.attname) for f in ApiKey._meta.concrete_fields}
        )
        messages.warning(
            request,
            _(
                "Der Schlüssel lautet %(secret)s — er wird nur jetzt angezeigt "
                "und nirgends gespeichert."
            )
            % {"secret": secret},
        )

    # No delete (ADMIN_RULES): revoke instead, a deleted key would erase who acted through it.


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "api_key", "method", "path", "key", "response_status"]
    list_filter = ["method"]
    search_fields = ["key", "path"]
