"""The WSGI application: API requests pass the middleware an API request needs.

An API request carries a key, not a login: sessions, CSRF tokens, flash messages, the
second factor, htmx and the sign-in lockout have nothing to do for it, and static files
are not under ``/api/``. ``settings.API_MIDDLEWARE`` is ``settings.MIDDLEWARE`` without
those (same order); everything an API request needs stays (security headers, NUL refusal,
maintenance mode, language, CSP). A third of the CPU of reading an invoice went to the
skipped middleware.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler

from faktura.api.middleware import API_PREFIX


class ApiMiddleware(BaseHandler):
    """A handler whose middleware chain is ``settings.API_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; the chain is built once, before the
        # first request, so the setting is swapped for that moment only.
        browser = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = browser


class ApiHandler(ApiMiddleware, WSGIHandler):
    pass


StartResponse = Callable[..., Any]


class Application:
    """``faktura.wsgi.application``: ``/api/`` to the API's chain, the rest to the full one."""

    def __init__(self) -> None:
        self.site = WSGIHandler()
        self.api = ApiHandler()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        handler = self.api if environ.get("PATH_INFO", "").startswith(API_PREFIX) else self.site
        return handler(environ, start_response)
