"""The dunning run killed at random moments, and run twice for one date, on PostgreSQL.

A real ``faktura dunning-run --date D`` process is SIGKILLed mid-way again and again and
simply started again. Afterwards every customer has exactly one notice of the level due
on that date, no fee exists twice, every notice has exactly one mail in the outbox, the
killed runs are marked failed and the last one finished. A further run for the same date
sends nothing new.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.customers.models import Customer
from faktura.customers.services import create_customer
from faktura.dunning.models import DunningFee, DunningNotice, DunningRun
from faktura.dunning.run import run_dunning
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from tests.dunning.helpers import deliver_letters
from tests.invoicing.helpers import line
from tests.workers.test_crash_recovery import _database_url

ACTOR = Actor.system("crash-test")
DUE = dt.date(2026, 10, 1)
ISSUED = DUE - dt.timedelta(days=14)  # the company's terms: due 14 days after issue
REMINDED = DUE + dt.timedelta(days=7)  # the payment reminder, sent before the test's runs
RUN_DATE = REMINDED + dt.timedelta(days=14)  # the 1st notice: fees, flat fee and interest
CUSTOMERS = 300
CHUNK = 3  # customers per chunk of the killed runs: about a hundred commits per run
KILLS = 10
DEADLINE = 120  # seconds for the killed runs; a stall fails

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _customers_with_overdue_invoices(count: int) -> int:
    """``count`` customers, every second one a business, with 1–3 finalized invoices due on
    ``DUE`` each; returns the number of invoices."""
    customers = [
        create_customer(
            actor=ACTOR,
            kind="business" if n % 2 else "consumer",
            name=f"Kunde {n}",
            street="Weg",
            house_number="1",
            postcode="10115",
            city="Berlin",
            email=f"k{n}@example.org",
        )
        for n in range(count)
    ]
    requests = [
        invoicing.DraftRequest(customer=customer, lines=[line(price=f"{100 + k}.00")])
        for n, customer in enumerate(customers)
        for k in range(1 + n % 3)
    ]
    with clock.frozen(dt.datetime.combine(ISSUED, dt.time(9), tzinfo=dt.UTC)):
        for start in range(0, len(requests), 100):
            batch = requests[start : start + 100]
            with transaction.atomic():
                ids = sorted({r.customer.pk for r in batch})
                list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
                drafts, refused = invoicing.create_drafts(requests=batch, actor=ACTOR)
                assert refused == []
                invoicing.finalize_invoices(
                    invoice_ids=[d.pk for d in drafts if d is not None], actor=ACTOR
                )
    assert set(Invoice.objects.values_list("status", "due_date")) == {("finalized", DUE)}
    return len(requests)


def _run_states() -> list[str]:
    return list(
        DunningRun.objects.filter(run_date=RUN_DATE).order_by("pk").values_list("status", flat=True)
    )


def _first_notices() -> int:
    return DunningNotice.objects.filter(notice_date=RUN_DATE).count()


class DunningRuns:
    """``faktura dunning-run`` processes, started one after another."""

    def __init__(self, env: dict[str, str], logs) -> None:
        self.env = env
        self.logs = logs
        self.started = 0

    def start(self) -> subprocess.Popen:
        self.started += 1
        log = (self.logs / f"dunning-run-{self.started}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-m", "faktura.cli", "dunning-run", "--date", str(RUN_DATE)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return (self.logs / f"dunning-run-{self.started}.log").read_text()


def _wait_for_run(process: subprocess.Popen, *, after: int, log) -> None:
    deadline = time.monotonic() + 30
    while not DunningRun.objects.filter(pk__gt=after, run_date=RUN_DATE).exists():
        assert process.poll() is None, log()
        assert time.monotonic() < deadline, log()
        time.sleep(0.02)


def _wait_for_notices(process: subprocess.Popen, *, more_than: int, log) -> None:
    deadline = time.monotonic() + 30
    while _first_notices() <= more_than:
        assert process.poll() is None, log()
        assert time.monotonic() < deadline, log()
        time.sleep(0.01)


def _fees() -> list[tuple[int | None, int | None, str, dt.date | None]]:
    return list(DunningFee.objects.values_list("notice_id", "invoice_id", "kind", "period_start"))


def test_dunning_runs_killed_at_random_moments_send_every_notice_and_fee_once(company, tmp_path):
    invoices = _customers_with_overdue_invoices(CUSTOMERS)
    businesses = CUSTOMERS // 2
    business_invoices = Invoice.objects.filter(customer__kind="business").count()
    with clock.frozen(REMINDED):
        reminded = run_dunning(on=REMINDED, actor=ACTOR)
    assert reminded.notices_sent == CUSTOMERS
    assert reminded.fees_charged == 0
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "FAKTURA_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "crash-test",
        "LOG_LEVEL": "WARNING",
        "FAKTURA_DUNNING_CHUNK_CUSTOMERS": str(CHUNK),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    runs = DunningRuns(env, logs)
    seed = int(os.environ.get("CRASH_TEST_SEED", "0")) or random.randrange(1, 10**6)
    rng = random.Random(seed)
    kills: list[tuple[float, int]] = []  # (seconds after the run began, notices by then)
    started = time.monotonic()
    deadline = started + DEADLINE
    last_run = DunningRun.objects.latest("pk").pk
    while len(kills) < KILLS:
        assert time.monotonic() < deadline, f"seed {seed}, kills so far {kills}"
        assert _first_notices() < CUSTOMERS, f"seed {seed}: done before {KILLS} kills {kills}"
        process = runs.start()
        # Killed at a random moment after the run recorded itself (starting Python and
        # Django takes a second or more on a loaded machine, a chunk some ms).
        _wait_for_run(process, after=last_run, log=runs.log)
        last_run = DunningRun.objects.latest("pk").pk
        # Each run first looks again at the customers done before (nothing to send there):
        # every second kill falls into the part still to do, after the run's first new
        # notice; the others anywhere from the moment the run recorded itself.
        if len(kills) % 2 == 0:
            _wait_for_notices(process, more_than=kills[-1][1] if kills else 0, log=runs.log)
        delay = rng.uniform(0, 0.3)
        time.sleep(delay)
        assert process.poll() is None, runs.log()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills.append((round(delay, 2), _first_notices()))
        states = _run_states()
        # The killed run stays "running" until the next run of its date takes it over.
        assert states[-1] == "running", states
        assert set(states[:-1]) <= {"failed"}, states
    last = runs.start()
    assert last.wait(timeout=max(deadline - time.monotonic(), 1)) == 0, runs.log()
    states = _run_states()
    assert states == ["failed"] * KILLS + ["finished"]

    progress = [notices for _delay, notices in kills]
    # Killed mid-way: most kills hit a run that had sent some chunks' notices and not all.
    gains = [after - before for before, after in itertools.pairwise([0, *progress])]
    assert sum(1 for gain in gains if gain > 0) >= KILLS // 2, (seed, kills)
    assert progress[-1] < CUSTOMERS, (seed, kills)

    # One notice per customer and level: the reminder, and the 1st notice of the run date.
    notices = list(DunningNotice.objects.values_list("customer_id", "level", "notice_date"))
    assert Counter((c, level) for c, level, _day in notices) == {
        (c, level): 1 for c in Customer.objects.values_list("pk", flat=True) for level in (0, 1)
    }
    assert {(level, day) for _c, level, day in notices} == {(0, REMINDED), (1, RUN_DATE)}
    # No fee twice: 2.50 on each consumer's notice, EUR 40 on each business invoice, and
    # one interest period (2.10.–22.10.) on every invoice.
    fees = _fees()
    assert len(fees) == len(set(fees))
    kinds = Counter(kind for _n, _i, kind, _start in fees)
    assert kinds == {
        "fee": CUSTOMERS - businesses,
        "flat_40": business_invoices,
        "interest": invoices,
    }
    assert set(DunningFee.objects.filter(kind="fee").values_list("amount", flat=True)) == {
        Decimal("2.50")
    }
    assert set(DunningFee.objects.filter(kind="flat_40").values_list("amount", flat=True)) == {
        Decimal("40.00")
    }
    assert {f[1] for f in fees if f[2] == "interest"} == set(
        Invoice.objects.values_list("pk", flat=True)
    )
    # Every notice sent has exactly one mail, and no mail is without its notice: the
    # letters (and their mails) of the killed runs' notices are delivered as a worker's
    # sweep does.
    deliver_letters()
    sent = DunningNotice.objects.filter(status="sent")
    assert sent.count() == 2 * CUSTOMERS
    message_ids = list(sent.values_list("message_id", flat=True))
    assert None not in message_ids
    assert len(set(message_ids)) == len(message_ids)
    mails = OutboxMessage.objects.filter(event=OutboxMessage.Event.DUNNING_NOTICE)
    assert sorted(mails.values_list("pk", flat=True)) == sorted(message_ids)

    # Run twice for the date: nothing new.
    before = (_fees(), mails.count(), DunningNotice.objects.count())
    with clock.frozen(RUN_DATE):
        again = run_dunning(on=RUN_DATE, actor=ACTOR)
    assert (again.status, again.notices_sent, again.fees_charged) == ("finished", 0, 0)
    assert (_fees(), mails.count(), DunningNotice.objects.count()) == before
    print(f"seed {seed}, kills {kills}, {time.monotonic() - started:.0f} s")
