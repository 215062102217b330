"""Leases of background work: a task whose worker died goes back to the queue, a mail its
worker was sending goes out again under the same Message-ID, and nothing else repeats."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from faktura.core import clock
from faktura.documents.tasks import process_finalized_document
from faktura.notifications import services
from faktura.notifications.models import OutboxMessage
from faktura.workers import lease, maintenance
from faktura.workers.models import WorkerHeartbeat
from tests.documents.pipeline_helpers import finalized, pending_tasks, run_tasks
from tests.notifications.conftest import SmtpServer, free_port, use_smtp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def short_lease(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.FAKTURA_WORKER_LEASE_SECONDS = 30


def _heartbeat(worker_id: str, *, seconds_ago: float) -> None:
    seen = timezone.now() - dt.timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.create(
        worker_id=worker_id, pid=1, hostname="h", started_at=seen, last_seen=seen
    )


def _running(*worker_ids: str, invoice_id: int = 1) -> DBTaskResult:
    result = process_finalized_document.enqueue(invoice_id)
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", worker_ids=list(worker_ids), started_at=timezone.now()
    )
    return DBTaskResult.objects.get(pk=result.id)


def test_a_task_whose_worker_died_goes_back_to_the_queue():
    _heartbeat("dead", seconds_ago=31)
    task = _running("dead")

    assert lease.recover_lost_tasks() == (1, 0)

    task.refresh_from_db()
    assert task.status == "READY"
    assert task.worker_ids == ["dead"]  # the claims so far still count
    assert lease.recover_lost_tasks() == (0, 0)


def test_a_task_of_a_live_worker_stays_with_it():
    _heartbeat("alive", seconds_ago=29)
    task = _running("alive")

    assert lease.recover_lost_tasks() == (0, 0)

    task.refresh_from_db()
    assert task.status == "RUNNING"


def test_a_task_of_a_worker_without_a_lease_is_left_alone():
    # A plain `db_worker` keeps no heartbeat: whether it lives is unknown.
    _heartbeat("dead", seconds_ago=31)
    task = _running("dead", "db-worker")

    assert lease.recover_lost_tasks() == (0, 0)

    task.refresh_from_db()
    assert task.status == "RUNNING"


def test_a_task_that_killed_its_worker_five_times_is_given_up(settings):
    _heartbeat("dead", seconds_ago=31)
    four = _running("w1", "w2", "w3", "dead", invoice_id=1)
    five = _running("w1", "w2", "w3", "w4", "dead", invoice_id=2)

    assert lease.recover_lost_tasks() == (1, 1)

    four.refresh_from_db()
    five.refresh_from_db()
    assert four.status == "READY"
    assert five.status == "FAILED"
    assert five.exception_class_path == lease.WORKER_LOST
    assert "died 5 times" in five.traceback
    assert five.finished_at is not None


def test_a_worker_registers_renews_and_gives_back_its_lease():
    lease.register("w1")
    first = WorkerHeartbeat.objects.get(worker_id="w1")
    assert lease.current_worker_id() == "w1"
    WorkerHeartbeat.objects.filter(pk="w1").update(last_seen=first.last_seen - dt.timedelta(1))
    assert lease.dead_worker_ids() == {"w1"}

    lease.beat("w1")
    assert lease.live_worker_ids() == {"w1"}

    lease.unregister("w1")
    assert not WorkerHeartbeat.objects.exists()
    assert lease.current_worker_id() == ""


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    server = SmtpServer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    use_smtp(settings, server.port)
    try:
        yield server
    finally:
        controller.stop()


class Killed(BaseException):
    """SIGKILL, as far as the code after it is concerned: nothing runs any more."""


def test_a_worker_killed_mid_batch_repeats_only_the_mail_in_flight(
    business_customer, consumer, actor, smtp_server, monkeypatch
):
    from django.core.mail import EmailMultiAlternatives

    from faktura.invoicing import services as invoicing
    from tests.invoicing.helpers import line, order

    drafts = [order(customer, actor, line()) for customer in (business_customer, consumer)] + [
        order(business_customer, actor, line("3"))
    ]
    invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    run_tasks("process_finalized_documents")
    messages = list(OutboxMessage.objects.order_by("pk"))
    assert len(messages) == 3
    [batch] = pending_tasks("send_outbox_messages")

    # Worker w1 claims the batch, sends the first mail, and dies just after the second
    # left (before it could record it).
    lease.register("w1")
    batch.claim("w1")
    real_send = EmailMultiAlternatives.send

    def send_then_die(email, *args, **kwargs):
        sent = real_send(email, *args, **kwargs)
        if email.extra_headers["Message-ID"].startswith(f"<faktura-outbox-{messages[1].pk}@"):
            raise Killed
        return sent

    monkeypatch.setattr(EmailMultiAlternatives, "send", send_then_die)
    with pytest.raises(Killed):
        batch.task.call(*batch.args_kwargs["args"])
    monkeypatch.undo()
    states = dict(OutboxMessage.objects.values_list("pk", "state"))
    assert [states[m.pk] for m in messages] == ["sent", "sending", "queued"]
    assert OutboxMessage.objects.get(pk=messages[1].pk).claimed_by == "w1"

    # Its lease expires; another worker's upkeep puts the batch back and the mail too.
    WorkerHeartbeat.objects.filter(pk="w1").update(
        last_seen=timezone.now() - dt.timedelta(seconds=31)
    )
    lease._current_worker_id = "w2"
    maintenance.maintain("w2")
    batch.refresh_from_db()
    assert batch.status == "READY"
    assert OutboxMessage.objects.get(pk=messages[1].pk).state == "queued"

    run_tasks("send_outbox_messages")

    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    ids = [received["Message-ID"] for _rcpt, received in smtp_server.received]
    expected = [f"<faktura-outbox-{m.pk}@muster-software.de>" for m in messages]
    # Each mail arrived; only the one in flight at the crash twice, with its Message-ID.
    assert sorted(ids) == sorted([*expected, expected[1]])
    assert services.resume_outbox() == {"released": 0, "queued": 0}


def test_a_mail_a_live_worker_is_sending_stays_with_it_until_the_claim_is_stale(
    business_customer, actor
):
    finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get()
    _heartbeat("alive", seconds_ago=1)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state="sending", claimed_by="alive", claimed_at=clock.now() - dt.timedelta(minutes=14)
    )

    assert services.resume_outbox() == {"released": 0, "queued": 0}
    assert OutboxMessage.objects.get(pk=message.pk).state == "sending"

    # No SMTP conversation lasts 15 minutes: its sender lost track of it.
    with clock.frozen(clock.now() + dt.timedelta(minutes=2)):
        # Released; its own send task, still waiting, takes it (no second task queued).
        assert services.resume_outbox() == {"released": 1, "queued": 0}
    assert OutboxMessage.objects.get(pk=message.pk).state == "queued"
    assert len(pending_tasks("send_outbox_message")) == 1


def test_the_worker_logs_failed_tasks_but_not_two_lines_for_every_task():
    import logging

    from faktura.workers.management.commands.worker import Command

    command = Command()
    command.configure_logging(1)
    tasks_logger = logging.getLogger("django_tasks")
    assert tasks_logger.getEffectiveLevel() == logging.WARNING
    assert not tasks_logger.isEnabledFor(logging.INFO)  # "Task id=… state=RUNNING"
    assert tasks_logger.isEnabledFor(logging.ERROR)  # a failed task is logged
    command.configure_logging(2)
    assert tasks_logger.isEnabledFor(logging.INFO)
    command.configure_logging(1)
