"""The customer portal in a real browser: sign-in by the link from the mail, an invoice's PDF
downloaded byte for byte, a SEPA mandate granted, an invoice paid through (a local fake of)
Stripe Checkout, the § 312k cancellation without signing in in a second browser, and
another customer's documents out of reach."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from faktura.collection.models import Mandate
from faktura.customers.services import create_customer
from faktura.documents import pipeline
from faktura.documents.archive import archived, einvoice_of, read_archived
from faktura.documents.models import ArchivedDocument
from faktura.documents.pdf.texts import money
from faktura.notifications.models import OutboxMessage
from faktura.payments.models import Payment
from faktura.subscriptions.models import Subscription
from tests.dunning.helpers import notices, overdue, run
from tests.e2e.conftest import portal_sign_in
from tests.payments import fake_stripe
from tests.payments.helpers import finalized
from tests.payments.test_stripe import STRIPE
from tests.portal.contract_helpers import mails, monthly

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

IBAN = "DE89 3704 0044 0532 0130 00"
CREDITOR_ID = "DE98ZZZ09999999999"  # the company's in tests/conftest.py


def euro(amount) -> str:
    return money(amount, "EUR", "de").replace("\xa0", " ")


@pytest.fixture
def stripe_api(settings, live_server):
    """The fake Stripe, with its webhook pointed at the live server."""
    with fake_stripe.running(STRIPE["STRIPE_SECRET_KEY"]) as fake:
        for name, value in STRIPE.items():
            setattr(settings, name, value)
        settings.STRIPE_API_BASE = fake.url
        # The Content-Security-Policy lets forms redirect to Stripe Checkout only; here
        # the checkout page is the fake's, as it would be checkout.stripe.com.
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], fake.url]
        settings.CONTENT_SECURITY_POLICY = policy
        fake.webhook_url = f"{live_server.url}/api/v1/webhooks/stripe"
        fake.webhook_secret = STRIPE["STRIPE_WEBHOOK_SECRET"]
        yield fake


@pytest.fixture
def foreign(company, actor):
    """Another customer's archived invoice and dunning notice."""
    stranger = create_customer(
        actor=actor,
        kind="business",
        name="Fremd GmbH",
        street="Am Markt",
        house_number="1",
        postcode="50667",
        city="Köln",
        email="rechnung@fremd.example",
    )
    invoice = overdue(stranger, actor, due=dt.date(2026, 10, 1))
    pipeline.process(invoice.pk)
    run(dt.date(2026, 10, 8))
    (notice,) = notices(stranger)
    return {"invoice": invoice, "notice": notice}


