"""Billing periods of a subscription: pure calendar arithmetic, no database.

A subscription's periods are counted from its billing anchor. Period ``k`` starts ``k``
intervals after the anchor, always counted from the anchor itself and not from the previous
period, so a monthly plan anchored on 31 January runs 31 Jan, 28 Feb (29 in a leap year),
31 Mar, 30 Apr, 31 May: the day comes back to the 31st wherever the month has one. A
period ends the day before the next one starts; both days belong to it (EN 16931 BT-134 and
BT-135 are inclusive, as is the Leistungszeitraum of § 14 (4) no. 6 UStG).

Billed in advance, a period is due on its first day; billed in arrears, on the day after its
last day (the first day of the next period), when the service has been rendered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from faktura.core.money import round_money


class Interval(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


MONTHS_PER_INTERVAL = {
    Interval.MONTH: 1,
    Interval.QUARTER: 3,
    Interval.HALF_YEAR: 6,
    Interval.YEAR: 12,
}


class Timing(StrEnum):
    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; a day the month lacks becomes its last day.

    This is also how a period given in months ends under § 188 (2), (3) BGB.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (next_month - dt.timedelta(days=1)).day))


def period_start(anchor: dt.date, interval: Interval, index: int) -> dt.date:
    """First day of period ``index`` (0 = the period starting on the anchor)."""
    if interval == Interval.WEEK:
        return anchor + dt.timedelta(weeks=index)
    return add_months(anchor, MONTHS_PER_INTERVAL[interval] * index)


@dataclass(frozen=True, order=True)
class Period:
    """One billing period, both days included."""

    start: dt.date
    end: dt.date
    index: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def due_on(self, timing: Timing) -> dt.date:
        """The billing date: the first day in advance, the day after the last in arrears."""
        if timing == Timing.IN_ADVANCE:
            return self.start
        return self.end + dt.timedelta(days=1)


def period(anchor: dt.date, interval: Interval, index: int) -> Period:
    if index < 0:
        raise ValueError(f"period index {index} lies before the anchor")
    start = period_start(anchor, interval, index)
    end = period_start(anchor, interval, index + 1) - dt.timedelta(days=1)
    return Period(start=start, end=end, index=index)


def period_index_on(anchor: dt.date, interval: Interval, day: dt.date) -> int:
    """Index of the period that contains ``day`` (which must not lie before the anchor)."""
    if day < anchor:
        raise ValueError(f"{day} lies before the billing anchor {anchor}")
    if interval == Interval.WEEK:
        return (day - anchor).days // 7
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    index = max(0, months // MONTHS_PER_INTERVAL[interval] - 1)
    # At most two steps: the estimate can only be one or two periods short.
    while period_start(anchor, interval, index + 1) <= day:
        index += 1
    return index


def period_on(anchor: dt.date, interval: Interval, day: dt.date) -> Period:
    return period(anchor, interval, period_index_on(anchor, interval, day))


def periods_due(
    anchor: dt.date,
    interval: Interval,
    timing: Timing,
    *,
    first_index: int,
    through: dt.date,
    ends_on: dt.date | None = None,
) -> Iterator[Period]:
    """Every period from ``first_index`` on that is due on or before ``through``.

    A run after days of downtime thus yields every missed period once, each with its own
    dates. ``ends_on`` (the contract's last day) cuts the last period short; nothing after
    it is due.
    """
    index = first_index
    while True:
        current = period(anchor, interval, index)
        if ends_on is not None:
            if current.start > ends_on:
                return
            if current.end > ends_on:
                current = Period(start=current.start, end=ends_on, index=index)
        if current.due_on(timing) > through:
            return
        yield current
        index += 1


def prorated(amount: Decimal, whole: Period, part_start: dt.date, part_end: dt.date) -> Decimal:
    """The share of ``amount`` for ``part_start``…``part_end`` of ``whole``, by days, in cents.

    Rounded half-up once, at the end (EN 16931 rounds line amounts to cents); a part that
    is the whole period gives the amount unchanged.
    """
    if not (whole.start <= part_start <= part_end <= whole.end):
        raise ValueError(f"{part_start}…{part_end} is not within {whole.start}…{whole.end}")
    days = (part_end - part_start).days + 1
    if days == whole.days:
        return amount
    return round_money(amount * days / whole.days)
