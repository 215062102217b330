"""Workers SIGKILLed at random moments of a 300-invoice billing run, on PostgreSQL: with only
restarted workers and no manual command every invoice ends archived once and mailed once,
a crash repeats at most the mail in flight (same Message-ID), and `faktura check` names the
documents while they are stuck.

Real ``faktura worker`` processes run against the test database and deliver to an SMTP
server in this process. Leases, heartbeats and sweeps are shortened through the
environment: about three minutes on a 2-core machine under heavy load (load average 16),
most of it rendering and mailing the 300 documents.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.customers.services import create_customer
from faktura.documents.models import ArchivedDocument
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, InvoiceLine, InvoiceTax
from faktura.notifications.models import OutboxMessage
from tests.invoicing.helpers import line, order
from tests.notifications.conftest import free_port

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ACTOR = Actor.system("crash-test")
INVOICES = 300
CHUNK = 100
CUSTOMERS = 10
WORKERS = 2
KILLS = 12
# Kills while rendering cost the most (the chunk is rendered again from its start);
# kills while mailing cost one mail at most. Both at random moments: this many while
# rendering, the rest while mailing.
RENDER_KILLS = 4
DEADLINE = 420  # seconds for the whole run (a loaded 2-core machine needs ~200); a stall fails
LEASE = 3


class RecordingSmtp:
    """Records every mail as (Message-ID, recipients, subject); a little slow per mail, as a
    real server is, so that workers die in the middle of mail batches too."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[str, ...], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(0.05)
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((mail["Message-ID"], tuple(envelope.rcpt_tos), mail["Subject"]))
        return "250 OK"


def _database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


class Workers:
    """The worker processes, killed and restarted by the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}
        self.started = 0

    def start(self) -> str:
        self.started += 1
        worker_id = f"crash-test-{self.started}"
        log = (self.logs / f"{worker_id}.log").open("wb")
        self.processes[worker_id] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faktura.cli",
                "worker",
                "--worker-id",
                worker_id,
                "--interval",
                "0.2",
                "--no-startup-delay",
                "--no-reload",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return worker_id

    def kill(self, worker_id: str) -> None:
        process = self.processes.pop(worker_id)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        self.processes.clear()


def _drafts() -> list[int]:
    """``INVOICES`` drafts over ``CUSTOMERS`` customers: one placed as an order, the rest
    copied from it row by row (placing 300 orders would take most of the test's time)."""
    ids = []
    for n in range(CUSTOMERS):
        customer = create_customer(
            actor=ACTOR,
            name=f"Kunde {n}",
            street="Weg",
            postcode="10115",
            city="Berlin",
            email=f"k{n}@example.org",
        )
        template = order(customer, ACTOR, line("1", f"{10 + n}.00"))
        template_line, template_tax = template.lines.get(), template.taxes.get()
        copies = Invoice.objects.bulk_create(
            [
                Invoice(**_fields(template, "id", "order_id"))
                for _ in range(INVOICES // CUSTOMERS - 1)
            ]
        )
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(**_fields(template_line, "id"), invoice_id=c.pk) for c in copies]
        )
        InvoiceTax.objects.bulk_create(
            [InvoiceTax(**_fields(template_tax, "id"), invoice_id=c.pk) for c in copies]
        )
        ids += [template.pk, *(c.pk for c in copies)]
    return sorted(ids)


def _fields(row, *leave_out: str) -> dict:
    return {
        f.attname: getattr(row, f.attname)
        for f in row._meta.concrete_fields
        if f.attname not in (*leave_out, "invoice_id")
    }


def _done() -> bool:
    archived = ArchivedDocument.objects.values("invoice_id").distinct().count()
    sent = OutboxMessage.objects.filter(is_resend=False, state="sent").count()
    return archived == INVOICES and sent == INVOICES


def _unfinished_numbers() -> set[str]:
    return set(
        Invoice.objects.finalized()
        .exclude(outbox_messages__state="sent")
        .values_list("number", flat=True)
    )


def _check_names() -> tuple[set[str], bool]:
    """Run `faktura check` now (real time) and return the numbers it names as stuck."""
    err = io.StringIO()
    with clock.frozen(dt.datetime.now(dt.UTC)):
        try:
            call_command("check", stdout=io.StringIO(), stderr=err)
            passed = True
        except CommandError:
            passed = False
    named = {
        line.split()[2]
        for line in err.getvalue().splitlines()
        if line.startswith("INTEGRITY: Rechnung ") and ": stuck, " in line
    }
    return named, passed


