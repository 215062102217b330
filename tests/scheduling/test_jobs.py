"""The declared jobs: what each does when due, how they are configured, and `faktura jobs`."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from faktura.collection.models import DirectDebitBatch, Mandate
from faktura.core import clock
from faktura.core.integrity import all_problems
from faktura.core.models import AuditEntry
from faktura.payments.models import PaymentSettings
from faktura.scheduling import jobs, runner
from faktura.scheduling.models import JobRun, JobState
from faktura.scheduling.registry import configured
from tests.collection.helpers import debit_customer, due_invoice, mandate
from tests.scheduling.testjobs import calls, daily

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NAMES = ["outbox-sweep", "webhook-sweep", "document-sweep", "worker-cleanup", "billing-run",
         "dunning-run", "pre-due-reminders", "subscription-notices", "direct-debit-batches",
         "print-batch", "mandate-expiry",
         "idempotency-purge", "job-run-purge"]  # fmt: skip


def at(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def tick(when: dt.datetime) -> list[JobRun]:
    with clock.frozen(when):
        return runner.tick("w")


def test_every_declared_job_is_in_the_one_registry():
    assert [job.name for job in jobs.declared()] == NAMES
    assert {job.name: job.schedule for job in jobs.declared()} == {
        "outbox-sweep": "* * * * *",
        "webhook-sweep": "* * * * *",
        "document-sweep": "* * * * *",
        "worker-cleanup": "17 * * * *",
        "billing-run": "0 6 * * *",
        "dunning-run": "30 6 * * *",
        "pre-due-reminders": "15 6 * * *",
        "subscription-notices": "30 5 * * *",
        "direct-debit-batches": "0 7 * * 1-5",
        "print-batch": "0 15 * * 1-5",
        "mandate-expiry": "30 4 * * *",
        "idempotency-purge": "15 4 * * *",
        "job-run-purge": "45 4 * * *",
    }


def test_the_dunning_job_runs_each_missed_day_once(consumer, actor):
    from faktura.dunning.models import DunningNotice, DunningRun
    from tests.dunning.helpers import overdue

    overdue(consumer, actor, due=dt.date(2026, 11, 1))
    tick(at(6, 6, 31))  # installed
    tick(at(9, 6, 31))  # 7, 8, 9 November, each with its own date
    assert sorted(DunningRun.objects.values_list("run_date", flat=True)) == [
        dt.date(2026, 11, 7), dt.date(2026, 11, 8), dt.date(2026, 11, 9),
    ]  # fmt: skip
    assert list(DunningNotice.objects.values_list("level", "notice_date")) == [
        (0, dt.date(2026, 11, 8))
    ]


def test_the_pre_due_job_reminds_once_and_catches_up_missed_days(consumer, actor):
    from faktura.dunning.models import NoticeSettings, PreDueReminder
    from tests.dunning.helpers import overdue

    NoticeSettings.objects.create(pre_due_reminder_days=3)
    invoice = overdue(consumer, actor, due=dt.date(2026, 11, 30))
    tick(at(16, 6, 16))  # installed
    tick(at(26, 6, 16))  # four days before: nothing yet
    assert not PreDueReminder.objects.exists()
    tick(at(29, 6, 16))  # the 27th and 28th were missed: the 29th still reminds, once
    tick(at(30, 6, 16))
    assert list(PreDueReminder.objects.values_list("invoice_id", "sent_on")) == [
        (invoice.pk, dt.date(2026, 11, 29))
    ]


def test_the_direct_debit_job_makes_the_file_for_the_next_business_day(business_customer, actor):
    PaymentSettings.objects.create(pre_notification_days=1)  # agreed with the customers
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    tick(at(16, 6))  # installed Monday 06:00
    [run] = [r for r in tick(at(16, 7, 1)) if r.job == "direct-debit-batches"]
    batch = DirectDebitBatch.objects.get()
    assert (batch.scheme, batch.collection_date, batch.transaction_count) == (
        "CORE", dt.date(2026, 11, 17), 1,
    )  # fmt: skip
    assert batch.items.get().invoice_id == invoice.pk
    assert batch.created_by == "system:job:direct-debit-batches"
    assert run.result == {
        "collection_date": "2026-11-17",
        "arrears_announced": 0,
        "batches": {"CORE": {"batch": batch.pk, "count": 1, "total": "119.00"}},
    }
    # Run again for the same day: nothing left to collect, no second file.
    with clock.frozen(at(16, 8)):
        call_command("jobs", "run", "direct-debit-batches", stdout=io.StringIO())
    assert DirectDebitBatch.objects.count() == 1


def test_the_direct_debit_job_makes_no_file_on_a_weekend_and_needs_no_creditor_id_when_idle(
    company,
):
    company.creditor_id = ""
    company.save()
    tick(at(16, 6))
    [monday] = [r for r in tick(at(16, 7)) if r.job == "direct-debit-batches"]
    assert (monday.state, monday.result) == (
        "succeeded", {"collection_date": "2026-11-17", "arrears_announced": 0, "batches": {}},
    )  # fmt: skip
    with clock.frozen(at(21, 8)):  # Saturday
        run = runner.run_now(
            next(j for j in jobs.declared() if j.name == "direct-debit-batches"),
            as_of=dt.date(2026, 11, 21),
            worker_id="manual",
        )
    assert run.result == {"skipped": "2026-11-21 is not a TARGET2 business day"}
    assert not DirectDebitBatch.objects.exists()


def test_the_mandate_expiry_job_expires_mandates_unused_for_36_months(business_customer, actor):
    old = mandate(business_customer, actor, signed=dt.date(2023, 11, 17))
    tick(at(16, 12))
    tick(at(16, 23))
    old.refresh_from_db()
    assert old.status == Mandate.Status.ACTIVE
    [run] = [r for r in tick(at(17, 4, 30)) if r.job == "mandate-expiry"]
    assert (run.as_of, run.result) == (dt.date(2026, 11, 17), {"expired": 1})
    old.refresh_from_db()
    assert old.status == Mandate.Status.EXPIRED
    entry = AuditEntry.objects.filter(object_type="mandate").order_by("-pk").first()
    assert entry.actor == "system:job:mandate-expiry"


def test_a_job_is_rescheduled_or_switched_off_by_its_environment_variable(settings):
    settings.FAKTURA_JOB_OVERRIDES = {
        "FAKTURA_JOB_DIRECT_DEBIT_BATCHES": "off",
        "FAKTURA_JOB_MANDATE_EXPIRY": "0 6 * * 1",
    }
    by_name = {job.name: job for job in jobs.declared()}
    assert by_name["direct-debit-batches"].enabled is False
    assert by_name["mandate-expiry"].schedule == "0 6 * * 1"
    tick(at(16, 6))
    assert not JobState.objects.filter(name="direct-debit-batches").exists()
    out = io.StringIO()
    call_command("jobs", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("direct-debit-batches"))
    assert line.split()[-1] == "off"
    with pytest.raises(ValueError, match="FAKTURA_JOB_OUTBOX_SWEEP='every minute'"):
        configured(jobs.JOBS, {"FAKTURA_JOB_OUTBOX_SWEEP": "every minute"})


@pytest.fixture
def test_jobs(monkeypatch):
    declared = [daily("daily-report"), daily("flaky-export", target="fail", max_attempts=2)]
    monkeypatch.setattr(jobs, "declared", lambda: declared)
    calls.clear()
    yield declared
    calls.clear()


def jobs_output() -> str:
    out = io.StringIO()
    call_command("jobs", stdout=out)
    return out.getvalue()


def test_faktura_jobs_lists_schedule_last_run_result_and_next_run(test_jobs):
    assert jobs_output().splitlines()[2:] == [
        "daily-report  0 5 * * *  latest    never     2026-11-17 05:00",
        "flaky-export  0 5 * * *  latest    never     2026-11-17 05:00",
    ]
    tick(at(16, 12))
    tick(at(17, 5))
    with clock.frozen(at(17, 5, 1)):
        lines = jobs_output().splitlines()
    assert lines[0] == "Scheduled jobs, times in Europe/Berlin (now 2026-11-17 05:01)"
    assert lines[1].split() == ["NAME", "SCHEDULE", "CATCH-UP", "LAST", "RUN", "NEXT", "RUN",
                                "RESULT"]  # fmt: skip
    assert lines[2].split("  ")[0] == "daily-report"
    assert "2026-11-17 05:00 succeeded" in lines[2]
    assert lines[2].endswith('2026-11-18 05:00  {"as_of": "2026-11-17"}')
    assert "2026-11-17 05:00 FAILED" in lines[3]
    assert lines[3].endswith(
        "attempt 1/2, retry 2026-11-17 05:05: RuntimeError: bank unreachable on attempt 1"
    )
    assert len(lines) == 4


def test_faktura_jobs_and_faktura_check_name_a_job_that_failed_for_good(test_jobs):
    tick(at(16, 12))
    tick(at(17, 5))
    tick(at(17, 5, 5))
    with clock.frozen(at(17, 6)):
        output = jobs_output()
        problems = list(all_problems())
    assert (
        "FAILED flaky-export for 2026-11-17 (due 2026-11-17 05:00) after 2 attempt(s): "
        "RuntimeError: bank unreachable on attempt 2\n"
        "  run it again: faktura jobs run flaky-export --date 2026-11-17"
    ) in output
    assert problems == [
        "job flaky-export (schedule run for 2026-11-17, due 2026-11-17 04:00 UTC) failed after "
        "2 attempt(s): RuntimeError: bank unreachable on attempt 2"
    ]


def test_a_successful_manual_run_for_the_date_settles_a_failure(test_jobs, monkeypatch):
    tick(at(16, 12))
    tick(at(17, 5))
    tick(at(17, 5, 5))
    test_jobs[1] = daily("flaky-export")  # fixed
    with clock.frozen(at(17, 9)):
        out = io.StringIO()
        call_command("jobs", "run", "flaky-export", "--date", "2026-11-17", stdout=out)
        assert out.getvalue() == 'flaky-export for 2026-11-17: succeeded {"as_of": "2026-11-17"}\n'
        assert "FAILED" not in jobs_output().split("\n", 3)[3]
        assert list(all_problems()) == []


def test_faktura_check_names_a_job_no_worker_ran_when_due(test_jobs):
    tick(at(16, 12))
    with clock.frozen(at(17, 6, 14)):
        assert list(all_problems()) == []
    with clock.frozen(at(17, 6, 16)):
        assert list(all_problems()) == [
            "job daily-report is overdue since 2026-11-17 04:00 UTC: "
            "is a worker (or `faktura scheduler`) running?",
            "job flaky-export is overdue since 2026-11-17 04:00 UTC: "
            "is a worker (or `faktura scheduler`) running?",
        ]
        assert "OVERDUE since 2026-11-17 05:00" in jobs_output()


def test_faktura_jobs_run_refuses_an_unknown_job_a_bad_or_future_date(test_jobs):
    with pytest.raises(CommandError, match="No job 'billing'; the jobs are: daily-report, "):
        call_command("jobs", "run", "billing")
    with pytest.raises(CommandError, match="is not a date"):
        call_command("jobs", "run", "daily-report", "--date", "17.11.2026")
    with pytest.raises(CommandError, match="2026-11-17 is in the future"):
        call_command("jobs", "run", "daily-report", "--date", "2026-11-17")
    assert not JobRun.objects.exists()
    assert calls == []


def test_a_failing_manual_run_fails_the_command_and_is_recorded(test_jobs):
    with pytest.raises(CommandError, match="flaky-export for 2026-11-16 failed: RuntimeError"):
        call_command("jobs", "run", "flaky-export")
    run = JobRun.objects.get()
    assert (run.trigger, run.state, run.next_attempt_at) == ("manual", "failed", None)
