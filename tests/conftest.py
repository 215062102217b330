"""Fixtures shared by the whole suite: the company, actors and a few customers."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.models import BankAccount, Company

TODAY = dt.date(2026, 11, 16)
CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and "postgres" in os.environ.get("DATABASE_URL", ""):
        # In CI an unreachable PostgreSQL must fail the run, never skip it.
        import psycopg

        url = os.environ["DATABASE_URL"]
        psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=5).close()


@pytest.fixture(autouse=True)
def _files_outside_the_checkout(settings, tmp_path_factory):
    """Archived files and mails of a test never land in the developer's ./data, where the
    next `make run` would find them under the numbers it is about to give."""
    data = tmp_path_factory.mktemp("data")
    settings.MEDIA_ROOT = data / "files"
    settings.EMAIL_FILE_PATH = str(data / "mail")


@pytest.fixture(autouse=True)
def _no_figures_of_another_test():
    """The start page's figures are cached per process by the audit log's last entry;
    a test's rolled-back entries may repeat the previous test's, so each starts empty."""
    from django.core.cache import caches

    caches["figures"].clear()


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves a request's language active in the thread; a test that
    follows an English page in the same worker would otherwise read English messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _frozen_today():
    with clock.frozen(dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)):
        yield


@pytest.fixture(scope="session")
def _serialized_contents(django_db_setup) -> dict[str, str]:
    """The migrated rows each test database was serialized with (serialized_rollback)."""
    from django.db import connections

    return {
        alias: contents
        for alias in connections
        if (contents := getattr(connections[alias], "_test_serialized_contents", None))
    }


@pytest.fixture(autouse=True)
def _migrated_rows_back(request) -> None:
    """Restore the migrated rows (number ranges, tax rates) where Django could not.

    Django keeps them on the connection object and connections are context-local: once
    Playwright's sync API runs in a worker (tests/e2e), its later tests get a fresh
    connection object without them, and ``serialized_rollback=True`` silently restores
    nothing. Give the contents to the connection in use and restore them as Django would.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("serialized_rollback"):
        return
    from django.db import connections

    contents = request.getfixturevalue("_serialized_contents")
    request.getfixturevalue("_django_db_helper")  # the test's own set-up first
    for alias, rows in contents.items():
        connection = connections[alias]
        if getattr(connection, "_test_serialized_contents", None) is None:
            connection._test_serialized_contents = rows
            connection.creation.deserialize_db_from_string(rows)


@pytest.fixture
def company(db) -> Company:
    company = Company(
        legal_name="Muster Software GmbH",
        legal_form="GmbH",
        street="Friedrichstraße",
        house_number="123",
        postcode="10117",
        city="Berlin",
        register_court="Amtsgericht Berlin-Charlottenburg",
        register_number="HRB 123456 B",
        managing_directors="Erika Mustermann",
        tax_number="30/123/45678",
        vat_id="DE136695976",
        creditor_id="DE98ZZZ09999999999",
        email="rechnung@muster-software.de",
        phone="+49 30 1234567",
        contact_name="Erika Mustermann",
    )
    company.full_clean()
    company.save()
    BankAccount.objects.create(
        company=company,
        bank_name="Musterbank",
        account_holder="Muster Software GmbH",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        is_default=True,
    )
    return company


@pytest.fixture
def actor() -> Actor:
    return Actor(label="user:anna", user_id=None, roles=frozenset({"accountant"}))


@pytest.fixture
def approver() -> Actor:
    return Actor(label="user:bernd", user_id=None, roles=frozenset({"approver", "accountant"}))


@pytest.fixture
def business_customer(company, actor):
    from faktura.customers.services import create_customer

    return create_customer(
        actor=actor,
        kind="business",
        name="Beispiel Handel AG",
        street="Hafenstraße",
        house_number="5",
        postcode="20457",
        city="Hamburg",
        email="buchhaltung@beispiel.de",
        vat_id="DE136695976",
    )


@pytest.fixture
def consumer(company, actor):
    from faktura.customers.services import create_customer

    return create_customer(
        actor=actor,
        kind="consumer",
        name="Max Mustermann",
        street="Lindenweg",
        house_number="7",
        postcode="80331",
        city="München",
        email="max@example.org",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "postgres" in os.environ.get("DATABASE_URL", ""):
        return
    skip = pytest.mark.skip(reason="concurrency tests run on PostgreSQL (DATABASE_URL) only")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)
