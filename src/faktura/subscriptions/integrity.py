"""`faktura check`: billing runs that stopped without finishing (DESIGN invariant 9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from faktura.core import clock
from faktura.subscriptions.models import BillingRun

# A run of 100,000 subscriptions takes minutes; one still running after this has died.
STALE_AFTER = dt.timedelta(hours=2)


def billing_run_problems() -> Iterator[str]:
    stale = BillingRun.objects.filter(
        status=BillingRun.Status.RUNNING, started_at__lt=clock.now() - STALE_AFTER
    ).order_by("pk")
    for run in stale:
        done = (
            f", {len(run.chunks_done)} of {run.chunks_total} chunks done"
            if run.chunks_total
            else ""
        )
        yield (
            f"billing run {run.pk} for {run.billing_date} started {run.started_at:%Y-%m-%d %H:%M} "
            f"UTC has not finished{done}: did its process die? Nothing billed is lost; run "
            f"`faktura billing-run --date {run.billing_date}` to bill the rest."
        )
