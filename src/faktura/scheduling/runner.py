"""Run the declared jobs: each due time once across all workers, caught up after downtime.

``tick(worker_id)`` is called every few seconds by every worker process (``faktura
worker``'s maintenance loop, ``faktura scheduler``, ``faktura run``). It costs four
small queries when nothing is due. When something is due it runs it right there, in
the calling process, one run after another, and returns when they are done.

Exactly once: a worker claims a due time by inserting its JobRun; the unique constraint
on (job, due time) lets one insert win, every other worker gets an IntegrityError and
leaves the job alone for this tick. That is a database lock, not luck, and it holds for
any number of workers on PostgreSQL.

Order: one job runs one due time at a time. While a run of the job is running (lease
not expired) or waits for its retry, no later due time of that job is claimed, so the
days of a catch-up run oldest first and never overlap.

Leases (DESIGN invariant 9): a claimed run holds a lease of ``job.lease``; when it
expires unfinished, or as soon as the ``faktura worker`` that runs it is found dead (its
own heartbeat lease expired, ``faktura.workers.lease``), the next tick of any worker takes
the run over as a new attempt. Long work (the billing run) should split itself into
tasks, so that the job itself stays well within its lease; a job that outlives its
lease is run a second time by another worker, which idempotent jobs survive.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import traceback
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Q

from faktura.core import clock, maintenance
from faktura.core.errors import DomainError
from faktura.core.models import Company
from faktura.scheduling import jobs as declared_jobs
from faktura.scheduling.models import JobRun, JobState
from faktura.scheduling.registry import (
    Job,
    Occurrence,
    business_date,
    due_times,
    latest_due,
)
from faktura.workers.lease import dead_worker_ids

logger = logging.getLogger("faktura.scheduling")

# At most this many missed due times of one job per tick; the next tick goes on.
CATCH_UP_BATCH = 50

State = JobRun.State
Trigger = JobRun.Trigger


def tick(worker_id: str, *, jobs: Sequence[Job] | None = None) -> list[JobRun]:
    """Run every due occurrence of the declared jobs once; return the runs finished here.

    Takes over runs whose lease expired, retries failed runs whose retry is due, then
    claims and runs the due times since each job's last claimed one ("each": all of them
    oldest first; "latest": only the newest). A job seen for the first time starts from
    now: no history is replayed on a fresh installation.

    In maintenance (``faktura maintenance on``) nothing is claimed, retried or taken over:
    the due times pile up behind each job's last claimed one, and the first tick after
    maintenance ends catches them up like after downtime, each claimed once.
    """
    if maintenance.is_active():
        return []
    now = clock.now()
    active = [job for job in (declared_jobs.declared() if jobs is None else jobs) if job.enabled]
    if not active:
        return []
    names = [job.name for job in active]
    states = {s.name: s for s in JobState.objects.filter(name__in=names)}
    missing = [name for name in names if name not in states]
    if missing:
        JobState.objects.bulk_create(
            [JobState(name=name, since=now) for name in missing], ignore_conflicts=True
        )
        states = {s.name: s for s in JobState.objects.filter(name__in=names)}
    open_runs: dict[str, list[JobRun]] = {}
    for run in JobRun.objects.filter(job__in=names).filter(
        Q(state=State.RUNNING) | Q(next_attempt_at__isnull=False)
    ):
        open_runs.setdefault(run.job, []).append(run)
    time_zone = Company.time_zone_or_default()
    running = any(run.state == State.RUNNING for runs in open_runs.values() for run in runs)
    dead = dead_worker_ids() if running else frozenset()
    finished: list[JobRun] = []
    for job in active:
        finished += _tick_job(job, states[job.name], open_runs.get(job.name, []), worker_id, now,
                              time_zone, dead)  # fmt: skip
    return finished


def _is_lost(run: JobRun, now: dt.datetime, dead: Collection[str]) -> bool:
    """A running run whose lease expired, or whose worker's own lease did (it died)."""
    if run.state != State.RUNNING:
        return False
    expired = run.lease_expires_at is not None and run.lease_expires_at <= now
    return expired or run.worker_id in dead


def _lost_condition(now: dt.datetime, dead: Collection[str]) -> Q:
    return Q(state=State.RUNNING) & (Q(lease_expires_at__lte=now) | Q(worker_id__in=list(dead)))


def _tick_job(
    job: Job,
    state: JobState,
    open_runs: list[JobRun],
    worker_id: str,
    now: dt.datetime,
    time_zone: str,
    dead: Collection[str],
) -> list[JobRun]:
    finished: list[JobRun] = []
    for run in sorted(open_runs, key=lambda r: (r.due_at, r.pk)):
        lost = _is_lost(run, now, dead)
        if run.trigger == Trigger.MANUAL:
            if lost:
                _give_up_lost(run, now, dead)
            continue
        if run.state == State.RUNNING and not lost:
            return finished  # running elsewhere (or here): later due times wait for it
        if run.state == State.FAILED and run.next_attempt_at and run.next_attempt_at > now:
            return finished  # waiting for its retry
        claimed = _take_over(job, run, worker_id, now, dead)
        if claimed is None:
            return finished  # another worker was quicker, or it was the last attempt
        done = _execute(job, claimed, worker_id)
        finished.append(done)
        if done.retry_pending:
            return finished
    start = max(state.last_due_at or state.since, state.since)
    if job.catch_up == "latest":
        latest = latest_due(job.schedule, time_zone, now)
        due = [latest] if latest > start else []
    else:
        due = due_times(job.schedule, time_zone, after=start, until=now, limit=CATCH_UP_BATCH)
    for due_at in due:
        new = _claim(job, due_at, worker_id, now, time_zone)
        if new is None:
            return finished  # another worker has this due time: the job is theirs now
        done = _execute(job, new, worker_id)
        finished.append(done)
        if done.retry_pending:
            return finished
    return finished


