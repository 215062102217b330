"""Reads of the scheduler: the job overview of `faktura jobs` and what `faktura check` names."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence

from django.db.models import Exists, OuterRef

from faktura.core import clock
from faktura.core.models import Company
from faktura.scheduling import jobs as declared_jobs
from faktura.scheduling.models import JobRun, JobState
from faktura.scheduling.registry import Job, next_due

# A due time not claimed this long after its time (plus the job's lease) means that no
# worker or scheduler is running: `faktura check` names it.
OVERDUE_GRACE = dt.timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class JobOverview:
    job: Job
    last_run: JobRun | None
    next_due: dt.datetime | None
    overdue: bool
    failures: list[JobRun]  # failed for good and not made good by a later successful run


def unresolved_failures(job_names: Sequence[str]) -> list[JobRun]:
    """Runs failed for good with no later successful run of the job for the same or a later date."""
    later_success = JobRun.objects.filter(
        job=OuterRef("job"),
        state=JobRun.State.SUCCEEDED,
        as_of__gte=OuterRef("as_of"),
        started_at__gt=OuterRef("started_at"),
    )
    return list(
        JobRun.objects.filter(
            job__in=job_names, state=JobRun.State.FAILED, next_attempt_at__isnull=True
        )
        .filter(~Exists(later_success))
        .order_by("job", "due_at")
    )


def overview(*, jobs: Sequence[Job] | None = None) -> list[JobOverview]:
    """Every declared job with its last run, next due time and unresolved failures."""
    now = clock.now()
    declared = declared_jobs.declared() if jobs is None else list(jobs)
    time_zone = Company.time_zone_or_default()
    states = {s.name: s for s in JobState.objects.filter(name__in=[j.name for j in declared])}
    failures: dict[str, list[JobRun]] = {}
    for run in unresolved_failures([j.name for j in declared]):
        failures.setdefault(run.job, []).append(run)
    rows = []
    for job in declared:
        state = states.get(job.name)
        last_run = JobRun.objects.filter(job=job.name).order_by("-started_at", "-pk").first()
        upcoming: dt.datetime | None = None
        overdue = False
        if job.enabled:
            base = now if state is None else (state.last_due_at or state.since)
            upcoming = next_due(job.schedule, time_zone, base)
            overdue = upcoming + job.lease + OVERDUE_GRACE < now
        rows.append(
            JobOverview(
                job=job,
                last_run=last_run,
                next_due=upcoming,
                overdue=overdue,
                failures=failures.get(job.name, []),
            )
        )
    return rows


def job_problems() -> Iterator[str]:
    """`faktura check`: jobs that failed for good, and jobs no worker has run when due."""
    for row in overview():
        for run in row.failures:
            first_line = run.error.splitlines()[0] if run.error else "no error recorded"
            due = run.due_at.strftime("%Y-%m-%d %H:%M")
            yield (
                f"job {run.job} ({run.trigger} run for {run.as_of}, due {due} UTC) failed "
                f"after {run.attempts} attempt(s): {first_line}"
            )
        if row.overdue and row.next_due is not None:
            yield (
                f"job {row.job.name} is overdue since {row.next_due:%Y-%m-%d %H:%M} UTC: "
                "is a worker (or `faktura scheduler`) running?"
            )
