"""`faktura scheduler [--interval S] [--once]`: run the scheduled jobs when they are due.

Every worker process ticks the scheduler too; this command is for an installation
without them, or for cron (`--once`). Any number may run at once: each due time runs
once across all of them.
"""

from __future__ import annotations

import os
import signal
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from faktura.scheduling import runner


class Command(BaseCommand):
    help = "Run the scheduled jobs when due (see `faktura jobs`); stops cleanly on SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between ticks")
        parser.add_argument("--once", action="store_true", help="Tick once and exit (cron)")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = f"scheduler:{socket.gethostname()}:{os.getpid()}"
        if options["once"]:
            for run in runner.tick(worker_id):
                self.stdout.write(f"{run.job} for {run.as_of}: {run.state}")
            return
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        runner.run_forever(worker_id, interval=options["interval"], should_stop=lambda: stopping)
