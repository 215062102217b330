"""A card saved through Stripe Checkout in setup mode, by Stripe's signed webhook.

Stripe announces the finished setup with ``checkout.session.completed`` (mode ``setup``):
its metadata names the Faktura customer, the SetupIntent comes by id only, so Faktura
reads the card back from Stripe (a local fake of Stripe's HTTP API here) and saves it as
the customer's way to pay, whether or not the customer ever comes back to the portal.
Bodies are signed with Stripe's own scheme and posted to the real endpoint.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, override_settings

from faktura.banking.models import ProviderEvent
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.payments.models import SavedPaymentMethod
from faktura.payments.providers.stripe_provider import SetupResult
from faktura.subscriptions import payment_choice
from faktura.subscriptions.models import PaymentMethod, Subscription
from tests.payments import fake_stripe
from tests.payments.test_stripe import STRIPE, signed
from tests.portal.contract_helpers import messages_of, monthly, sign_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/stripe"
PAGE = "/portal/zahlungsart/"


@pytest.fixture
def stripe_api():
    with (
        fake_stripe.running(STRIPE["STRIPE_SECRET_KEY"]) as fake,
        override_settings(**STRIPE, STRIPE_API_BASE=fake.url),
    ):
        yield fake


def start(customer: Customer) -> str:
    """The customer asks to save a card: the setup checkout's id at Stripe."""
    url = payment_choice.start_card_setup(
        actor=Actor.for_customer(customer.pk, customer.number),
        customer_id=customer.pk,
        success_url="https://portal.example/fertig/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://portal.example/zahlungsart/",
    )
    return url.rsplit("/", 1)[1]


def post(body: dict[str, Any], **kw: Any):
    """Deliver ``body`` as Stripe does: signed, no API key, no session, no CSRF token."""
    payload, headers = signed(body, **kw)
    return Client(enforce_csrf_checks=True).post(
        URL, payload, content_type="application/json", headers=headers
    )


def asked_stripe(fake: fake_stripe.FakeStripe) -> int:
    """How often Faktura read a checkout session back from Stripe."""
    return sum(1 for r in fake.requests if r.method == "GET" and "/checkout/sessions/" in r.path)


def state() -> dict[str, Any]:
    """What a refused or replayed event must leave alone."""
    return {
        "events": ProviderEvent.objects.count(),
        "methods": list(SavedPaymentMethod.objects.values_list("pk", "active")),
        "customers": list(Customer.objects.values_list("pk", "preferred_payment_method")),
        "subscriptions": list(
            Subscription.objects.values_list("pk", "payment_method", "saved_payment_method")
        ),
        "audit": AuditEntry.objects.count(),
    }


def test_the_completed_setup_saves_the_card_and_the_customer_pays_with_it(
    client, consumer, stripe_api
):
    subscription = monthly(consumer)
    session = start(consumer)
    pm = stripe_api.complete_setup(session, brand="mastercard", last4="4444")
    event = stripe_api.setup_event(session)
    assert event["data"]["object"]["setup_intent"].startswith("seti_")  # an id, as Stripe sends

    response = post(event)

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "received": True,
        "event": event["id"],
        "type": "checkout.session.completed",
        "state": "applied",
        "replayed": False,
    }
    method = SavedPaymentMethod.objects.get()
    assert (method.customer, method.payment_method_id, method.active) == (consumer, pm, True)
    assert method.provider_customer_id == stripe_api.sessions[session]["customer"]
    assert (method.card_brand, method.card_last4) == ("mastercard", "4444")
    assert (method.card_exp_month, method.card_exp_year) == (8, 2029)
    assert method.label == "Mastercard •••• 4444 (08/29)"
    consumer.refresh_from_db()
    subscription.refresh_from_db()
    assert consumer.preferred_payment_method == PaymentMethod.PROVIDER
    assert (subscription.payment_method, subscription.saved_payment_method) == ("provider", method)
    row = ProviderEvent.objects.get(event_id=event["id"])
    assert row.note == (
        f"Karte Mastercard •••• 4444 (08/29) für {consumer.number} hinterlegt und gewählt."
    )
    saved = AuditEntry.objects.get(action="payment_method.saved")
    assert (saved.actor, saved.data["source"]) == ("system:stripe", f"stripe:{event['id']}")
    assert saved.data["payment_method_id"] == pm
    assert AuditEntry.objects.filter(action="subscription.payment_method_changed").count() == 1

    # The portal shows the card, without the customer ever having come back from Stripe.
    portal = sign_in(client, consumer)
    page = portal.get(PAGE).content.decode()
    assert '<strong id="current-method">Online-Zahlung</strong>' in page
    assert "Mastercard</span>, Endziffern 4444, gültig bis 08/2029" in page
    assert "Andere Karte hinterlegen" in page
    assert "abgelaufen" not in page

    # Coming back after the event changes nothing: the card is saved once.
    before = state()
    back = portal.get(f"{PAGE}karte/fertig/?session_id={session}", follow=True)
    assert messages_of(back) == [
        "Ihre Karte Mastercard •••• 4444 (08/29) ist hinterlegt; wir buchen künftige "
        "Rechnungen davon ab."
    ]
    assert state() == before


