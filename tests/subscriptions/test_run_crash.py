"""The billing run killed at random moments, and run twice at once, on PostgreSQL.

A real ``faktura billing-run --date D`` process is SIGKILLed mid-way again and again and
simply started again, while real ``faktura worker`` processes (one of them killed too)
render, archive and mail what the run finalizes. Afterwards every due period is on exactly
one finalized invoice, the numbers have no gap, and every invoice is archived once and
mailed once. Two runs for the same date started together bill nothing twice either.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction

from faktura.core import clock, integrity
from faktura.core.actors import Actor
from faktura.customers.services import create_customer
from faktura.documents.models import ArchivedDocument
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from faktura.subscriptions import run as run_mod
from faktura.subscriptions.models import BilledPeriod, BillingRun, BillingSettings, Subscription
from faktura.subscriptions.run import run_billing
from tests.notifications.conftest import free_port
from tests.subscriptions.helpers import plan, subscribe
from tests.workers.test_crash_recovery import RecordingSmtp, Workers, _database_url

ACTOR = Actor.system("crash-test")
BILLING_DATE = dt.date(2026, 11, 16)
STARTS_ON = dt.date(2026, 11, 1)  # one monthly period of each subscription is due
CUSTOMERS = 300
CHUNK = 3  # customers per chunk of the killed runs: about a hundred commits per run
KILLS = 10
DEADLINE = 240  # seconds for the killed runs and the workers (~40 s); a stall fails


def _customers_with_subscriptions(count: int) -> int:
    """``count`` customers with 2 or 3 monthly subscriptions each; returns the periods due."""
    plans = [
        plan("basis", price="30.00"),
        plan("extra", price="5.00"),
        plan("support", price="12.50"),
    ]
    periods = 0
    for n in range(count):
        customer = create_customer(
            actor=ACTOR,
            kind="business",
            name=f"Kunde {n}",
            street="Weg",
            house_number="1",
            postcode="10115",
            city="Berlin",
            email=f"k{n}@example.org",
        )
        for on_plan in plans[: 2 + n % 2]:
            subscribe(customer, on_plan, starts_on=STARTS_ON)
            periods += 1
    return periods


def _assert_billed_once(periods: int, customers: int) -> list[Invoice]:
    """Every due period on exactly one finalized invoice, one invoice per customer, and
    the invoice numbers without gap (the check `faktura check` makes)."""
    billed = list(BilledPeriod.objects.values_list("subscription_id", "period_start"))
    assert len(billed) == periods
    assert len(set(billed)) == periods
    assert {start for _sub, start in billed} == {STARTS_ON}
    assert set(BilledPeriod.objects.values_list("invoice__status", flat=True)) == {"finalized"}
    invoices = list(Invoice.objects.order_by("pk"))
    assert len(invoices) == customers
    assert len({i.customer_id for i in invoices}) == customers
    assert {i.status for i in invoices} == {"finalized"}
    # Nothing is due any more.
    assert not Subscription.objects.filter(next_billing_on__lte=BILLING_DATE).exists()
    seqs = sorted(int(i.number.rsplit("-", 1)[1]) for i in invoices)
    assert seqs == list(range(1, customers + 1)), seqs
    assert list(integrity.number_range_problems()) == []
    return invoices


class FastSmtp(RecordingSmtp):
    """Records every mail without the delay of a real server: the workers' kills here are
    about the billing run's documents, not mails in flight."""

    async def handle_DATA(self, server, session, envelope) -> str:
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((mail["Message-ID"], tuple(envelope.rcpt_tos), mail["Subject"]))
        return "250 OK"


