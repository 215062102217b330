"""Jobs for the scheduler's tests: they record each execution, or fail on purpose."""

from __future__ import annotations

import datetime as dt
import os
import time

from django.db import connection

from faktura.scheduling.registry import Job, Occurrence

calls: list[tuple[str, dt.date, int]] = []
TABLE = "scheduling_test_execution"


def record(occurrence: Occurrence) -> dict[str, str]:
    calls.append((occurrence.job, occurrence.as_of, occurrence.attempt))
    return {"as_of": occurrence.as_of.isoformat()}


def fail(occurrence: Occurrence) -> None:
    calls.append((occurrence.job, occurrence.as_of, occurrence.attempt))
    raise RuntimeError(f"bank unreachable on attempt {occurrence.attempt}")


def fail_first_attempt(occurrence: Occurrence) -> dict[str, int]:
    calls.append((occurrence.job, occurrence.as_of, occurrence.attempt))
    if occurrence.attempt == 1:
        raise RuntimeError("bank unreachable")
    return {"attempt": occurrence.attempt}


def record_in_table(occurrence: Occurrence) -> dict[str, int]:
    """Insert one row per execution (no unique key: a second execution would show)."""
    time.sleep(0.02)  # widen the window in which two workers could overlap
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (job, as_of, worker_pid) VALUES (%s, %s, %s)",  # noqa: S608
            [occurrence.job, occurrence.as_of, os.getpid()],
        )
    return {"pid": os.getpid()}


def daily(name: str = "daily-report", target: str = "record", **options: object) -> Job:
    return Job(
        name=name,
        schedule="0 5 * * *",
        target=f"tests.scheduling.testjobs.{target}",
        description="a test job",
        **options,  # type: ignore[arg-type]
    )
