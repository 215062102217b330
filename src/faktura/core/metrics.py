"""Prometheus metrics read from the database at each scrape (``/metrics``).

The figures live in the database, not in a process's memory, so one scrape of any web
process gives the same, complete numbers however many web processes and workers run, and
no multiprocess mode or shared directory is needed. Each scrape costs a handful of
aggregate queries (GROUP BY / COUNT / SUM), none of them walks rows in Python.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from faktura.core import clock, health


class BusinessCollector(Collector):
    """Faktura's business and operations figures, as of the scrape."""

    def collect(self) -> Iterator[Metric]:
        from faktura.documents.services import BLOCKED
        from faktura.invoicing import selectors
        from faktura.invoicing.models import Invoice, Kind, Status
        from faktura.notifications.models import OutboxMessage
        from faktura.workers import lease

        finalized = CounterMetricFamily(
            "faktura_invoices_finalized",
            "Documents finalized (numbered) since the installation, by kind.",
            labels=["kind"],
        )
        counts = dict(
            Invoice.objects.filter(status=Status.FINALIZED)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        for kind in Kind.values:
            finalized.add_metric([kind], counts.get(kind, 0))
        yield finalized

        yield GaugeMetricFamily(
            "faktura_documents_blocked",
            "Finalized documents whose delivery is blocked by e-invoice validation.",
            value=Invoice.objects.filter(delivery_status=BLOCKED).count(),
        )

        mails = dict(
            OutboxMessage.objects.filter(
                state__in=[OutboxMessage.State.FAILED, OutboxMessage.State.QUEUED]
            )
            .order_by()
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        yield GaugeMetricFamily(
            "faktura_mails_failed",
            "Mails that failed for good (need a person).",
            value=mails.get(OutboxMessage.State.FAILED, 0),
        )
        yield GaugeMetricFamily(
            "faktura_mails_queued",
            "Mails waiting to be sent (due or waiting for a retry).",
            value=mails.get(OutboxMessage.State.QUEUED, 0),
        )

        failed = health.failed_jobs()
        jobs = GaugeMetricFamily(
            "faktura_jobs_failed",
            "Tasks and scheduled job runs failed for good in the last 24 hours.",
            labels=["source"],
        )
        jobs.add_metric(["task"], failed["tasks"])
        jobs.add_metric(["scheduled"], failed["scheduled"])
        yield jobs

        open_items = selectors.with_open_amounts(
            Invoice.objects.filter(status=Status.FINALIZED, kind=Kind.INVOICE)
        ).filter(open_amount__gt=0)
        totals = (
            open_items.order_by()
            .values("currency")
            .annotate(
                total=Sum("open_amount"),
                overdue=Count("pk", filter=Q(due_date__lt=clock.today())),
            )
        )
        receivables = GaugeMetricFamily(
            "faktura_receivables_open",
            "Sum of the open amounts of finalized invoices, by currency.",
            labels=["currency"],
        )
        overdue = GaugeMetricFamily(
            "faktura_invoices_overdue",
            "Finalized invoices with an open amount past their due date, by currency.",
            labels=["currency"],
        )
        seen = set()
        for row in totals:
            seen.add(row["currency"])
            # Prometheus samples are floats; the exact Decimal stays in the reports.
            receivables.add_metric([row["currency"]], float(row["total"]))
            overdue.add_metric([row["currency"]], row["overdue"])
        if "EUR" not in seen:
            receivables.add_metric(["EUR"], 0.0)
            overdue.add_metric(["EUR"], 0)
        yield receivables
        yield overdue

        yield GaugeMetricFamily(
            "faktura_workers_alive",
            "Workers (`faktura worker`) whose heartbeat lease is live.",
            value=len(lease.live_worker_ids()),
        )
        depth, oldest = health.task_queue()
        yield GaugeMetricFamily(
            "faktura_task_queue_depth", "Tasks ready to run and not yet taken.", value=depth
        )
        yield GaugeMetricFamily(
            "faktura_task_queue_oldest_age_seconds",
            "Age of the oldest ready task (0 when the queue is empty).",
            value=oldest or 0.0,
        )
        due, outbox_oldest = health.outbox_backlog()
        yield GaugeMetricFamily("faktura_outbox_due", "Mails due and not yet sent.", value=due)
        yield GaugeMetricFamily(
            "faktura_outbox_oldest_age_seconds",
            "Age of the oldest mail due and not yet sent (0 when none).",
            value=outbox_oldest or 0.0,
        )
        from faktura.core import maintenance

        yield GaugeMetricFamily(
            "faktura_maintenance_mode",
            "1 while maintenance mode is on.",
            value=1 if maintenance.is_active() else 0,
        )


def registry() -> CollectorRegistry:
    """A registry with only Faktura's collector: the per-process default metrics (memory,
    CPU of the one process that answered) would mislead beside installation-wide figures."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(BusinessCollector())
    return reg