class BillingRuns:
    """``faktura billing-run`` processes, started one after another."""

    def __init__(self, env: dict[str, str], logs) -> None:
        self.env = env
        self.logs = logs
        self.started = 0

    def start(self) -> subprocess.Popen:
        self.started += 1
        log = (self.logs / f"billing-run-{self.started}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-m", "faktura.cli", "billing-run", "--date", str(BILLING_DATE)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log(self, n: int) -> str:
        return (self.logs / f"billing-run-{n}.log").read_text()


def _run_states() -> list[str]:
    return list(
        BillingRun.objects.filter(billing_date=BILLING_DATE)
        .order_by("pk")
        .values_list("status", flat=True)
    )


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_billing_runs_killed_at_random_moments_bill_archive_and_mail_every_period_once(
    company, tmp_path, settings
):
    periods = _customers_with_subscriptions(CUSTOMERS)
    data_dir = tmp_path / "data"
    settings.MEDIA_ROOT = data_dir / "files"  # where the workers archive
    smtp = FastSmtp()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "FAKTURA_DATA_DIR": str(data_dir),
        "SECRET_KEY": "crash-test",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_TIMEOUT": "5",
        "DEFAULT_FROM_EMAIL": "rechnung@muster-software.de",
        "LOG_LEVEL": "WARNING",
        "FAKTURA_BILLING_CHUNK_CUSTOMERS": str(CHUNK),
        "FAKTURA_WORKER_HEARTBEAT_SECONDS": "0.5",
        "FAKTURA_WORKER_LEASE_SECONDS": "3",
        "FAKTURA_MAINTENANCE_SECONDS": "0.5",
        "FAKTURA_JOB_OUTBOX_SWEEP": "* * * * * *",
        "FAKTURA_JOB_DOCUMENT_SWEEP": "* * * * * *",
        "FAKTURA_SWEEP_AFTER_MINUTES": "0.05",
        "FAKTURA_WORKER_MAX_CLAIMS": "10",
        # The workers' scheduler must not bill today's real date or make debit files.
        "FAKTURA_JOB_BILLING_RUN": "off",
        "FAKTURA_JOB_DIRECT_DEBIT_BATCHES": "off",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    runs = BillingRuns(env, logs)
    workers = Workers(env, logs)
    seed = int(os.environ.get("CRASH_TEST_SEED", "0")) or random.randrange(1, 10**6)
    rng = random.Random(seed)
    kills: list[tuple[float, int]] = []  # (seconds after start, periods billed by then)
    worker_kills = 0
    started = time.monotonic()
    deadline = started + DEADLINE
    try:
        for _ in range(2):
            workers.start()
        worker_kill_at = rng.randrange(2, KILLS)
        last_run = 0
        while len(kills) < KILLS:
            assert time.monotonic() < deadline, f"seed {seed}, kills so far {kills}"
            before = BilledPeriod.objects.count()
            assert before < periods, f"seed {seed}: the run finished before {KILLS} kills"
            process = runs.start()
            # Killed at a random moment after the run recorded itself (starting Python and
            # Django takes a second or more on a loaded machine, a chunk some tens of ms).
            _wait_for_run(process, after=last_run, log=lambda: runs.log(runs.started))
            last_run = BillingRun.objects.latest("pk").pk
            delay = rng.uniform(0, 0.6)
            time.sleep(delay)
            assert process.poll() is None, runs.log(runs.started)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills.append((round(delay, 2), BilledPeriod.objects.count()))
            states = _run_states()
            # The killed run stays "running" until the next run of its date takes it over.
            assert states[-1] == "running", states
            assert set(states[:-1]) <= {"failed"}, states
            if len(kills) == worker_kill_at:
                workers.kill(rng.choice(sorted(workers.processes)))
                worker_kills += 1
                workers.start()
        last = runs.start()
        assert last.wait(timeout=max(deadline - time.monotonic(), 1)) == 0, runs.log(runs.started)
        states = _run_states()
        assert states[-1] == "finished"
        assert set(states[:-1]) == {"failed"}
        assert len(states) == KILLS + 1
        invoices = _assert_billed_once(periods, CUSTOMERS)
        numbers = sorted(i.number for i in invoices)
        while not _pipeline_done(CUSTOMERS):
            assert time.monotonic() < deadline, (
                f"seed {seed}: stalled at {ArchivedDocument.objects.count()} archived, "
                f"{OutboxMessage.objects.filter(state='sent').count()} sent"
            )
            time.sleep(0.5)
    finally:
        workers.stop_all()
        controller.stop()

    progress = [billed for _delay, billed in kills]
    # Killed mid-way: most kills hit a run that had billed some chunks and not all.
    gains = [after - before for before, after in itertools.pairwise([0, *progress])]
    assert sum(1 for gain in gains if gain > 0) >= KILLS // 2, kills
    assert progress[-1] < periods, kills
    assert worker_kills == 1

    # Archived once: one archive row per invoice.
    archived = Counter(ArchivedDocument.objects.values_list("invoice__number", flat=True))
    assert sorted(archived) == numbers
    assert set(archived.values()) == {1}
    # Mailed once: one first mail per invoice, sent; every one received.
    messages = list(OutboxMessage.objects.filter(is_resend=False).select_related("invoice"))
    assert sorted(m.invoice.number for m in messages) == numbers
    assert {m.state for m in messages} == {"sent"}
    assert not OutboxMessage.objects.filter(is_resend=True).exists()
    assert {message_id for message_id, _to, _subject in smtp.received} == {
        f"<faktura-outbox-{m.pk}@muster-software.de>" for m in messages
    }
    # `faktura check` (numbers, hashes, audit chains, stuck documents) passes.
    err = io.StringIO()
    with clock.frozen(dt.datetime.now(dt.UTC)):
        try:
            call_command("check", stdout=io.StringIO(), stderr=err)
        except CommandError:
            pytest.fail(err.getvalue()[:3000])
    print(f"seed {seed}, kills {kills}, {time.monotonic() - started:.0f} s")


def _wait_for_run(process: subprocess.Popen, *, after: int, log) -> None:
    deadline = time.monotonic() + 30
    while not BillingRun.objects.filter(pk__gt=after).exists():
        assert process.poll() is None, log()
        assert time.monotonic() < deadline, log()
        time.sleep(0.02)


def _pipeline_done(invoices: int) -> bool:
    archived = ArchivedDocument.objects.values("invoice_id").distinct().count()
    sent = OutboxMessage.objects.filter(is_resend=False, state="sent").count()
    return archived == invoices and sent == invoices


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_for_one_date_started_together_bill_every_period_once(company, settings):
    customers = 60
    periods = _customers_with_subscriptions(customers)
    # Small chunks, so that the two runs meet many times over the same customers.
    settings.FAKTURA_BILLING_CHUNK_CUSTOMERS = 4
    barrier = threading.Barrier(2)
    results: list[BillingRun] = []
    errors: list[BaseException] = []
    spans: list[tuple[float, float]] = []

    def bill() -> None:
        try:
            barrier.wait(timeout=30)
            began = time.monotonic()
            with clock.frozen(BILLING_DATE):
                results.append(run_billing(billing_date=BILLING_DATE, actor=ACTOR))
            spans.append((began, time.monotonic()))
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()  # the thread's own connection

    threads = [threading.Thread(target=bill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 2
    _assert_billed_once(periods, customers)
    # Between them the two runs billed each period once; both finished.
    assert sum(r.periods_found for r in results) == periods
    assert sum(r.invoices_made for r in results) == customers
    assert sum(r.invoices_finalized for r in results) == customers
    assert _run_states() == ["finished", "finished"]
    # They ran at the same time: each started before the other finished.
    (start_a, end_a), (start_b, end_b) = spans
    assert start_a < end_b
    assert start_b < end_a


@pytest.mark.django_db
def test_the_database_refuses_a_second_invoice_for_a_period(company, business_customer):
    subscription = subscribe(business_customer, plan(), starts_on=STARTS_ON)
    with clock.frozen(BILLING_DATE):
        run_billing(billing_date=BILLING_DATE, actor=ACTOR)
    first = BilledPeriod.objects.get(subscription=subscription)
    assert first.period_start == STARTS_ON
    with pytest.raises(IntegrityError), transaction.atomic():
        BilledPeriod.objects.create(
            subscription=subscription,
            period_start=STARTS_ON,
            period_end=dt.date(2026, 11, 30),
            period_index=first.period_index,
            invoice=first.invoice,
            amount=Decimal("30.00"),
        )
    assert BilledPeriod.objects.filter(subscription=subscription).count() == 1
    assert connection.vendor in ("postgresql", "sqlite")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_second_run_leaves_a_live_run_of_the_date_running(company, settings):
    periods = _customers_with_subscriptions(8)
    settings.FAKTURA_BILLING_CHUNK_CUSTOMERS = 2
    paused, resume = threading.Event(), threading.Event()
    first: list[BillingRun] = []
    errors: list[BaseException] = []

    def pause_after_the_first_chunk(done: int, total: int) -> None:
        if not paused.is_set():
            paused.set()
            assert resume.wait(timeout=60)

    def bill_slowly() -> None:
        try:
            with clock.frozen(BILLING_DATE):
                first.append(
                    run_billing(
                        billing_date=BILLING_DATE, actor=ACTOR, progress=pause_after_the_first_chunk
                    )
                )
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=bill_slowly)
    thread.start()
    try:
        assert paused.wait(timeout=60), errors
        # The first run is alive (its process holds its lock) while the second one starts,
        # bills the rest and finishes: the first is not taken for killed.
        with clock.frozen(BILLING_DATE):
            second = run_billing(billing_date=BILLING_DATE, actor=ACTOR)
        assert _run_states() == ["running", "finished"]
    finally:
        resume.set()
        thread.join(timeout=60)
    assert errors == []
    assert _run_states() == ["finished", "finished"]
    assert first[0].periods_found + second.periods_found == periods
    assert first[0].periods_found == 5  # the first chunk: customers of 2 and 3 subscriptions
    _assert_billed_once(periods, 8)


def test_a_draft_finalized_meanwhile_does_not_stop_the_run(
    company, business_customer, consumer, actor, monkeypatch
):
    BillingSettings.objects.create(review_days=3)
    subscribe(business_customer, plan("a"), starts_on=STARTS_ON)
    subscribe(consumer, plan("b"), starts_on=STARTS_ON)
    with clock.frozen(STARTS_ON):
        made = run_billing(billing_date=STARTS_ON, actor=ACTOR)
    assert (made.invoices_made, made.invoices_finalized) == (2, 0)
    by_staff, by_run = Invoice.objects.order_by("pk")
    review_days = run_mod._review_days

    def staff_finalizes_one_meanwhile(customer_ids: list[int]) -> dict[int, int]:
        # Between the run's look for drafts whose window ended and their finalization.
        if Invoice.objects.get(pk=by_staff.pk).status == "draft":
            invoicing.finalize_invoice(invoice_id=by_staff.pk, actor=actor)
        return review_days(customer_ids)

    monkeypatch.setattr(run_mod, "_review_days", staff_finalizes_one_meanwhile)
    day = STARTS_ON + dt.timedelta(days=3)
    with clock.frozen(day):
        run = run_billing(billing_date=day, actor=ACTOR)
    assert run.status == "finished"
    assert run.invoices_finalized == 1
    by_staff.refresh_from_db()
    by_run.refresh_from_db()
    assert (by_staff.status, by_run.status) == ("finalized", "finalized")
    assert (by_staff.number, by_run.number) == ("RE-2026-00001", "RE-2026-00002")
