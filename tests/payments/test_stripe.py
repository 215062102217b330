"""Stripe: checkout for an invoice's open amount, signed webhooks applied exactly once.

No network: the Checkout Session call goes to a fake client, and webhook bodies are
signed with the library's own scheme (``stripe.WebhookSignature``: ``t=…,v1=`` HMAC-SHA256
of ``"{t}.{body}"``), exactly as Stripe signs them.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import stripe
from django.test import Client, override_settings

from faktura.banking.models import ProviderEvent
from faktura.core import clock
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.invoicing import services as invoicing
from faktura.payments import providers
from faktura.payments.models import Allocation, Dispute, FeeItem, Payment, ReturnEvent
from faktura.payments.providers import stripe_provider
from tests.banking.helpers import api_client, counts
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized, open_amount, pay

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_faktura"
STRIPE = {
    "STRIPE_SECRET_KEY": "sk_test_faktura",
    "STRIPE_WEBHOOK_SECRET": SECRET,
    "STRIPE_SUCCESS_URL": "https://shop.example/bezahlt/{invoice_number}?s={CHECKOUT_SESSION_ID}",
    "STRIPE_CANCEL_URL": "https://shop.example/rechnung/{invoice_id}",
}


@pytest.fixture(autouse=True)
def _stripe_settings():
    with override_settings(**STRIPE):
        yield


class FakeSessions:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def create(self, params: dict[str, Any], options: dict[str, Any]) -> Any:
        self.calls.append({"params": params, "options": options})
        if self.fail:
            raise stripe.APIConnectionError("network down")
        return SimpleNamespace(id="cs_test_1", url="https://checkout.stripe.com/c/pay/cs_test_1")


@pytest.fixture
def sessions(monkeypatch) -> FakeSessions:
    fake = FakeSessions()
    client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=fake)))
    monkeypatch.setattr(stripe_provider, "make_client", lambda api_key: client)
    return fake


def event(kind: str, obj: dict[str, Any], event_id: str = "evt_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-09-30.clover",
        "type": kind,
        "created": int(clock.now().timestamp()),
        "livemode": False,
        "data": {"object": obj},
    }


def signed(body: dict[str, Any], *, secret: str = SECRET, at: int | None = None):
    payload = json.dumps(body)
    header = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=at or int(time.time())
    )
    return payload.encode(), {"Stripe-Signature": header}


def deliver(body: dict[str, Any], **kw) -> providers.WebhookOutcome:
    payload, headers = signed(body, **kw)
    return providers.get_provider("stripe").handle_webhook(payload, headers)


def session_completed(invoice, *, amount: int = 11900, intent: str = "pi_1", **extra):
    return {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "amount_total": amount,
        "currency": "eur",
        "payment_intent": intent,
        "client_reference_id": str(invoice.pk),
        "metadata": {"invoice_id": str(invoice.pk), "invoice_number": invoice.number},
        "customer_details": {"name": "Beispiel Handel AG", "email": "b@example.org"},
        **extra,
    }


# --- checkout ------------------------------------------------------------------------------


def test_a_checkout_session_asks_for_the_open_amount(business_customer, actor, sessions):
    invoice = finalized(business_customer, actor)
    payments_so_far = pay(actor, "19.00", business_customer)
    from faktura.payments import services

    services.allocate_payment(
        payment_id=payments_so_far.pk, allocations=[(invoice.pk, "19.00")], actor=actor
    )
    session = providers.create_checkout(invoice_id=invoice.pk)
    assert session == providers.CheckoutSession(
        url="https://checkout.stripe.com/c/pay/cs_test_1",
        id="cs_test_1",
        amount=Decimal("100.00"),
    )
    (call,) = sessions.calls
    metadata = {"invoice_id": str(invoice.pk), "invoice_number": "RE-2026-00001"}
    assert call["params"] == {
        "mode": "payment",
        "currency": "eur",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 10000,
                    "product_data": {"name": "Rechnung RE-2026-00001"},
                },
            }
        ],
        "client_reference_id": str(invoice.pk),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": "Rechnung RE-2026-00001"},
        "success_url": "https://shop.example/bezahlt/RE-2026-00001?s={CHECKOUT_SESSION_ID}",
        "cancel_url": f"https://shop.example/rechnung/{invoice.pk}",
        "customer_email": "buchhaltung@beispiel.de",
    }
    assert call["options"] == {"idempotency_key": f"faktura-checkout-{invoice.pk}-10000"}


def test_no_checkout_for_what_cannot_be_paid(business_customer, actor, sessions):
    draft = order(business_customer, actor, line())
    with pytest.raises(StateConflict) as error:
        providers.create_checkout(invoice_id=draft.pk)
    assert error.value.code == "invoice_not_payable"
    invoice = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    from faktura.payments import services

    payment = pay(actor, "119.00", business_customer)
    services.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    with pytest.raises(StateConflict) as error:
        providers.create_checkout(invoice_id=invoice.pk)
    assert error.value.code == "invoice_already_paid"
    with pytest.raises(NotFound) as error:
        providers.create_checkout(invoice_id=invoice.pk, provider="paypal")
    assert error.value.code == "provider_not_found"
    assert sessions.calls == []


def test_checkout_without_keys_or_with_stripe_down(business_customer, actor, monkeypatch):
    invoice = finalized(business_customer, actor)
    with override_settings(STRIPE_SECRET_KEY=""), pytest.raises(providers.ProviderNotConfigured):
        providers.create_checkout(invoice_id=invoice.pk)
    down = FakeSessions(fail=True)
    client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=down)))
    monkeypatch.setattr(stripe_provider, "make_client", lambda api_key: client)
    with pytest.raises(providers.ProviderUnavailable) as error:
        providers.create_checkout(invoice_id=invoice.pk)
    assert error.value.code == "provider_error"


@pytest.mark.urls("tests.banking.urls")
def test_checkout_through_the_api(business_customer, actor, sessions):
    invoice = finalized(business_customer, actor)
    client = api_client("accountant")
    response = client.send("POST", f"/invoices/{invoice.pk}/checkout")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "id": "cs_test_1",
        "object": "checkout_session",
        "provider": "stripe",
        "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        "invoice": invoice.pk,
        "amount": "119.00",
        "currency": "EUR",
    }
    with override_settings(STRIPE_SECRET_KEY=""):
        refused = client.send("POST", f"/invoices/{invoice.pk}/checkout")
    assert (refused.status_code, refused.json()["code"]) == (503, "provider_not_configured")


# --- webhooks: payments ------------------------------------------------------------------------


def test_a_completed_checkout_books_and_allocates_the_payment(business_customer, actor):
    invoice = finalized(business_customer, actor)
    outcome = deliver(event("checkout.session.completed", session_completed(invoice)))
    assert outcome == providers.WebhookOutcome(
        "evt_1", "checkout.session.completed", "applied", False
    )
    payment = Payment.objects.get()
    assert (
        payment.amount,
        payment.source,
        payment.method,
        payment.external_id,
        payment.customer_id,
        payment.date,
        payment.payer_name,
        payment.reference,
    ) == (
        Decimal("119.00"),
        "provider",
        "provider",
        "stripe:pi_1",
        business_customer.pk,
        clock.today(),
        "Beispiel Handel AG",
        "Stripe pi_1 Rechnung RE-2026-00001",
    )
    assert [(a.invoice_id, a.amount) for a in payment.allocations.all()] == [
        (invoice.pk, Decimal("119.00"))
    ]
    assert open_amount(invoice) == Decimal("0.00")
    stored = ProviderEvent.objects.get()
    assert (stored.event_id, stored.state, stored.payment_id, stored.invoice_id) == (
        "evt_1",
        "applied",
        payment.pk,
        invoice.pk,
    )
    assert "customer_details" not in stored.data  # no personal data kept with the event


def test_a_replayed_event_changes_nothing(business_customer, actor):
    invoice = finalized(business_customer, actor)
    body = event("checkout.session.completed", session_completed(invoice))
    deliver(body)
    before = counts()
    assert deliver(body).replayed is True
    assert counts() == before


def test_the_payment_intent_event_of_the_same_payment_books_nothing_twice(business_customer, actor):
    invoice = finalized(business_customer, actor)
    deliver(event("checkout.session.completed", session_completed(invoice)))
    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount_received": 11900,
        "currency": "eur",
        "status": "succeeded",
        "metadata": {"invoice_id": str(invoice.pk), "invoice_number": invoice.number},
    }
    outcome = deliver(event("payment_intent.succeeded", intent, event_id="evt_2"))
    assert outcome.state == "recorded"
    assert Payment.objects.count() == 1
    assert Allocation.objects.count() == 1
    assert ProviderEvent.objects.get(event_id="evt_2").payment_id == Payment.objects.get().pk


def test_a_payment_intent_alone_books_the_payment(business_customer, actor):
    invoice = finalized(business_customer, actor)
    intent = {
        "id": "pi_9",
        "object": "payment_intent",
        "amount_received": 5000,
        "currency": "eur",
        "metadata": {"invoice_id": str(invoice.pk), "invoice_number": invoice.number},
    }
    assert deliver(event("payment_intent.succeeded", intent)).state == "applied"
    assert open_amount(invoice) == Decimal("69.00")  # a partial payment


def test_a_failed_payment_is_recorded_and_books_nothing(business_customer, actor):
    invoice = finalized(business_customer, actor)
    failed = {
        "id": "pi_2",
        "object": "payment_intent",
        "currency": "eur",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        "metadata": {"invoice_id": str(invoice.pk), "invoice_number": invoice.number},
    }
    outcome = deliver(event("payment_intent.payment_failed", failed))
    assert outcome.state == "recorded"
    stored = ProviderEvent.objects.get()
    assert (stored.note, stored.invoice_id, stored.payment_id) == (
        "Zahlung fehlgeschlagen: card_declined Your card was declined.",
        invoice.pk,
        None,
    )
    assert Payment.objects.count() == 0


def test_a_payment_in_another_currency_is_not_booked(business_customer, actor):
    invoice = finalized(business_customer, actor)
    body = event("checkout.session.completed", session_completed(invoice, currency="usd"))
    assert deliver(body).state == "failed"
    assert ProviderEvent.objects.get().note.startswith("unsupported_currency: ")
    assert Payment.objects.count() == 0


def test_unknown_event_types_are_stored_and_ignored(company):
    assert deliver(event("customer.created", {"id": "cus_1"})).state == "ignored"
    assert ProviderEvent.objects.get().type == "customer.created"


# --- webhooks: refunds and disputes -------------------------------------------------------------


@pytest.fixture
def paid(business_customer, actor):
    invoice = finalized(business_customer, actor)
    deliver(event("checkout.session.completed", session_completed(invoice), event_id="evt_paid"))
    return invoice


def charge(**fields: Any) -> dict[str, Any]:
    return {"id": "ch_1", "object": "charge", "payment_intent": "pi_1", "amount": 11900,
            "currency": "eur", **fields}  # fmt: skip


def test_a_full_refund_takes_the_money_back_and_reopens_the_invoice(paid):
    outcome = deliver(event("charge.refunded", charge(refunded=True, amount_refunded=11900)))
    assert outcome.state == "applied"
    returned = ReturnEvent.objects.get()
    assert (returned.kind, returned.amount, returned.fee_amount, returned.consequence) == (
        "chargeback",
        Decimal("119.00"),
        Decimal("0.00"),
        "manual",
    )
    assert returned.source_reference == "stripe:refund:ch_1"
    assert open_amount(paid) == Decimal("119.00")
    assert (FeeItem.objects.count(), Dispute.objects.count()) == (0, 0)


def test_a_partial_refund_waits_for_a_person(paid):
    before = counts()
    outcome = deliver(event("charge.refunded", charge(refunded=False, amount_refunded=1900)))
    assert outcome.state == "failed"
    assert ProviderEvent.objects.get(event_id="evt_1").note == (
        "Teilerstattung 19.00 von 119.00: bitte von Hand buchen."
    )
    after = counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"ProviderEvent": 1}


def test_a_dispute_is_a_chargeback_with_fee_and_dispute(paid):
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1",
               "amount": 11900, "currency": "eur", "reason": "fraudulent"}  # fmt: skip
    assert deliver(event("charge.dispute.created", dispute)).state == "applied"
    returned = ReturnEvent.objects.get()
    assert (returned.reason_code, returned.consequence, returned.fee_amount) == (
        "fraudulent",
        "dispute",
        Decimal("3.00"),
    )
    assert open_amount(paid) == Decimal("119.00")
    assert Dispute.objects.filter(invoice=paid, cleared_at__isnull=True).count() == 1
    assert ProviderEvent.objects.get(event_id="evt_1").return_event_id == returned.pk


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "missing_header", "changed_body", "too_old", "no_v1"],
)
def test_a_bad_signature_is_refused_and_writes_nothing(business_customer, actor, tamper):
    invoice = finalized(business_customer, actor)
    body = event("checkout.session.completed", session_completed(invoice))
    payload, headers = signed(body)
    if tamper == "wrong_secret":
        payload, headers = signed(body, secret="whsec_someone_else")
    elif tamper == "missing_header":
        headers = {}
    elif tamper == "changed_body":
        payload = payload.replace(b"11900", b"99900")
    elif tamper == "too_old":
        payload, headers = signed(body, at=int(time.time()) - 3600)
    elif tamper == "no_v1":
        headers = {"Stripe-Signature": headers["Stripe-Signature"].replace("v1=", "v0=")}
    before = counts()
    with pytest.raises(providers.InvalidSignature) as error:
        providers.get_provider("stripe").handle_webhook(payload, headers)
    assert (error.value.code, error.value.http_status) == ("invalid_signature", 400)
    assert counts() == before


def test_a_signed_body_that_is_no_event_is_refused(company):
    payload, headers = signed({"hello": "world"})
    with pytest.raises(InvalidInput) as error:
        providers.get_provider("stripe").handle_webhook(payload, headers)
    assert error.value.code == "malformed_event"
    assert ProviderEvent.objects.count() == 0


@pytest.mark.urls("tests.banking.urls")
def test_the_webhook_endpoint_needs_no_key_but_a_signature(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payload, headers = signed(event("checkout.session.completed", session_completed(invoice)))
    client = Client(enforce_csrf_checks=True)  # as a real server: no session, no CSRF token
    url = "/api/v1/webhooks/stripe"
    forged = client.post(url, payload, content_type="application/json",
                         headers={"Stripe-Signature": "t=1,v1=00"})  # fmt: skip
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid_signature")
    assert Payment.objects.count() == 0
    first = client.post(url, payload, content_type="application/json", headers=headers)
    assert first.status_code == 200, first.json()
    assert first.json() == {
        "received": True,
        "event": "evt_1",
        "type": "checkout.session.completed",
        "state": "applied",
        "replayed": False,
    }
    before = counts()
    again = client.post(url, payload, content_type="application/json", headers=headers)
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert counts() == before
    with override_settings(STRIPE_WEBHOOK_SECRET=""):
        unconfigured = client.post(url, payload, content_type="application/json", headers=headers)
    assert (unconfigured.status_code, unconfigured.json()["code"]) == (
        503,
        "provider_not_configured",
    )
