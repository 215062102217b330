"""What every ``faktura worker`` does besides running tasks, every few seconds.

* recover the tasks of dead workers (``lease.recover_lost_tasks``), every time;
* sweep, at most once per ``FAKTURA_SWEEP_SECONDS`` across all workers (a row lock on
  ``SweepRun`` lets one worker do it, the others skip): release the mails of dead senders
  and queue every due mail that no task will send; re-queue finalized documents that stayed
  unarchived or unannounced past ``FAKTURA_SWEEP_AFTER_MINUTES``;
* (in a thread of its own, ``tick_scheduler``) tick the scheduler
  (``faktura.scheduling.runner.tick``) when that app is installed.

Each step is idempotent and only writes rows (task rows, states), never sends or renders
itself: the work is done by the tasks it queues, in the worker's main loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from faktura.workers import lease
from faktura.workers.models import SweepRun

logger = logging.getLogger(__name__)


def sweep_after() -> dt.timedelta:
    return dt.timedelta(minutes=float(settings.FAKTURA_SWEEP_AFTER_MINUTES))


def run_sweep(name: str, every: dt.timedelta, sweep: Callable[[], object]) -> bool:
    """Run ``sweep`` unless another worker runs it now or it ran less than ``every`` ago.

    The sweep runs inside the transaction that holds the ``SweepRun`` row lock, so what it
    queues commits together with the time it ran. Returns whether it ran.
    """
    SweepRun.objects.get_or_create(name=name)
    with transaction.atomic():
        row = SweepRun.objects.select_for_update(skip_locked=True).filter(name=name).first()
        now = timezone.now()
        if row is None or (row.last_run_at is not None and row.last_run_at > now - every):
            return False
        result = sweep()
        row.last_run_at = now
        row.save(update_fields=["last_run_at"])
    if result and (not isinstance(result, dict) or any(result.values())):
        logger.info("sweep %s: %s", name, result)
    return True


def sweep_outbox() -> dict[str, int]:
    from faktura.notifications.services import resume_outbox

    return resume_outbox()


def sweep_documents() -> int:
    from faktura.documents.services import requeue_unprocessed

    return requeue_unprocessed(older_than=sweep_after())


def maintain(worker_id: str) -> None:
    """One round of upkeep by worker ``worker_id`` (see the module's docstring)."""
    requeued, failed = lease.recover_lost_tasks()
    if requeued or failed:
        logger.warning("recovered tasks of dead workers: %s re-queued, %s failed", requeued, failed)
    every = dt.timedelta(seconds=float(settings.FAKTURA_SWEEP_SECONDS))
    run_sweep("outbox", every, sweep_outbox)
    run_sweep("documents", every, sweep_documents)
    run_sweep("forget-workers", dt.timedelta(hours=1), lease.forget_dead_workers)


def scheduler_installed() -> bool:
    return apps.is_installed("faktura.scheduling")


def tick_scheduler(worker_id: str) -> None:
    """Run the scheduled jobs that are due (``faktura.scheduling``; each due time runs once
    across all workers). A job runs right here, so the worker ticks it in a thread of its
    own: a long job never delays the recovery of dead workers' tasks."""
    from faktura.scheduling.runner import tick

    tick(worker_id)