def test_the_event_after_the_customer_came_back_changes_nothing(client, consumer, stripe_api):
    session = start(consumer)
    stripe_api.complete_setup(session)
    sign_in(client, consumer).get(f"{PAGE}karte/fertig/?session_id={session}")
    method = SavedPaymentMethod.objects.get()
    assert AuditEntry.objects.get(action="payment_method.saved").data["source"] == "portal"
    before = state()

    response = post(stripe_api.setup_event(session))

    assert response.json()["state"] == "recorded"
    row = ProviderEvent.objects.get()
    assert row.note == f"Karte {method} von {consumer.number} war schon bekannt."
    assert state() == {**before, "events": 1}


def test_a_replayed_event_changes_nothing_and_asks_stripe_nothing(consumer, stripe_api):
    session = start(consumer)
    stripe_api.complete_setup(session)
    event = stripe_api.setup_event(session)
    assert post(event).json()["state"] == "applied"
    before, asked = state(), asked_stripe(stripe_api)

    again = post(event)

    assert again.status_code == 200
    assert (again.json()["state"], again.json()["replayed"]) == ("applied", True)
    assert state() == before
    assert asked_stripe(stripe_api) == asked


@pytest.mark.parametrize("tamper", ["wrong_secret", "changed_body", "missing_header"])
def test_a_wrong_signature_is_refused_and_nothing_is_saved(consumer, stripe_api, tamper):
    session = start(consumer)
    stripe_api.complete_setup(session)
    event = stripe_api.setup_event(session)
    payload, headers = signed(event)
    if tamper == "wrong_secret":
        payload, headers = signed(event, secret="whsec_someone_else")
    elif tamper == "changed_body":
        payload = payload.replace(b'"mode": "setup"', b'"mode": "payment"')
    else:
        headers = {}
    before, asked = state(), asked_stripe(stripe_api)

    response = Client().post(URL, payload, content_type="application/json", headers=headers)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")
    assert state() == before
    assert asked_stripe(stripe_api) == asked  # nothing was read, not even from Stripe
    assert not SavedPaymentMethod.objects.exists()


@pytest.mark.parametrize(
    "metadata",
    [
        {},  # no customer named
        {"faktura_customer_id": "999999"},  # no such customer here
        {"faktura_customer_id": "K-1"},  # not an id
        {"faktura_customer_id": "{own}", "faktura_customer_number": "K-99999"},  # elsewhere
    ],
    ids=["missing", "unknown", "not_an_id", "other_installation"],
)
def test_a_checkout_naming_no_customer_here_is_refused_and_logged(
    consumer, stripe_api, metadata, caplog
):
    monthly(consumer)
    session = start(consumer)
    stripe_api.sessions[session]["metadata"] = {
        k: v.replace("{own}", str(consumer.pk)) for k, v in metadata.items()
    }
    stripe_api.complete_setup(session)
    event = stripe_api.setup_event(session)
    before = state()

    with caplog.at_level(logging.WARNING, logger="faktura.payments.providers.stripe_provider"):
        response = post(event)

    # Accepted (Stripe must not send it for days), stored as failed for a person to see.
    assert response.status_code == 200
    assert response.json()["state"] == "failed"
    row = ProviderEvent.objects.get(event_id=event["id"])
    assert row.state == "failed"
    assert row.note.startswith("setup_customer_unknown: ")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("faktura")] == [
        f"Stripe event {event['id']} (checkout.session.completed) not applied: {row.note}"
    ]
    assert state() == {**before, "events": before["events"] + 1}
    assert not SavedPaymentMethod.objects.exists()
    consumer.refresh_from_db()
    assert consumer.preferred_payment_method == PaymentMethod.TRANSFER


def _setup_event(session: dict[str, Any], event_id: str = "evt_setup_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "created": fake_stripe.CREATED,
        "livemode": False,
        "data": {"object": session},
    }


@pytest.mark.parametrize(
    "broken",
    ["no_id", "not_a_session_id", "no_object", "object_not_a_dict"],
)
def test_a_setup_event_out_of_shape_is_refused_and_stores_nothing(consumer, stripe_api, broken):
    session = start(consumer)
    stripe_api.complete_setup(session)
    event = stripe_api.setup_event(session)
    obj = event["data"]["object"]
    if broken == "no_id":
        del obj["id"]
    elif broken == "not_a_session_id":
        obj["id"] = "../customers/cus_1"
    elif broken == "no_object":
        del event["data"]["object"]
    else:
        event["data"]["object"] = "cs_123"
    before, asked = state(), asked_stripe(stripe_api)

    response = post(event)

    assert (response.status_code, response.json()["code"]) == (422, "malformed_event")
    assert state() == before
    assert asked_stripe(stripe_api) == asked


