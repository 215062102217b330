"""Default interest (§ 288 BGB), the flat fee and the § 367 order: exact figures."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from faktura.core.money import round_money
from faktura.dunning.interest import (
    allocate_367,
    default_begins,
    interest_periods,
    rate_on,
    surcharge,
)

# The table the data migration writes: the figures below are those of the database.
RATES = importlib.import_module("faktura.dunning.migrations.0002_base_rates").RATES

D = dt.date


def test_business_claim_split_at_the_base_rate_change():
    periods = interest_periods(
        principal=Decimal("1000.00"),
        start=D(2025, 6, 1),
        end=D(2025, 8, 31),
        consumer=False,
        rates=RATES,
    )
    assert [(p.start, p.end, p.days, p.rate, p.amount) for p in periods] == [
        # 1000 × 11.27 % × 30 / 365 = 9.2630…
        (D(2025, 6, 1), D(2025, 6, 30), 30, Decimal("11.27"), Decimal("9.26")),
        # 1000 × 10.27 % × 62 / 365 = 17.4443…
        (D(2025, 7, 1), D(2025, 8, 31), 62, Decimal("10.27"), Decimal("17.44")),
    ]


def test_consumer_rate_is_base_plus_five_and_unchanged_into_2026():
    periods = interest_periods(
        principal=Decimal("119.00"),
        start=D(2025, 12, 20),
        end=D(2026, 1, 10),
        consumer=True,
        rates=RATES,
    )
    # 1 January 2026 "changes" to the same 1.27 %: two lines, the same rate.
    assert [(p.days, p.rate, p.amount) for p in periods] == [
        (12, Decimal("6.27"), Decimal("0.25")),  # 119 × 6.27 % × 12 / 365 = 0.2453
        (10, Decimal("6.27"), Decimal("0.20")),  # 0.2044
    ]


def test_default_begins_the_day_after_the_due_date():
    assert default_begins(D(2026, 10, 1)) == D(2026, 10, 2)
    assert surcharge(consumer=True) == 5
    assert surcharge(consumer=False) == 9


def test_nothing_for_an_empty_span_or_no_principal():
    assert (
        interest_periods(
            principal=Decimal("10"),
            start=D(2026, 1, 2),
            end=D(2026, 1, 1),
            consumer=True,
            rates=RATES,
        )
        == []
    )
    assert (
        interest_periods(
            principal=Decimal("0"),
            start=D(2026, 1, 1),
            end=D(2026, 2, 1),
            consumer=True,
            rates=RATES,
        )
        == []
    )


@given(
    principal=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    start=st.dates(min_value=D(2023, 1, 1), max_value=D(2026, 12, 31)),
    days=st.integers(min_value=1, max_value=1500),
    consumer=st.booleans(),
)
def test_periods_cover_every_day_once_and_each_is_rounded(principal, start, days, consumer):
    end = start + dt.timedelta(days=days - 1)
    periods = interest_periods(
        principal=principal, start=start, end=end, consumer=consumer, rates=RATES
    )
    assert periods[0].start == start
    assert periods[-1].end == end
    assert sum(p.days for p in periods) == days
    for before, after in itertools.pairwise(periods):
        assert after.start == before.end + dt.timedelta(days=1)
        assert after.start.month in (1, 7)
        assert after.start.day == 1
    for p in periods:
        assert p.rate == rate_on(p.start, RATES) + (5 if consumer else 9)
        assert p.amount == round_money(principal * p.rate * p.days / Decimal(36500))
    # Splitting never changes the total by more than half a cent per period.
    whole = sum(principal * p.rate * p.days / Decimal(36500) for p in periods)
    assert abs(sum(p.amount for p in periods) - whole) <= Decimal("0.005") * len(periods)


@given(
    amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=2),
    costs=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
    interest=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
    principal=st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2),
)
def test_367_order_costs_interest_principal(amount, costs, interest, principal):
    share = allocate_367(amount, costs=costs, interest=interest, principal=principal)
    assert share.costs + share.interest + share.principal + share.rest == amount
    assert share.rest >= 0
    # A later class only gets money when every earlier one is settled.
    if share.interest > 0:
        assert share.costs == costs
    if share.principal > 0:
        assert share.interest == interest
    if share.rest > 0:
        assert share.principal == principal


def test_367_partial_payment():
    share = allocate_367(
        Decimal("50.00"), costs=Decimal("42.50"), interest=Decimal("1.01"), principal=Decimal("119")
    )
    assert (share.costs, share.interest, share.principal, share.rest) == (
        Decimal("42.50"),
        Decimal("1.01"),
        Decimal("6.49"),
        Decimal("0.00"),
    )
