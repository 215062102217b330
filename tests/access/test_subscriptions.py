"""Subscriptions of a blocked customer: paid periods stay usable; "pause" bills them later.

The billing run skips a blocked customer only with the setting "pause"; its periods stay
unbilled and the first run after unblocking bills each missed period once, with no gap.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.access import selectors, services
from faktura.access.models import AccessSettings
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.invoicing.models import Invoice
from faktura.payments import services as payments
from faktura.subscriptions.models import BilledPeriod, BillingRun
from faktura.subscriptions.run import run_billing
from tests.banking.helpers import api_client
from tests.payments.helpers import pay
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("billing-run")
D = dt.date


def bill(day: dt.date) -> BillingRun:
    with clock.frozen(day):
        return run_billing(billing_date=day, actor=SYSTEM)


def periods(subscription) -> list[tuple[dt.date, dt.date]]:
    return list(
        BilledPeriod.objects.filter(subscription=subscription)
        .order_by("period_start")
        .values_list("period_start", "period_end")
    )


def test_a_paid_yearly_plan_stays_usable_while_the_monthly_one_is_blocked(
    company, business_customer, actor
):
    yearly = subscribe(
        business_customer, plan("yearly", price="300.00", interval="year"), starts_on=D(2026, 11, 1)
    )
    bill(D(2026, 11, 1))
    monthly = subscribe(business_customer, plan("monthly"), starts_on=D(2026, 11, 16))
    bill(D(2026, 11, 16))
    yearly_invoice, monthly_invoice = Invoice.objects.order_by("pk")
    assert (yearly_invoice.grand_total, monthly_invoice.grand_total) == (
        Decimal("357.00"),
        Decimal("35.70"),
    )
    payment = pay(actor, "357.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(yearly_invoice.pk, "357.00")], actor=actor
    )
    services.block(
        customer_id=business_customer.pk,
        reason="dunning_level",
        level=2,
        effect="block",
        invoice_ids=[monthly_invoice.pk],
        why="2. Mahnung",
        actor=Actor.system("dunning-run"),
    )
    answer = api_client("viewer").get_json(f"/customers/{business_customer.pk}/access").json()
    assert answer["status"] == "blocked"
    assert [(r["reason"], r["effect"], r["invoices"]) for r in answer["reasons"]] == [
        ("dunning_level", "block", [monthly_invoice.number])
    ]
    assert answer["subscriptions"] == [
        {"id": yearly.pk, "plan": "yearly", "status": "active", "paid_through": "2027-10-31"},
        {"id": monthly.pk, "plan": "monthly", "status": "active", "paid_through": None},
    ]


def test_pause_skips_a_blocked_customer_and_bills_the_missed_periods_once_after(
    company, business_customer, consumer, actor
):
    AccessSettings.objects.create(subscriptions_while_blocked="pause")
    monthly = plan("monthly")
    blocked_sub = subscribe(business_customer, monthly, starts_on=D(2026, 11, 16))
    other_sub = subscribe(consumer, monthly, starts_on=D(2026, 11, 16))
    bill(D(2026, 11, 16))
    with clock.frozen(D(2026, 11, 20)):
        block = services.block(
            customer_id=business_customer.pk,
            reason="manual",
            effect="block",
            why="Zahlungsausfall",
            actor=actor,
        )
    for day in (D(2026, 12, 16), D(2027, 1, 16)):
        bill(day)
    assert periods(blocked_sub) == [(D(2026, 11, 16), D(2026, 12, 15))]
    assert len(periods(other_sub)) == 3  # the others are billed as always

    with clock.frozen(D(2027, 1, 20)):
        services.lift(block_id=block.pk, actor=actor, why="bezahlt")
        assert selectors.status(business_customer.pk) == "active"
    bill(D(2027, 1, 20))
    bill(D(2027, 1, 21))  # a second run bills nothing more
    assert periods(blocked_sub) == [
        (D(2026, 11, 16), D(2026, 12, 15)),
        (D(2026, 12, 16), D(2027, 1, 15)),
        (D(2027, 1, 16), D(2027, 2, 15)),
    ]
    bill(D(2027, 2, 16))
    assert periods(blocked_sub)[-1] == (D(2027, 2, 16), D(2027, 3, 15))
    assert len(periods(blocked_sub)) == 4


def test_keep_bills_a_blocked_customer_as_always(company, business_customer, actor):
    subscription = subscribe(business_customer, plan("monthly"), starts_on=D(2026, 11, 16))
    services.block(
        customer_id=business_customer.pk,
        reason="manual",
        effect="block",
        why="Zahlungsausfall",
        actor=actor,
    )
    bill(D(2026, 11, 16))
    bill(D(2026, 12, 16))
    assert len(periods(subscription)) == 2


def test_pause_does_not_skip_a_restricted_or_overridden_customer(company, business_customer, actor):
    AccessSettings.objects.create(subscriptions_while_blocked="pause")
    subscription = subscribe(business_customer, plan("monthly"), starts_on=D(2026, 11, 16))
    services.block(
        customer_id=business_customer.pk,
        reason="manual",
        effect="restrict",
        why="Einschränkung",
        actor=actor,
    )
    bill(D(2026, 11, 16))
    services.block(
        customer_id=business_customer.pk, reason="manual", effect="block", why="Sperre", actor=actor
    )
    services.override(customer_id=business_customer.pk, until=None, why="Kulanz", actor=actor)
    bill(D(2026, 12, 16))
    assert len(periods(subscription)) == 2