def _claim(
    job: Job, due_at: dt.datetime, worker_id: str, now: dt.datetime, time_zone: str
) -> JobRun | None:
    try:
        with transaction.atomic():
            run = JobRun.objects.create(
                job=job.name,
                trigger=Trigger.SCHEDULE,
                due_at=due_at,
                as_of=business_date(due_at, time_zone),
                state=State.RUNNING,
                attempts=1,
                worker_id=worker_id,
                started_at=now,
                lease_expires_at=now + job.lease,
            )
            JobState.objects.filter(name=job.name).filter(
                Q(last_due_at__isnull=True) | Q(last_due_at__lt=due_at)
            ).update(last_due_at=due_at)
    except IntegrityError:
        return None
    return run


def _take_over(
    job: Job, run: JobRun, worker_id: str, now: dt.datetime, dead: Collection[str]
) -> JobRun | None:
    """Claim a failed run whose retry is due, or a running one whose worker died."""
    lost = run.state == State.RUNNING
    if lost and run.attempts >= job.max_attempts:
        _give_up_lost(run, now, dead)
        return None
    condition = (
        _lost_condition(now, dead) if lost else Q(state=State.FAILED, next_attempt_at__lte=now)
    )
    claimed = (
        JobRun.objects.filter(condition, pk=run.pk, attempts=run.attempts)
        .update(
            state=State.RUNNING,
            attempts=F("attempts") + 1,
            worker_id=worker_id,
            started_at=now,
            finished_at=None,
            lease_expires_at=now + job.lease,
            next_attempt_at=None,
        )
    )  # fmt: skip
    if not claimed:
        return None
    if lost:
        logger.warning(
            "job %s due %s: worker %s lost it (its lease expired); %s takes it over",
            run.job, run.due_at, run.worker_id, worker_id,
        )  # fmt: skip
    return JobRun.objects.get(pk=run.pk)


def _give_up_lost(run: JobRun, now: dt.datetime, dead: Collection[str]) -> None:
    JobRun.objects.filter(_lost_condition(now, dead), pk=run.pk, attempts=run.attempts).update(
        state=State.FAILED,
        finished_at=now,
        lease_expires_at=None,
        next_attempt_at=None,
        error=f"worker {run.worker_id} lost the run (it died, or the lease expired at "
        f"{run.lease_expires_at})",
    )


def _execute(job: Job, run: JobRun, worker_id: str) -> JobRun:
    occurrence = Occurrence(
        job=job.name, due_at=run.due_at, as_of=run.as_of, trigger=run.trigger, attempt=run.attempts
    )
    mine = JobRun.objects.filter(pk=run.pk, worker_id=worker_id, attempts=run.attempts,
                                 state=State.RUNNING)  # fmt: skip
    try:
        result = job.function()(occurrence)
    except Exception as error:
        logger.exception("job %s due %s failed (attempt %s)", job.name, run.due_at, run.attempts)
        now = clock.now()
        retry = run.trigger == Trigger.SCHEDULE and run.attempts < job.max_attempts
        fields: dict[str, Any] = {
            "state": State.FAILED,
            "finished_at": now,
            "lease_expires_at": None,
            "next_attempt_at": now + job.retry_after(run.attempts) if retry else None,
            "error": _describe(error),
        }
    else:
        fields = {
            "state": State.SUCCEEDED,
            "finished_at": clock.now(),
            "lease_expires_at": None,
            "result": _json(result),
            "error": "",
        }
    # Fenced by worker and attempt: a run taken over meanwhile is not overwritten.
    if not mine.update(**fields):
        logger.warning("job %s due %s: taken over by another worker meanwhile", job.name,
                       run.due_at)  # fmt: skip
    run.refresh_from_db()
    return run


def _describe(error: Exception) -> str:
    if isinstance(error, DomainError):
        head = f"{error.code}: {error.message}"
    else:
        head = f"{type(error).__name__}: {error}"
    return (head + "\n\n" + traceback.format_exc())[:10_000]


def _json(result: object) -> object:
    return json.loads(json.dumps(result, cls=DjangoJSONEncoder))


def run_now(job: Job, *, as_of: dt.date, worker_id: str) -> JobRun:
    """Run ``job`` now for business date ``as_of``, recorded as a manual run.

    Independent of the schedule: it neither counts as nor replaces a due time; a job is
    idempotent per date, so running it for a date already run changes nothing more.
    Not retried; fails visibly.
    """
    now = clock.now()
    run = JobRun.objects.create(
        job=job.name,
        trigger=Trigger.MANUAL,
        due_at=now,
        as_of=as_of,
        state=State.RUNNING,
        attempts=1,
        worker_id=worker_id,
        started_at=now,
        lease_expires_at=now + job.lease,
    )
    return _execute(job, run, worker_id)


def run_forever(
    worker_id: str,
    *,
    interval: float = 5.0,
    should_stop: Callable[[], bool] = lambda: False,
    jobs: Sequence[Job] | None = None,
) -> None:
    """Tick every ``interval`` seconds until ``should_stop()``; an error is logged, not fatal."""
    while not should_stop():
        try:
            tick(worker_id, jobs=jobs)
        except Exception:
            logger.exception("scheduler tick failed; trying again in %s s", interval)
        finally:
            close_old_connections()
        deadline = time.monotonic() + interval
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
