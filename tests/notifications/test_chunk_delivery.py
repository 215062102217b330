"""Mails of a billing-run chunk: queued together, sent by one task, retried one by one."""

from __future__ import annotations

import pytest

from faktura.invoicing import services as invoicing
from faktura.notifications import services
from faktura.notifications.models import OutboxMessage
from tests.documents.pipeline_helpers import pending_tasks, run_tasks
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db


def _chunk(customer, actor, count: int) -> list[OutboxMessage]:
    drafts = [order(customer, actor, line(price=f"{10 + n}.00")) for n in range(count)]
    invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    run_tasks("process_finalized_documents")
    return list(OutboxMessage.objects.order_by("pk"))


def test_one_task_sends_the_whole_chunk(smtp_server, business_customer, actor):
    messages = _chunk(business_customer, actor, 3)
    [task] = pending_tasks("send_outbox_messages")
    assert task.args_kwargs["args"] == [[m.pk for m in messages]]

    assert run_tasks("send_outbox_messages") == 1
    assert len(smtp_server.received) == 3
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    subjects = sorted(str(received["Subject"]) for _to, received in smtp_server.received)
    assert subjects == sorted(m.subject for m in messages)


def test_failed_messages_of_a_chunk_are_retried_one_by_one(
    no_smtp_server, business_customer, actor
):
    messages = _chunk(business_customer, actor, 3)
    run_tasks("send_outbox_messages")

    retries = pending_tasks("send_outbox_message")
    assert sorted(task.args_kwargs["args"][0] for task in retries) == [m.pk for m in messages]
    for message in OutboxMessage.objects.all():
        assert (message.state, message.attempts) == ("queued", 1)
        assert message.next_attempt_at is not None


def test_an_unexpected_error_in_one_message_does_not_stop_the_others(
    smtp_server, business_customer, actor, monkeypatch
):
    messages = _chunk(business_customer, actor, 3)
    real = services.send_message

    def send(message_id):
        if message_id == messages[1].pk:
            raise RuntimeError("database went away")
        return real(message_id)

    monkeypatch.setattr(services, "send_message", send)
    with pytest.raises(RuntimeError):
        services.send_messages([m.pk for m in messages])
    states = dict(OutboxMessage.objects.values_list("pk", "state"))
    assert states == {messages[0].pk: "sent", messages[1].pk: "queued", messages[2].pk: "sent"}
