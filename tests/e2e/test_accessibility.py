"""Accessibility: axe-core (from axe-playwright-python) finds nothing serious or critical
on the back office's pages: the five of the accountant's day by name, then every other
page the site map knows (so a screen added later is checked without a change here); and on
the customer portal's pages, signed in as a customer and without signing in."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from faktura.documents import pipeline
from tests.e2e.conftest import log_in, portal_sign_in, staff_user
from tests.payments.helpers import finalized
from tests.portal.contract_helpers import monthly
from tests.web import site_map

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

GRAVE = {"serious", "critical"}


def grave_violations(page) -> list[str]:
    """axe's serious and critical findings on the current page, one line per element."""
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in GRAVE:
            continue
        for node in violation["nodes"]:
            found.append(
                f"{page.url}: [{violation['impact']}] {violation['id']}: {violation['help']} "
                f"at {node['target']}: {node.get('failureSummary', '').strip()}"
            )
    return found


@pytest.fixture
def samples(business_customer, consumer, actor) -> site_map.Samples:
    return site_map.make_samples(business_customer, consumer, actor)


@pytest.fixture
def admin_page(new_context, samples):
    """An administrator (every action shown) signed in through the login page; the
    context bypasses a Content-Security-Policy so that axe's script can be injected."""
    staff_user("chefin", "admin")
    page = new_context(bypass_csp=True).new_page()
    page.goto("/login/")
    problems = grave_violations(page)
    log_in(page, "chefin")
    assert not problems, "\n".join(problems)
    return page


def test_the_accountants_pages_have_no_serious_accessibility_violation(admin_page, samples):
    pages = [
        "/",
        "/aufgaben/",
        "/rechnungen/",
        f"/rechnungen/{samples.invoice}/",
        f"/rechnungen/{samples.pending}/",
        f"/kunden/{samples.customer}/",
    ]
    problems: list[str] = []
    for path in pages:
        admin_page.goto(path)
        problems.extend(grave_violations(admin_page))
    assert not problems, "\n".join(problems)


def test_every_other_back_office_page_has_no_serious_accessibility_violation(admin_page, samples):
    seen: set[str] = set()
    problems: list[str] = []
    for name, path in site_map.urls(samples):
        if name in seen:  # one sample of each page is enough here
            continue
        seen.add(name)
        response = admin_page.request.get(path)
        if response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        admin_page.goto(path)
        problems.extend(grave_violations(admin_page))
    assert {"backoffice:bank", "backoffice:reports"} <= seen
    assert not problems, "\n".join(problems)


def test_the_customer_portals_pages_have_no_serious_accessibility_violation(
    new_context, consumer, actor, settings
):
    from django.core.cache import cache

    cache.clear()  # the cancellation form's rate limit
    settings.STRIPE_SECRET_KEY = "sk_test_faktura"  # the pay page offers paying online
    invoice = finalized(consumer, actor)
    pipeline.process(invoice.pk)
    monthly(consumer, name="Yoga")
    page = new_context(bypass_csp=True).new_page()
    page.goto("/portal/anmelden/")
    problems = grave_violations(page)
    page.goto("/portal/kuendigen/")
    problems.extend(grave_violations(page))
    page.get_by_role("button", name="Weiter zur Bestätigung").click()  # errors shown
    problems.extend(grave_violations(page))
    page.get_by_label("Vor- und Nachname oder Firma").fill("Max Mustermann")
    page.get_by_label("E-Mail-Adresse").fill("max@example.org")
    page.get_by_role("button", name="Weiter zur Bestätigung").click()
    page.get_by_role("button", name="Jetzt kündigen").wait_for()
    problems.extend(grave_violations(page))

    portal_sign_in(page, "max@example.org")
    for path in (
        "/portal/",
        f"/portal/rechnungen/{invoice.pk}/",
        f"/portal/rechnungen/{invoice.pk}/bezahlen/",
        "/portal/lastschrift/",
        "/portal/abonnements/",
        "/portal/kontoauszug/",
        "/portal/mahnungen/",
        "/portal/kontaktdaten/",
        "/portal/zahlungsart/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        problems.extend(grave_violations(page))
    assert not problems, "\n".join(problems)
