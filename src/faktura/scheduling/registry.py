"""What a scheduled job is, and the calendar arithmetic of its cron schedule (croniter).

Schedules are cron expressions in the company's time zone ("0 5 * * *" = 05:00 local
time every day, also across the change to and from summer time). Due times are stored
as aware UTC timestamps; the business date a run works for is the due time's local date.
Pure functions, no database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from django.utils.module_loading import import_string

CatchUp = Literal["each", "latest"]
OFF = "off"
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,98}[a-z0-9]$")
_TICK = dt.timedelta(microseconds=1)


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """What a job function receives: the due time it runs for and its business date."""

    job: str
    due_at: dt.datetime
    as_of: dt.date
    trigger: str
    attempt: int


@dataclasses.dataclass(frozen=True)
class Job:
    """A declared job: ``target(occurrence)`` runs at every due time of ``schedule``.

    ``catch_up``: after downtime, "each" runs every missed due time once, oldest first
    (for runs whose result depends on the date, like the billing run); "latest" runs only
    the most recent one (for sweeps, whose latest run covers the earlier ones).
    ``lease``: how long a run may take before another worker presumes its worker dead
    and takes it over. A failed run is retried after ``retry_delay``, doubling, until
    ``max_attempts``; then it stays failed.
    """

    name: str
    schedule: str
    target: str
    description: str
    catch_up: CatchUp = "latest"
    lease: dt.timedelta = dt.timedelta(minutes=15)
    max_attempts: int = 3
    retry_delay: dt.timedelta = dt.timedelta(minutes=5)
    enabled: bool = True

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"job name {self.name!r}: lower-case letters, digits and hyphens")
        if not croniter.is_valid(self.schedule):
            raise ValueError(f"job {self.name}: {self.schedule!r} is not a cron expression")
        if self.catch_up not in ("each", "latest"):
            raise ValueError(f"job {self.name}: catch_up must be 'each' or 'latest'")
        if self.max_attempts < 1 or self.lease <= dt.timedelta(0):
            raise ValueError(f"job {self.name}: max_attempts >= 1 and a positive lease")

    def function(self) -> Callable[[Occurrence], Any]:
        return import_string(self.target)

    def retry_after(self, attempts: int) -> dt.timedelta:
        """The wait before attempt ``attempts + 1``: retry_delay, doubling each time."""
        return self.retry_delay * (2 ** (attempts - 1))


def setting_name(job_name: str) -> str:
    """The environment variable that overrides a job's schedule: FAKTURA_JOB_<NAME>."""
    return "FAKTURA_JOB_" + job_name.upper().replace("-", "_")


def configured(jobs: Iterable[Job], overrides: Mapping[str, str]) -> list[Job]:
    """Apply ``FAKTURA_JOB_<NAME>`` overrides: a cron expression, or "off" to disable."""
    result = []
    for job in jobs:
        value = overrides.get(setting_name(job.name), "").strip()
        if value.lower() == OFF:
            job = dataclasses.replace(job, enabled=False)
        elif value:
            if not croniter.is_valid(value):
                raise ValueError(
                    f"{setting_name(job.name)}={value!r} is neither a cron expression nor 'off'"
                )
            job = dataclasses.replace(job, schedule=value)
        result.append(job)
    return result


def _local(at: dt.datetime, time_zone: str) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(ZoneInfo(time_zone))


def next_due(schedule: str, time_zone: str, after: dt.datetime) -> dt.datetime:
    """The first due time strictly after ``after`` (UTC)."""
    due: dt.datetime = croniter(schedule, _local(after, time_zone)).get_next(dt.datetime)
    return due.astimezone(dt.UTC)


def latest_due(schedule: str, time_zone: str, at: dt.datetime) -> dt.datetime:
    """The last due time at or before ``at`` (UTC)."""
    due: dt.datetime = croniter(schedule, _local(at + _TICK, time_zone)).get_prev(dt.datetime)
    return due.astimezone(dt.UTC)


def due_times(
    schedule: str, time_zone: str, *, after: dt.datetime, until: dt.datetime, limit: int
) -> list[dt.datetime]:
    """The due times in (``after``, ``until``], oldest first, at most ``limit`` of them."""
    times: list[dt.datetime] = []
    iterator = croniter(schedule, _local(after, time_zone))
    while len(times) < limit:
        due = iterator.get_next(dt.datetime).astimezone(dt.UTC)
        if due > until:
            break
        times.append(due)
    return times


def business_date(due_at: dt.datetime, time_zone: str) -> dt.date:
    """The date a run works for: the due time's date in the company's time zone."""
    return _local(due_at, time_zone).date()
