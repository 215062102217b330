"""Refuse a request whose URL or headers contain NUL (U+0000), before anything reads them.

PostgreSQL cannot store NUL in a text column: psycopg refuses such a parameter, so a NUL
in a path, a query filter, an API key, a session cookie or an Idempotency-Key would end
as a 500 on PostgreSQL (and be stored on SQLite). HTTP forbids NUL in header fields
anyway. The body is checked where it is parsed (``api.fields.ApiParser``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

API_PREFIX = "/api/"


def _has_nul(request: HttpRequest) -> str | None:
    if "\x00" in request.path_info:
        return "URL"
    if b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return "query string"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return f"header {key[5:].replace('_', '-').title()}"
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _has_nul(request)
        if where is None:
            return self.get_response(request)
        message = f"The {where} contains a NUL character (U+0000), which no field accepts."
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse(
                {"code": "nul_character", "message": message, "field": None}, status=400
            )
        return HttpResponseBadRequest(message)
