"""Accessibility: axe-core (from axe-playwright-python) finds nothing serious or critical
on the back office's pages: the five of the accountant's day by name, then every other
page the site map knows (so a screen added later is checked without a change here); and on
the customer portal's pages, signed in as a customer and without signing in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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


def test_the_two_factor_pages_have_no_serious_accessibility_violation(new_context, settings):
    """The code after the password (with its error), the set-up page with its backup codes,
    the codes shown once, and the sign-in with a backup code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.e2e.conftest import PASSWORD
    from tests.web.test_two_factor import _code

    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the wrong code below would delay the right one
    settings.OTP_BACKUP_CODE_THROTTLE_FACTOR = 0
    anna = staff_user("anna", "accountant")
    device = TOTPDevice.objects.create(user=anna, name="Faktura", confirmed=True)
    page = new_context(bypass_csp=True).new_page()

    def sign_in_until_the_code() -> list[str]:
        page.goto("/login/")
        page.get_by_label("Benutzername").fill("anna")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.get_by_label("Code aus der App oder Ersatzcode").wait_for()
        return grave_violations(page)

    problems = sign_in_until_the_code()
    page.get_by_label("Code aus der App oder Ersatzcode").fill("000000")
    page.get_by_role("button", name="Bestätigen").click()
    page.get_by_role("alert").wait_for()
    problems.extend(grave_violations(page))
    page.get_by_label("Code aus der App oder Ersatzcode").fill(_code(device))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_selector("nav.sidebar")

    page.goto("/zwei-faktor/")
    problems.extend(grave_violations(page))
    page.get_by_role("button", name="Ersatzcodes erzeugen").click()
    page.get_by_role("heading", name="Ihre neuen Ersatzcodes").wait_for()
    problems.extend(grave_violations(page))
    codes = page.locator("ol.backup-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="Ich habe die Codes aufbewahrt").click()
    page.get_by_text("Noch 10 von 10 Ersatzcodes unbenutzt.").wait_for()
    problems.extend(grave_violations(page))

    page.get_by_role("button", name="Abmelden").click()
    problems.extend(sign_in_until_the_code())
    page.get_by_label("Code aus der App oder Ersatzcode").fill(codes[0])
    page.get_by_role("button", name="Bestätigen").click()
    page.get_by_text("Sie haben sich mit einem Ersatzcode angemeldet.").wait_for()
    problems.extend(grave_violations(page))
    assert not problems, "\n".join(problems)


def test_the_portals_contract_and_payment_pages_have_no_serious_accessibility_violation(
    new_context, consumer, actor
):
    """Changing a subscription (form, errors, price preview), pausing, resuming, cancelling
    it, and the payment method page with a saved (expired) card."""
    from faktura.core.actors import Actor
    from faktura.payments.off_session import CardDetails
    from faktura.payments.providers.stripe_provider import SetupResult
    from faktura.subscriptions import payment_choice
    from tests.portal.test_subscriptions_page import _billed
    from tests.subscriptions.helpers import plan

    subscription = monthly(consumer, name="Yoga")
    _billed(subscription, dt.date(2026, 11, 1), dt.date(2026, 11, 30), Decimal("35.70"))
    plan("plus", price="60.00", name="Yoga Plus")
    payment_choice.save_card_from_setup(
        actor=Actor.for_customer(consumer.pk, consumer.number),
        setup=SetupResult(
            customer_id=consumer.pk,
            provider_customer_id="cus_1",
            payment_method_id="pm_1",
            label="Visa •••• 4242 (10/26)",
            card=CardDetails(brand="visa", last4="4242", exp_month=10, exp_year=2026),
        ),
        source="test",
    )
    page = new_context(bypass_csp=True).new_page()
    portal_sign_in(page, "max@example.org")
    problems: list[str] = []

    change = f"/portal/abonnements/{subscription.pk}/aendern/"
    page.goto(change)
    problems.extend(grave_violations(page))
    page.get_by_label("Menge").fill("0")
    page.get_by_role("button", name="Kosten anzeigen").click()
    page.get_by_text("Bitte geben Sie eine Menge größer als null an.").wait_for()
    problems.extend(grave_violations(page))
    page.get_by_label("Tarif").select_option(label="Yoga Plus")
    page.get_by_label("Menge").fill("1")
    page.get_by_role("button", name="Kosten anzeigen").click()
    page.get_by_role("heading", name="Vorschau").wait_for()
    problems.extend(grave_violations(page))

    page.goto("/portal/abonnements/")
    page.get_by_role("button", name="Pausieren").click()
    page.get_by_text("Ihr Abonnement ruht ab dem").wait_for()
    problems.extend(grave_violations(page))
    page.get_by_role("button", name="Fortsetzen").click()
    page.get_by_text("Ihr Abonnement läuft wieder.").wait_for()

    page.goto(f"/portal/abonnements/{subscription.pk}/kuendigen/")
    problems.extend(grave_violations(page))
    page.get_by_label("Warum kündigen Sie? (freiwillig)").fill("Umzug")
    page.get_by_role("button", name="Jetzt kündigen").click()
    page.get_by_role("button", name="Kündigung zurücknehmen").wait_for()
    problems.extend(grave_violations(page))

    page.goto("/portal/zahlungsart/")
    page.get_by_text("Ihre hinterlegte Karte ist abgelaufen.").wait_for()
    problems.extend(grave_violations(page))
    assert not problems, "\n".join(problems)
