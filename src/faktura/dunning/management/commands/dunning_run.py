"""`faktura dunning-run [--date YYYY-MM-DD] [--dry-run] [--customer NUMBER …]`.

Moves every overdue invoice on to its next dunning level when its time has come, once.
Running it again for the same date sends nothing new. ``--dry-run`` shows the notices a
run would make and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.core.money import format_amount
from faktura.customers.models import Customer
from faktura.dunning.run import run_dunning


class Command(BaseCommand):
    help = "Send the payment reminders and dunning notices due on a date, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Run date YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show the notices a run would make"
        )
        parser.add_argument(
            "--customer",
            action="append",
            default=[],
            metavar="NUMBER",
            help="Only this customer (customer number; repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None
        else:
            on = clock.today()
        customer_ids = None
        if options["customer"]:
            found = dict(
                Customer.objects.filter(number__in=options["customer"]).values_list("number", "pk")
            )
            missing = sorted(set(options["customer"]) - set(found))
            if missing:
                raise CommandError(f"--customer: no customer {', '.join(missing)}")
            customer_ids = list(found.values())
        started = time.monotonic()
        interactive = sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            line = f"{done}/{total} customers"
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
            elif done == total or done % 5000 == 0:
                self.stdout.write(line)

        try:
            run = run_dunning(
                on=on,
                actor=Actor.system("dunning-run"),
                dry_run=options["dry_run"],
                customer_ids=customer_ids,
                progress=progress,
            )
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        if interactive:
            self.stdout.write("")
        if options["dry_run"]:
            self.stdout.write(f"Dry run for {on}: nothing is written.")
            for notice in run.preview_notices:  # type: ignore[attr-defined]
                self.stdout.write(
                    f"  {notice.customer.number} {notice.customer.name}: {notice.level_name}, "
                    f"{len(notice.preview_items)} invoice(s), "
                    f"{format_amount(notice.total)} EUR"
                    + (" (review)" if notice.status == "proposed" else "")
                )
        label = "Dry run" if options["dry_run"] else f"Dunning run {run.pk}"
        self.stdout.write(
            f"{label} for {on}: {run.customers_checked} customer(s), "
            f"{run.invoices_overdue} overdue invoice(s), {run.invoices_skipped} skipped; "
            f"{run.notices_sent} notice(s) sent, {run.notices_proposed} for review, "
            f"{run.fees_charged} fee(s), {run.interest_periods} interest period(s), "
            f"{run.errors} error(s) in {time.monotonic() - started:.1f} s."
        )
        for message in run.error_messages:
            self.stdout.write(f"  error: {message}")
        if run.notices_proposed:
            self.stdout.write("Proposals wait for review on the to-do list.")
