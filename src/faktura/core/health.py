"""The checks behind ``/health/ready``: is this installation able to do its work?

Each check answers ``ok``, ``warning`` (worth a look, still ready) or ``failing`` (not
ready: 503). Only counts, ages in seconds and states are reported, never names, addresses,
amounts or error texts: the endpoint needs no sign-in.

* database: one ``SELECT 1``; when it fails the other checks are skipped;
* migrations: no migration left unapplied (code newer than the schema);
* worker: at least one ``faktura worker`` whose heartbeat lease is live (a stopped or
  hung worker means no mail, no PDF, no scheduled job);
* task_queue: ready tasks and the age of the oldest; failing beyond
  FAKTURA_HEALTH_QUEUE_MAX_AGE_SECONDS or FAKTURA_HEALTH_QUEUE_MAX_DEPTH;
* outbox: mails due and unsent and the age of the oldest; failing beyond
  FAKTURA_HEALTH_OUTBOX_MAX_AGE_SECONDS;
* failed_jobs: tasks and scheduled job runs that failed in the last 24 hours (warning);
* maintenance: whether maintenance mode is on (warning: reads work, writes wait).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from faktura.core import clock

logger = logging.getLogger(__name__)

OK, WARNING, FAILING, SKIPPED = "ok", "warning", "failing", "skipped"
FAILED_WINDOW = dt.timedelta(hours=24)


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, **self.detail}


def _age(oldest: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if oldest is None else max(round((now - oldest).total_seconds(), 1), 0.0)


def check_database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Check("database", OK)


def pending_migrations() -> list[str]:
    """Migrations of the installed code not applied to the database, in plan order."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def check_migrations() -> Check:
    pending = pending_migrations()
    # Names of migrations are the code's, not data: safe to show and what the operator needs.
    return Check("migrations", FAILING if pending else OK, {"unapplied": pending})


def check_worker() -> Check:
    from faktura.workers import lease

    alive = len(lease.live_worker_ids())
    return Check("worker", OK if alive else FAILING, {"alive": alive})


def task_queue() -> tuple[int, float | None]:
    """Ready tasks (run_after passed) and the age in seconds of the oldest."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()  # django-tasks stamps its rows with the real time
    row = DBTaskResult.objects.ready().aggregate(depth=Count("pk"), oldest=Min("enqueued_at"))
    return row["depth"], _age(row["oldest"], now)


def check_task_queue() -> Check:
    depth, oldest = task_queue()
    max_age = float(settings.FAKTURA_HEALTH_QUEUE_MAX_AGE_SECONDS)
    max_depth = int(settings.FAKTURA_HEALTH_QUEUE_MAX_DEPTH)
    late = (oldest is not None and oldest > max_age) or depth > max_depth
    return Check(
        "task_queue",
        FAILING if late else OK,
        {
            "depth": depth,
            "oldest_age_seconds": oldest,
            "max_age_seconds": max_age,
            "max_depth": max_depth,
        },
    )


def outbox_backlog() -> tuple[int, float | None]:
    """Mails queued and due (no retry waiting), and the age in seconds of the oldest."""
    from django.db.models import Q

    from faktura.notifications.models import OutboxMessage

    now = clock.now()  # the outbox is stamped by Faktura's clock
    row = (
        OutboxMessage.objects.filter(state=OutboxMessage.State.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .aggregate(count=Count("pk"), oldest=Min(Coalesce("next_attempt_at", "created_at")))
    )
    return row["count"], _age(row["oldest"], now)


def check_outbox() -> Check:
    count, oldest = outbox_backlog()
    max_age = float(settings.FAKTURA_HEALTH_OUTBOX_MAX_AGE_SECONDS)
    late = oldest is not None and oldest > max_age
    return Check(
        "outbox",
        FAILING if late else OK,
        {"due": count, "oldest_age_seconds": oldest, "max_age_seconds": max_age},
    )


def failed_jobs(*, within: dt.timedelta = FAILED_WINDOW) -> dict[str, int]:
    """Tasks and scheduled job runs that failed for good in the window (retries pending
    are not failures yet)."""
    from django_tasks_db.models import DBTaskResult

    from faktura.scheduling.models import JobRun

    tasks = DBTaskResult.objects.failed().filter(finished_at__gte=timezone.now() - within).count()
    runs = JobRun.objects.filter(
        state=JobRun.State.FAILED,
        next_attempt_at__isnull=True,
        finished_at__gte=clock.now() - within,
    ).count()
    return {"tasks": tasks, "scheduled": runs}


def check_failed_jobs() -> Check:
    counts = failed_jobs()
    return Check(
        "failed_jobs",
        WARNING if any(counts.values()) else OK,
        {**counts, "window_hours": int(FAILED_WINDOW.total_seconds() // 3600)},
    )


def check_maintenance() -> Check:
    from faktura.core import maintenance

    state = maintenance.current()
    if state is None:
        return Check("maintenance", OK, {"active": False})
    since = state.since.isoformat() if state.since else None
    return Check("maintenance", WARNING, {"active": True, "since": since})


CHECKS: tuple[Callable[[], Check], ...] = (
    check_migrations,
    check_worker,
    check_task_queue,
    check_outbox,
    check_failed_jobs,
    check_maintenance,
)


def _run(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except DatabaseError:
        # The error text may name the host or the user: logged for the operator, not shown.
        logger.exception("health check %s failed", name)
        return Check(name, FAILING, {"error": "database error"})


def readiness() -> tuple[bool, dict[str, Any]]:
    """Run every check; ready unless one fails. Returns (ready, the JSON body)."""
    results = [_run("database", check_database)]
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        if results[0].status == FAILING:
            results.append(Check(name, SKIPPED))
        else:
            results.append(_run(name, check))
    ready = all(result.status != FAILING for result in results)
    maintenance_on = any(r.name == "maintenance" and r.detail.get("active") for r in results)
    status = "ready" if ready else "not_ready"
    if ready and maintenance_on:
        status = "maintenance"
    return ready, {
        "status": status,
        "ready": ready,
        "checks": [result.as_json() for result in results],
    }
