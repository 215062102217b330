"""Billing periods: anchored on the anchor, gapless, due once, prorated to the cent."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faktura.subscriptions.periods import (
    Interval,
    Period,
    Timing,
    period,
    period_index_on,
    period_on,
    periods_due,
    prorated,
)

D = dt.date


def test_monthly_from_31_january_comes_back_to_the_31st():
    starts = [period(D(2026, 1, 31), Interval.MONTH, i).start for i in range(5)]
    assert starts == [
        D(2026, 1, 31),
        D(2026, 2, 28),
        D(2026, 3, 31),
        D(2026, 4, 30),
        D(2026, 5, 31),
    ]
    assert period(D(2026, 1, 31), Interval.MONTH, 0) == Period(D(2026, 1, 31), D(2026, 2, 27), 0)
    assert period(D(2026, 1, 31), Interval.MONTH, 1).end == D(2026, 3, 30)


def test_leap_year_february():
    assert period(D(2028, 1, 31), Interval.MONTH, 1).start == D(2028, 2, 29)


@pytest.mark.parametrize(
    ("interval", "second_start"),
    [
        (Interval.WEEK, D(2026, 1, 22)),
        (Interval.MONTH, D(2026, 2, 15)),
        (Interval.QUARTER, D(2026, 4, 15)),
        (Interval.HALF_YEAR, D(2026, 7, 15)),
        (Interval.YEAR, D(2027, 1, 15)),
    ],
)
def test_every_interval(interval, second_start):
    first = period(D(2026, 1, 15), interval, 0)
    assert first.start == D(2026, 1, 15)
    assert first.end == second_start - dt.timedelta(days=1)
    assert period(D(2026, 1, 15), interval, 1).start == second_start


def test_in_advance_due_on_the_first_day_in_arrears_the_day_after_the_last():
    p = period(D(2026, 1, 1), Interval.QUARTER, 0)
    assert p.due_on(Timing.IN_ADVANCE) == D(2026, 1, 1)
    assert p.due_on(Timing.IN_ARREARS) == D(2026, 4, 1)


def test_a_run_after_downtime_yields_every_missed_period_once_with_its_own_dates():
    due = list(
        periods_due(
            D(2026, 1, 31), Interval.MONTH, Timing.IN_ADVANCE, first_index=1, through=D(2026, 5, 10)
        )
    )
    assert [(p.start, p.end) for p in due] == [
        (D(2026, 2, 28), D(2026, 3, 30)),
        (D(2026, 3, 31), D(2026, 4, 29)),
        (D(2026, 4, 30), D(2026, 5, 30)),
    ]
    # Nothing new on the same day again from the next index.
    assert not list(
        periods_due(
            D(2026, 1, 31), Interval.MONTH, Timing.IN_ADVANCE, first_index=4, through=D(2026, 5, 10)
        )
    )


def test_quarterly_in_arrears_is_due_when_the_quarter_is_over():
    anchor = D(2026, 1, 1)
    assert not list(
        periods_due(
            anchor, Interval.QUARTER, Timing.IN_ARREARS, first_index=0, through=D(2026, 3, 31)
        )
    )
    due = list(
        periods_due(
            anchor, Interval.QUARTER, Timing.IN_ARREARS, first_index=0, through=D(2026, 4, 1)
        )
    )
    assert [(p.start, p.end) for p in due] == [(D(2026, 1, 1), D(2026, 3, 31))]


def test_the_contract_end_cuts_the_last_period_short():
    due = list(
        periods_due(
            D(2026, 1, 1),
            Interval.MONTH,
            Timing.IN_ARREARS,
            first_index=0,
            through=D(2026, 12, 31),
            ends_on=D(2026, 3, 15),
        )
    )
    assert [(p.start, p.end) for p in due] == [
        (D(2026, 1, 1), D(2026, 1, 31)),
        (D(2026, 2, 1), D(2026, 2, 28)),
        (D(2026, 3, 1), D(2026, 3, 15)),
    ]


def test_prorated_by_days_rounded_half_up_once():
    march = period(D(2026, 3, 1), Interval.MONTH, 0)  # 31 days
    assert prorated(Decimal("59.00"), march, D(2026, 3, 16), D(2026, 3, 31)) == Decimal("30.45")
    assert prorated(Decimal("29.00"), march, D(2026, 3, 16), D(2026, 3, 31)) == Decimal("14.97")
    assert prorated(Decimal("29.00"), march, D(2026, 3, 1), D(2026, 3, 31)) == Decimal("29.00")
    with pytest.raises(ValueError, match="not within"):
        prorated(Decimal("1.00"), march, D(2026, 2, 28), D(2026, 3, 31))


dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31))
intervals = st.sampled_from(list(Interval))


@given(anchor=dates, interval=intervals, count=st.integers(1, 30))
def test_periods_tile_the_calendar_without_gap_or_overlap(anchor, interval, count):
    periods = [period(anchor, interval, i) for i in range(count)]
    assert periods[0].start == anchor
    for earlier, later in itertools.pairwise(periods):
        assert later.start == earlier.end + dt.timedelta(days=1)
        assert earlier.days >= 1


@given(anchor=dates, interval=intervals, offset=st.integers(0, 4000))
def test_the_period_on_a_day_contains_it(anchor, interval, offset):
    day = anchor + dt.timedelta(days=offset)
    found = period_on(anchor, interval, day)
    assert found.contains(day)
    assert found.index == period_index_on(anchor, interval, day)


@given(
    amount=st.decimals(min_value=0, max_value=100000, places=2),
    anchor=dates,
    interval=intervals,
    split=st.integers(0, 400),
)
def test_proration_never_exceeds_the_whole_and_splits_within_a_cent(
    amount, anchor, interval, split
):
    whole = period(anchor, interval, 0)
    cut = whole.start + dt.timedelta(days=split % whole.days)
    used = (
        prorated(amount, whole, whole.start, cut - dt.timedelta(days=1))
        if cut > whole.start
        else Decimal("0.00")
    )
    unused = prorated(amount, whole, cut, whole.end)
    assert Decimal(0) <= unused <= amount
    assert abs(used + unused - amount) <= Decimal("0.01")


def test_a_day_before_the_anchor_has_no_period():
    with pytest.raises(ValueError, match="before the billing anchor"):
        period_on(D(2026, 1, 1), Interval.MONTH, D(2025, 12, 31))
