"""The state of the declared jobs and every run of them; the declarations are in jobs.py."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class JobState(models.Model):
    """One row per declared job: since when it is scheduled and its latest claimed due time."""

    name = models.CharField(max_length=100, unique=True)
    # The first tick that saw the job: no due time before it is ever run, so a fresh
    # installation (or a newly declared job) does not replay years of history.
    since = models.DateTimeField()
    # The latest scheduled due time claimed by any worker; catch-up starts after it.
    last_due_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    """One execution of a job for one due time (scheduled) or on request (manual)."""

    class State(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"

    job = models.CharField(max_length=100)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    # Scheduled: the due time (UTC); manual: when it was asked for.
    due_at = models.DateTimeField()
    # The business date the job works for: the due time's date in the company's time zone,
    # or the --date of a manual run. Re-running a job for the same date is deterministic.
    as_of = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    attempts = models.PositiveIntegerField(default=1)
    worker_id = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # While running: a worker that has not finished by then is presumed dead and any
    # other worker takes the run over (DESIGN invariant 9).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Failed with attempts left: when it is tried again. None when final.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            # The lock: whoever inserts the due time first runs it; every other worker
            # gets an IntegrityError and skips. Manual runs are not due times.
            models.UniqueConstraint(
                fields=["job", "due_at"],
                condition=Q(trigger="schedule"),
                name="scheduling_one_run_per_due_time",
            ),
        ]
        indexes = [
            models.Index(fields=["job", "-started_at"], name="scheduling_run_job_started"),
            models.Index(
                fields=["job"],
                condition=Q(state="running") | Q(next_attempt_at__isnull=False),
                name="scheduling_open_runs",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.due_at:%Y-%m-%d %H:%M} {self.state}"

    @property
    def retry_pending(self) -> bool:
        return self.state == self.State.FAILED and self.next_attempt_at is not None
