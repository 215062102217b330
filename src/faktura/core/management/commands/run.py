"""`faktura run`: migrate, load demo data on first start, then serve web and worker together."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from faktura.core.management.commands.demo import USERS, demo_logins


class Command(BaseCommand):
    help = "Start Faktura on one machine: web server on 127.0.0.1:8000 and the background worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        from faktura.core.models import Company

        first_start = not Company.objects.exists()
        if first_start and not options["no_demo"]:
            self.stdout.write("First start: loading demo data …")
            call_command("demo", verbosity=0)
        executable = [sys.executable, "-m", "faktura.cli"]
        worker = subprocess.Popen([*executable, "worker", "--interval", "0.5"])
        web = subprocess.Popen([*executable, "runserver", options["addr"], "--noreload"])
        self.stdout.write(
            self.style.SUCCESS(f"\nFaktura runs at http://{options['addr']}/\n")
            + f"  Back office:         http://{options['addr']}/\n"
            + f"  Django admin:        http://{options['addr']}/admin/\n"
            + f"  API docs:            http://{options['addr']}/api/v1/docs\n"
            + self._logins()
            + f"  Data directory:      {settings.DATA_DIR}\n"
            + f"  Mail: one line per mail here, the whole mails in {settings.EMAIL_FILE_PATH}\n"
            + "  Stop with Ctrl+C.\n"
        )

        def stop(*_: Any) -> None:
            for process in (web, worker):
                process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            worker.wait(timeout=10)

    def _logins(self) -> str:
        from django.contrib.auth import get_user_model

        if not get_user_model().objects.filter(username__in=[u[0] for u in USERS]).exists():
            return ""
        return "  Demo logins:\n" + "".join(f"    {login}\n" for login in demo_logins())
