"""Default interest (§ 288 BGB), the EUR 40 flat fee and the § 367 BGB order: pure code.

Interest runs per day on the open principal, act/365 (German practice), at the base rate
(§ 247 BGB) + 5 percentage points when a consumer is involved (§ 288 (1)) or + 9 for a
claim between businesses (§ 288 (2)). The base rate changes on 1 January and 1 July; the
days are split at every change, and each period is rounded to cents on its own, so a
letter can show "days × rate" per period and the sum of its lines is the total.

Default begins the day after the calendar due date (§ 286 (2) Nr. 1 BGB); interest is
owed from that day on, both ends of a period included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from faktura.core.money import round_money

CONSUMER_POINTS = Decimal("5")
BUSINESS_POINTS = Decimal("9")
FLAT_FEE = Decimal("40.00")  # § 288 (5) BGB, once per claim, not against consumers
DAYS_IN_YEAR = Decimal(365)
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class InterestPeriod:
    """Interest of one stretch of days at one rate: ``principal × rate% × days / 365``."""

    start: dt.date  # first day, included
    end: dt.date  # last day, included
    principal: Decimal
    base_rate: Decimal
    rate: Decimal  # base rate + surcharge, percent a year
    amount: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def surcharge(*, consumer: bool) -> Decimal:
    """Percentage points above the base rate: 5 with a consumer involved, 9 otherwise."""
    return CONSUMER_POINTS if consumer else BUSINESS_POINTS


def default_begins(due_date: dt.date) -> dt.date:
    """The first day of default for a calendar due date (§ 286 (2) Nr. 1 BGB)."""
    return due_date + ONE_DAY


def rate_on(day: dt.date, rates: Sequence[tuple[dt.date, Decimal]]) -> Decimal:
    """The base rate valid on ``day`` (``rates``: (valid_from, rate), any order)."""
    valid = [rate for valid_from, rate in sorted(rates) if valid_from <= day]
    if not valid:
        raise ValueError(f"no base rate known for {day}")
    return valid[-1]


def interest_periods(
    *,
    principal: Decimal,
    start: dt.date,
    end: dt.date,
    consumer: bool,
    rates: Sequence[tuple[dt.date, Decimal]],
) -> list[InterestPeriod]:
    """Interest on ``principal`` for the days ``start``..``end`` (both included), one
    period per base rate in force, each rounded half-up to cents.

    Nothing for an empty span or a principal of zero or less.
    """
    if end < start or principal <= 0:
        return []
    points = surcharge(consumer=consumer)
    changes = sorted(valid_from for valid_from, _ in rates if start < valid_from <= end)
    bounds = [start, *changes]
    periods = []
    for index, first in enumerate(bounds):
        last = bounds[index + 1] - ONE_DAY if index + 1 < len(bounds) else end
        base = rate_on(first, rates)
        rate = base + points
        days = (last - first).days + 1
        amount = round_money(principal * rate * days / (100 * DAYS_IN_YEAR))
        periods.append(
            InterestPeriod(
                start=first, end=last, principal=principal, base_rate=base, rate=rate, amount=amount
            )
        )
    return periods


def outside(
    start: dt.date, end: dt.date, paused: Sequence[tuple[dt.date, dt.date]]
) -> list[tuple[dt.date, dt.date]]:
    """The stretches of ``start``…``end`` (both included) outside the ``paused`` ones (days
    an instalment agreement was in force: no default interest for them)."""
    stretches = [(start, end)] if start <= end else []
    for pause_start, pause_end in sorted(paused):
        rest = []
        for a, b in stretches:
            if pause_end < a or pause_start > b:
                rest.append((a, b))
                continue
            if a < pause_start:
                rest.append((a, pause_start - ONE_DAY))
            if pause_end < b:
                rest.append((pause_end + ONE_DAY, b))
        stretches = rest
    return stretches
