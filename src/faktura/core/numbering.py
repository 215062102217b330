"""Gapless document numbers (§ 14 (4) no. 4 UStG: unique, consecutive)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from faktura.core.errors import StateConflict
from faktura.core.models import NumberCounter, NumberRange


def _locked_counter(number_range: NumberRange, period: int) -> NumberCounter:
    counter = (
        NumberCounter.objects.select_for_update()
        .filter(number_range=number_range, period=period)
        .first()
    )
    if counter is None:
        # The first number of a period: create the row, tolerating a concurrent creator.
        NumberCounter.objects.bulk_create(
            [NumberCounter(number_range=number_range, period=period)], ignore_conflicts=True
        )
        counter = NumberCounter.objects.select_for_update().get(
            number_range=number_range, period=period
        )
    return counter


def take_next_numbers(kind: str, *, on: dt.date, count: int) -> list[str]:
    """Take ``count`` consecutive numbers at once (batch finalization); same rules as one."""
    assert transaction.get_connection().in_atomic_block, "numbers are taken inside a transaction"
    assert count > 0
    try:
        number_range = NumberRange.objects.get(kind=kind)
    except NumberRange.DoesNotExist:
        raise StateConflict(
            f"No number range for {kind!r} is configured.", code="number_range_missing"
        ) from None
    period = on.year if number_range.yearly_reset else 0
    counter = _locked_counter(number_range, period)
    first = counter.last_value + 1
    counter.last_value += count
    NumberCounter.objects.filter(pk=counter.pk).update(last_value=counter.last_value)
    return [number_range.format(year=on.year, seq=seq) for seq in range(first, first + count)]


def take_next_number(kind: str, *, on: dt.date) -> str:
    """Take the next number of the range ``kind`` for the business date ``on``.

    Must run inside the caller's transaction, as late as possible: the counter row
    stays locked until commit, and a rollback gives the number back, so no gap
    can arise. This is the only global serialization point of finalization.
    """
    assert transaction.get_connection().in_atomic_block, "numbers are taken inside a transaction"
    try:
        number_range = NumberRange.objects.get(kind=kind)
    except NumberRange.DoesNotExist:
        raise StateConflict(
            f"No number range for {kind!r} is configured.", code="number_range_missing"
        ) from None
    period = on.year if number_range.yearly_reset else 0
    counter = _locked_counter(number_range, period)
    counter.last_value += 1
    NumberCounter.objects.filter(pk=counter.pk).update(last_value=counter.last_value)
    return number_range.format(year=on.year, seq=counter.last_value)
