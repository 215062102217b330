"""The one clock of Faktura: business dates in the company's time zone, aware UTC timestamps.

Domain code never calls ``date.today()`` or ``datetime.now()``; it asks this module,
which tests can freeze with :func:`frozen`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

_frozen_at: dt.datetime | None = None


def now() -> dt.datetime:
    """Return the current aware UTC timestamp."""
    if _frozen_at is not None:
        return _frozen_at
    return dt.datetime.now(tz=dt.UTC)


def today(time_zone: str | None = None) -> dt.date:
    """Return the business date in ``time_zone`` (default: the company's)."""
    if time_zone is None:
        from faktura.core.models import Company

        time_zone = Company.time_zone_or_default()
    return now().astimezone(ZoneInfo(time_zone)).date()


@contextlib.contextmanager
def frozen(at: dt.datetime | dt.date) -> Iterator[None]:
    """Freeze the clock at ``at`` (a date means noon UTC of that day)."""
    global _frozen_at
    if not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time(12), tzinfo=dt.UTC)
    previous, _frozen_at = _frozen_at, at
    try:
        yield
    finally:
        _frozen_at = previous
