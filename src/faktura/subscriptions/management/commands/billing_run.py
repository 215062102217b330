"""`faktura billing-run [--date YYYY-MM-DD] [--dry-run] [--customer NUMBER …]`.

Bills every subscription period and charge due on or before the date (default: today)
exactly once. Running it again for the same date makes nothing new. ``--dry-run`` shows
what a run would make and writes nothing.
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
from faktura.subscriptions import run as billing_run
from faktura.subscriptions.models import BillingIssue, BillingRun


class Command(BaseCommand):
    help = "Invoice every subscription period and charge due on or before a date, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Billing date YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be billed; write nothing"
        )
        parser.add_argument(
            "--in-workers",
            action="store_true",
            help="Let the running `faktura worker` processes bill the chunks in parallel; "
            "wait and show the progress",
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
                billing_date = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None
        else:
            billing_date = clock.today()
        customer_ids = None
        if options["customer"]:
            found = dict(
                Customer.objects.filter(number__in=options["customer"]).values_list("number", "pk")
            )
            missing = sorted(set(options["customer"]) - set(found))
            if missing:
                raise CommandError(f"--customer: no customer {', '.join(missing)}")
            customer_ids = list(found.values())
        actor = Actor.system("billing-run")
        try:
            if options["dry_run"]:
                self._dry_run(billing_date, actor, customer_ids)
            else:
                self._run(billing_date, actor, customer_ids, in_workers=options["in_workers"])
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None

    def _dry_run(self, billing_date: dt.date, actor: Actor, customer_ids: list[int] | None) -> None:
        preview = billing_run.preview_billing(
            billing_date=billing_date, actor=actor, customer_ids=customer_ids
        )
        self.stdout.write(f"Dry run for {billing_date}: nothing is written.")
        for invoice in preview.invoices:
            self.stdout.write(
                f"  {invoice.buyer.get('customer_number', '')} {invoice.buyer.get('name', '')}: "
                f"{len(invoice.preview_lines)} line(s), "  # type: ignore[attr-defined]
                f"{format_amount(invoice.grand_total)} EUR"
            )
        for customer, error in preview.refused:
            self.stdout.write(f"  {customer.number} {customer.name}: NOT billable — {error}")
        self.stdout.write(
            f"{preview.periods} period(s) and {preview.charges} charge(s) due; "
            f"{len(preview.invoices)} invoice(s) totalling {format_amount(preview.total)} EUR; "
            f"{len(preview.refused)} customer(s) with errors."
        )

    def _run(
        self,
        billing_date: dt.date,
        actor: Actor,
        customer_ids: list[int] | None,
        *,
        in_workers: bool,
    ) -> None:
        started = time.monotonic()
        interactive = sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            unit = "chunks" if in_workers else "customers"
            line = f"{done}/{total} {unit} ({rate:.0f}/s)"
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
            elif done == total or done % 2000 == 0:
                self.stdout.write(line)

        result = billing_run.run_billing(
            billing_date=billing_date,
            actor=actor,
            customer_ids=customer_ids,
            progress=progress,
            in_workers=in_workers,
        )
        while result.status == BillingRun.Status.RUNNING:
            # Billed by the workers: follow the run's record until its last chunk is done.
            time.sleep(1)
            result.refresh_from_db()
            progress(len(result.chunks_done), result.chunks_total)
        if interactive:
            self.stdout.write("")
        self.stdout.write(
            f"Billing run {result.pk} for {billing_date}: {result.periods_found} period(s) and "
            f"{result.charges_found} charge(s) billed on {result.invoices_made} invoice(s), "
            f"{result.invoices_finalized} finalized, {result.errors} error(s) "
            f"in {time.monotonic() - started:.1f} s."
        )
        for issue in BillingIssue.objects.filter(run=result).select_related("customer"):
            self.stdout.write(
                f"  not billed: {issue.customer.number} {issue.customer.name} — "
                f"{issue.code}: {issue.message}"
            )
        if result.errors:
            self.stdout.write("The errors are on the to-do list (billing issues).")
