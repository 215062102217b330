"""How a customer pays: transfer, SEPA direct debit or a saved card, for the account and
every running subscription at once (what the portal's payment page offers).

A card is saved through a Stripe Checkout in setup mode: ``start_card_setup`` asks Stripe
for the checkout (network, outside any transaction), the customer enters the card at
Stripe, and ``complete_card_setup`` reads the finished checkout back from Stripe and
then, in one transaction, saves the method, retires the customer's earlier cards (a card
is replaced, not collected) and makes it the way the customer pays. Stripe's signed
``checkout.session.completed`` event does the same through ``save_card_from_setup``, so
the card is saved even when the customer never comes back from Stripe's page; whichever
comes second finds the card saved and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.customers.models import Customer
from faktura.payments import off_session
from faktura.payments.models import SavedPaymentMethod
from faktura.subscriptions import services
from faktura.subscriptions.models import PaymentMethod, Subscription

if TYPE_CHECKING:
    from faktura.payments.providers.stripe_provider import SetupResult, StripeProvider

OPERATION = "payment_method.choose"
STRIPE = SavedPaymentMethod.Provider.STRIPE


def _lock(customer_id: int) -> Customer:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.", code="customer_not_found")
    return customer


def _apply(
    customer: Customer,
    method: str,
    actor: Actor,
    *,
    mandate_id: int | None = None,
    saved_payment_method_id: int | None = None,
) -> None:
    """Set ``method`` on the locked customer and their running subscriptions (audited)."""
    today = clock.today()
    mandate, saved = services._check_payment_method(
        customer, method, mandate_id, today, saved_payment_method_id
    )
    before = customer.preferred_payment_method
    if before != method:
        customer.preferred_payment_method = method
        Customer.objects.filter(pk=customer.pk).update(
            preferred_payment_method=method, updated_at=clock.now()
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="customer.updated",
            object_type="customer",
            object_id=customer.pk,
            data={
                "before": {"preferred_payment_method": before},
                "after": {"preferred_payment_method": method},
            },
        )
    running = (
        Subscription.objects.select_for_update()
        .filter(customer=customer)
        .exclude(status=Subscription.Status.ENDED)
        .order_by("pk")
    )
    for subscription in running:
        same = (
            subscription.payment_method == method
            and subscription.mandate_id == (mandate.pk if mandate else None)
            and subscription.saved_payment_method_id == (saved.pk if saved else None)
        )
        if same:
            continue
        subscription.payment_method = method
        subscription.mandate = mandate
        subscription.saved_payment_method = saved
        subscription.save(update_fields=["payment_method", "mandate", "saved_payment_method"])
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="subscription.payment_method_changed",
            object_type="subscription",
            object_id=subscription.pk,
            data={
                "payment_method": method,
                "mandate": mandate.reference if mandate else None,
                "saved_payment_method": saved.pk if saved else None,
            },
        )


def choose_payment_method(*, actor: Actor, customer_id: int, method: str) -> Customer:
    """The customer pays by ``method`` from now on: transfer, direct debit (their usable
    mandate) or provider (their active saved card), their subscriptions too.

    Raises InvalidInput invalid_payment_method; StateConflict mandate_required,
    saved_payment_method_required; PermissionRefused for another customer's account.
    """
    permissions.require(actor, OPERATION)
    permissions.require_own(actor, customer_id)
    if method not in PaymentMethod.values:
        raise InvalidInput(
            f"method: {str(method)[:40]!r} is not transfer, direct_debit or provider",
            code="invalid_payment_method",
            field="method",
        )
    with transaction.atomic():
        customer = _lock(customer_id)
        _apply(customer, method, actor)
    return customer


def _stripe() -> StripeProvider:
    from faktura.payments.providers import get_provider
    from faktura.payments.providers.stripe_provider import StripeProvider

    provider = get_provider(STRIPE)
    assert isinstance(provider, StripeProvider)
    return provider


def start_card_setup(*, actor: Actor, customer_id: int, success_url: str, cancel_url: str) -> str:
    """Where to send the customer to save a card with Stripe (a setup checkout's URL).

    Network; call it outside transactions. Writes nothing. Raises ProviderNotConfigured,
    ProviderUnavailable.
    """
    permissions.require(actor, OPERATION)
    permissions.require_own(actor, customer_id)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.", code="customer_not_found")
    provider = _stripe()
    known = (
        SavedPaymentMethod.objects.filter(customer=customer, provider=STRIPE)
        .order_by("-pk")
        .values_list("provider_customer_id", flat=True)
        .first()
    )
    provider_customer = known or provider.create_customer(
        customer_id=customer.pk, number=customer.number, name=customer.name, email=customer.email
    )
    session = provider.create_setup_checkout(
        customer_id=customer.pk,
        customer_number=customer.number,
        provider_customer_id=provider_customer,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    return session.url


def complete_card_setup(*, actor: Actor, customer_id: int, session_id: str) -> SavedPaymentMethod:
    """Save the card of a finished setup checkout and pay with it from now on.

    Asks Stripe first (outside the transaction), then saves the method, deactivates the
    customer's other cards and switches the account and its subscriptions to it. A
    checkout made for another customer is refused (``setup_not_completed``). Raises
    ProviderUnavailable, StateConflict setup_not_completed.
    """
    permissions.require(actor, OPERATION)
    permissions.require_own(actor, customer_id)
    result = _stripe().completed_setup(str(session_id or "")[:255])
    if result.customer_id != customer_id:
        raise StateConflict(
            "The setup checkout was not made for this customer.", code="setup_not_completed"
        )
    cus, pm = off_session.check_stripe_ids(result.provider_customer_id, result.payment_method_id)
    with transaction.atomic():
        customer = _lock(customer_id)
        known = _known_card(customer, pm)
        if known is not None and known.active:
            # Stripe's event was first (or the page was reloaded): the card is saved.
            return known
        method = _save_and_choose(customer, actor, cus, pm, result, source="portal")
    return method


@dataclass(frozen=True, slots=True)
class CardSetupOutcome:
    """What ``save_card_from_setup`` did: ``saved`` the card, found it ``known`` already,
    or left it because the customer's current card is ``newer`` (then ``method`` is that)."""

    method: SavedPaymentMethod
    result: str  # "saved", "known" or "newer"


def save_card_from_setup(
    *,
    actor: Actor,
    setup: SetupResult,
    source: str,
    reported_at: dt.datetime | None = None,
) -> CardSetupOutcome:
    """Save the card of a setup checkout that Stripe reported complete (its signed event).

    The checkout names the customer (metadata ``faktura_customer_id`` and, for checkouts
    started since, ``faktura_customer_number``); the card is saved with its brand, last
    four digits and expiry, replaces the customer's earlier cards, and becomes the way
    the customer and their subscriptions pay, in one transaction, audited with
    ``source`` (the event). Nothing changes when this customer saved the card before
    (the customer came back to the portal first; or the card was replaced or withdrawn
    since: an old card never comes back), nor when the customer's active card was saved
    after ``reported_at`` (Stripe's time of the event: events may arrive out of order).

    Raises NotFound setup_customer_unknown (no such customer here, or another number:
    a checkout of another installation); InvalidInput invalid_provider_customer_id,
    invalid_payment_method_id; StateConflict payment_method_of_other_customer;
    PermissionRefused.
    """
    permissions.require(actor, OPERATION)
    if setup.customer_id is None:
        raise NotFound(
            "The setup checkout names no Faktura customer.", code="setup_customer_unknown"
        )
    permissions.require_own(actor, setup.customer_id)
    cus, pm = off_session.check_stripe_ids(setup.provider_customer_id, setup.payment_method_id)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=setup.customer_id).first()
        if customer is None or (setup.customer_number and setup.customer_number != customer.number):
            raise NotFound(
                f"The setup checkout names customer {setup.customer_id}"
                f"{' ' + setup.customer_number if setup.customer_number else ''}, "
                "who is not a customer here.",
                code="setup_customer_unknown",
            )
        known = _known_card(customer, pm)
        if known is not None:
            return CardSetupOutcome(known, "known")
        current = (
            SavedPaymentMethod.objects.filter(customer=customer, provider=STRIPE, active=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if current is not None and reported_at is not None and current.created_at > reported_at:
            return CardSetupOutcome(current, "newer")
        method = _save_and_choose(customer, actor, cus, pm, setup, source=source)
    return CardSetupOutcome(method, "saved")


def _known_card(customer: Customer, pm: str) -> SavedPaymentMethod | None:
    return (
        SavedPaymentMethod.objects.filter(customer=customer, provider=STRIPE, payment_method_id=pm)
        .order_by("-active", "-pk")
        .first()
    )


def _save_and_choose(
    customer: Customer, actor: Actor, cus: str, pm: str, setup: SetupResult, *, source: str
) -> SavedPaymentMethod:
    """Save the card for the locked customer, retire their other cards, pay with it."""
    method = off_session.save_locked(
        customer,
        actor=actor,
        provider=STRIPE,
        cus=cus,
        pm=pm,
        label=setup.label,
        card=setup.card,
        source=source,
    )
    for other in (
        SavedPaymentMethod.objects.select_for_update()
        .filter(customer=customer, active=True)
        .exclude(pk=method.pk)
        .order_by("pk")
    ):
        off_session.deactivate_locked(other, actor=actor, reason="Durch neue Karte ersetzt")
    _apply(customer, PaymentMethod.PROVIDER, actor, saved_payment_method_id=method.pk)
    return method
