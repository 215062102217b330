"""Background entry points of the notifications app (run after the queueing commit)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_outbox_message(message_id: int) -> None:
    """Send one outbox message if it is due; a retry re-enqueues itself (idempotent)."""
    from faktura.notifications.services import send_message

    send_message(message_id)


@task()
def send_outbox_messages(message_ids: list[int]) -> None:
    """Send the messages queued together for a chunk of documents, each on its own: a
    failed message is retried alone by its own ``send_outbox_message`` task."""
    from faktura.notifications.services import send_messages

    send_messages(message_ids)
