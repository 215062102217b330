"""`faktura serve`: the production web server (granian, WSGI), static files by WhiteNoise."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    # WEB_CONCURRENCY is what platforms set for the web server. Else more processes than
    # cores: one waiting for the database or a slow PDF leaves the core to another.
    if value := os.environ.get("WEB_CONCURRENCY"):
        return int(value)
    return 2 * (os.cpu_count() or 1) + 1


def granian_argv(*, bind: str, workers: int, threads: int) -> list[str]:
    """The granian command line serving ``faktura.wsgi`` (WSGI, HTTP/1.1 keep-alive)."""
    if bind.startswith("unix:"):
        address = ["--uds", bind.removeprefix("unix:")]
    else:
        host, separator, port = bind.rpartition(":")
        if not separator or not port.isdigit():
            raise CommandError(f"--bind {bind!r}: expected host:port or unix:PATH.")
        address = ["--host", host.strip("[]"), "--port", port]
    argv = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--no-ws",
        *address,
        "--workers",
        str(workers),
        # The threads of a process that run Django, each with its own database connection.
        "--blocking-threads",
        str(threads),
        # A process that dies (out of memory, a crash in a library) is started again.
        "--respawn-failed-workers",
        # SIGTERM: requests in flight get this long to finish before the workers are killed.
        "--workers-kill-timeout",
        os.environ.get("FAKTURA_GRACEFUL_TIMEOUT", "25"),
        "--log-level",
        os.environ.get("FAKTURA_SERVER_LOG_LEVEL", "info"),
    ]
    # A process is replaced once it holds more than this much memory (MiB), so a slow leak
    # in a library never grows unbounded; requests in flight finish first.
    if max_rss := os.environ.get("FAKTURA_WORKERS_MAX_RSS", "1024"):
        argv += ["--workers-max-rss", max_rss]
    if os.environ.get("FAKTURA_ACCESS_LOG", "") != "off":
        argv.append("--access-log")
    return [*argv, "faktura.wsgi:application"]


class Command(BaseCommand):
    help = (
        "Serve Faktura in production: granian with N worker processes, static files from the "
        "data directory; SIGTERM stops it gracefully. Run `faktura migrate` first."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Worker processes (default: WEB_CONCURRENCY, else 2 × CPU cores + 1).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="Threads per process running Django (more share one core and its GIL).",
        )
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (or unix:PATH)")
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Skip collecting static files (the image collected them at build time).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"] or default_workers()
        if workers < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        argv = granian_argv(bind=options["bind"], workers=workers, threads=options["threads"])
        if settings.DEBUG:
            self.stderr.write("Warning: DEBUG is on; never serve the public with DEBUG=1.")
        if not options["no_collectstatic"]:
            # Compressed copies in STATIC_ROOT (data dir): WhiteNoise serves them with far
            # cache headers instead of looking up each file in the installed apps.
            call_command("collectstatic", interactive=False, verbosity=0)
        # Each thread keeps its database connection between requests instead of opening one
        # per request (several milliseconds each on PostgreSQL).
        os.environ.setdefault("DB_CONN_MAX_AGE", "600")
        sys.stdout.flush()
        sys.stderr.flush()
        # Replace this process: SIGTERM from the container runtime reaches granian's main
        # process, which lets the workers finish their requests and exits 0.
        os.execv(sys.executable, argv)  # noqa: S606 (argv is ours, no shell)