@pytest.mark.parametrize(
    "case", ["not_complete", "unknown_session", "no_payment_method_id", "metadata_differs"]
)
def test_a_setup_stripe_does_not_confirm_is_stored_as_failed(consumer, stripe_api, case):
    session_id = start(consumer)
    session = stripe_api.sessions[session_id]
    if case == "not_complete":
        body = _setup_event({**session, "status": "complete", "setup_intent": "seti_1"})
        expected = "setup_not_completed"  # Stripe itself says: still open
    elif case == "unknown_session":
        body = _setup_event({**session, "id": "cs_not_at_stripe", "status": "complete"})
        expected = "setup_not_completed"
    elif case == "no_payment_method_id":
        stripe_api.complete_setup(session_id)
        session["setup_intent"]["payment_method"]["id"] = "card_1234"
        body = stripe_api.setup_event(session_id)
        expected = "invalid_payment_method_id"
    else:
        stripe_api.complete_setup(session_id)
        body = stripe_api.setup_event(session_id)
        body["data"]["object"]["metadata"] = {"faktura_customer_id": str(consumer.pk + 1)}
        expected = "setup_customer_unknown"
    before = state()

    response = post(body)

    assert (response.status_code, response.json()["state"]) == (200, "failed")
    assert ProviderEvent.objects.get().note.startswith(f"{expected}: ")
    assert state() == {**before, "events": 1}


def test_stripe_unreachable_stores_nothing_and_the_next_delivery_saves_the_card(
    consumer, stripe_api
):
    session = start(consumer)
    stripe_api.complete_setup(session)
    event = stripe_api.setup_event(session)
    stripe_api.unavailable = True
    before = state()

    down = post(event)

    assert (down.status_code, down.json()["code"]) == (502, "provider_error")
    assert state() == before  # not even the event: Stripe delivers it again
    stripe_api.unavailable = False
    again = post(event)
    assert (again.json()["state"], again.json()["replayed"]) == ("applied", False)
    assert SavedPaymentMethod.objects.get().active


def test_the_setup_intent_event_is_stored_and_ignored(consumer, stripe_api):
    session = start(consumer)
    stripe_api.complete_setup(session)
    (intent_event,) = stripe_api.events_of("setup_intent.succeeded")

    response = post(intent_event)

    assert response.json()["state"] == "ignored"
    assert not SavedPaymentMethod.objects.exists()


def test_a_late_event_never_brings_back_an_earlier_card(consumer, stripe_api):
    first, second = start(consumer), start(consumer)
    stripe_api.complete_setup(first, brand="visa", last4="4242")
    stripe_api.complete_setup(second, brand="mastercard", last4="4444")
    late = stripe_api.setup_event(first)
    late["created"] = fake_stripe.CREATED - 60  # finished before the second card was saved
    assert post(stripe_api.setup_event(second)).json()["state"] == "applied"
    before = state()

    response = post(late)

    assert response.json()["state"] == "recorded"
    assert ProviderEvent.objects.get(event_id=late["id"]).note == (
        f"{consumer.number} hat seitdem die Karte Mastercard •••• 4444 (08/29) hinterlegt; "
        "nichts geändert."
    )
    assert state() == {**before, "events": before["events"] + 1}
    assert SavedPaymentMethod.objects.get(active=True).card_last4 == "4444"


def test_a_replaced_card_does_not_come_back_with_a_new_delivery(consumer, stripe_api):
    first, second = start(consumer), start(consumer)
    stripe_api.complete_setup(first)
    event = stripe_api.setup_event(first)
    post(event)
    stripe_api.complete_setup(second, brand="mastercard", last4="4444")
    post(stripe_api.setup_event(second))
    old = SavedPaymentMethod.objects.get(card_last4="4242")
    assert not old.active
    before = state()

    response = post({**event, "id": "evt_redelivered"})

    assert response.json()["state"] == "recorded"
    assert state() == {**before, "events": before["events"] + 1}
    old.refresh_from_db()
    assert not old.active


def test_only_the_customer_themselves_or_the_system_saves_a_card(consumer, business_customer):
    setup = SetupResult(
        customer_id=consumer.pk,
        provider_customer_id="cus_1",
        payment_method_id="pm_1",
        label="Visa •••• 4242",
    )
    other = Actor.for_customer(business_customer.pk, business_customer.number)
    viewer = Actor(label="vera", roles=frozenset({"viewer"}))
    for actor in (other, viewer):
        with pytest.raises(PermissionRefused):
            payment_choice.save_card_from_setup(actor=actor, setup=setup, source="test")
    assert not SavedPaymentMethod.objects.exists()
    me = Actor.for_customer(consumer.pk, consumer.number)
    outcome = payment_choice.save_card_from_setup(actor=me, setup=setup, source="test")
    assert (outcome.result, outcome.method.payment_method_id) == ("saved", "pm_1")
    assert (outcome.method.card_brand, outcome.method.card_last4) == ("", "")
