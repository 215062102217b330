"""How a customer pays, chosen in the portal: transfer, direct debit with their mandate, or
a card saved through Stripe Checkout in setup mode (against a local fake of Stripe)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from faktura.collection import online
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.payments import off_session
from faktura.payments.models import SavedPaymentMethod
from faktura.payments.off_session import CardDetails
from faktura.payments.providers.stripe_provider import SetupResult
from faktura.subscriptions import payment_choice
from faktura.subscriptions.models import PaymentMethod, Subscription
from tests.payments import fake_stripe
from tests.payments.test_stripe import STRIPE
from tests.portal.contract_helpers import messages_of, monthly, sign_in

pytestmark = pytest.mark.django_db
PAGE = "/portal/zahlungsart/"


@pytest.fixture
def stripe_api():
    with (
        fake_stripe.running(STRIPE["STRIPE_SECRET_KEY"]) as fake,
        override_settings(**STRIPE, STRIPE_API_BASE=fake.url),
    ):
        yield fake


def test_the_page_shows_the_current_method_and_the_choices(client, consumer):
    html = sign_in(client, consumer).get(PAGE).content.decode()
    assert '<strong id="current-method">Überweisung</strong>' in html
    assert "Lastschriftmandat erteilen" in html
    assert 'href="/portal/lastschrift/"' in html
    assert "Karte hinterlegen" in html


def test_a_card_is_saved_through_stripe_checkout_and_used_from_then_on(
    client, consumer, stripe_api
):
    subscription = monthly(consumer)
    client = sign_in(client, consumer)
    started = client.post(f"{PAGE}karte/")
    assert started.status_code == 302
    session_id = started["Location"].rsplit("/", 1)[1]
    assert started["Location"] == f"{stripe_api.url}/c/pay/{session_id}"
    asked = stripe_api.sessions[session_id]
    assert asked["mode"] == "setup"
    assert asked["metadata"] == {
        "faktura_customer_id": str(consumer.pk),
        "faktura_customer_number": consumer.number,
    }
    assert asked["success_url"].endswith(
        "/portal/zahlungsart/karte/fertig/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert asked["customer"] in stripe_api.customers
    assert not SavedPaymentMethod.objects.exists()  # nothing until Stripe says it is done

    pm = stripe_api.complete_setup(session_id)
    done = client.get(f"{PAGE}karte/fertig/?session_id={session_id}", follow=True)
    method = SavedPaymentMethod.objects.get()
    assert (method.payment_method_id, method.provider_customer_id) == (pm, asked["customer"])
    assert method.label == "Visa •••• 4242 (08/29)"
    assert messages_of(done) == [
        "Ihre Karte Visa •••• 4242 (08/29) ist hinterlegt; wir buchen künftige Rechnungen davon ab."
    ]
    consumer.refresh_from_db()
    assert consumer.preferred_payment_method == "provider"
    subscription.refresh_from_db()
    assert subscription.payment_method == PaymentMethod.PROVIDER
    assert subscription.saved_payment_method == method
    assert '<strong id="current-method">Online-Zahlung</strong>' in done.content.decode()

    # Replacing the card: the same Stripe customer, the old card retired.
    again = client.post(f"{PAGE}karte/")
    second = again["Location"].rsplit("/", 1)[1]
    assert stripe_api.sessions[second]["customer"] == asked["customer"]
    stripe_api.complete_setup(second, brand="mastercard", last4="4444")
    client.get(f"{PAGE}karte/fertig/?session_id={second}")
    active = SavedPaymentMethod.objects.get(active=True)
    assert active.label == "Mastercard •••• 4444 (08/29)"
    method.refresh_from_db()
    assert not method.active
    subscription.refresh_from_db()
    assert subscription.saved_payment_method == active


def test_an_unfinished_or_foreign_checkout_saves_nothing(client, consumer, stripe_api):
    client = sign_in(client, consumer)
    session_id = client.post(f"{PAGE}karte/")["Location"].rsplit("/", 1)[1]
    open_one = client.get(f"{PAGE}karte/fertig/?session_id={session_id}", follow=True)
    assert messages_of(open_one) == [
        "Die Karte wurde nicht hinterlegt. Bitte versuchen Sie es erneut."
    ]
    stripe_api.sessions[session_id]["metadata"] = {"faktura_customer_id": "999999"}
    stripe_api.complete_setup(session_id)
    foreign = client.get(f"{PAGE}karte/fertig/?session_id={session_id}", follow=True)
    assert messages_of(foreign) == [
        "Die Karte wurde nicht hinterlegt. Bitte versuchen Sie es erneut."
    ]
    unknown = client.get(f"{PAGE}karte/fertig/?session_id=cs_nothing", follow=True)
    assert messages_of(unknown) == [
        "Die Karte wurde nicht hinterlegt. Bitte versuchen Sie es erneut."
    ]
    assert not SavedPaymentMethod.objects.exists()


def test_stripe_not_configured_is_said_in_german(client, consumer):
    with override_settings(STRIPE_SECRET_KEY=""):
        done = sign_in(client, consumer).post(f"{PAGE}karte/", follow=True)
    assert messages_of(done) == ["Die Kartenzahlung ist derzeit nicht eingerichtet."]


def test_choosing_direct_debit_needs_a_mandate_then_transfer_again(client, consumer):
    subscription = monthly(consumer)
    client = sign_in(client, consumer)
    refused = client.post(f"{PAGE}waehlen/", {"method": "direct_debit"}, follow=True)
    assert messages_of(refused) == [
        "Für die Lastschrift erteilen Sie bitte zuerst ein SEPA-Mandat."
    ]
    subscription.refresh_from_db()
    assert subscription.payment_method == PaymentMethod.TRANSFER

    me = Actor.for_customer(consumer.pk, consumer.number)
    mandate = online.grant_mandate(
        actor=me,
        customer_id=consumer.pk,
        iban="DE89370400440532013000",
        account_holder="Max Mustermann",
        consent=True,
    )
    client.post(f"{PAGE}waehlen/", {"method": "direct_debit"}, follow=True)
    subscription.refresh_from_db()
    assert (subscription.payment_method, subscription.mandate) == ("direct_debit", mandate)

    done = client.post(f"{PAGE}waehlen/", {"method": "transfer"}, follow=True)
    assert messages_of(done) == ["Ihre Zahlungsart ist geändert."]
    consumer.refresh_from_db()
    subscription.refresh_from_db()
    assert consumer.preferred_payment_method == "transfer"
    assert (subscription.payment_method, subscription.mandate) == ("transfer", None)


def test_a_customer_cannot_choose_for_another_customer(consumer, business_customer):
    theirs = monthly(business_customer)
    me = Actor.for_customer(consumer.pk, consumer.number)
    with pytest.raises(PermissionRefused):
        payment_choice.choose_payment_method(
            actor=me, customer_id=business_customer.pk, method="transfer"
        )
    assert Subscription.objects.get(pk=theirs.pk).payment_method == PaymentMethod.TRANSFER


def test_the_page_names_the_card_and_says_when_it_has_expired(client, consumer, actor):
    me = Actor.for_customer(consumer.pk, consumer.number)
    client = sign_in(client, consumer)
    # Saved through the API: Faktura knows only the label.
    off_session.save_payment_method(
        customer_id=consumer.pk,
        actor=actor,
        provider_customer_id="cus_api",
        payment_method_id="pm_api",
        label="Karte aus dem Shop",
    )
    page = client.get(PAGE).content.decode()
    assert '<p id="saved-card">Hinterlegt: Karte aus dem Shop</p>' in page

    expired = SetupResult(
        customer_id=consumer.pk,
        provider_customer_id="cus_1",
        payment_method_id="pm_1",
        label="Visa •••• 4242 (10/26)",
        card=CardDetails(brand="visa", last4="4242", exp_month=10, exp_year=2026),
    )
    payment_choice.save_card_from_setup(actor=me, setup=expired, source="test")
    page = " ".join(client.get(PAGE).content.decode().split())
    assert (
        '<span class="muted" id="current-card"><span class="card-brand">Visa</span>, '
        "Endziffern 4242, gültig bis 10/2026</span>"
    ) in page
    assert (
        '<p class="error" role="alert">Ihre hinterlegte Karte ist abgelaufen. '
        "Bitte hinterlegen Sie eine neue Karte.</p>"
    ) in page
