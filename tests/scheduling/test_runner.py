"""The scheduler: once per due time, leases, retries, catch-up after downtime (frozen clock)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from faktura.core import clock
from faktura.scheduling import runner
from faktura.scheduling.jobs import declared
from faktura.scheduling.models import JobRun, JobState
from faktura.scheduling.registry import Job
from tests.scheduling import testjobs
from tests.scheduling.testjobs import calls, daily

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment in November 2026, Berlin time."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def tick(when: dt.datetime, jobs: list[Job], worker: str = "w1") -> list[JobRun]:
    with clock.frozen(when):
        return runner.tick(worker, jobs=jobs)


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()
    yield
    calls.clear()


def test_a_fresh_installation_starts_from_its_first_tick_not_from_history():
    job = daily()
    assert tick(at(16, 12), [job]) == []  # today's 05:00 was before the installation
    assert calls == []
    state = JobState.objects.get(name="daily-report")
    assert state.since == at(16, 12)
    assert state.last_due_at is None
    runs = tick(at(17, 5, 0), [job])
    assert [(r.job, r.as_of, r.state) for r in runs] == [
        ("daily-report", dt.date(2026, 11, 17), "succeeded")
    ]
    assert runs[0].due_at == dt.datetime(2026, 11, 17, 4, 0, tzinfo=dt.UTC)
    assert runs[0].result == {"as_of": "2026-11-17"}


def test_each_due_time_runs_once_however_many_workers_tick():
    job = daily()
    tick(at(16, 12), [job])
    first = tick(at(17, 6), [job], worker="w1")
    again = [tick(at(17, 6) + dt.timedelta(minutes=m), [job], worker=f"w{m}") for m in range(5)]
    assert len(first) == 1
    assert again == [[]] * 5
    assert calls == [("daily-report", dt.date(2026, 11, 17), 1)]
    assert JobRun.objects.count() == 1


def test_a_due_time_claimed_by_another_worker_is_left_to_it():
    """Worker 2 saw the job as due before worker 1's claim: its insert loses, it runs nothing."""
    job = daily()
    tick(at(16, 12), [job])
    with clock.frozen(at(17, 6)):
        JobRun.objects.create(job=job.name, due_at=at(17, 5), as_of=dt.date(2026, 11, 17),
                              worker_id="w1", started_at=at(17, 5),
                              lease_expires_at=at(17, 5, 15))  # fmt: skip
        # w2's view of the job's state is stale: last_due_at is still empty.
        assert runner._claim(job, at(17, 5), "w2", at(17, 6), "Europe/Berlin") is None
    assert JobRun.objects.get().worker_id == "w1"
    assert calls == []


def test_a_run_whose_worker_died_is_taken_over_when_its_lease_expires():
    job = daily(lease=dt.timedelta(minutes=15))
    tick(at(16, 12), [job])
    JobState.objects.filter(name=job.name).update(last_due_at=at(17, 5))
    JobRun.objects.create(job=job.name, due_at=at(17, 5), as_of=dt.date(2026, 11, 17),
                          worker_id="dead", started_at=at(17, 5),
                          lease_expires_at=at(17, 5, 15))  # fmt: skip
    assert tick(at(17, 5, 10), [job], worker="w2") == []  # lease still held: nobody touches it
    runs = tick(at(17, 5, 15), [job], worker="w2")
    assert [(r.state, r.attempts, r.worker_id) for r in runs] == [("succeeded", 2, "w2")]
    assert calls == [("daily-report", dt.date(2026, 11, 17), 2)]


def test_later_due_times_wait_while_an_earlier_run_holds_its_lease():
    job = daily(catch_up="each", lease=dt.timedelta(hours=2))
    tick(at(16, 12), [job])
    JobState.objects.filter(name=job.name).update(last_due_at=at(17, 5))
    JobRun.objects.create(job=job.name, due_at=at(17, 5), as_of=dt.date(2026, 11, 17),
                          worker_id="slow", started_at=at(17, 5),
                          lease_expires_at=at(18, 6))  # fmt: skip
    assert tick(at(18, 5, 30), [job], worker="w2") == []
    assert calls == []
    JobRun.objects.filter(worker_id="slow").update(state="succeeded", lease_expires_at=None)
    assert [r.as_of for r in tick(at(18, 5, 31), [job], worker="w2")] == [dt.date(2026, 11, 18)]


def test_a_lost_run_on_its_last_attempt_is_marked_failed_not_run_again():
    job = daily(max_attempts=2)
    tick(at(16, 12), [job])
    JobState.objects.filter(name=job.name).update(last_due_at=at(17, 5))
    JobRun.objects.create(job=job.name, due_at=at(17, 5), as_of=dt.date(2026, 11, 17),
                          worker_id="dead", attempts=2, started_at=at(17, 5),
                          lease_expires_at=at(17, 5, 15))  # fmt: skip
    assert tick(at(17, 6), [job], worker="w2") == []
    run = JobRun.objects.get()
    assert (run.state, run.next_attempt_at, run.attempts) == ("failed", None, 2)
    assert run.error.startswith("worker dead lost the run")
    assert calls == []


