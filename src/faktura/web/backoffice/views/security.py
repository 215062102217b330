"""Sign-in security of the back office: the second factor (TOTP) and its set-up."""

from __future__ import annotations

import base64
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from faktura.core import services
from faktura.core import two_factor as second_factor
from faktura.core.errors import DomainError
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.two_factor import second_factor_missing


class CodeForm(forms.Form):
    token = forms.CharField(label=_("Code aus der App"), max_length=10)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The code after the password, for a user with a confirmed TOTP device."""
    if second_factor_missing(request) != "verify":
        return redirect(_next(request))
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "")
        # The app's code or a backup code; each device throttles repeated failures.
        device = second_factor.verify_second_factor(user=request.user, token=token)
        if device is not None:
            otp_login(request, device)
            if second_factor.is_backup_device(device):
                _say_backup_code_used(request)
            return redirect(_next(request))
        if second_factor.normalize(token) is not None:
            error = gettext("Dieser Ersatzcode gilt nicht oder wurde schon verwendet.")
        else:
            error = gettext(
                "Der Code stimmt nicht. Bitte geben Sie den aktuellen Code aus der App ein."
            )
    return render(
        request,
        "backoffice/verify.html",
        {"form": CodeForm(), "error": error, "next": _next(request)},
        status=200 if not error else 422,
    )


def _say_backup_code_used(request: HttpRequest) -> None:
    left = second_factor.remaining_backup_codes(request.user.pk) or 0  # type: ignore[arg-type]
    text = ngettext(
        "Sie haben sich mit einem Ersatzcode angemeldet. Es bleibt noch %(count)d Ersatzcode.",
        "Sie haben sich mit einem Ersatzcode angemeldet. Es bleiben noch %(count)d Ersatzcodes.",
        left,
    ) % {"count": left}
    if left <= 2:
        text += " " + gettext("Bitte erzeugen Sie unter Zwei-Faktor-Anmeldung neue Ersatzcodes.")
    messages.warning(request, text)


@staff_view
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up one's own TOTP device: start, scan the QR code, confirm with a code."""
    actor = request.actor  # type: ignore[attr-defined]
    user_id = request.user.pk
    if user_id is None:  # pragma: no cover - staff_view lets signed-in users through only
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "start":
                services.start_totp_enrolment(actor=actor, user_id=user_id)
                return redirect("backoffice:two_factor")
            device = services.confirm_totp_device(
                actor=actor, user_id=user_id, token=request.POST.get("token", "")
            )
        except DomainError as refused:
            error = message(refused)
        else:
            # The code just given proves the second factor for this session too.
            otp_login(request, device)
            messages.success(request, gettext("Die Zwei-Faktor-Anmeldung ist eingerichtet."))
            return redirect(_next(request))
    devices = TOTPDevice.objects.filter(user_id=user_id).order_by("pk")
    active = any(d.confirmed for d in devices)
    pending = next((d for d in devices if not d.confirmed), None)
    context = {
        "active": active,
        "pending": pending is not None,
        "required": second_factor_missing(request) == "enrol",
        "error": error,
        "next": _next(request) if "next" in request.GET or "next" in request.POST else "",
        "form": CodeForm(),
        "backup_codes_left": second_factor.remaining_backup_codes(user_id) if active else None,
        "backup_codes_total": second_factor.COUNT,
    }
    if pending is not None and not active:
        context["qr"] = segno.make(pending.config_url, error="m").svg_data_uri(scale=5, border=2)
        context["secret"] = base64.b32encode(pending.bin_key).decode("ascii")
    return render(request, "backoffice/two_factor.html", context, status=422 if error else 200)


@staff_view
@never_cache
@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Make new backup codes (POST) and show them this once; GET goes back to the set-up."""
    if request.method != "POST":
        return redirect("backoffice:two_factor")
    user_id = request.user.pk
    if user_id is None:  # pragma: no cover - staff_view lets signed-in users through only
        raise PermissionDenied
    try:
        codes = second_factor.generate_backup_codes(
            actor=request.actor,  # type: ignore[attr-defined]
            user_id=user_id,
        )
    except DomainError as refused:
        messages.error(request, message(refused))
        return redirect("backoffice:two_factor")
    # never_cache: the codes are not kept by the browser (Cache-Control: no-store).
    return render(request, "backoffice/backup_codes.html", {"codes": codes})


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page after too many failed sign-ins (django-axes' AXES_LOCKOUT_CALLABLE)."""
    from axes.helpers import get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return render(
        request,
        "backoffice/locked_out.html",
        {"failure_limit": get_failure_limit(request, credentials), "cooloff_minutes": minutes},
        status=429,
    )
