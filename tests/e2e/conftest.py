"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Playwright's own browser download does not work offline, so the tests launch
``/usr/bin/chromium`` (``FAKTURA_CHROMIUM`` names another). Without it the tests are
skipped on a developer's machine and fail in CI (``CI`` set), where a missing browser
must never pass silently. Each xdist worker has its own live server and its own browser.

The live server is transactional: every test here uses
``django_db(transaction=True, serialized_rollback=True)`` so that the rows the migrations
wrote (tax rates, number ranges) are back for the next test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

CHROMIUM = Path(os.environ.get("FAKTURA_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "Geheim-und-lang-2026"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    """The browser binary; skip without it locally, fail without it in CI."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    text = (
        f"Chromium not found at {CHROMIUM}: install Debian's package "
        "(apt-get install chromium) or set FAKTURA_CHROMIUM; the browser tests need it."
    )
    if os.environ.get("CI"):
        pytest.fail(text, pytrace=False)
    pytest.skip(text)


@pytest.fixture(scope="session")
def playwright(_serialized_contents) -> Iterator[Any]:
    """Playwright's sync API, with Django's async guard lifted for this process.

    Started after the migrated rows were read (``_serialized_contents`` in
    tests/conftest.py), which the tests' connections no longer carry once it runs.

    The sync API keeps an event loop running in the main thread for as long as the
    session's browser lives, and Django refuses ORM calls from a thread with a running
    loop. The variable stays set until the process ends: later tests of the same worker
    still run while the loop does.
    """
    chromium_or_skip()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    headed = browser_type_launch_args.get("headless") is False  # pytest --headed
    return {
        **browser_type_launch_args,
        "executable_path": str(chromium_or_skip()),
        "args": [a for a in CHROMIUM_ARGS if not (headed and a == "--headless")],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], live_server) -> dict[str, Any]:
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "locale": "de-DE",
        "timezone_id": "Europe/Berlin",
    }


def staff_user(username: str, *roles: str) -> User:
    user = User.objects.create_user(username, email=f"{username}@example.org", password=PASSWORD)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def log_in(page, username: str, path: str = "/") -> None:
    """Sign in through the login page, as a person does."""
    page.goto(path)
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_selector("nav.sidebar")


def expect_messages(page, texts: list[str]) -> None:
    """The page (once the click's navigation is done) reports exactly ``texts``."""
    from playwright.sync_api import expect

    expect(page.locator(".messages .message")).to_have_text(texts)


def inbox_count(page) -> int:
    """The number on the Aufgaben link of the navigation (0 when it shows none)."""
    badge = page.locator("nav.sidebar .badge.count")
    return int(badge.inner_text()) if badge.count() else 0


def german_amount(text: str) -> Decimal:
    """``1.234,56 €`` → Decimal('1234.56')."""
    match = re.search(r"-?[\d.]+,\d\d", text)
    assert match, f"no amount in {text!r}"
    return Decimal(match.group(0).replace(".", "").replace(",", "."))


def portal_sign_in(page, email: str) -> None:
    """Sign in to the customer portal as a customer does: ask for the link, open it from the
    mail in the outbox, press "Jetzt anmelden"."""
    from faktura.notifications.models import OutboxMessage

    page.goto("/portal/anmelden/")
    before = OutboxMessage.objects.filter(event="portal_sign_in").count()
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_role("button", name="Anmeldelink senden").click()
    page.get_by_text("Bitte sehen Sie in Ihr Postfach").wait_for()
    mails = list(OutboxMessage.objects.filter(event="portal_sign_in").order_by("pk"))
    assert len(mails) == before + 1, "no sign-in mail"
    assert mails[-1].to == [email]
    (link,) = re.findall(r"https?://\S+", mails[-1].body_text.split("-- ")[0])
    page.goto(link)
    page.get_by_role("button", name="Jetzt anmelden").click()
    page.get_by_role("heading", level=1, name="Ihre Rechnungen").wait_for()
