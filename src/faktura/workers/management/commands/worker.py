"""`faktura worker`: the background worker with a lease, recovery of dead workers' tasks and
the sweeps (see ``faktura.workers.runner``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from faktura.workers.runner import LeasedWorker


class Command(DbWorkerCommand):
    help = (
        "Run a background worker: the tasks of the database queue, a heartbeat lease, "
        "recovery of tasks whose worker died, and the sweeps that resume stuck documents "
        "and mails. Any number may run at once."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--heartbeat",
            type=float,
            default=None,
            help="Seconds between heartbeats (default: FAKTURA_WORKER_HEARTBEAT_SECONDS).",
        )
        parser.add_argument(
            "--maintenance",
            type=float,
            default=None,
            help="Seconds between upkeep rounds (default: FAKTURA_MAINTENANCE_SECONDS).",
        )

    def configure_logging(self, verbosity: int) -> None:
        """Like ``db_worker``'s, one level quieter: by default only warnings and failed tasks
        are logged, not two lines for every task (``-v 2`` shows them, ``-v 3`` debugs)."""
        super().configure_logging(max(verbosity - 1, 0))
        if verbosity <= 1:
            for name in ("django_tasks", "django_tasks_db"):
                logging.getLogger(name).setLevel(logging.WARNING)

    def handle(self, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        worker = LeasedWorker(
            heartbeat_seconds=options["heartbeat"],
            maintenance_seconds=options["maintenance"],
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        if options["reload"] and not options["batch"]:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
