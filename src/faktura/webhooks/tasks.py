"""Background entry points of the webhooks app (run after the emitting commit)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_webhook_deliveries(delivery_ids: list[int]) -> None:
    """Send the deliveries written together (one event or one chunk), each on its own: a
    failed one is retried alone by its own ``send_webhook_delivery`` task."""
    from faktura.webhooks.services import send_deliveries

    send_deliveries(delivery_ids)


@task()
def send_webhook_delivery(delivery_id: int) -> None:
    """Send one delivery if it is due (a retry enqueues itself; idempotent)."""
    from faktura.webhooks.services import send_delivery

    send_delivery(delivery_id)
