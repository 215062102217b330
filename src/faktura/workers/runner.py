"""``faktura worker``: django-tasks-db's worker with a lease, recovery and sweeps.

The task loop is django-tasks-db's own (claim with SKIP LOCKED, run, record). Beside it,
each with its own database connection:

* the heartbeat renews this worker's lease every ``FAKTURA_WORKER_HEARTBEAT_SECONDS``,
  also while a long task runs. It runs in a small child process, not a thread: Saxon and
  Typst may hold the interpreter lock for seconds, and a thread starved that long would
  let the lease expire under a live worker (its task would then run twice, its mail in
  flight could go out twice). The child ends as soon as the worker's end of a pipe
  closes, which the kernel does when the worker dies, however it dies; it ignores the
  signals meant for the worker and stops only with it. Where ``fork`` is missing the
  heartbeat falls back to a thread;
* the upkeep thread runs ``maintenance.maintain`` every ``FAKTURA_MAINTENANCE_SECONDS``;
* with ``faktura.scheduling`` installed, a scheduler thread ticks it as often.

A worker that is killed leaves its heartbeat to expire; another worker then recovers its
tasks. One that stops cleanly (SIGTERM/SIGINT: after the running task) removes its row.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections
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
        self._heartbeat: Any = None  # the child process
        self._heartbeat_pipe: Connection | None = None

    def run(self) -> None:
        lease.register(self.worker_id)
        self._start_heartbeat()
        self._start(
            "maintenance", self.maintenance_seconds, lambda: maintenance.maintain(self.worker_id)
        )
        if maintenance.scheduler_installed():
            self._start(
                "scheduler",
                self.maintenance_seconds,
                lambda: maintenance.tick_scheduler(self.worker_id),
            )
        try:
            super().run()
        finally:
            if threading.current_thread() is threading.main_thread():
                # A second Ctrl+C or SIGTERM (``faktura run`` stopping us) must not cut the
                # lease's return short: the task is done, this takes a moment.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self._stop.set()
            self._stop_heartbeat()
            for thread in self._threads:
                thread.join(timeout=10)
            try:
                lease.unregister(self.worker_id)
            except Exception:  # the database may be gone; the lease then simply expires
                logger.exception("worker %s: could not give its lease back", self.worker_id)

    def _start_heartbeat(self) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            self._start("heartbeat", self.heartbeat_seconds, lambda: lease.beat(self.worker_id))
            return
        connections.close_all()  # the child must never share the worker's sockets
        ours, theirs = multiprocessing.get_context("fork").Pipe()
        self._heartbeat = multiprocessing.get_context("fork").Process(
            target=_beat_while_alive,
            args=(self.worker_id, self.heartbeat_seconds, theirs, ours),
            name=f"faktura-heartbeat-{self.worker_id}",
            daemon=True,
        )
        self._heartbeat.start()
        theirs.close()
        self._heartbeat_pipe = ours

    def _stop_heartbeat(self) -> None:
        """Stop the heartbeat before the lease is given back (it would renew the row)."""
        if self._heartbeat_pipe is not None:
            self._heartbeat_pipe.close()
            self._heartbeat.join(timeout=10)
            self._heartbeat_pipe = None

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


def _beat_while_alive(
    worker_id: str, every: float, pipe: Connection, workers_end: Connection
) -> None:
    """The heartbeat process: renew the lease until the worker's end of ``pipe`` closes."""
    workers_end.close()  # our copy; the worker's own is the one whose closing counts
    # Ctrl+C and SIGTERM are for the worker, which finishes its task first; the heartbeat
    # must go on until then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = os.getppid()
    try:
        while not pipe.poll(every):
            if os.getppid() != parent:
                return
            try:
                lease.beat(worker_id)
            except Exception:  # a database hiccup: try again at the next beat
                logger.exception("worker %s: heartbeat failed", worker_id)
                close_old_connections()
    finally:
        connection.close()
