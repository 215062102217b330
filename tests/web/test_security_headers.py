"""Security headers on every page, a Content-Security-Policy that the templates keep, and
`faktura check --deploy` clean with production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from faktura.documents import pipeline
from tests.payments.helpers import finalized

SRC = Path(__file__).resolve().parents[2] / "src"
# HTML mails need inline styles (mail clients ignore style sheets); no web server sends them.
MAIL_TEMPLATES = SRC / "faktura" / "notifications" / "templates" / "notifications" / "mail"


@pytest.fixture
def staff_client(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict([*part.strip().split(" ", 1), ""][:2] for part in header.split(";") if part.strip())


@pytest.mark.django_db
def test_a_back_office_page_carries_the_security_headers(staff_client):
    response = staff_client.get("/")

    assert response.status_code == 200
    assert _policy(response) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "frame-src": "'self'",
        "frame-ancestors": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self' https://checkout.stripe.com",
    }
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_login_page_has_the_policy_too(client):
    response = client.get("/login/")
    assert _policy(response)["script-src"] == "'self'"


@pytest.mark.django_db
def test_the_invoice_pdf_may_be_framed_by_the_back_office_only(
    staff_client, business_customer, actor
):
    invoice = finalized(business_customer, actor)
    pipeline.process(invoice.pk)

    response = staff_client.get(f"/rechnungen/{invoice.pk}/pdf")

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert _policy(response)["frame-ancestors"] == "'self'"
    assert _policy(response)["object-src"] == "'self'"
    page = staff_client.get(f"/rechnungen/{invoice.pk}/")
    assert page["X-Frame-Options"] == "DENY"
    assert f'<iframe class="pdf" src="/rechnungen/{invoice.pk}/pdf"' in page.content.decode()


def _web_templates() -> list[Path]:
    return [
        path
        for path in sorted(SRC.glob("faktura/**/templates/**/*.html"))
        if not path.is_relative_to(MAIL_TEMPLATES)
    ]


INLINE = {
    "inline script": re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I
    ),
    "style attribute": re.compile(r"\sstyle\s*=\s*[\"']", re.I),
    "style element": re.compile(r"<style[\s>]", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "javascript: URL": re.compile(r"=\s*[\"']javascript:", re.I),
}


def test_no_template_has_inline_script_style_or_event_handler():
    templates = _web_templates()
    assert len(templates) > 15  # the back office and the portal are really scanned
    found = [
        f"{path.relative_to(SRC)}: {what}"
        for path in templates
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<p style="color:red">',
        '<select onchange="this.form.submit()">',
        "<style>p{}</style>",
    ],
)
def test_the_template_scan_finds_what_it_looks_for(snippet):
    assert any(pattern.search(snippet) for pattern in INLINE.values())


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FAKTURA_", "SECURE_", "DJANGO_", "DEBUG", "ALLOWED_HOSTS"))
        and key not in {"SECRET_KEY", "DATABASE_URL"}
    }
    env.update(
        PYTHONPATH=str(SRC),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rechnung.example.de",
        FAKTURA_DATA_DIR=str(tmp_path),
        FAKTURA_HTTPS="1",
        **extra,
    )
    return env


def _deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "faktura.cli", "check", "--deploy", "--system-only"),
            *("--fail-level", "WARNING"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_is_clean_in_production(tmp_path):
    result = _deploy_check(_production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_names_what_plain_http_lacks(tmp_path):
    env = _production_env(tmp_path)
    del env["FAKTURA_HTTPS"]
    result = _deploy_check(env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_production_settings_behind_a_proxy(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER)"
    )
    env = _production_env(
        tmp_path,
        FAKTURA_PROXY_SSL_HEADER="X-Forwarded-Proto",
        FAKTURA_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_SETTINGS_MODULE="faktura.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "True",
        "True",
        "True",
        "31536000",
        "False",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ], result.stderr
