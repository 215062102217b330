"""`faktura jobs`: list the scheduled jobs; `faktura jobs run NAME [--date D]`: run one now."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core import clock
from faktura.core.models import Company
from faktura.scheduling import jobs as declared_jobs
from faktura.scheduling import runner, selectors
from faktura.scheduling.models import JobRun


def _summary(value: object, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


class Command(BaseCommand):
    help = (
        "List every scheduled job with its schedule, last run, result and next run; "
        "`jobs run NAME [--date YYYY-MM-DD]` runs one job now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=False)
        run = actions.add_parser("run", help="Run one job now (recorded as a manual run).")
        run.add_argument("name", help="The job's name, as `faktura jobs` lists it")
        run.add_argument(
            "--date", help="The business date to run it for, YYYY-MM-DD (default: today)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") == "run":
            self._run(options["name"], options.get("date"))
        else:
            self._list()

    def _local(self, at: dt.datetime, time_zone: str) -> str:
        return at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")

    def _last(self, run: JobRun | None, time_zone: str, max_attempts: int) -> tuple[str, str]:
        if run is None:
            return "never", ""
        when = self._local(run.due_at, time_zone)
        manual = f" (manual, for {run.as_of})" if run.trigger == JobRun.Trigger.MANUAL else ""
        if run.state == JobRun.State.RUNNING:
            return f"{when} running{manual}", f"worker {run.worker_id}, attempt {run.attempts}"
        if run.state == JobRun.State.SUCCEEDED:
            return f"{when} succeeded{manual}", _summary(run.result)
        error = run.error.splitlines()[0] if run.error else "no error recorded"
        if run.next_attempt_at is not None:
            retry = self._local(run.next_attempt_at, time_zone)
            return (
                f"{when} FAILED{manual}",
                f"attempt {run.attempts}/{max_attempts}, retry {retry}: {_summary(error)}",
            )
        return f"{when} FAILED{manual}", f"after {run.attempts} attempt(s): {_summary(error)}"

    def _list(self) -> None:
        time_zone = Company.time_zone_or_default()
        rows = selectors.overview()
        table = [("NAME", "SCHEDULE", "CATCH-UP", "LAST RUN", "NEXT RUN", "RESULT")]
        for row in rows:
            last, result = self._last(row.last_run, time_zone, row.job.max_attempts)
            if not row.job.enabled:
                upcoming = "off"
            elif row.next_due is None:
                upcoming = "-"
            elif row.overdue:
                upcoming = f"OVERDUE since {self._local(row.next_due, time_zone)}"
            else:
                upcoming = self._local(row.next_due, time_zone)
            table.append((row.job.name, row.job.schedule, row.job.catch_up, last, upcoming, result))
        widths = [max(len(line[i]) for line in table) for i in range(5)]
        self.stdout.write(
            f"Scheduled jobs, times in {time_zone} (now {self._local(clock.now(), time_zone)})"
        )
        for line in table:
            cells = [cell.ljust(width) for cell, width in zip(line[:5], widths, strict=True)]
            self.stdout.write("  ".join([*cells, line[5]]).rstrip())
        for row in rows:
            for run in row.failures:
                error = run.error.splitlines()[0] if run.error else "no error recorded"
                self.stdout.write(
                    self.style.ERROR(
                        f"FAILED {run.job} for {run.as_of} (due "
                        f"{self._local(run.due_at, time_zone)}) after {run.attempts} "
                        f"attempt(s): {error}"
                    )
                    + f"\n  run it again: faktura jobs run {run.job} --date {run.as_of}"
                )
            if row.overdue:
                self.stdout.write(
                    self.style.ERROR(f"OVERDUE {row.job.name}: no worker has run it when due.")
                    + " Is a worker (`faktura worker`/`faktura scheduler`) running?"
                )

    def _run(self, name: str, date: str | None) -> None:
        jobs = {job.name: job for job in declared_jobs.declared()}
        if name not in jobs:
            raise CommandError(f"No job {name!r}; the jobs are: {', '.join(jobs)}")
        today = clock.today()
        if date is None:
            as_of = today
        else:
            try:
                as_of = dt.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from None
            if as_of > today:
                raise CommandError(f"--date: {as_of} is in the future (today is {today})")
        worker_id = f"manual:{socket.gethostname()}:{os.getpid()}"
        run = runner.run_now(jobs[name], as_of=as_of, worker_id=worker_id)
        if run.state != JobRun.State.SUCCEEDED:
            error = run.error.splitlines()[0] if run.error else run.state
            raise CommandError(f"{name} for {as_of} failed: {error}")
        self.stdout.write(f"{name} for {as_of}: succeeded {_summary(run.result, 200)}")
