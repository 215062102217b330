"""The TARGET2 calendar: the days on which SEPA direct debits settle.

TARGET2 is closed on Saturdays, Sundays, 1 January, Good Friday, Easter Monday,
1 May, 25 and 26 December (ECB). Pure functions, no database.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


@lru_cache(maxsize=64)
def easter_sunday(year: int) -> dt.date:
    """Return Easter Sunday of ``year`` (Gregorian calendar, anonymous algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=64)
def target2_holidays(year: int) -> frozenset[dt.date]:
    easter = easter_sunday(year)
    return frozenset(
        {
            dt.date(year, 1, 1),
            easter - dt.timedelta(days=2),  # Good Friday
            easter + dt.timedelta(days=1),  # Easter Monday
            dt.date(year, 5, 1),
            dt.date(year, 12, 25),
            dt.date(year, 12, 26),
        }
    )


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in target2_holidays(day.year)


def next_business_day(day: dt.date) -> dt.date:
    """Return the first TARGET2 business day after ``day``."""
    day += dt.timedelta(days=1)
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def add_business_days(day: dt.date, count: int) -> dt.date:
    for _ in range(count):
        day = next_business_day(day)
    return day


def on_or_after(day: dt.date) -> dt.date:
    """Return ``day`` if it is a business day, else the next one."""
    return day if is_business_day(day) else next_business_day(day)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
