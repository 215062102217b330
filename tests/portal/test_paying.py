"""Paying in the portal: the transfer details with the GiroCode of the open amount, and
online through a Stripe Checkout Session (a fake client, no network) whose completed event
books the payment against the invoice."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
import stripe
from django.test import Client, override_settings

from faktura.banking.models import ProviderEvent
from faktura.documents.pdf.qr import epc_payload, epc_qr
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment
from faktura.payments.providers import stripe_provider
from tests.payments.helpers import finalized, open_amount, pay
from tests.payments.test_stripe import event, session_completed, signed
from tests.portal.conftest import page

pytestmark = pytest.mark.django_db

STRIPE = {
    "STRIPE_SECRET_KEY": "sk_test_faktura",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_faktura",
    "STRIPE_SUCCESS_URL": "https://shop.example/danke",
    "STRIPE_CANCEL_URL": "https://shop.example/abbruch",
}


class FakeSessions:
    """Stripe's ``checkout.sessions`` as the library's client offers it, recording calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def create(self, params: dict[str, Any], options: dict[str, Any]) -> Any:
        self.calls.append({"params": params, "options": options})
        if self.fail:
            raise stripe.APIConnectionError("network down")
        return SimpleNamespace(id="cs_test_9", url="https://checkout.stripe.com/c/pay/cs_test_9")


@pytest.fixture
def sessions(monkeypatch) -> FakeSessions:
    fake = FakeSessions()
    client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=fake)))
    monkeypatch.setattr(stripe_provider, "make_client", lambda api_key: client)
    return fake


def part_paid(customer, actor, invoice, amount: str) -> None:
    payment = pay(actor, amount, customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor
    )


def test_the_transfer_details_and_girocode_ask_for_the_open_amount(
    portal, business_customer, actor
):
    invoice = finalized(business_customer, actor)  # 119,00
    part_paid(business_customer, actor, invoice, "19.00")
    html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/bezahlen/"))
    assert f"Rechnung {invoice.number} bezahlen" in html
    assert "Offener Betrag: <strong>100,00 €</strong>" in html
    details = html.split("data-transfer>")[1].split("</dl>")[0]
    assert "Muster Software GmbH" in details
    assert "DE02 1203 0000 0000 2020 51" in details
    assert "BYLADEM1001" in details
    assert "100,00 €" in details
    assert invoice.number in details
    assert f'src="/portal/rechnungen/{invoice.pk}/girocode.svg"' in html
    assert 'alt="GiroCode für die Überweisung von 100,00 € mit Verwendungszweck' in html
    assert "style=" not in html  # the Content-Security-Policy forbids inline styles

    qr = portal.get(f"/portal/rechnungen/{invoice.pk}/girocode.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    payload = epc_payload(
        name="Muster Software GmbH",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        amount=open_amount(invoice),
        remittance=invoice.number,
    )
    assert "EUR100.00" in payload
    expected = io.BytesIO()
    epc_qr(payload).save(expected, kind="svg", border=4, omitsize=True, xmldecl=False)
    assert qr.content == expected.getvalue()
    assert b"viewBox" in qr.content


def test_without_stripe_keys_there_is_no_online_button(portal, business_customer, actor):
    invoice = finalized(business_customer, actor)
    with override_settings(STRIPE_SECRET_KEY=""):
        html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/bezahlen/"))
    assert "Per Überweisung" in html
    assert "online bezahlen" not in html


@override_settings(**STRIPE)
def test_paying_online_sends_the_customer_to_a_checkout_of_the_open_amount(
    portal, business_customer, actor, sessions
):
    invoice = finalized(business_customer, actor)
    part_paid(business_customer, actor, invoice, "19.00")
    html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/bezahlen/"))
    assert "100,00 € online bezahlen" in html
    response = portal.post(f"/portal/rechnungen/{invoice.pk}/online-bezahlen")
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_9"
    (call,) = sessions.calls
    params = call["params"]
    assert params["line_items"][0]["price_data"]["unit_amount"] == 10000
    assert params["metadata"] == {"invoice_id": str(invoice.pk), "invoice_number": invoice.number}
    assert params["success_url"] == f"http://testserver/portal/rechnungen/{invoice.pk}/?bezahlt=1"
    assert params["cancel_url"] == (
        f"http://testserver/portal/rechnungen/{invoice.pk}/bezahlen/?abgebrochen=1"
    )
    back = page(portal.get(f"/portal/rechnungen/{invoice.pk}/?bezahlt=1"))
    assert "Vielen Dank! Ihre Zahlung wird verbucht" in back
    cancelled = page(portal.get(f"/portal/rechnungen/{invoice.pk}/bezahlen/?abgebrochen=1"))
    assert "Die Online-Zahlung wurde abgebrochen; es wurde nichts abgebucht." in cancelled


@override_settings(**STRIPE)
def test_a_paid_invoice_starts_no_checkout(portal, business_customer, actor, sessions):
    invoice = finalized(business_customer, actor)
    part_paid(business_customer, actor, invoice, "119.00")
    response = portal.post(f"/portal/rechnungen/{invoice.pk}/online-bezahlen", follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/rechnungen/{invoice.pk}/"
    assert "Diese Rechnung ist bereits bezahlt." in page(response)
    assert sessions.calls == []


@override_settings(**STRIPE)
def test_stripe_down_is_told_in_german_and_changes_nothing(
    portal, business_customer, actor, monkeypatch
):
    invoice = finalized(business_customer, actor)
    down = FakeSessions(fail=True)
    client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=down)))
    monkeypatch.setattr(stripe_provider, "make_client", lambda api_key: client)
    response = portal.post(f"/portal/rechnungen/{invoice.pk}/online-bezahlen", follow=True)
    assert "Der Zahlungsdienst ist gerade nicht erreichbar." in page(response)
    assert open_amount(invoice) == 119
    assert not Payment.objects.exists()


@override_settings(**STRIPE)
def test_the_completed_checkout_books_the_payment_against_the_invoice(
    portal, business_customer, actor, sessions
):
    invoice = finalized(business_customer, actor)
    portal.post(f"/portal/rechnungen/{invoice.pk}/online-bezahlen")
    metadata = sessions.calls[0]["params"]["metadata"]
    completed = session_completed(invoice, amount=11900, intent="pi_portal", metadata=metadata)
    payload, headers = signed(event("checkout.session.completed", completed, "evt_portal"))
    webhook = Client(enforce_csrf_checks=True).post(
        "/api/v1/webhooks/stripe", payload, content_type="application/json", headers=headers
    )
    assert webhook.status_code == 200, webhook.content
    assert webhook.json()["state"] == "applied"
    payment = Payment.objects.get(external_id="stripe:pi_portal")
    assert payment.amount == 119
    assert payment.customer_id == business_customer.pk
    assert Allocation.objects.get(payment=payment).invoice_id == invoice.pk
    assert ProviderEvent.objects.get(event_id="evt_portal").invoice_id == invoice.pk
    assert open_amount(invoice) == 0
    html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/"))
    assert "Bezahlt" in html
    assert "Jetzt bezahlen" not in html