def test_workers_killed_at_random_moments_archive_and_mail_every_invoice_once(
    company, tmp_path, settings
):
    data_dir = tmp_path / "data"
    settings.MEDIA_ROOT = data_dir / "files"
    drafts = _drafts()
    # The billing run: finalized in chunks, each chunk queues one rendering task.
    for start in range(0, INVOICES, CHUNK):
        invoicing.finalize_invoices(invoice_ids=drafts[start : start + CHUNK], actor=ACTOR)
    numbers = set(Invoice.objects.finalized().values_list("number", flat=True))
    assert len(numbers) == INVOICES

    smtp = RecordingSmtp()
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
        "FAKTURA_WORKER_HEARTBEAT_SECONDS": "0.5",
        "FAKTURA_WORKER_LEASE_SECONDS": str(LEASE),
        "FAKTURA_MAINTENANCE_SECONDS": "0.5",
        # The sweep jobs every second instead of every minute (a six-field cron expression).
        "FAKTURA_JOB_OUTBOX_SWEEP": "* * * * * *",
        "FAKTURA_JOB_DOCUMENT_SWEEP": "* * * * * *",
        "FAKTURA_SWEEP_AFTER_MINUTES": "0.05",
        # A task is given up after its workers died this often; this run kills at random,
        # not a task that crashes every worker, so none may be given up here.
        "FAKTURA_WORKER_MAX_CLAIMS": str(KILLS + 1),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Workers(env, logs)
    rng = random.Random(int(os.environ.get("CRASH_TEST_SEED", "0")) or None)
    kills: list[tuple[str, str]] = []  # (worker, task it was running)
    stuck_named: set[str] = set()
    stuck_seen: set[str] = set()
    try:
        for _ in range(WORKERS):
            workers.start()
        deadline = time.monotonic() + DEADLINE
        kinds = Counter[str]()
        while len(kills) < KILLS:
            assert time.monotonic() < deadline, f"kills so far: {kills}"
            if _done():
                break
            time.sleep(rng.uniform(0.2, 1.2))
            running = [
                (task.worker_ids[-1], task.task_path.rsplit(".", 1)[1])
                for task in DBTaskResult.objects.running()
                if task.worker_ids and task.worker_ids[-1] in workers.processes
            ]
            by_kind = {
                kind: [run for run in running if ("send_outbox" in run[1]) == (kind == "mail")]
                for kind in ("render", "mail")
            }
            # Rendering first whenever it runs: it ends for good once every chunk got through
            # once, while mails keep coming until the last chunk is rendered.
            if kinds["render"] < RENDER_KILLS and by_kind["render"]:
                kind = "render"
            elif kinds["mail"] < KILLS - RENDER_KILLS and by_kind["mail"]:
                kind = "mail"
            else:
                continue
            worker_id, task_name = rng.choice(by_kind[kind])
            before = _unfinished_numbers()
            workers.kill(worker_id)
            kills.append((worker_id, task_name))
            kinds[kind] += 1
            workers.start()
            if len(kills) in (1, RENDER_KILLS + 1):
                # While the dead worker's documents wait for its lease to expire, `faktura
                # check` names them (the threshold is 0 minutes here; they are 20 days old).
                settings.FAKTURA_STUCK_AFTER_MINUTES = 0
                named, passed = _check_names()
                assert not passed
                after = _unfinished_numbers()
                stuck_seen |= before & after
                stuck_named |= named
                # Everything unfinished both before and after the check must be named.
                assert before & after <= named
                assert named <= before
        while not _done():
            assert time.monotonic() < deadline, (
                f"stalled: {len(_unfinished_numbers())} unfinished after kills {kills}; "
                f"tasks {list(DBTaskResult.objects.values_list('task_path', 'status'))}"
            )
            time.sleep(0.5)
        # Let the last mails' records settle, then nothing may be left to do.
        for _ in range(20):
            if not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
                break
            time.sleep(0.5)
    finally:
        workers.stop_all()
        controller.stop()

    assert len(kills) >= 10
    assert kinds["render"] == RENDER_KILLS, kills
    assert kinds["mail"] == KILLS - RENDER_KILLS, kills
    assert not DBTaskResult.objects.filter(status__in=["READY", "RUNNING", "FAILED"]).exists()
    assert stuck_seen
    assert stuck_named >= stuck_seen

    # Archived once: one row per invoice, one file each under its number, nothing beside.
    rows = list(ArchivedDocument.objects.values_list("invoice__number", "kind", "file"))
    assert sorted(number for number, _kind, _file in rows) == sorted(numbers)
    assert {kind for _number, kind, _file in rows} == {"pdf"}
    files = {
        path.name
        for path in (data_dir / "files/archive/2026").iterdir()
        if not path.name.endswith(".tmp")
    }
    assert files == {f"{number}.pdf" for number in numbers}
    # Mailed once: one first mail per invoice, sent; no re-sends.
    messages = {
        m.pk: m for m in OutboxMessage.objects.select_related("invoice").filter(is_resend=False)
    }
    assert sorted(m.invoice.number for m in messages.values()) == sorted(numbers)
    assert {m.state for m in messages.values()} == {"sent"}
    assert not OutboxMessage.objects.filter(is_resend=True).exists()

    # Received: every mail at least once; a repeat only after a kill, at most one per kill,
    # always the same mail under the same Message-ID.
    expected = {
        f"<faktura-outbox-{pk}@muster-software.de>": (tuple(m.to), m.subject)
        for pk, m in messages.items()
    }
    arrivals = Counter(message_id for message_id, _to, _subject in smtp.received)
    assert set(arrivals) == set(expected)
    for message_id, to, subject in smtp.received:
        assert (to, subject) == expected[message_id]
    repeats = sum(count - 1 for count in arrivals.values())
    assert repeats <= len(kills)

    named, passed = _check_names()
    assert passed
    assert not named
