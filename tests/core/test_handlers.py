"""The WSGI application `faktura serve` runs: API requests take the API's middleware chain,
every other request the full one."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from faktura.api.keys import create_api_key
from faktura.core.handlers import Application
from tests.api.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def application():
    # As Django's test client: the request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _call(application: Application, path: str, **headers: str) -> tuple[str, dict, bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    started: list[Any] = []
    body = b"".join(application(environ, lambda status, head, *_: started.append((status, head))))
    status, head = started[0]
    return status, {name.lower(): value for name, value in head}, body


def test_the_api_chain_is_the_full_one_without_what_serves_a_login():
    api_chain, full_chain = settings.API_MIDDLEWARE, settings.MIDDLEWARE
    skipped = settings.BROWSER_ONLY_MIDDLEWARE
    assert api_chain == [name for name in full_chain if name not in skipped]
    assert skipped < set(full_chain)
    for kept in (
        "django.middleware.security.SecurityMiddleware",
        "faktura.api.middleware.RefuseNulMiddleware",
        "faktura.core.middleware.MaintenanceMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "csp.middleware.CSPMiddleware",
    ):
        assert kept in settings.API_MIDDLEWARE


def test_an_api_request_passes_no_session_and_keeps_the_security_headers(application):
    _, secret = create_api_key(name="shop", user=make_user("shop", "accountant"), scopes=["read"])
    status, headers, body = _call(application, "/api/v1/invoices", authorization=f"Bearer {secret}")
    assert status.startswith("200")
    assert json.loads(body)["object"] == "list"
    # The full chain reads the (absent) session for the second factor: Vary: Cookie.
    assert "cookie" not in headers.get("vary", "").lower()
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in headers

    status, _, body = _call(application, "/api/v1/invoices", authorization="Bearer fk_live_x")
    assert status.startswith("401")
    assert json.loads(body)["code"] == "invalid_api_key"
    status, _, body = _call(application, "/api/v1/invoices", x_probe="a\x00b")
    assert status.startswith("400")
    assert json.loads(body)["code"] == "nul_character"


def test_a_page_for_people_passes_the_full_chain(application):
    status, headers, _ = _call(application, "/login/")
    assert status.startswith("200")
    assert "csrftoken" in headers.get("set-cookie", "")
    assert "cookie" in headers.get("vary", "").lower()