def test_a_customers_day_in_the_portal(new_context, consumer, actor, foreign, stripe_api):
    cache.clear()  # the cancellation form's rate limit
    to_download = finalized(consumer, actor)
    to_pay = finalized(consumer, actor, price="50.00")
    for invoice in (to_download, to_pay):
        pipeline.process(invoice.pk)
    subscription = monthly(consumer, name="Yoga")
    page = new_context().new_page()

    # 1. Signing in by the link from the mail: the customer's documents.
    portal_sign_in(page, "max@example.org")
    expect(page.locator(".portal-bar .user")).to_contain_text(consumer.number)
    rows = page.locator("tr[data-document]")
    expect(rows).to_have_count(2)
    for invoice in (to_download, to_pay):
        row = page.locator(f'tr[data-document="{invoice.pk}"]')
        expect(row).to_contain_text(invoice.number)
        expect(row).to_contain_text(euro(invoice.grand_total))
        expect(row.locator(".badge")).to_have_text("Offen")
    expect(page.locator("body")).not_to_contain_text(foreign["invoice"].number)

    # 2. The invoice's PDF through the browser: the archived bytes.
    page.get_by_role("link", name=to_download.number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rechnung {to_download.number}")
    expect(page.locator("[data-open]")).to_have_text(euro(to_download.grand_total))
    pdf_link = page.get_by_role("link", name="PDF ansehen")
    # The PDF opens inline (Chromium shows it); "Save link as…" is what downloads it.
    pdf_link.evaluate("link => link.setAttribute('download', '')")
    with page.expect_download() as info:
        pdf_link.click()
    download = info.value
    assert download.suggested_filename == f"{to_download.number}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf == read_archived(archived(to_download.pk, ArchivedDocument.Kind.PDF))
    with page.expect_download() as info:
        page.get_by_role("link", name="E-Rechnung (XML) herunterladen").click()
    xml, filename = einvoice_of(to_download.pk)
    assert info.value.suggested_filename == filename
    assert Path(info.value.path()).read_bytes() == xml

    # 3. A SEPA mandate through the form: confirmed on the page and by mail.
    page.goto("/portal/lastschrift/")
    expect(page.locator("main")).to_contain_text(CREDITOR_ID)
    page.get_by_label("Kontoinhaber").fill("Max Mustermann")
    page.get_by_label("IBAN").fill(IBAN)
    page.get_by_role("button", name="Mandat erteilen").click()
    expect(page.locator("main")).to_contain_text("Bitte bestätigen Sie das Lastschriftmandat.")
    assert not Mandate.objects.exists()
    page.get_by_label("IBAN").fill(IBAN)
    page.get_by_label("Ich erteile das SEPA-Lastschriftmandat").check()
    page.get_by_role("button", name="Mandat erteilen").click()
    mandate = Mandate.objects.get()
    expect(page.locator(".messages")).to_contain_text("Ihr SEPA-Lastschriftmandat ist erteilt")
    expect(page.locator(".messages")).to_contain_text(mandate.reference)
    expect(page.locator("table")).to_contain_text(mandate.reference)
    (mail,) = mails(OutboxMessage.Event.MANDATE_GRANTED)
    assert mail.to == ["max@example.org"]
    assert f"Mandatsreferenz: {mandate.reference}" in mail.body_text
    assert f"Gläubiger-Identifikationsnummer: {CREDITOR_ID}" in mail.body_text

    # 4. Paying online: Stripe's checkout page, its webhook, back to the invoice, paid.
    page.goto("/portal/")
    page.get_by_role("link", name=f"Bezahlen {to_pay.number}").click()
    expect(page.locator("p.lead")).to_contain_text(euro(to_pay.grand_total))
    page.get_by_role("button", name=f"{euro(to_pay.grand_total)} online bezahlen").click()
    page.wait_for_url(f"{stripe_api.url}/c/pay/*")
    expect(page.get_by_role("heading")).to_have_text(f"Bezahlen: {euro(to_pay.grand_total)}")
    page.get_by_role("button", name="Bezahlen").click()
    page.wait_for_url(f"**/portal/rechnungen/{to_pay.pk}/?bezahlt=1")
    expect(page.locator("main")).to_contain_text("Vielen Dank! Ihre Zahlung wird verbucht")
    expect(page.locator(".facts .badge")).to_have_text("Bezahlt")
    expect(page.locator("[data-open]")).to_have_text(euro(Decimal("0.00")))
    expect(page.get_by_role("link", name="Jetzt bezahlen")).to_have_count(0)
    payment = Payment.objects.get()
    assert payment.amount == to_pay.grand_total
    assert payment.external_id.startswith("stripe:pi_fake")
    page.goto("/portal/")
    expect(page.locator(f'tr[data-document="{to_pay.pk}"] .badge')).to_have_text("Bezahlt")
    expect(page.locator(f'tr[data-document="{to_download.pk}"] .badge')).to_have_text("Offen")

    # 6. Another customer's invoice, its files and notice: not found for this customer.
    theirs, notice = foreign["invoice"].pk, foreign["notice"].pk
    for path in (
        f"/portal/rechnungen/{theirs}/",
        f"/portal/rechnungen/{theirs}/pdf",
        f"/portal/rechnungen/{theirs}/xml",
        f"/portal/rechnungen/{theirs}/bezahlen/",
        f"/portal/mahnungen/{notice}/pdf",
    ):
        assert page.request.get(path).status == 404, path
    response = page.goto(f"/portal/rechnungen/{theirs}/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Fremd GmbH")

    # 5. Cancelling without signing in, in another browser: the § 312k link, review, mail.
    anonymous = new_context().new_page()
    anonymous.goto("/portal/anmelden/")
    anonymous.get_by_role("link", name="Verträge hier kündigen").click()
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Verträge hier kündigen")
    anonymous.get_by_label("Vor- und Nachname oder Firma").fill("Max Mustermann")
    anonymous.get_by_label("Kundennummer (falls zur Hand)").fill(consumer.number)
    anonymous.get_by_label("E-Mail-Adresse").fill("max@example.org")
    anonymous.get_by_label("Vertrag, den Sie kündigen").fill("Yoga")
    anonymous.get_by_role("button", name="Weiter zur Bestätigung").click()
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Kündigung bestätigen")
    expect(anonymous.locator(".facts")).to_contain_text("zum nächstmöglichen Zeitpunkt")
    subscription.refresh_from_db()
    assert subscription.ends_on is None  # nothing happens before "Jetzt kündigen"
    anonymous.get_by_role("button", name="Jetzt kündigen").click()
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Kündigung eingegangen")
    expect(anonymous.locator("main")).to_contain_text("16.11.2026")
    expect(anonymous.locator("main")).to_contain_text("max@example.org")
    subscription.refresh_from_db()
    # One month's notice received on 16 November 2026: 16 December 2026.
    assert subscription.ends_on == dt.date(2026, 12, 16)
    assert subscription.status == Subscription.Status.CANCELLING
    (confirmation,) = mails(OutboxMessage.Event.CONTRACT_CANCELLED)
    assert confirmation.to == ["max@example.org"]
    assert "16.12.2026" in confirmation.subject
    assert "endet am 16.12.2026" in confirmation.body_text
