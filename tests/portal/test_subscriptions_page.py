"""A customer's subscriptions in the portal: the list, a change with its price preview,
pause, cancel with a reason, and taking the notice back; never another customer's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.customers.services import create_customer
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from faktura.subscriptions import services
from faktura.subscriptions.models import Charge, Subscription
from tests.portal.contract_helpers import messages_of, monthly, sign_in
from tests.subscriptions.helpers import plan

pytestmark = pytest.mark.django_db
LIST = "/portal/abonnements/"


@pytest.fixture
def other_customer(company, actor):
    return create_customer(
        actor=actor,
        kind="consumer",
        name="Erika Musterfrau",
        street="Ahornweg",
        house_number="3",
        postcode="50667",
        city="Köln",
        email="erika@example.net",
    )


def test_the_list_shows_plan_quantity_price_next_billing_and_status(client, consumer):
    subscription = monthly(consumer, price="25.00", name="Mitgliedschaft Gold")
    Subscription.objects.filter(pk=subscription.pk).update(quantity=Decimal(2))
    html = sign_in(client, consumer).get(LIST).content.decode()
    assert "Mitgliedschaft Gold" in html
    assert f"Abo-Nr. {subscription.pk}" in html
    # 2 × 25,00 net = 50,00; a consumer sees gross: 59,50 € (19 %)
    assert "59,50" in html
    assert "inkl. USt." in html
    assert subscription.next_billing_on is not None
    assert subscription.next_billing_on.strftime("%d.%m.%Y") in html
    assert ">aktiv</span>" in html
    assert "Pausieren" in html
    assert "Kündigen" in html


def test_signing_in_is_required(client, consumer):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/portal/anmelden/" in response["Location"]


def test_a_plan_change_shows_the_proration_before_it_is_confirmed(client, consumer):
    subscription = monthly(consumer, price="30.00")
    bigger = plan("bigger", price="60.00", name="Mitgliedschaft Plus")
    # November billed in advance: 30,00 net, 35,70 gross.
    _billed(subscription, dt.date(2026, 11, 1), dt.date(2026, 11, 30), Decimal("35.70"))
    client = sign_in(client, consumer)
    url = f"/portal/abonnements/{subscription.pk}/aendern/"
    form = {"plan": str(bigger.pk), "quantity": "1", "effective": "now"}
    preview = client.post(url, {**form, "step": "preview"}).content.decode()
    assert "Vorschau" in preview
    # 15 of 30 days left: credit 17,85, charge 35,70 for Plus → 17,85 more.
    assert "-17,85" in preview
    assert "35,70" in preview
    assert "Änderung verbindlich bestätigen" in preview
    subscription.refresh_from_db()
    assert subscription.plan_id != bigger.pk  # a preview changes nothing
    assert not Charge.objects.exists()

    done = client.post(url, {**form, "step": "confirm"}, follow=True)
    subscription.refresh_from_db()
    assert subscription.plan_id == bigger.pk
    assert messages_of(done) == [
        "Ihr Abonnement ist geändert. Die Änderung gilt ab dem 16.11.2026."
    ]
    charges = sorted(c.unit_price for c in Charge.objects.all())
    assert charges == [Decimal("-17.85"), Decimal("35.70")]


def test_a_change_of_nothing_is_refused_in_german(client, consumer):
    subscription = monthly(consumer)
    client = sign_in(client, consumer)
    response = client.post(
        f"/portal/abonnements/{subscription.pk}/aendern/",
        {"plan": str(subscription.plan_id), "quantity": "1", "effective": "now", "step": "preview"},
    )
    assert "Tarif und Menge sind unverändert." in response.content.decode()


def test_pause_and_resume(client, consumer):
    subscription = monthly(consumer)
    client = sign_in(client, consumer)
    paused = client.post(f"/portal/abonnements/{subscription.pk}/pausieren/", follow=True)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED
    assert messages_of(paused) == [
        f"Ihr Abonnement ruht ab dem {subscription.paused_from:%d.%m.%Y}."
    ]
    client.post(f"/portal/abonnements/{subscription.pk}/fortsetzen/")
    subscription.refresh_from_db()
    assert subscription.paused_from is None


def test_cancel_with_a_reason_and_take_it_back(client, consumer):
    subscription = monthly(consumer)
    client = sign_in(client, consumer)
    url = f"/portal/abonnements/{subscription.pk}/kuendigen/"
    assert "endet Ihr Abonnement am <strong>16.12.2026</strong>" in client.get(url).content.decode()
    done = client.post(url, {"reason": "Zu teuer"}, follow=True)
    subscription.refresh_from_db()
    assert subscription.ends_on == dt.date(2026, 12, 16)
    assert messages_of(done) == [
        "Ihr Abonnement ist gekündigt und endet am 16.12.2026. "
        "Die Bestätigung haben wir Ihnen per E-Mail geschickt."
    ]
    (mail,) = OutboxMessage.objects.filter(event=OutboxMessage.Event.CONTRACT_CANCELLED)
    assert mail.to == ["max@example.org"]
    assert "endet am 16.12.2026" in mail.body_text
    assert "Grund: Zu teuer" in mail.body_text
    entry = AuditEntry.objects.filter(action="subscription.cancelled").get()
    assert entry.data["reason"] == "Zu teuer"
    assert entry.actor == f"customer:{consumer.number}"
    assert "Kündigung zurücknehmen" in client.get(LIST).content.decode()

    undone = client.post(
        f"/portal/abonnements/{subscription.pk}/kuendigung-zuruecknehmen/", follow=True
    )
    subscription.refresh_from_db()
    assert subscription.ends_on is None
    assert subscription.status == Subscription.Status.ACTIVE
    assert messages_of(undone) == [
        "Ihre Kündigung ist zurückgenommen; das Abonnement läuft weiter."
    ]
    assert AuditEntry.objects.filter(action="subscription.cancellation_undone").count() == 1


def test_undo_is_refused_after_the_end(consumer):
    subscription = monthly(consumer)
    me = Actor.for_customer(consumer.pk, consumer.number)
    services.cancel_own_subscription(actor=me, subscription_id=subscription.pk)
    with (
        clock.frozen(dt.datetime(2026, 12, 17, 9, tzinfo=dt.UTC)),
        pytest.raises(StateConflict) as refused,
    ):
        services.undo_own_cancellation(actor=me, subscription_id=subscription.pk)
    assert refused.value.code == "cancellation_took_effect"
    subscription.refresh_from_db()
    assert subscription.ends_on == dt.date(2026, 12, 16)


def test_another_customers_subscription_is_not_there(client, consumer, other_customer):
    theirs = monthly(other_customer)
    client = sign_in(client, consumer)
    assert f"Abo-Nr. {theirs.pk}" not in client.get(LIST).content.decode()
    for path, method in (
        ("aendern/", "get"),
        ("kuendigen/", "get"),
        ("pausieren/", "post"),
        ("kuendigen/", "post"),
        ("kuendigung-zuruecknehmen/", "post"),
    ):
        response = getattr(client, method)(f"/portal/abonnements/{theirs.pk}/{path}")
        assert response.status_code == 404, path
    theirs.refresh_from_db()
    assert (theirs.ends_on, theirs.paused_from) == (None, None)


@pytest.mark.parametrize(
    "call",
    [
        lambda me, pk: services.pause_own_subscription(actor=me, subscription_id=pk),
        lambda me, pk: services.cancel_own_subscription(actor=me, subscription_id=pk),
        lambda me, pk: services.undo_own_cancellation(actor=me, subscription_id=pk),
        lambda me, pk: services.change_own_subscription(
            actor=me, subscription_id=pk, quantity="2", dry_run=True
        ),
    ],
)
def test_the_services_refuse_another_customers_subscription(consumer, other_customer, call):
    theirs = monthly(other_customer)
    me = Actor.for_customer(consumer.pk, consumer.number)
    with pytest.raises(PermissionRefused):
        call(me, theirs.pk)
    theirs.refresh_from_db()
    assert (theirs.ends_on, theirs.paused_from, theirs.quantity) == (None, None, Decimal(1))


@pytest.mark.parametrize(
    "call",
    [
        lambda me, pk: services.pause_subscription(actor=me, subscription_id=pk),
        lambda me, pk: services.cancel_subscription(actor=me, subscription_id=pk),
        lambda me, pk: services.change_subscription(
            actor=me, subscription_id=pk, quantity="2", dry_run=True
        ),
    ],
)
def test_the_staff_services_refuse_a_customer_even_on_their_own_subscription(consumer, call):
    mine = monthly(consumer)
    me = Actor.for_customer(consumer.pk, consumer.number)
    with pytest.raises(PermissionRefused) as refused:
        call(me, mine.pk)
    assert "subscription.manage" in str(refused.value)
    mine.refresh_from_db()
    assert (mine.ends_on, mine.paused_from, mine.quantity) == (None, None, Decimal(1))


def test_a_customer_may_not_create_subscriptions(consumer):
    me = Actor.for_customer(consumer.pk, consumer.number)
    with pytest.raises(PermissionRefused):
        services.create_subscription(actor=me, customer_id=consumer.pk, plan_id=plan().pk)


def _billed(subscription: Subscription, start: dt.date, end: dt.date, amount: Decimal) -> None:
    """Mark a period billed, on a finalized invoice (as the billing run leaves it)."""
    from faktura.subscriptions.models import BilledPeriod
    from tests.payments.helpers import finalized

    invoice = finalized(subscription.customer, Actor.system("test"))
    assert isinstance(invoice, Invoice)
    BilledPeriod.objects.create(
        subscription=subscription,
        period_start=start,
        period_end=end,
        period_index=10,
        invoice=invoice,
        amount=amount,
    )
    Subscription.objects.filter(pk=subscription.pk).update(next_period_index=11)
