"""Signing in to the portal by e-mail link: the requested link (once, one hour), the link
in each document's mail (30 days, opens the document), expired and forged links, and
signing out. No page tells whether an address belongs to a customer."""

from __future__ import annotations

import datetime as dt
import re
import time
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from sesame import tokens_v2

from faktura.core import clock
from faktura.core.models import AuditEntry
from faktura.customers.models import PortalAccount
from faktura.customers.portal import document_link
from faktura.documents import pipeline
from faktura.notifications.models import OutboxMessage
from tests.payments.helpers import finalized
from tests.portal.conftest import page

pytestmark = pytest.mark.django_db

PORTAL_URL = "https://rechnung.muster-software.de/portal/"


def request_link(client: Client, email: str):
    return client.post("/portal/anmelden/", {"email": email})


def link_in(message: OutboxMessage) -> str:
    (url,) = re.findall(r"https?://\S+", message.body_text.split("-- ")[0])
    return url


def sign_in_mails() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(event="portal_sign_in").order_by("pk"))


def test_a_known_address_gets_a_link_that_signs_in_once(client, business_customer):
    sent = page(request_link(client, "Buchhaltung@Beispiel.de"))
    assert "Bitte sehen Sie in Ihr Postfach" in sent
    (mail,) = sign_in_mails()
    assert mail.to == ["buchhaltung@beispiel.de"]
    assert mail.cc == []
    assert mail.subject == "Ihr Anmeldelink zum Kundenportal"
    assert "gilt 60 Minuten und nur einmal" in mail.body_text
    assert business_customer.number in mail.body_text
    url = link_in(mail)
    assert url.startswith("http://testserver/portal/anmelden/link/?sesame=")
    assert url in mail.body_html

    # Opening the link (a mail scanner does, too) only shows the button.
    confirm = page(client.get(url))
    assert "Jetzt anmelden" in confirm
    assert client.get("/portal/").status_code == 302
    token = url.partition("sesame=")[2]
    home = client.post("/portal/anmelden/link/", {"sesame": token}, follow=True)
    assert home.redirect_chain[-1][0] == "/portal/"
    assert "Ihre Rechnungen" in page(home)
    assert "Beispiel Handel AG" in page(home)

    # Used once: the same link no longer works, in another browser either.
    again = Client().get(url)
    assert again.status_code == 400
    assert "Dieser Link funktioniert nicht mehr" in again.content.decode()


def test_the_portal_account_is_opened_once_without_staff_role_and_audited(
    client, business_customer
):
    request_link(client, "buchhaltung@beispiel.de")
    request_link(client, "buchhaltung@beispiel.de")
    account = PortalAccount.objects.get()
    assert account.customer == business_customer
    assert not account.user.is_staff
    assert not account.user.is_superuser
    assert not account.user.has_usable_password()
    assert not account.user.groups.exists()
    assert AuditEntry.objects.filter(action="portal_account.created").count() == 1
    assert AuditEntry.objects.filter(action="portal.sign_in_link_sent").count() == 2
    assert len(sign_in_mails()) == 2


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, business_customer):
    known = page(request_link(client, "buchhaltung@beispiel.de"))
    unknown = page(request_link(client, "wer@anders.example"))
    assert unknown.replace("wer@anders.example", "X") == known.replace(
        "buchhaltung@beispiel.de", "X"
    )
    assert len(sign_in_mails()) == 1
    assert PortalAccount.objects.count() == 1
    assert get_user_model().objects.count() == 1


def test_a_malformed_address_is_refused_in_german(client, business_customer):
    response = request_link(client, "kein-at-zeichen")
    assert response.status_code == 200
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein" in page(response)
    assert sign_in_mails() == []
    assert not PortalAccount.objects.exists()


def test_an_expired_link_signs_nobody_in(client, business_customer, monkeypatch):
    request_link(client, "buchhaltung@beispiel.de")
    url = link_in(sign_in_mails()[0])
    later = time.time() + 61 * 60
    monkeypatch.setattr(tokens_v2, "time", SimpleNamespace(time=lambda: later))
    response = client.get(url)
    assert response.status_code == 400
    assert "abgelaufen" in response.content.decode()
    token = url.partition("sesame=")[2]
    assert client.post("/portal/anmelden/link/", {"sesame": token}).status_code == 400
    assert client.get("/portal/").status_code == 302


def test_a_forged_or_missing_token_signs_nobody_in(client, business_customer):
    request_link(client, "buchhaltung@beispiel.de")
    url = link_in(sign_in_mails()[0])
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    for attempt in (forged, "/portal/anmelden/link/", "/portal/anmelden/link/?sesame=x"):
        response = client.post(attempt.replace("http://testserver", ""), {"sesame": "x"})
        assert response.status_code == 400
        assert "Fordern Sie einfach einen neuen Link an" in response.content.decode()
    assert client.get("/portal/").status_code == 302


def test_signing_out_ends_the_session(portal):
    assert portal.get("/portal/").status_code == 200
    assert "Abmelden" in page(portal.get("/portal/"))
    assert portal.get("/portal/abmelden/").status_code == 405  # only by the button (POST)
    bye = portal.post("/portal/abmelden/")
    assert "Sie sind abgemeldet" in page(bye)
    response = portal.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/anmelden/?next=/portal/")


