"""MRR at a date and its movement in November 2026, churn reasons, trials, card recovery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faktura.access.models import AccessBlock
from faktura.core import clock
from faktura.payments import services as payments
from faktura.payments.models import CardRetry, SavedPaymentMethod
from faktura.reporting.subscription_figures import (
    mrr,
    mrr_by_customer,
    mrr_movement,
    payment_recovery,
    subscription_figures_table,
    trial_conversion,
)
from faktura.reporting.tables import csv_bytes
from faktura.subscriptions.models import Coupon, Discount
from tests.invoicing.helpers import line
from tests.reporting.helpers import business, finalized
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db

D = Decimal
NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _day(year, month, day):
    return dt.date(year, month, day)


@pytest.fixture
def plans(company):
    return {
        "monthly": plan("monthly", price="30.00"),
        "yearly": plan("yearly", price="1200.00", interval="year"),
        "quarterly_gross": plan(
            "quarterly", price="119.00", interval="quarter", price_mode="gross"
        ),
        "weekly": plan("weekly", price="12.00", interval="week"),
    }


@pytest.fixture
def customers(company, actor):
    return {
        name: business(actor, city=f"Ort{name}", name=f"Kunde {name} GmbH")
        for name in "ABCDEFGHIJK"
    }


@pytest.fixture
def book(plans, customers):
    c, p = customers, plans
    subscribe(c["A"], p["monthly"], starts_on=_day(2026, 1, 1), quantity="2")
    subscribe(c["B"], p["yearly"], starts_on=_day(2026, 3, 1))
    subscribe(c["B"], p["monthly"], starts_on=_day(2026, 11, 10))  # expansion
    subscribe(  # gave notice: voluntary churn
        c["C"],
        p["quarterly_gross"],
        starts_on=_day(2026, 5, 1),
        ends_on=_day(2026, 11, 15),
        notice_received_on=_day(2026, 10, 1),
    )
    subscribe(c["D"], p["monthly"], starts_on=_day(2026, 6, 1), ends_on=_day(2026, 11, 20))
    AccessBlock.objects.create(  # blocked for arrears: failed-payment churn
        customer=c["D"],
        reason=AccessBlock.Reason.DUNNING_LEVEL,
        effect="block",
        since=dt.datetime(2026, 11, 5, 8, tzinfo=dt.UTC),
        created_by="system",
    )
    subscribe(c["E"], p["monthly"], starts_on=_day(2026, 11, 5))  # new
    subscribe(c["F"], p["monthly"], starts_on=_day(2026, 1, 1), ends_on=_day(2026, 5, 1))
    subscribe(c["F"], p["weekly"], starts_on=_day(2026, 11, 10))  # reactivation
    discounted = subscribe(c["G"], p["monthly"], starts_on=_day(2026, 2, 1), quantity="3")
    coupon = Coupon.objects.create(
        code="treue",
        name="Treue",
        kind="percent",
        value=D("10.00"),
        duration="forever",
        created_at=clock.now(),
    )
    Discount.objects.create(subscription=discounted, coupon=coupon, created_at=clock.now())
    subscribe(c["H"], p["monthly"], starts_on=_day(2026, 1, 1), paused_from=_day(2026, 11, 10))
    subscribe(c["I"], p["monthly"], starts_on=_day(2026, 1, 1))
    subscribe(c["I"], p["monthly"], starts_on=_day(2026, 1, 1), ends_on=_day(2026, 11, 15))
    subscribe(  # trial converted
        c["J"], p["monthly"], starts_on=_day(2026, 11, 1), trial_ends_on=_day(2026, 11, 14)
    )
    subscribe(  # trial not converted
        c["K"],
        p["monthly"],
        starts_on=_day(2026, 11, 1),
        trial_ends_on=_day(2026, 11, 20),
        ends_on=_day(2026, 11, 20),
    )
    return c


def test_mrr_at_a_date_normalizes_intervals_gross_prices_and_coupons(book):
    by_customer = mrr_by_customer(_day(2026, 10, 31))
    names = {customer.pk: name for name, customer in book.items()}
    assert {names[pk]: amount for pk, amount in by_customer.items()} == {
        "A": D("60.00"),  # 2 × 30
        "B": D("100.00"),  # 1200 a year
        "C": D("33.33"),  # 119 gross a quarter: 100 net ÷ 3
        "D": D("30.00"),
        "G": D("81.00"),  # 3 × 30 less 10 %
        "H": D("30.00"),
        "I": D("60.00"),
    }
    assert mrr(_day(2026, 10, 31)) == D("394.33")
    # F's weekly plan: 12 × 52 ÷ 12.
    assert mrr_by_customer(NOV_30)[book["F"].pk] == D("52.00")
    assert mrr(NOV_30) == D("413.00")


def test_mrr_movement_of_november(book):
    movement = mrr_movement(NOV_1, NOV_30)
    assert (
        movement.mrr_start,
        movement.new,
        movement.expansion,
        movement.contraction,
        movement.churn,
        movement.reactivation,
        movement.mrr_end,
    ) == (D("394.33"), D("60.00"), D("30.00"), D("30.00"), D("93.33"), D("52.00"), D("413.00"))
    assert movement.churn_by_reason == {
        "voluntary": D("33.33"),
        "failed_payment": D("30.00"),
        "other": D("30.00"),  # H paused
    }
    assert movement.customers == {
        "new": 2,
        "expansion": 1,
        "contraction": 1,
        "churn": 3,
        "reactivation": 1,
        "voluntary": 1,
        "failed_payment": 1,
        "other": 1,
    }
    assert movement.balanced


def test_trial_conversion(book):
    trials = trial_conversion(NOV_1, NOV_30)
    assert (trials.trials_ended, trials.converted, trials.rate) == (2, 1, D("50.00"))
    assert trial_conversion(_day(2026, 10, 1), _day(2026, 10, 31)).rate is None


def test_the_csv_lists_every_figure(book):
    lines = csv_bytes(subscription_figures_table(NOV_1, NOV_30)).decode("utf-8-sig").splitlines()
    assert lines[0] == "Schlüssel;Kennzahl;Anzahl;Betrag (netto/Monat);Anteil (%)"
    assert lines[1] == "mrr_start;MRR am Vortag des Beginns;;394,33;"
    assert lines[7] == "churn_failed_payment;Abgang: Zahlungsausfall;1;30,00;"
    assert lines[12] == "trials_converted;Davon umgewandelt;1;;50,00"
    assert len(lines) == 16


def test_failed_card_payments_recovered_by_retries_and_by_dunning(company, actor):
    customer = business(actor)
    method = SavedPaymentMethod.objects.create(
        customer=customer,
        provider_customer_id="cus_1",
        payment_method_id="pm_1",
        created_at=clock.now(),
        created_by="test",
    )
    invoices = [
        finalized(customer, actor, line(price=price), day=_day(2026, 11, 2))
        for price in ("100.00", "200.00", "300.00", "400.00")
    ]
    states = ["charged", "exhausted", "exhausted", "retrying"]
    for invoice, state in zip(invoices, states, strict=True):
        CardRetry.objects.create(
            invoice=invoice,
            method=method,
            state=state,
            first_declined_at=dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC),
            updated_at=clock.now(),
        )
    cashier = type(actor)(label="user:kai", roles=frozenset({"cashier"}))
    paid = payments.record_payment(
        actor=cashier, amount="238.00", date=NOV_1 + dt.timedelta(days=10), method="transfer",
        source="manual", customer_id=customer.pk,
    )  # fmt: skip
    payments.allocate_payment(
        payment_id=paid.pk, allocations=[(invoices[1].pk, "238.00")], actor=cashier
    )
    recovery = payment_recovery(NOV_1, NOV_30)
    assert (recovery.failed, recovery.recovered_by_retries, recovery.recovered_by_dunning) == (
        4,
        1,
        1,
    )
    assert (
        recovery.failed_amount,
        recovery.recovered_by_retries_amount,
        recovery.recovered_by_dunning_amount,
    ) == (D("1190.00"), D("119.00"), D("238.00"))
    assert (recovery.share(1), recovery.share(0)) == (D("25.00"), D("0.00"))
    assert payment_recovery(_day(2026, 12, 1), _day(2026, 12, 31)).failed == 0


# --- the movement always adds up -----------------------------------------------------------

subscriptions_drawn = st.lists(
    st.fixed_dictionaries(
        {
            "customer": st.integers(0, 3),
            "plan": st.sampled_from(["monthly", "yearly", "quarterly_gross", "weekly"]),
            "quantity": st.integers(1, 4),
            "start": st.integers(0, 120),  # days after 2026-09-01
            "length": st.one_of(st.none(), st.integers(1, 120)),
            "trial": st.one_of(st.none(), st.integers(1, 30)),
            "pause": st.one_of(st.none(), st.integers(1, 60)),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=subscriptions_drawn, start_offset=st.integers(0, 90), days=st.integers(0, 60))
def test_mrr_start_plus_movements_is_mrr_end(plans, customers, drawn, start_offset, days):
    from faktura.subscriptions.models import Subscription

    Subscription.objects.all().delete()
    origin = _day(2026, 9, 1)
    people = list(customers.values())
    for item in drawn:
        starts = origin + dt.timedelta(days=item["start"])
        subscribe(
            people[item["customer"]],
            plans[item["plan"]],
            starts_on=starts,
            quantity=str(item["quantity"]),
            ends_on=starts + dt.timedelta(days=item["length"]) if item["length"] else None,
            trial_ends_on=starts + dt.timedelta(days=item["trial"]) if item["trial"] else None,
            paused_from=starts + dt.timedelta(days=item["pause"]) if item["pause"] else None,
        )
    start = origin + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=days)
    movement = mrr_movement(start, end)
    assert movement.mrr_start == mrr(start - dt.timedelta(days=1))
    assert movement.mrr_end == mrr(end)
    assert (
        movement.mrr_start
        + movement.new
        + movement.expansion
        - movement.contraction
        - movement.churn
        + movement.reactivation
        == movement.mrr_end
    )
    assert sum(movement.churn_by_reason.values()) == movement.churn
