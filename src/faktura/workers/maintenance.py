"""What every ``faktura worker`` does besides running tasks, every few seconds.

* recover the work of dead workers (``lease.recover_lost_tasks``): their running tasks go
  back to the queue, and the mail they were sending goes back to the outbox queue
  (``notifications.services.release_stale_claims``), so that the re-run task sends it;
* (in a thread of its own, ``tick_scheduler``) tick the scheduler
  (``faktura.scheduling.runner.tick``), which runs the periodic jobs, among them the sweeps
  that queue due mails and stalled documents again (``scheduling.jobs``).

Each step is idempotent and only writes rows (task rows, states), never sends or renders
itself: the work is done by the tasks it queues, in the worker's main loop.
"""

from __future__ import annotations

import logging

from django.apps import apps

from faktura.workers import lease

logger = logging.getLogger(__name__)


def maintain(worker_id: str) -> None:
    """One round of upkeep by worker ``worker_id`` (see the module's docstring)."""
    from faktura.notifications.services import release_stale_claims

    requeued, failed = lease.recover_lost_tasks()
    if requeued or failed:
        logger.warning("recovered tasks of dead workers: %s re-queued, %s failed", requeued, failed)
    released = release_stale_claims()
    if released:
        logger.warning("released %s mail(s) whose sender died", released)


def scheduler_installed() -> bool:
    return apps.is_installed("faktura.scheduling")


def tick_scheduler(worker_id: str) -> None:
    """Run the scheduled jobs that are due (``faktura.scheduling``; each due time runs once
    across all workers). A job runs right here, so the worker ticks it in a thread of its
    own: a long job never delays the recovery of dead workers' tasks."""
    from faktura.scheduling.runner import tick

    tick(worker_id)