def test_a_failed_run_is_retried_with_backoff_then_stays_failed():
    job = daily(target="fail", max_attempts=3, retry_delay=dt.timedelta(minutes=5))
    tick(at(16, 12), [job])
    [run] = tick(at(17, 5), [job])
    assert (run.state, run.attempts, run.next_attempt_at) == ("failed", 1, at(17, 5, 5))
    assert run.error.startswith("RuntimeError: bank unreachable on attempt 1")
    assert tick(at(17, 5, 4), [job]) == []  # not yet
    [run] = tick(at(17, 5, 5), [job], worker="w2")
    assert (run.state, run.attempts, run.next_attempt_at) == ("failed", 2, at(17, 5, 15))
    [run] = tick(at(17, 5, 15), [job])
    assert (run.state, run.attempts, run.next_attempt_at) == ("failed", 3, None)
    assert tick(at(17, 23), [job]) == []  # given up: no fourth attempt
    assert [c[2] for c in calls] == [1, 2, 3]
    assert JobRun.objects.count() == 1
    # The next day runs as usual: a failed day does not stop the job.
    [next_day] = tick(at(18, 5), [job])
    assert (next_day.as_of, next_day.attempts) == (dt.date(2026, 11, 18), 1)


def test_a_failed_run_that_succeeds_on_retry_shows_as_succeeded():
    job = daily(target="fail_first_attempt")
    tick(at(16, 12), [job])
    assert [r.state for r in tick(at(17, 5), [job])] == ["failed"]
    [run] = tick(at(17, 6), [job])
    assert (run.state, run.attempts, run.result, run.error) == ("succeeded", 2, {"attempt": 2}, "")


def test_a_pending_retry_holds_back_the_next_due_time_so_days_stay_in_order():
    job = daily(target="fail_first_attempt", catch_up="each", retry_delay=dt.timedelta(days=2))
    tick(at(16, 12), [job])
    tick(at(17, 5), [job])
    assert tick(at(18, 6), [job]) == []  # day 18 waits for day 17's retry
    runs = tick(at(19, 6), [job])
    assert [(r.as_of, r.attempts, r.state) for r in runs] == [
        (dt.date(2026, 11, 17), 2, "succeeded"),
        (dt.date(2026, 11, 18), 1, "failed"),
    ]


def test_after_a_three_day_outage_the_first_tick_runs_each_missed_day_once_in_order():
    billing = daily("billing", catch_up="each")
    sweep = daily("sweep", catch_up="latest")
    tick(at(16, 12), [billing, sweep])
    tick(at(17, 5, 1), [billing, sweep])
    assert calls == [("billing", dt.date(2026, 11, 17), 1), ("sweep", dt.date(2026, 11, 17), 1)]
    calls.clear()
    # Down from the 17th after 05:01 until the 20th 09:00: the 18th, 19th and 20th were missed.
    runs = tick(at(20, 9), [billing, sweep], worker="after-restart")
    assert [(r.job, r.as_of) for r in runs] == [
        ("billing", dt.date(2026, 11, 18)),
        ("billing", dt.date(2026, 11, 19)),
        ("billing", dt.date(2026, 11, 20)),
        ("sweep", dt.date(2026, 11, 20)),
    ]
    assert [c[:2] for c in calls] == [(r.job, r.as_of) for r in runs]
    assert tick(at(20, 9, 5), [billing, sweep], worker="another") == []
    assert JobRun.objects.filter(job="billing").count() == 4


def test_the_business_date_is_the_local_date_across_summer_time():
    job = Job(name="late", schedule="30 0 * * *", target="tests.scheduling.testjobs.record",
              description="x", catch_up="each")  # fmt: skip
    with clock.frozen(dt.datetime(2026, 3, 27, 12, tzinfo=dt.UTC)):
        runner.tick("w", jobs=[job])
    with clock.frozen(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)):
        runs = runner.tick("w", jobs=[job])
    assert [(r.as_of, r.due_at) for r in runs] == [
        (dt.date(2026, 3, 28), dt.datetime(2026, 3, 27, 23, 30, tzinfo=dt.UTC)),
        (dt.date(2026, 3, 29), dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)),
        (dt.date(2026, 3, 30), dt.datetime(2026, 3, 29, 22, 30, tzinfo=dt.UTC)),
        (dt.date(2026, 3, 31), dt.datetime(2026, 3, 30, 22, 30, tzinfo=dt.UTC)),
    ]


def test_a_disabled_job_never_runs():
    job = daily(enabled=False)
    tick(at(16, 12), [job])
    assert tick(at(20, 12), [job]) == []
    assert not JobState.objects.exists()
    assert calls == []


def test_a_manual_run_is_recorded_apart_from_the_schedule():
    job = daily()
    with clock.frozen(at(16, 12)):
        run = runner.run_now(job, as_of=dt.date(2026, 11, 10), worker_id="manual:test")
        again = runner.run_now(job, as_of=dt.date(2026, 11, 10), worker_id="manual:test")
    assert (run.trigger, run.state, run.as_of) == ("manual", "succeeded", dt.date(2026, 11, 10))
    assert again.state == "succeeded"
    assert not JobState.objects.exists()
    assert calls == [("daily-report", dt.date(2026, 11, 10), 1)] * 2