# --- the link in the document's mail ------------------------------------------------------


@override_settings(FAKTURA_PORTAL_URL=PORTAL_URL)
def test_the_invoice_mail_links_to_the_invoice_in_the_portal(business_customer, actor):
    invoice = finalized(business_customer, actor)
    pipeline.process(invoice.pk)
    mail = OutboxMessage.objects.get(invoice=invoice)
    assert "Im Kundenportal finden Sie diese und alle weiteren Rechnungen" in mail.body_text
    assert "gilt 30 Tage" in mail.body_text
    (url,) = re.findall(re.escape(PORTAL_URL) + r"dokument-oeffnen/\?t=\S+", mail.body_text)
    assert url in mail.body_html

    browser = Client()
    path = url.removeprefix("https://rechnung.muster-software.de")
    assert "Jetzt anmelden" in page(browser.get(path))
    token = unquote(path.partition("?t=")[2])
    opened = browser.post("/portal/dokument-oeffnen/", {"t": token}, follow=True)
    assert opened.redirect_chain[-1][0] == f"/portal/rechnungen/{invoice.pk}/"
    assert f"Rechnung {invoice.number}" in page(opened)
    # The link works again (the mail stays useful), and at once when signed in.
    assert browser.get(path).status_code == 302
    assert Client().get(path).status_code == 200


def test_without_a_portal_address_the_invoice_mail_names_no_portal(business_customer, actor):
    invoice = finalized(business_customer, actor)
    pipeline.process(invoice.pk)
    mail = OutboxMessage.objects.get(invoice=invoice)
    assert "Kundenportal" not in mail.body_text
    assert "dokument-oeffnen" not in mail.body_html


@override_settings(FAKTURA_PORTAL_URL=PORTAL_URL)
def test_a_document_link_expires_after_30_days(business_customer, actor):
    invoice = finalized(business_customer, actor)
    url = document_link(customer_id=business_customer.pk, invoice_id=invoice.pk)
    token = unquote(url.partition("?t=")[2])
    day_30 = clock.now() + dt.timedelta(days=30, hours=-1)
    with clock.frozen(day_30):
        assert Client().get("/portal/dokument-oeffnen/", {"t": token}).status_code == 200
    with clock.frozen(clock.now() + dt.timedelta(days=30, hours=1)):
        browser = Client()
        response = browser.post("/portal/dokument-oeffnen/", {"t": token})
        assert response.status_code == 400
        assert "Dieser Anmeldelink ist abgelaufen." in response.content.decode()
        assert browser.get("/portal/").status_code == 302


@override_settings(FAKTURA_PORTAL_URL=PORTAL_URL)
def test_a_document_link_for_another_customers_invoice_or_altered_is_refused(
    business_customer, other_customer, actor
):
    foreign = finalized(other_customer, actor)
    mixed = document_link(customer_id=business_customer.pk, invoice_id=foreign.pk)
    own = finalized(business_customer, actor)
    altered = document_link(customer_id=business_customer.pk, invoice_id=own.pk)
    altered = altered.replace("?t=", "?t=x")
    for url in (mixed, altered):
        browser = Client()
        path = url.removeprefix("https://rechnung.muster-software.de")
        response = browser.post(path.partition("?")[0], {"t": unquote(path.partition("?t=")[2])})
        assert response.status_code == 400
        assert "Dieser Anmeldelink ist ungültig." in response.content.decode()
        assert browser.get("/portal/").status_code == 302
    assert not PortalAccount.objects.exists()


def test_a_deactivated_portal_user_cannot_sign_in(client, business_customer):
    request_link(client, "buchhaltung@beispiel.de")
    url = link_in(sign_in_mails()[0])
    PortalAccount.objects.get().user.__class__.objects.update(is_active=False)
    assert client.get(url).status_code == 400
    request_link(client, "buchhaltung@beispiel.de")
    assert len(sign_in_mails()) == 1  # no new link for a switched-off access


def test_at_most_three_links_per_quarter_hour_reach_the_mailbox(client, business_customer):
    for _ in range(5):
        assert "Bitte sehen Sie in Ihr Postfach" in page(
            request_link(client, "buchhaltung@beispiel.de")
        )
    assert len(sign_in_mails()) == 3
    with clock.frozen(clock.now() + dt.timedelta(minutes=16)):
        request_link(client, "buchhaltung@beispiel.de")
    assert len(sign_in_mails()) == 4


def test_an_english_speaking_customer_gets_the_link_in_english(client, company, actor):
    from faktura.customers.services import create_customer

    create_customer(
        actor=actor,
        kind="business",
        name="Example Ltd",
        street="High Street",
        house_number="1",
        postcode="SW1A 1AA",
        city="London",
        country="GB",
        email="accounts@example.co.uk",
        language="en",
    )
    request_link(client, "accounts@example.co.uk")
    (mail,) = sign_in_mails()
    assert mail.language == "en"
    assert mail.subject == "Your sign-in link to the customer portal"
    assert "valid for 60 minutes and once only" in mail.body_text
    assert link_in(mail).startswith("http://testserver/portal/anmelden/link/?sesame=")
