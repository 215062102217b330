"""Maintenance mode at every front door: writes get 503, reads go on.

Covers every non-safe method (POST, PUT, PATCH, DELETE …) on every path: the API, the
admin, the back office and the portal alike, so no door can be forgotten. Left open: the
health and metrics endpoints (they never write), the admin's sign-in and sign-out, so
that staff can still read during maintenance, and the admin's maintenance page, so that an
admin can switch it off there (its service allows admins only).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html

from faktura.api.middleware import API_PREFIX
from faktura.core import maintenance

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
OPEN_PREFIXES = (
    "/health/",
    "/metrics",
    "/admin/login/",
    "/admin/logout/",
    "/admin/core/maintenancemode/",
    # Signing in and out of the back office and choosing its language write no data; nor
    # does the code of the second factor (the session, the device's replay counter), which an
    # admin with a device needs to switch maintenance off.
    "/login/",
    "/anmelden/code/",
    "/logout/",
    "/i18n/",
)


class MaintenanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in SAFE_METHODS or request.path_info.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        state = maintenance.current()
        if state is None:
            return self.get_response(request)
        text = maintenance.notice(state)
        response: HttpResponse
        if request.path_info.startswith(API_PREFIX):
            response = JsonResponse(
                {"code": maintenance.CODE, "message": text, "field": None}, status=503
            )
        else:
            response = HttpResponse(
                format_html(
                    '<!doctype html><html lang="de"><head><meta charset="utf-8">'
                    "<title>Wartung / Maintenance – Faktura</title></head><body>"
                    "<h1>Wartung / Maintenance</h1><p>{}</p>"
                    "</body></html>",
                    text,
                ),
                status=503,
                content_type="text/html; charset=utf-8",
            )
        response["Retry-After"] = str(maintenance.retry_after_seconds())
        # Expected while maintenance lasts: not one ERROR line per refused request.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
