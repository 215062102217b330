"""Saved Stripe payment methods charged off-session, end to end against a local fake Stripe.

The official ``stripe`` library sends real HTTP requests to ``tests.payments.fake_stripe``;
the event the fake produces is signed as Stripe signs and posted to the real webhook
endpoint, which books the payment.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult

from faktura.core import clock
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.notifications.models import OutboxMessage
from faktura.payments import off_session, services
from faktura.payments.models import Allocation, CardRetry, Payment, SavedPaymentMethod
from faktura.payments.providers import ProviderUnavailable
from faktura.payments.tasks import CHARGE_ATTEMPTS, charge_saved_payment_method
from tests.payments import fake_stripe
from tests.payments.helpers import SYSTEM, counts, finalized, open_amount, pay
from tests.payments.test_stripe import STRIPE, signed

pytestmark = pytest.mark.django_db

CUS = "cus_QxB7c2Lp9ZkR1a"
PM = "pm_1QxB8dLp9ZkR1aVisa"


@pytest.fixture
def stripe_api():
    with (
        fake_stripe.running(STRIPE["STRIPE_SECRET_KEY"]) as fake,
        override_settings(**STRIPE, STRIPE_API_BASE=fake.url),
    ):
        yield fake


@pytest.fixture
def card(business_customer, actor) -> SavedPaymentMethod:
    return services.save_payment_method(
        customer_id=business_customer.pk,
        actor=actor,
        provider_customer_id=CUS,
        payment_method_id=PM,
        label="Visa •••• 4242",
    )


def post_webhook(event: dict) -> dict:
    payload, headers = signed(event)
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/webhooks/stripe", payload, content_type="application/json", headers=headers
    )
    assert response.status_code == 200, response.json()
    return response.json()


def charges_queued() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="charge_saved_payment_method").count()


def actions(invoice) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="invoice", object_id=str(invoice.pk))
        .filter(action__startswith="invoice.charge")
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- the way through: billing run → task → Stripe → webhook → booked ------------------------


def test_a_saved_card_pays_the_invoice_through_stripe_and_its_webhook(
    business_customer, actor, card, stripe_api
):
    invoice = finalized(business_customer, actor)
    with transaction.atomic():  # as the billing run does
        requested = services.request_off_session_charges(
            charges=[(invoice.pk, card.pk)], actor=SYSTEM
        )
    assert (requested.queued, requested.skipped) == ([invoice.pk], {})
    task = DBTaskResult.objects.get(task_path__endswith="charge_saved_payment_method")
    assert task.args_kwargs["args"] == [invoice.pk, card.pk]

    assert charge_saved_payment_method.call(*task.args_kwargs["args"]) == "charged"

    (received,) = stripe_api.requests
    assert (received.method, received.path) == ("POST", "/v1/payment_intents")
    assert received.params == {
        "amount": "11900",
        "currency": "eur",
        "customer": CUS,
        "payment_method": PM,
        "off_session": "true",
        "confirm": "true",
        "description": "Rechnung RE-2026-00001",
        "metadata": {"invoice_id": str(invoice.pk), "invoice_number": "RE-2026-00001"},
    }
    assert received.headers["idempotency-key"] == f"faktura-offsession-{invoice.pk}-11900-{card.pk}"
    assert open_amount(invoice) == Decimal("119.00")  # nothing booked before Stripe says so

    (succeeded,) = stripe_api.events
    assert succeeded["type"] == "payment_intent.succeeded"
    assert post_webhook(succeeded)["state"] == "applied"

    payment = Payment.objects.get()
    assert (payment.amount, payment.external_id, payment.customer_id, payment.date) == (
        Decimal("119.00"),
        "stripe:pi_fake0001",
        business_customer.pk,
        clock.today(),
    )
    assert [(a.invoice_id, a.amount) for a in payment.allocations.all()] == [
        (invoice.pk, Decimal("119.00"))
    ]
    assert open_amount(invoice) == Decimal("0.00")
    assert actions(invoice) == ["invoice.charge_requested", "invoice.charge_sent"]
    sent = AuditEntry.objects.get(action="invoice.charge_sent")
    assert sent.data == {
        "saved_payment_method": card.pk,
        "amount": "119.00",
        "payment_intent": "pi_fake0001",
        "try": 1,
    }


def test_a_charge_run_twice_charges_once(business_customer, actor, card, stripe_api):
    invoice = finalized(business_customer, actor)
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "charged"
    # The worker died after Stripe answered: the task runs again before the event came.
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "charged"
    first, second = stripe_api.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert list(stripe_api.intents) == ["pi_fake0001"]
    assert len(stripe_api.events) == 1
    post_webhook(stripe_api.events[0])
    post_webhook(stripe_api.events[0])  # Stripe delivers again: nothing twice
    assert (Payment.objects.count(), Allocation.objects.count()) == (1, 1)
    # Paid now: a third run asks nothing of Stripe.
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "skipped"
    assert len(stripe_api.requests) == 2


def test_an_invoice_paid_already_is_neither_queued_nor_charged(
    business_customer, actor, card, stripe_api
):
    invoice = finalized(business_customer, actor)
    services.allocate_payment(
        payment_id=pay(actor, "119.00", business_customer).pk,
        allocations=[(invoice.pk, "119.00")],
        actor=actor,
    )
    before = counts()
    requested = services.request_off_session_charges(charges=[(invoice.pk, card.pk)], actor=SYSTEM)
    assert (requested.queued, requested.skipped) == ([], {invoice.pk: "invoice_already_paid"})
    assert counts() == before
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "skipped"
    assert stripe_api.requests == []


def test_a_partly_paid_invoice_is_charged_its_open_amount(
    business_customer, actor, card, stripe_api
):
    invoice = finalized(business_customer, actor)
    services.allocate_payment(
        payment_id=pay(actor, "19.00", business_customer).pk,
        allocations=[(invoice.pk, "19.00")],
        actor=actor,
    )
    charge_saved_payment_method.call(invoice.pk, card.pk)
    assert stripe_api.requests[0].params["amount"] == "10000"
    post_webhook(stripe_api.events[0])
    assert open_amount(invoice) == Decimal("0.00")


# --- declined, unreachable ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "decline_code"),
    [("card_declined", "stolen_card"), ("authentication_required", "")],
)
def test_a_hard_decline_leaves_the_invoice_open_and_is_not_retried(
    business_customer, actor, card, stripe_api, code, decline_code
):
    invoice = finalized(business_customer, actor)
    stripe_api.decline(PM, code=code, decline_code=decline_code)
    services.request_off_session_charges(charges=[(invoice.pk, card.pk)], actor=SYSTEM)
    assert charges_queued() == 1

    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "declined"

    assert charges_queued() == 1  # no retry queued
    assert len(stripe_api.requests) == 1
    failed = AuditEntry.objects.get(action="invoice.charge_failed")
    assert failed.data == {
        "saved_payment_method": card.pk,
        "amount": "119.00",
        "decline_code": decline_code or code,
        "error_code": code,
        "payment_intent": "pi_fake0001",
        "message": "Stripe declined the charge: Your card was declined.",
        "try": 1,
        "hard_decline": True,
        "next_try_at": None,
    }
    assert failed.chain.key == f"customer:{business_customer.pk}"
    retry = CardRetry.objects.get(invoice=invoice)
    assert (retry.state, retry.tries, retry.next_try_at) == ("exhausted", 1, None)
    assert off_session.card_retries_pending([invoice.pk]) == set()  # dunning may start
    (mail,) = OutboxMessage.objects.filter(event="payment_failed")
    assert "Wir versuchen es nicht noch einmal." in mail.body_text
    assert "IBAN DE02120300000000202051" in mail.body_text
    (event,) = stripe_api.events
    assert event["type"] == "payment_intent.payment_failed"
    assert post_webhook(event)["state"] == "recorded"
    assert Payment.objects.count() == 0
    assert open_amount(invoice) == Decimal("119.00")
    assert actions(invoice) == ["invoice.charge_requested", "invoice.charge_failed"]


def test_a_soft_decline_is_tried_again_on_schedule_then_dunning_may_start(
    business_customer, actor, card, stripe_api, settings
):
    """Insufficient funds: tried again 3, 7 and 14 days after the first decline (four tries
    over two weeks), each try a new payment intent; the customer is mailed each time."""
    settings.FAKTURA_PAYMENT_URL = "https://portal.example/pay/{invoice_number}"
    invoice = finalized(business_customer, actor)
    stripe_api.decline(PM, code="card_declined", decline_code="insufficient_funds")
    first = clock.now()
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "declined"
    expected = [first + dt.timedelta(days=d) for d in (3, 7, 14)]
    for number, due in enumerate(expected, start=2):
        retry = CardRetry.objects.get(invoice=invoice)
        assert (retry.state, retry.next_try_at) == ("retrying", due)
        assert off_session.card_retries_pending([invoice.pk]) == {invoice.pk}  # no dunning yet
        task = DBTaskResult.objects.filter(
            task_path__endswith="charge_saved_payment_method", run_after=due
        ).get()
        assert task.args_kwargs["args"] == [invoice.pk, card.pk, 1, number]
        with clock.frozen(due + dt.timedelta(minutes=2)):  # the worker is a little late
            assert charge_saved_payment_method.call(*task.args_kwargs["args"]) == "declined"
    retry = CardRetry.objects.get(invoice=invoice)
    assert (retry.state, retry.tries, retry.next_try_at) == ("exhausted", 4, None)
    assert off_session.card_retries_pending([invoice.pk]) == set()
    keys = [r.headers["idempotency-key"] for r in stripe_api.requests]
    assert len(keys) == len(set(keys)) == 4  # a new try, not Stripe's cached decline
    mails = list(OutboxMessage.objects.filter(event="payment_failed").order_by("pk"))
    assert len(mails) == 4
    assert "Wir versuchen es am 19.11.2026 noch einmal." in mails[0].body_text
    assert "https://portal.example/pay/" + invoice.number in mails[0].body_text
    assert "Wir versuchen es nicht noch einmal." in mails[3].body_text


def test_a_card_that_pays_on_a_later_try_ends_the_retries(
    business_customer, actor, card, stripe_api
):
    invoice = finalized(business_customer, actor)
    stripe_api.decline(PM, code="card_declined", decline_code="insufficient_funds")
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "declined"
    stripe_api.declines.clear()
    with clock.frozen(clock.now() + dt.timedelta(days=3)):
        assert charge_saved_payment_method.call(invoice.pk, card.pk, 1, 2) == "charged"
    retry = CardRetry.objects.get(invoice=invoice)
    assert (retry.state, retry.tries, retry.next_try_at) == ("charged", 2, None)
    assert off_session.card_retries_pending([invoice.pk]) == set()


def test_stripe_unreachable_is_tried_again_a_bounded_number_of_times(
    business_customer, actor, card, stripe_api
):
    invoice = finalized(business_customer, actor)
    stripe_api.unavailable = True
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "retry"
    again = DBTaskResult.objects.get(task_path__endswith="charge_saved_payment_method")
    assert again.args_kwargs["args"] == [invoice.pk, card.pk, 2, 1]
    assert again.run_after == clock.now() + dt.timedelta(minutes=5)
    with pytest.raises(ProviderUnavailable):
        charge_saved_payment_method.call(invoice.pk, card.pk, CHARGE_ATTEMPTS)
    assert charges_queued() == 1
    assert actions(invoice) == []  # nothing happened that a person must know of yet
    assert Payment.objects.count() == 0


def test_an_inactive_method_is_skipped_even_when_queued_before(
    business_customer, actor, card, stripe_api
):
    invoice = finalized(business_customer, actor)
    services.request_off_session_charges(charges=[(invoice.pk, card.pk)], actor=SYSTEM)
    services.deactivate_payment_method(method_id=card.pk, actor=actor, reason="Karte gekündigt")
    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "skipped"
    assert stripe_api.requests == []
    requested = services.request_off_session_charges(charges=[(invoice.pk, card.pk)], actor=SYSTEM)
    assert requested.skipped == {invoice.pk: "saved_payment_method_inactive"}


def test_drafts_and_other_customers_cards_are_not_charged(
    business_customer, consumer, actor, card, stripe_api
):
    from tests.invoicing.helpers import line, order

    draft = order(business_customer, actor, line())
    requested = services.request_off_session_charges(charges=[(draft.pk, card.pk)], actor=SYSTEM)
    assert requested.skipped == {draft.pk: "invoice_not_payable"}
    other = invoicing.finalize_invoice(invoice_id=order(consumer, actor, line()).pk, actor=actor)
    with pytest.raises(StateConflict) as error:
        services.request_off_session_charges(charges=[(other.pk, card.pk)], actor=SYSTEM)
    assert error.value.code == "payment_method_of_other_customer"
    with pytest.raises(NotFound) as missing:
        services.request_off_session_charges(charges=[(other.pk, 999999)], actor=SYSTEM)
    assert missing.value.code == "saved_payment_method_not_found"
    assert charges_queued() == 0
    assert stripe_api.requests == []


# --- saving a method ------------------------------------------------------------------------


def test_saving_records_the_method_once_and_audits_it(business_customer, actor, card):
    assert (card.customer_id, card.provider, card.provider_customer_id, card.payment_method_id,
            card.label, card.active, card.created_by) == (
        business_customer.pk, "stripe", CUS, PM, "Visa •••• 4242", True, "user:anna"
    )  # fmt: skip
    again = services.save_payment_method(
        customer_id=business_customer.pk,
        actor=actor,
        provider_customer_id=f" {CUS} ",
        payment_method_id=PM,
    )
    assert again.pk == card.pk
    saved = AuditEntry.objects.get(action="payment_method.saved")
    assert saved.data == {
        "provider": "stripe",
        "provider_customer_id": CUS,
        "payment_method_id": PM,
        "label": "Visa •••• 4242",
    }
    services.deactivate_payment_method(method_id=card.pk, actor=actor, reason="abgelaufen")
    services.deactivate_payment_method(method_id=card.pk, actor=actor)
    card.refresh_from_db()
    assert (card.active, card.deactivated_by) == (False, "user:anna")
    assert AuditEntry.objects.filter(action="payment_method.deactivated").count() == 1
    with pytest.raises(NotFound) as error:
        services.deactivate_payment_method(method_id=999999, actor=actor)
    assert error.value.code == "saved_payment_method_not_found"


def test_a_method_of_one_customer_cannot_be_saved_for_another(
    business_customer, consumer, actor, card
):
    with pytest.raises(StateConflict) as error:
        services.save_payment_method(
            customer_id=consumer.pk, actor=actor, provider_customer_id=CUS, payment_method_id=PM
        )
    assert error.value.code == "payment_method_of_other_customer"
    with pytest.raises(NotFound) as missing:
        services.save_payment_method(
            customer_id=999999, actor=actor, provider_customer_id=CUS, payment_method_id="pm_2"
        )
    assert missing.value.code == "customer_not_found"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("provider_customer_id", "", "invalid_provider_customer_id"),
        ("provider_customer_id", "cus_", "invalid_provider_customer_id"),
        ("provider_customer_id", "pm_123", "invalid_provider_customer_id"),
        ("provider_customer_id", "cust_123", "invalid_provider_customer_id"),
        ("provider_customer_id", "cus_12 34", "invalid_provider_customer_id"),
        ("provider_customer_id", "cus_12\x0034", "invalid_provider_customer_id"),
        ("provider_customer_id", "cus_" + "a" * 252, "invalid_provider_customer_id"),
        ("provider_customer_id", None, "invalid_provider_customer_id"),
        ("payment_method_id", "card_123", "invalid_payment_method_id"),
        ("payment_method_id", "pm_ä123", "invalid_payment_method_id"),
        ("payment_method_id", "pm_1/../x", "invalid_payment_method_id"),
        ("payment_method_id", 42, "invalid_payment_method_id"),
        ("label", "Visa\u202e4242", "text_not_printable"),
        ("label", "x" * 101, "invalid_label"),
        ("provider", "paypal", "invalid_payment_provider"),
    ],
)
def test_malformed_ids_are_refused_and_nothing_is_written(
    business_customer, actor, field, value, code
):
    given = {"provider_customer_id": CUS, "payment_method_id": PM, "label": "", field: value}
    before = counts()
    with pytest.raises(InvalidInput) as error:
        services.save_payment_method(customer_id=business_customer.pk, actor=actor, **given)
    assert (error.value.code, error.value.field) == (code, field)
    assert counts() == before
    assert SavedPaymentMethod.objects.count() == 0


def test_the_longest_stripe_id_is_accepted(business_customer, actor):
    longest = "pm_" + "A1_" * 84  # 255 characters
    method = services.save_payment_method(
        customer_id=business_customer.pk,
        actor=actor,
        provider_customer_id=CUS,
        payment_method_id=longest,
    )
    assert len(method.payment_method_id) == 255


def test_card_retries_then_dunning(business_customer, actor, card, stripe_api):
    """An overdue invoice whose card declines (insufficient funds) on its due date is not
    dunned while the card is tried again (3, 7 and 14 days later); once the last try
    fails, the next dunning run sends the payment reminder for the full amount."""
    from faktura.dunning.models import DunningNotice
    from tests.dunning.helpers import overdue, run

    due = dt.date(2026, 10, 1)
    invoice = overdue(business_customer, actor, due=due)
    stripe_api.decline(PM, code="card_declined", decline_code="insufficient_funds")
    first = dt.datetime.combine(due, dt.time(9), tzinfo=dt.UTC)
    with clock.frozen(first):
        assert charge_saved_payment_method.call(invoice.pk, card.pk) == "declined"
    tries = DBTaskResult.objects.filter(task_path__endswith="charge_saved_payment_method")
    for days in (3, 7, 14):
        day = due + dt.timedelta(days=days)
        with clock.frozen(first + dt.timedelta(days=days, minutes=1)):
            task = tries.get(run_after=first + dt.timedelta(days=days))
            assert charge_saved_payment_method.call(*task.args_kwargs["args"]) == "declined"
            # The reminder is due 7 days after the due date; the card is still being tried
            # (or, on day 14, was tried for the last time a minute ago).
            sent = run(day).notices_sent
        assert sent == (1 if days == 14 else 0), day
    assert CardRetry.objects.get(invoice=invoice).state == "exhausted"
    (reminder,) = DunningNotice.objects.filter(customer=business_customer)
    assert (reminder.level, reminder.notice_date, reminder.total) == (
        0,
        dt.date(2026, 10, 15),
        Decimal("119.00"),
    )
