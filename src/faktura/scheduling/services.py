"""Housekeeping of the scheduler's own records, and a person asking for a failed run again."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import NotFound, StateConflict
from faktura.scheduling.models import JobRun


def purge_job_runs(*, before: dt.datetime) -> int:
    """Delete runs that finished before ``before``; return how many.

    Scheduling does not depend on old runs (each job's latest claimed due time is kept
    in its JobState), so this never makes a job run again.
    """
    deleted, _ = (
        JobRun.objects.filter(finished_at__lt=before)
        .exclude(state=JobRun.State.RUNNING)
        .filter(next_attempt_at__isnull=True)
        .delete()
    )
    return deleted


def retry_job_run(*, run_id: int, actor: Actor) -> JobRun:
    """Have a failed scheduled run tried again: the next tick of any worker takes it up.

    Nothing runs in the caller's process; the runner claims the run as a new attempt
    (``runner._take_over``), and jobs are idempotent per business date. Raises NotFound
    job_run_not_found; StateConflict job_run_not_failed, job_run_manual (a manual run is
    started again by hand, ``faktura run``); PermissionRefused without ``job.retry``.
    """
    permissions.require(actor, "job.retry")
    with transaction.atomic():
        run = JobRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFound(f"No job run {run_id}.", code="job_run_not_found")
        if run.state != JobRun.State.FAILED:
            raise StateConflict(f"Run {run_id} is {run.state}.", code="job_run_not_failed")
        if run.trigger == JobRun.Trigger.MANUAL:
            raise StateConflict(
                f"Run {run_id} was started by hand; start it again by hand.",
                code="job_run_manual",
            )
        run.next_attempt_at = clock.now()
        run.save(update_fields=["next_attempt_at"])
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="job_run.retry_requested",
            object_type="job_run",
            object_id=run.pk,
            data={"job": run.job, "as_of": run.as_of, "attempts": run.attempts},
        )
    return run
