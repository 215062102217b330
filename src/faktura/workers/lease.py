"""Leases of background work (DESIGN invariant 9: work never waits for a process that died).

Every ``faktura worker`` keeps a heartbeat row (``WorkerHeartbeat``) fresh while it lives.
A task row of django-tasks-db that is RUNNING records the workers that claimed it
(``worker_ids``, the last one is the current claimer). When that worker's heartbeat is
older than the lease, ``recover_lost_tasks`` puts the task back to READY, so any worker
takes it up again; the tasks are idempotent, so running one again after a crash half-way
ends in the state one run gives. A task that its workers died on ``max_claims`` times
(a document that crashes the renderer, memory exhausted) is marked FAILED instead of
killing workers forever; `faktura check` then names the documents it left behind.

Tasks claimed by a worker without a heartbeat row (plain ``db_worker``) are never
touched: nothing is known about whether that process still lives.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from faktura.workers.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# The worker id of this process while it runs as ``faktura worker`` (empty otherwise):
# claims made here (an outbox message being sent) name it, so they are released as soon as
# this process is found dead.
_current_worker_id = ""

# Written into ``exception_class_path`` of a task given up by ``recover_lost_tasks``.
WORKER_LOST = "faktura.workers.lease.WorkerLost"

# Heartbeat rows of workers dead this long are removed (their work was recovered long ago).
FORGET_AFTER = dt.timedelta(days=1)


class WorkerLost(Exception):
    """The workers running a task died too often; it is not taken up again by itself."""


def current_worker_id() -> str:
    return _current_worker_id


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.FAKTURA_WORKER_LEASE_SECONDS))


def register(worker_id: str) -> None:
    """Record this process as a live worker and name it in its claims from now on."""
    global _current_worker_id
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "pid": os.getpid(),
            "hostname": socket.gethostname()[:255],
            "started_at": now,
            "last_seen": now,
        },
    )
    _current_worker_id = worker_id


def beat(worker_id: str) -> None:
    """Renew the lease of a live worker (re-creating its row if it was removed)."""
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=timezone.now())
    if not updated:
        register(worker_id)


def unregister(worker_id: str) -> None:
    """A worker that stops cleanly (after its running task) gives its lease back."""
    global _current_worker_id
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
    if _current_worker_id == worker_id:
        _current_worker_id = ""


def dead_worker_ids(*, now: dt.datetime | None = None) -> set[str]:
    """Workers with a heartbeat row whose lease has expired."""
    now = now or timezone.now()
    return set(
        WorkerHeartbeat.objects.filter(last_seen__lt=now - lease()).values_list(
            "worker_id", flat=True
        )
    )


def live_worker_ids(*, now: dt.datetime | None = None) -> set[str]:
    now = now or timezone.now()
    return set(
        WorkerHeartbeat.objects.filter(last_seen__gte=now - lease()).values_list(
            "worker_id", flat=True
        )
    )


def recover_lost_tasks(*, max_claims: int | None = None) -> tuple[int, int]:
    """Put RUNNING tasks of dead workers back to READY; give up those claimed too often.

    Returns (re-queued, failed). Rows are locked with SKIP LOCKED, so two workers
    recovering at once never handle the same task, and a task a live worker is finishing
    right now is left to it.
    """
    if max_claims is None:
        max_claims = int(settings.FAKTURA_WORKER_MAX_CLAIMS)
    dead = dead_worker_ids()
    if not dead:
        return 0, 0
    requeued = failed = 0
    with transaction.atomic():
        running = DBTaskResult.objects.running().select_for_update(skip_locked=True)
        for task in running.order_by("started_at"):
            claimer = task.worker_ids[-1] if task.worker_ids else None
            if claimer not in dead:
                continue
            now = timezone.now()
            if len(task.worker_ids) >= max_claims:
                task.status = "FAILED"
                task.finished_at = now
                task.exception_class_path = WORKER_LOST
                task.traceback = (
                    f"{WORKER_LOST}: the worker running this task died {len(task.worker_ids)} "
                    f"times (workers {', '.join(task.worker_ids)}); not taken up again. "
                    "`faktura check` names what it left undone."
                )
                task.return_value = None
                task.save(
                    update_fields=[
                        "status",
                        "finished_at",
                        "exception_class_path",
                        "traceback",
                        "return_value",
                    ]
                )
                logger.error("task %s (%s) given up: %s", task.pk, task.task_path, task.traceback)
                failed += 1
            else:
                task.status = "READY"
                task.save(update_fields=["status"])
                logger.warning(
                    "task %s (%s) of dead worker %s put back in the queue",
                    task.pk,
                    task.task_path,
                    claimer,
                )
                requeued += 1
    return requeued, failed


def forget_dead_workers() -> int:
    """Remove heartbeat rows of workers dead for a day whose work nothing refers to."""
    from faktura.notifications.models import OutboxMessage

    old = set(
        WorkerHeartbeat.objects.filter(last_seen__lt=timezone.now() - FORGET_AFTER).values_list(
            "worker_id", flat=True
        )
    )
    if not old:
        return 0
    busy = {
        task.worker_ids[-1]
        for task in DBTaskResult.objects.running().only("worker_ids")
        if task.worker_ids
    } | set(
        OutboxMessage.objects.filter(state="sending", claimed_by__in=old).values_list(
            "claimed_by", flat=True
        )
    )
    deleted, _ = WorkerHeartbeat.objects.filter(worker_id__in=old - busy).delete()
    return deleted