def test_a_manual_run_whose_process_died_is_marked_failed_and_not_retried():
    job = daily()
    tick(at(16, 12), [job])
    JobRun.objects.create(job=job.name, trigger="manual", due_at=at(16, 12),
                          as_of=dt.date(2026, 11, 16), worker_id="manual:gone",
                          started_at=at(16, 12), lease_expires_at=at(16, 12, 15))  # fmt: skip
    tick(at(16, 13), [job])
    run = JobRun.objects.get(trigger="manual")
    assert (run.state, run.attempts) == ("failed", 1)
    assert calls == []


def test_testjobs_module_is_importable_by_dotted_path():
    assert daily().function() is testjobs.record


def test_an_idle_tick_costs_four_queries(django_assert_num_queries):
    jobs = [daily("job-a"), daily("job-b", catch_up="each"), daily("job-c")]
    tick(at(16, 12), jobs)
    tick(at(17, 5), jobs)
    # maintenance switch, job states, open runs, the company's time zone
    with django_assert_num_queries(4):
        assert tick(at(17, 9), jobs) == []


def test_faktura_scheduler_once_ticks_the_declared_jobs():
    out = io.StringIO()
    with clock.frozen(at(16, 10, 2)):
        call_command("scheduler", "--once", stdout=out)
    assert JobState.objects.count() == len(declared())
    with clock.frozen(at(16, 10, 5)):
        call_command("scheduler", "--once", stdout=out)
    assert out.getvalue() == (
        "outbox-sweep for 2026-11-16: succeeded\n"
        "webhook-sweep for 2026-11-16: succeeded\n"
        "document-sweep for 2026-11-16: succeeded\n"
    )


def test_the_scheduler_loop_survives_a_failing_tick(monkeypatch, caplog):
    ticks = []

    def broken_tick(worker_id, *, jobs=None):
        ticks.append(worker_id)
        raise ConnectionError("database restarting")

    monkeypatch.setattr(runner, "tick", broken_tick)
    runner.run_forever("w", interval=0.01, should_stop=lambda: len(ticks) >= 2)
    assert ticks == ["w", "w"]
    assert "scheduler tick failed" in caplog.text


def test_a_run_whose_worker_died_is_taken_over_before_its_own_lease_expires(settings):
    from django.utils import timezone

    from faktura.workers.models import WorkerHeartbeat

    settings.FAKTURA_WORKER_LEASE_SECONDS = 60
    job = daily(lease=dt.timedelta(hours=2))
    tick(at(16, 12), [job])
    # Worker "w1" claimed the 17th and, as far as the run's own lease goes, has two hours.
    JobRun.objects.create(
        job=job.name, trigger=JobRun.Trigger.SCHEDULE, due_at=at(17, 5),
        as_of=dt.date(2026, 11, 17),
        state=JobRun.State.RUNNING, attempts=1, worker_id="w1", started_at=at(17, 5),
        lease_expires_at=at(17, 7),
    )  # fmt: skip
    alive = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w1", pid=1, hostname="h", started_at=alive, last_seen=alive
    )
    assert tick(at(17, 5, 10), [job], worker="w2") == []  # alive: the run stays with it
    assert calls == []
    # Its heartbeat stopped a while ago: it is dead, and its run is taken over at once.
    WorkerHeartbeat.objects.filter(worker_id="w1").update(
        last_seen=alive - dt.timedelta(seconds=61)
    )
    runs = tick(at(17, 5, 11), [job], worker="w2")
    assert [(r.as_of, r.state, r.attempts, r.worker_id) for r in runs] == [
        (dt.date(2026, 11, 17), "succeeded", 2, "w2")
    ]
    assert calls == [("daily-report", dt.date(2026, 11, 17), 2)]


def test_staff_retry_of_a_finally_failed_run_is_taken_up_by_the_next_tick():
    from faktura.core.actors import Actor
    from faktura.core.errors import StateConflict
    from faktura.core.models import AuditEntry
    from faktura.scheduling.services import retry_job_run

    job = daily(target="fail_first_attempt", max_attempts=1)
    tick(at(16, 4), [job])
    [run] = tick(at(17, 5), [job])
    assert (run.state, run.attempts, run.next_attempt_at) == ("failed", 1, None)
    assert tick(at(17, 6), [job]) == []  # final: nothing retries it on its own
    accountant = Actor(label="user:anna", user_id=None, roles=frozenset({"accountant"}))
    with clock.frozen(at(17, 9)):
        retry_job_run(run_id=run.pk, actor=accountant)
    assert AuditEntry.objects.get(action="job_run.retry_requested").data["job"] == job.name
    [again] = tick(at(17, 9, 1), [job])
    assert (again.pk, again.state, again.attempts) == (run.pk, "succeeded", 2)
    with pytest.raises(StateConflict) as error:
        retry_job_run(run_id=run.pk, actor=accountant)
    assert error.value.code == "job_run_not_failed"
