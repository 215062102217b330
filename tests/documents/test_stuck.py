"""Finalized documents that stall on their way to the customer: the sweep hands them to the
pipeline again, and `faktura check` names them by number once they stay stuck."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from faktura.core import clock
from faktura.documents.services import requeue_unprocessed
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from faktura.workers.lease import WORKER_LOST
from tests.conftest import TODAY
from tests.documents.pipeline_helpers import finalized, pending_tasks, run_tasks

pytestmark = pytest.mark.django_db

NOW = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)
FIVE = dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.FAKTURA_STUCK_AFTER_MINUTES = 15
    return tmp_path


def _lose_tasks() -> None:
    """The document tasks vanished with a dead worker of the time before leases."""
    DBTaskResult.objects.filter(task_path__contains="process_finalized").update(status="SUCCESSFUL")


def _check_output() -> tuple[str, bool]:
    err = io.StringIO()
    try:
        call_command("check", stdout=io.StringIO(), stderr=err)
    except CommandError:
        return err.getvalue(), False
    return err.getvalue(), True


def test_the_sweep_requeues_a_lost_document_once(business_customer, actor):
    invoice = finalized(business_customer, actor)
    _lose_tasks()
    assert requeue_unprocessed(older_than=FIVE) == 0  # too young: its task may still come

    with clock.frozen(NOW + dt.timedelta(minutes=6)):
        assert requeue_unprocessed(older_than=FIVE) == 1
        [task] = pending_tasks("process_finalized_documents")
        assert task.args_kwargs["args"] == [[invoice.pk]]
        assert requeue_unprocessed(older_than=FIVE) == 0  # covered by that task

        run_tasks("process_finalized_documents")
        assert requeue_unprocessed(older_than=FIVE) == 0
    invoice.refresh_from_db()
    assert invoice.delivery_status == "queued"
    assert OutboxMessage.objects.filter(invoice=invoice, is_resend=False).count() == 1


def test_the_sweep_queues_the_mail_of_a_document_archived_without_it(business_customer, actor):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    OutboxMessage.objects.all().delete()  # the crash came between archive and mail
    _lose_tasks()

    with clock.frozen(NOW + dt.timedelta(minutes=6)):
        assert requeue_unprocessed(older_than=FIVE) == 1
        run_tasks("process_finalized_documents")
    assert OutboxMessage.objects.get(invoice=invoice, is_resend=False).state == "queued"


def test_the_sweep_leaves_documents_given_up_after_dying_workers_and_blocked_ones(
    business_customer, actor
):
    given_up = finalized(business_customer, actor)
    blocked = finalized(business_customer, actor)
    Invoice.objects.filter(pk=blocked.pk).update(delivery_status="blocked")
    DBTaskResult.objects.filter(task_path__contains="process_finalized").update(
        status="FAILED", exception_class_path=WORKER_LOST
    )
    with clock.frozen(NOW + dt.timedelta(days=1)):
        assert requeue_unprocessed(older_than=FIVE) == 0
        output, passed = _check_output()
    assert not passed
    stuck = [line for line in output.splitlines() if ": stuck, " in line]
    assert len(stuck) == 1
    assert given_up.number in stuck[0]  # left for a person
    # The blocked one is named as blocked (it waits for a fix), not as stuck.


def test_check_names_documents_stuck_past_the_threshold(business_customer, actor):
    unsent = finalized(business_customer, actor)
    run_tasks("process_finalized_document")  # archived, mail queued
    unarchived = finalized(business_customer, actor)  # its task never runs

    with clock.frozen(NOW + dt.timedelta(minutes=14)):
        output, passed = _check_output()
    assert passed, output  # not yet past the threshold

    with clock.frozen(NOW + dt.timedelta(minutes=16)):
        output, passed = _check_output()
    assert not passed
    lines = [line for line in output.splitlines() if "stuck" in line]
    assert lines == [
        f"INTEGRITY: Rechnung {unsent.number} (id {unsent.pk}): stuck, archived, mail not sent "
        "yet, 16 minutes after finalization (threshold 15 minutes)",
        f"INTEGRITY: Rechnung {unarchived.number} (id {unarchived.pk}): stuck, not archived "
        "(rendering never finished), 16 minutes after finalization (threshold 15 minutes)",
    ]

    OutboxMessage.objects.filter(invoice=unsent).update(state="sent")
    with clock.frozen(NOW + dt.timedelta(minutes=16)):
        output, passed = _check_output()
    assert [line for line in output.splitlines() if "stuck" in line] == lines[1:]
    run_tasks("process_finalized_document")
    OutboxMessage.objects.update(state="sent")
    with clock.frozen(NOW + dt.timedelta(minutes=16)):
        output, passed = _check_output()
    assert passed, output
