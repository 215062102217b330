"""Housekeeping of the scheduler's own records."""

from __future__ import annotations

import datetime as dt

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
