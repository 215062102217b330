"""Acceptance (issue 9, point 5): two worker processes on PostgreSQL, a simulated week.

Two forked processes tick the scheduler against one PostgreSQL database while the test
moves a shared simulated clock forward an hour every few milliseconds. The test jobs
insert one row per execution into a table without a unique key, so a second execution
of a due time would show. Then both stop, the clock jumps three days, both start again:
the missed days run, each once, oldest first.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from faktura.core import clock
from faktura.scheduling import runner
from faktura.scheduling.models import JobRun
from faktura.scheduling.registry import Job
from tests.scheduling.testjobs import TABLE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BERLIN = ZoneInfo("Europe/Berlin")
# The simulated clock runs an hour per STEP seconds, so leases are long enough in
# simulated time for a test job (20 ms real) never to be presumed dead.
STEP = 0.02
LONG = dt.timedelta(days=30)
JOBS = [
    Job(name="billing-test", schedule="0 5 * * *", catch_up="each", lease=LONG,
        target="tests.scheduling.testjobs.record_in_table", description="each missed day"),
    Job(name="dunning-test", schedule="0 6 * * *", catch_up="each", lease=LONG,
        target="tests.scheduling.testjobs.record_in_table", description="each missed day"),
    Job(name="purge-test", schedule="15 4 * * *", catch_up="latest", lease=LONG,
        target="tests.scheduling.testjobs.record_in_table", description="latest only"),
]  # fmt: skip
WEEK = [dt.date(2026, 11, 16) + dt.timedelta(days=n) for n in range(7)]
OUTAGE = [dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)]


def _work(worker_id, simulated, stop, ticks, errors) -> None:
    connections.close_all()
    try:
        while not stop.is_set():
            with clock.frozen(dt.datetime.fromtimestamp(simulated.value, dt.UTC)):
                runner.tick(worker_id, jobs=JOBS)
            with ticks.get_lock():
                ticks.value += 1
            time.sleep(0.002)
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"{worker_id}: {error!r}")
    finally:
        connections.close_all()


class Workers:
    def __init__(self, context, simulated) -> None:
        self.stop = context.Event()
        self.errors = context.Queue()
        self.ticks = [context.Value("i", 0) for _ in range(2)]
        self.processes = [
            context.Process(
                target=_work,
                args=(f"worker-{n}", simulated, self.stop, self.ticks[n], self.errors),
            )
            for n in range(2)
        ]

    def __enter__(self) -> Workers:
        connection.close()  # no connection shared across the fork
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(timeout=60)
        errors = []
        while not self.errors.empty():
            errors.append(self.errors.get())
        assert errors == []
        assert [p.exitcode for p in self.processes] == [0, 0]


def _wait_for(succeeded: int) -> None:
    """Wait until that many runs succeeded (a deadline against a hang, not a speed limit)."""
    deadline = time.monotonic() + 120
    while JobRun.objects.filter(state="succeeded").count() < succeeded:
        assert time.monotonic() < deadline, "the workers did not finish the due runs"
        time.sleep(0.05)


def _executions() -> list[tuple[str, dt.date, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT job, as_of, id FROM {TABLE} ORDER BY id")  # noqa: S608
        return list(cursor.fetchall())


@pytest.fixture
def execution_table():
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, job text NOT NULL, "
            "as_of date NOT NULL, worker_pid integer NOT NULL)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


def test_two_workers_run_a_week_of_daily_jobs_once_a_day_and_catch_up_after_an_outage(
    execution_table,
):
    context = multiprocessing.get_context("fork")
    installed = dt.datetime(2026, 11, 16, 0, 0, tzinfo=BERLIN)
    simulated = context.Value("d", installed.timestamp())
    with Workers(context, simulated) as workers:
        # Both workers tick at the installation moment before the clock moves.
        while min(t.value for t in workers.ticks) < 3:
            time.sleep(0.01)
        for hour in range(1, 7 * 24):
            simulated.value = (installed + dt.timedelta(hours=hour)).timestamp()
            time.sleep(STEP)
        _wait_for(succeeded=len(JOBS) * len(WEEK))
    week = _executions()
    for job in JOBS:
        assert sorted(day for name, day, _ in week if name == job.name) == WEEK, job.name
    assert len(week) == len(JOBS) * len(WEEK)

    # Three days down: from Sunday the 22nd 23:00 to Wednesday the 25th 12:00.
    simulated.value = dt.datetime(2026, 11, 25, 12, 0, tzinfo=BERLIN).timestamp()
    with Workers(context, simulated):
        _wait_for(succeeded=len(week) + 2 * len(OUTAGE) + 1)
        time.sleep(0.5)  # both workers keep ticking: nothing more may run
    caught_up = _executions()[len(week) :]
    for name in ("billing-test", "dunning-test"):
        assert [day for job, day, _ in caught_up if job == name] == OUTAGE  # each, in order
    assert [day for job, day, _ in caught_up if job == "purge-test"] == [OUTAGE[-1]]
    assert len(caught_up) == 2 * len(OUTAGE) + 1
    runs = JobRun.objects.filter(state="succeeded")
    assert runs.count() == len(week) + len(caught_up)
    assert not JobRun.objects.exclude(state="succeeded").exists()
