"""`faktura maintenance on|off|status [--message TEXT]`: the maintenance switch."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core import maintenance, services
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.core.models import MaintenanceMode


class Command(BaseCommand):
    help = (
        "Switch maintenance mode on or off for every process, or show it. While on, every "
        "write (API, admin, back office, portal) is refused with 503, reads go on, and "
        "scheduled jobs wait; they catch up once it is off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["on", "off", "status"])
        parser.add_argument(
            "--message", default="", help="Shown with the refusal (e.g. 'bis 18:00 Uhr')"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action != "status":
            try:
                services.set_maintenance(
                    actor=Actor.system("maintenance-command"),
                    active=action == "on",
                    message=options["message"],
                )
            except DomainError as error:
                raise CommandError(error.message) from error
        state = maintenance.current()
        if state is None:
            self.stdout.write("maintenance: off")
            return
        row = MaintenanceMode.objects.get(pk=MaintenanceMode.SINGLETON)
        since = f"{row.since:%Y-%m-%d %H:%M:%S} UTC" if row.since else "?"
        self.stdout.write(f"maintenance: on since {since} (by {row.changed_by})")
        if row.message:
            self.stdout.write(f"message: {row.message}")
