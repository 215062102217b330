"""A customer's subscriptions for the portal: what runs, what it costs, what may be done."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from faktura.core import clock
from faktura.core.money import round_money
from faktura.customers.models import Customer
from faktura.subscriptions import billing, services
from faktura.subscriptions.models import Plan, Subscription

Status = Subscription.Status


@dataclass(frozen=True)
class SubscriptionRow:
    subscription: Subscription
    name: str
    unit_price: Decimal | None  # per interval and unit, in ``price_mode``
    amount: Decimal | None  # per interval: unit price × quantity
    price_mode: str
    earliest_end: dt.date | None
    can_change: bool
    can_pause: bool
    can_resume: bool
    can_cancel: bool
    can_undo_cancellation: bool


def row(subscription: Subscription, *, today: dt.date | None = None) -> SubscriptionRow:
    """One subscription with its current price and the actions its state allows."""
    day = today or clock.today()
    plan = subscription.plan
    mode = billing.price_mode_for(subscription.customer.is_consumer)
    ended = subscription.status == Status.ENDED
    unit_price = amount = None
    earliest = None
    if plan is not None:
        unit_price = services.plan_price(plan, subscription, max(day, subscription.billing_anchor))
        amount = round_money(unit_price * subscription.quantity)
        if subscription.ends_on is None and not ended:
            earliest = services.earliest_end(subscription, received_on=day)
    running = plan is not None and not ended
    return SubscriptionRow(
        subscription=subscription,
        name=str(plan or subscription.course),
        unit_price=unit_price,
        amount=amount,
        price_mode=mode,
        earliest_end=earliest,
        can_change=running and subscription.paused_from is None,
        can_pause=running and subscription.paused_from is None and subscription.ends_on is None,
        can_resume=running and subscription.paused_from is not None,
        can_cancel=running and subscription.ends_on is None,
        can_undo_cancellation=(
            running and subscription.ends_on is not None and day <= subscription.ends_on
        ),
    )


def customer_subscriptions(customer: Customer) -> list[SubscriptionRow]:
    """The customer's subscriptions and course bookings, newest first."""
    subscriptions = (
        Subscription.objects.filter(customer=customer)
        .select_related("customer", "plan__product__tax_rate", "course", "scheduled_plan")
        .order_by("-starts_on", "-pk")
    )
    today = clock.today()
    return [row(s, today=today) for s in subscriptions]


def plans_to_choose(customer: Customer, current: Plan | None) -> list[Plan]:
    """The plans a customer may switch to: active ones their contract type allows."""
    plans = list(Plan.objects.filter(active=True).select_related("product__tax_rate"))
    if customer.is_consumer:
        plans = [p for p in plans if not p.contract_terms.violations_for_consumers()]
    if current is not None and all(p.pk != current.pk for p in plans):
        plans.insert(0, current)
    return plans
