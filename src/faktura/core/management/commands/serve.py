"""`faktura serve`: the production web server (gunicorn), static files by WhiteNoise."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    # Gunicorn's own rule of thumb; WEB_CONCURRENCY is what platforms set for it.
    if value := os.environ.get("WEB_CONCURRENCY"):
        return int(value)
    return 2 * (os.cpu_count() or 1) + 1


def gunicorn_argv(*, bind: str, workers: int, threads: int, timeout: int) -> list[str]:
    """The gunicorn command line for ``faktura.wsgi`` (see ``faktura.gunicorn_conf``)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "faktura.wsgi:application",
        "--config",
        "python:faktura.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        # Threads need the threaded worker; one thread per process is the plain sync worker.
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--timeout",
        str(timeout),
    ]


class Command(BaseCommand):
    help = (
        "Serve Faktura in production: gunicorn with N worker processes, static files from the "
        "data directory; SIGTERM stops it gracefully. Run `faktura migrate` first."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Worker processes (default: WEB_CONCURRENCY, else 2 × CPU cores + 1).",
        )
        parser.add_argument("--threads", type=int, default=1, help="Threads per process.")
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (or unix:PATH)")
        parser.add_argument(
            "--timeout", type=int, default=30, help="Seconds before a stuck worker is restarted."
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Skip collecting static files (the image collected them at build time).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"] or default_workers()
        if workers < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        if settings.DEBUG:
            self.stderr.write("Warning: DEBUG is on; never serve the public with DEBUG=1.")
        if not options["no_collectstatic"]:
            # Compressed copies in STATIC_ROOT (data dir): WhiteNoise serves them with far
            # cache headers instead of looking up each file in the installed apps.
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = gunicorn_argv(
            bind=options["bind"],
            workers=workers,
            threads=options["threads"],
            timeout=options["timeout"],
        )
        # Each worker keeps its database connection between requests instead of opening one
        # per request (several milliseconds each on PostgreSQL).
        os.environ.setdefault("DB_CONN_MAX_AGE", "600")
        sys.stdout.flush()
        sys.stderr.flush()
        # Replace this process: SIGTERM from the container runtime reaches gunicorn's master,
        # which lets the workers finish their requests and exits 0.
        os.execv(sys.executable, argv)  # noqa: S606 (argv is ours, no shell)
