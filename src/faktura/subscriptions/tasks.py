"""Background entry points of the subscriptions app."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

# Before document rendering (priority 0): a run's invoices first, their PDFs after.
BILLING_PRIORITY = 10


@task(priority=BILLING_PRIORITY)
def bill_customers(run_id: int, billing_date: str, chunk: int, customer_ids: list[int]) -> None:
    """Bill one chunk of a billing run in a worker (idempotent: a retry bills what is left)."""
    from faktura.subscriptions import run

    run.bill_run_chunk(
        run_id=run_id,
        billing_date=dt.date.fromisoformat(billing_date),
        chunk=chunk,
        customer_ids=customer_ids,
    )
