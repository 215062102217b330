"""Stammdaten for admins only: users and roles, API keys, webhook endpoints.

Another role gets 403 for the page and every action (the tab is not shown either); the
services refuse as well, so a request that slipped past would still change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.api import keys
from faktura.api.models import SCOPES, ApiKey
from faktura.core import permissions
from faktura.core import services as core
from faktura.core.actors import ROLES
from faktura.core.errors import DomainError
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.views.masterdata import page
from faktura.webhooks import services as webhooks
from faktura.webhooks.events import EVENT_TYPES
from faktura.webhooks.models import WebhookEndpoint

ROLE_LABELS = {
    "admin": _("Administration"),
    "accountant": _("Buchhaltung"),
    "approver": _("Freigabe"),
    "cashier": _("Kasse"),
    "viewer": _("Nur lesen"),
}
ROLE_CHOICES = [(role, ROLE_LABELS.get(role, role)) for role in ROLES]
SCOPE_LABELS = {"read": _("Lesen"), "write": _("Schreiben")}


def allowed_for(operation: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """403 for a staff member whose role may not do ``operation`` (page and actions)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not permissions.allows(request.actor, operation):  # type: ignore[attr-defined]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return staff_view(wrapper)

    return decorate


# --- Benutzer und Rollen ---------------------------------------------------------------------


class NewUserForm(forms.Form):
    username = forms.CharField(label=_("Benutzername"), max_length=150)
    email = forms.EmailField(label=_("E-Mail"), required=False)
    password = forms.CharField(
        label=_("Passwort"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    roles = forms.MultipleChoiceField(
        label=_("Rollen"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple
    )


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Rollen"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple
    )


@allowed_for("user.manage")
def users(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _apply(
            request,
            form,
            lambda: core.create_user(
                actor=actor,
                username=data["username"],
                email=data["email"],
                password=data["password"],
                roles=data["roles"],
            ),
            gettext("Der Benutzer %(name)s ist angelegt.") % {"name": data["username"]},
        ):
            return redirect("backoffice:md_users")
    people = get_user_model().objects.order_by("-is_active", "username").prefetch_related("groups")
    rows = [(person, sorted(g.name for g in person.groups.all())) for person in people]
    return page(
        request,
        "users.html",
        {"form": form, "rows": rows, "role_choices": ROLE_CHOICES, "me": request.user.pk},
    )


def _apply(request: HttpRequest, form: forms.Form, action: Callable[[], Any], done: str) -> bool:
    """Call the service; a refusal about one field shows beside that field."""
    try:
        action()
    except DomainError as error:
        if error.field and error.field in form.fields:
            form.add_error(error.field, message(error))
        else:
            messages.error(request, message(error))
        return False
    messages.success(request, done)
    return True


@require_POST
@allowed_for("user.manage")
def user_roles(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = RolesForm(request.POST)
    roles = form.cleaned_data["roles"] if form.is_valid() else []
    attempt(
        request,
        lambda: core.set_user_roles(actor=actor, user_id=user_id, roles=roles),
        gettext("Die Rollen sind geändert."),
    )
    return redirect("backoffice:md_users")


@require_POST
@allowed_for("user.manage")
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: core.deactivate_user(actor=actor, user_id=user_id),
        gettext("Der Benutzer ist deaktiviert; er kann sich nicht mehr anmelden."),
    )
    return redirect("backoffice:md_users")


# --- API-Schlüssel ---------------------------------------------------------------------------


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    user = forms.ModelChoiceField(
        label=_("Handelt als Benutzer"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Berechtigungen"),
        choices=[(scope, SCOPE_LABELS.get(scope, scope)) for scope in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["read"],
    )


@allowed_for("api_key.manage")
def api_keys(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created: list[str] = []
        if _apply(
            request,
            form,
            lambda: created.append(
                keys.create_api_key(
                    name=data["name"], user=data["user"], scopes=data["scopes"], actor=actor
                )[1]
            ),
            gettext(
                "Der API-Schlüssel ist angelegt. Kopieren Sie ihn jetzt: "
                "er wird nur einmal angezeigt."
            ),
        ):
            # Shown on this response only: never stored, never in a redirect or the session.
            secret = created[0]
            form = ApiKeyForm()
    listed = ApiKey.objects.select_related("user").order_by("revoked_at", "name", "pk")
    return page(request, "api_keys.html", {"form": form, "keys": listed, "secret": secret})


@require_POST
@allowed_for("api_key.manage")
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: keys.revoke_api_key(key_id=key_id, actor=actor),
        gettext("Der API-Schlüssel ist widerrufen; Anfragen damit werden abgelehnt."),
    )
    return redirect("backoffice:md_api_keys")


# --- Webhooks --------------------------------------------------------------------------------


class EndpointForm(forms.Form):
    url = forms.CharField(label=_("URL"), max_length=500)
    description = forms.CharField(label=_("Beschreibung"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Ereignisse (keins gewählt: alle)"),
        choices=[(event, event) for event in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


LAST_DELIVERIES = 5


@allowed_for("webhook.manage")
def webhook_endpoints(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = EndpointForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created: list[str] = []
        if _apply(
            request,
            form,
            lambda: created.append(
                webhooks.create_endpoint(
                    actor=actor,
                    url=data["url"],
                    events=data["events"],
                    description=data["description"],
                )[1]
            ),
            gettext(
                "Der Endpunkt ist angelegt. Kopieren Sie das Geheimnis jetzt: "
                "es wird nur einmal angezeigt."
            ),
        ):
            secret = created[0]
            form = EndpointForm()
    rows = [
        (endpoint, list(endpoint.deliveries.order_by("-pk")[:LAST_DELIVERIES]))
        for endpoint in WebhookEndpoint.objects.order_by("-active", "pk")
    ]
    return page(request, "webhooks.html", {"form": form, "rows": rows, "secret": secret})


@require_POST
@allowed_for("webhook.manage")
def webhook_switch(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    active = request.POST.get("active") == "1"
    attempt(
        request,
        lambda: webhooks.update_endpoint(actor=actor, endpoint_id=endpoint_id, active=active),
        gettext("Der Endpunkt ist aktiviert.")
        if active
        else gettext("Der Endpunkt ist deaktiviert; er bekommt keine neuen Ereignisse."),
    )
    return redirect("backoffice:md_webhooks")
