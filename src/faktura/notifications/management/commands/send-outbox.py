"""`faktura send-outbox`: send every queued mail that is due (cron, or recovery after downtime)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from faktura.notifications.services import send_due_messages


class Command(BaseCommand):
    help = (
        "Send every queued e-mail whose next attempt is due, and requeue mails whose worker "
        "vanished while sending. Safe to run at any time, also next to the task workers."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = send_due_messages()
        self.stdout.write(
            f"sent {counts['sent']}, retry later {counts['retry']}, failed {counts['failed']}, "
            f"requeued after a lost worker {counts['released']}"
        )
