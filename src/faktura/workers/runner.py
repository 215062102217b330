"""``faktura worker``: django-tasks-db's worker with a lease, recovery and sweeps.

The task loop is django-tasks-db's own (claim with SKIP LOCKED, run, record). Two daemon
threads run beside it, each with its own database connection:

* the heartbeat renews this worker's lease every ``FAKTURA_WORKER_HEARTBEAT_SECONDS``,
  also while a long task runs, and does nothing else, so upkeep can never delay it;
* the upkeep runs ``maintenance.maintain`` every ``FAKTURA_MAINTENANCE_SECONDS``.

A worker that is killed leaves its heartbeat to expire; another worker then recovers its
tasks. One that stops cleanly (SIGTERM/SIGINT: after the running task) removes its row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Worker

from faktura.workers import lease, maintenance

logger = logging.getLogger(__name__)


class LeasedWorker(Worker):
    """A django-tasks-db worker that holds a lease and keeps other workers' work moving."""

    def __init__(
        self,
        *,
        heartbeat_seconds: float | None = None,
        maintenance_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.heartbeat_seconds = float(
            heartbeat_seconds
            if heartbeat_seconds is not None
            else settings.FAKTURA_WORKER_HEARTBEAT_SECONDS
        )
        self.maintenance_seconds = float(
            maintenance_seconds
            if maintenance_seconds is not None
            else settings.FAKTURA_MAINTENANCE_SECONDS
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def run(self) -> None:
        lease.register(self.worker_id)
        self._start("heartbeat", self.heartbeat_seconds, lambda: lease.beat(self.worker_id))
        self._start(
            "maintenance", self.maintenance_seconds, lambda: maintenance.maintain(self.worker_id)
        )
        try:
            super().run()
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join(timeout=30)
            try:
                lease.unregister(self.worker_id)
            except Exception:  # the database may be gone; the lease then simply expires
                logger.exception("worker %s: could not give its lease back", self.worker_id)

    def _start(self, name: str, every: float, step: Callable[[], None]) -> None:
        thread = threading.Thread(
            target=self._loop, args=(name, every, step), name=f"faktura-{name}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _loop(self, name: str, every: float, step: Callable[[], None]) -> None:
        try:
            while not self._stop.wait(every):
                close_old_connections()
                try:
                    step()
                except Exception:  # a database hiccup must not end the lease or the upkeep
                    logger.exception("worker %s: %s failed", self.worker_id, name)
        finally:
            connection.close()
