"""The calendar arithmetic of schedules (croniter) and the declaration of jobs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faktura.scheduling.registry import (
    Job,
    business_date,
    configured,
    due_times,
    latest_due,
    next_due,
    setting_name,
)

BERLIN = ZoneInfo("Europe/Berlin")
moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.just(dt.UTC),
)


@given(at=moments, hour=st.sampled_from([0, 4, 5, 7, 23]), minute=st.integers(0, 59))
def test_a_daily_job_is_due_once_a_day_at_its_local_time_also_across_summer_time(at, hour, minute):
    schedule = f"{minute} {hour} * * *"
    before, after = (
        latest_due(schedule, "Europe/Berlin", at),
        next_due(schedule, "Europe/Berlin", at),
    )
    assert before <= at < after
    for due in (before, after):
        local = due.astimezone(BERLIN)
        assert (local.hour, local.minute) == (hour, minute)
        assert due.tzinfo == dt.UTC
    assert business_date(after, "Europe/Berlin") - business_date(before, "Europe/Berlin") == (
        dt.timedelta(days=1)
    )


@given(at=moments, days=st.integers(0, 40))
def test_due_times_are_every_occurrence_in_the_window_oldest_first(at, days):
    until = at + dt.timedelta(days=days, hours=1)
    times = due_times("0 5 * * *", "Europe/Berlin", after=at, until=until, limit=100)
    assert times == sorted(times)
    assert all(at < t <= until for t in times)
    assert days <= len(times) <= days + 1
    assert len({business_date(t, "Europe/Berlin") for t in times}) == len(times)
    if times:
        assert times[0] == next_due("0 5 * * *", "Europe/Berlin", at)
        assert times[-1] == latest_due("0 5 * * *", "Europe/Berlin", until)


def test_a_due_time_exactly_now_is_due_now_not_next_time():
    now = dt.datetime(2026, 11, 16, 4, 0, tzinfo=dt.UTC)  # 05:00 in Berlin
    assert latest_due("0 5 * * *", "Europe/Berlin", now) == now
    assert next_due("0 5 * * *", "Europe/Berlin", now) == now + dt.timedelta(days=1)
    assert due_times("0 5 * * *", "Europe/Berlin", after=now - dt.timedelta(seconds=1),
                     until=now, limit=5) == [now]  # fmt: skip


def test_weekday_schedules_skip_the_weekend():
    friday = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    assert business_date(next_due("0 7 * * 1-5", "Europe/Berlin", friday), "Europe/Berlin") == (
        dt.date(2026, 11, 23)
    )


def test_a_catch_up_is_cut_into_batches_by_the_limit():
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    times = due_times(
        "*/5 * * * *", "UTC", after=start, until=start + dt.timedelta(days=3), limit=50
    )
    assert len(times) == 50
    assert times[-1] == start + dt.timedelta(minutes=250)


def test_a_job_declaration_is_checked():
    with pytest.raises(ValueError, match="not a cron expression"):
        Job(name="broken", schedule="0 25 * * *", target="x.y", description="")
    with pytest.raises(ValueError, match="lower-case letters"):
        Job(name="Billing Run", schedule="0 5 * * *", target="x.y", description="")
    with pytest.raises(ValueError, match="catch_up"):
        Job(name="billing", schedule="0 5 * * *", target="x.y", description="", catch_up="all")  # type: ignore[arg-type]


def test_the_retry_delay_doubles():
    job = Job(name="export", schedule="0 5 * * *", target="x.y", description="",
              retry_delay=dt.timedelta(minutes=5))  # fmt: skip
    assert [job.retry_after(n) for n in (1, 2, 3)] == [
        dt.timedelta(minutes=5), dt.timedelta(minutes=10), dt.timedelta(minutes=20)
    ]  # fmt: skip


def test_overrides_by_environment_variable():
    job = Job(name="direct-debit-batches", schedule="0 7 * * 1-5", target="x.y", description="")
    assert setting_name(job.name) == "FAKTURA_JOB_DIRECT_DEBIT_BATCHES"
    [off] = configured([job], {"FAKTURA_JOB_DIRECT_DEBIT_BATCHES": " OFF "})
    assert off.enabled is False
    [moved] = configured([job], {"FAKTURA_JOB_DIRECT_DEBIT_BATCHES": "30 8 * * 1-5"})
    assert (moved.schedule, moved.enabled) == ("30 8 * * 1-5", True)
    assert configured([job], {}) == [job]
