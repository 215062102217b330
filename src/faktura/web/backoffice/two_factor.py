"""The second factor (TOTP, django-otp): who must give it, and the gate in front of the pages.

A user with a confirmed TOTP device enters a code after the password before any back-office
or admin page; when the company requires two-factor sign-in (``Company.two_factor_required``)
every staff member without a device is sent to set one up first. The API (keys), the portal
(customers) and the health probes are not behind this gate.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from faktura.core.actors import Actor
from faktura.core.two_factor import has_second_factor

# Paths a signed-in user reaches before the second factor: the gate's own pages, sign-out,
# and the front doors that do not use the staff session.
_OPEN_PREFIXES = ("/api/", "/portal/", "/health/", "/metrics", "/i18n/")


def is_staff_member(user: object) -> bool:
    """A person of the back office: a Faktura role, or a staff / superuser account."""
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return True
    return bool(Actor.for_user(user).roles)  # type: ignore[arg-type]


def company_requires_two_factor() -> bool:
    from faktura.core.models import Company

    return bool(
        Company.objects.order_by("pk").values_list("two_factor_required", flat=True).first()
    )


def second_factor_missing(request: HttpRequest) -> str | None:
    """``"verify"`` or ``"enrol"`` when the signed-in user still owes the second factor."""
    user = request.user
    if not user.is_authenticated or getattr(user, "is_verified", lambda: False)():
        return None
    if has_second_factor(user):
        return "verify"
    if company_requires_two_factor() and is_staff_member(user):
        return "enrol"
    return None


class SecondFactorMiddleware:
    """Send a user who owes the second factor to the code (or set-up) page first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not self._open(request.path):
            missing = second_factor_missing(request)
            if missing is not None:
                target = reverse(
                    "backoffice:verify" if missing == "verify" else "backoffice:two_factor"
                )
                if request.path != target:
                    query = urlencode({"next": request.get_full_path()})
                    return HttpResponseRedirect(f"{target}?{query}")
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        static = "/" + settings.STATIC_URL.lstrip("/")
        if path.startswith((static, *_OPEN_PREFIXES)):
            return True
        return path in {reverse("backoffice:logout"), reverse("backoffice:verify")}
