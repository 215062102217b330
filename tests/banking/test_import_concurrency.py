"""Statements imported at the same moment on PostgreSQL: every line once, honest reports.

Six processes, released together, import six different files that all contain the same
three transfers (paying three invoices) plus one line of their own. Every process has
already decided that the shared lines are new when the others insert them (matching is
slowed down to widen the window), so only ``INSERT … ON CONFLICT DO NOTHING`` and the
line's own statement decide who books it: each shared line is stored and booked once.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import signal
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, connections

from faktura.banking import booking, services
from faktura.banking.models import BankStatement, BankTransaction
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.payments.models import Allocation, Payment
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import BOOKING_DAY
from tests.payments.helpers import finalized, open_amount

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKERS = 6
ACTOR = Actor(label="user:anna", roles=frozenset({"accountant"}))


def _import(data: bytes, barrier, queue) -> None:
    connections.close_all()  # never share the parent's socket
    connection.ensure_connection()
    barrier.wait(timeout=120)
    with clock.frozen(dt.datetime.combine(BOOKING_DAY, dt.time(12), tzinfo=dt.UTC)):
        result = services.import_statement(data=data, filename="x.xml", actor=ACTOR)
    connections.close_all()
    queue.put((result.new, result.booked))


def test_overlapping_statements_imported_at_once_book_every_line_once(
    business_customer, actor, monkeypatch
):
    invoices = [finalized(business_customer, actor) for _ in range(3)]
    shared = [transfer("119.00", f"RE-2026-0000{n}", reference=f"SHARED-{n}") for n in range(1, 4)]
    own = [transfer(f"{n + 1}.00", "Spende", reference=f"OWN-{n}") for n in range(WORKERS)]
    files = [camt([*shared, own[n]], message_id=f"FILE-{n}") for n in range(WORKERS)]
    planned = services.plan

    def slow_plan(lines):  # every process sees the shared lines as new
        result = planned(lines)
        time.sleep(0.5)
        return result

    monkeypatch.setattr(services, "plan", slow_plan)
    connection.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    barrier = context.Barrier(WORKERS)
    processes = [context.Process(target=_import, args=(data, barrier, queue)) for data in files]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)

    assert sum(new for new, _ in results) == 3 + WORKERS
    assert sum(booked for _, booked in results) == 3
    assert BankStatement.objects.count() == WORKERS
    assert BankTransaction.objects.count() == 3 + WORKERS
    assert Payment.objects.count() == 3
    assert Allocation.objects.count() == 3
    assert [open_amount(i) for i in invoices] == [Decimal("0.00")] * 3


def _import_by_command(path: str, barrier, queue) -> None:
    connections.close_all()
    connection.ensure_connection()
    barrier.wait(timeout=120)
    out = io.StringIO()
    with clock.frozen(dt.datetime.combine(BOOKING_DAY, dt.time(12), tzinfo=dt.UTC)):
        call_command("import_statement", path, stdout=out)
    connections.close_all()
    queue.put(out.getvalue())


def _slow_import_and_booking(monkeypatch) -> None:
    """Both imports plan before either stores; booking a chunk takes a while."""
    planned, book = services.plan, booking._book_chunk

    def slow_plan(lines):
        result = planned(lines)
        time.sleep(0.5)
        return result

    def slow_book(rows, actor):
        time.sleep(0.3)
        return book(rows, actor)

    monkeypatch.setattr(services, "plan", slow_plan)
    monkeypatch.setattr(booking, "_book_chunk", slow_book)


def test_the_import_that_loses_the_race_for_one_file_reports_that_it_booked_nothing(
    business_customer, actor, monkeypatch
):
    for _ in range(3):
        finalized(business_customer, actor)
    data = camt([transfer("119.00", f"RE-2026-0000{n}", reference=f"R-{n}") for n in (1, 2, 3)])
    _slow_import_and_booking(monkeypatch)
    connection.close()
    context = multiprocessing.get_context("fork")
    queue, barrier = context.Queue(), context.Barrier(2)
    processes = [
        context.Process(target=_import_full, args=(data, barrier, queue)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    results = sorted(queue.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)

    assert results == [
        # already_imported, new, duplicates, booked, booked_amount
        (False, 3, 0, 3, "357.00"),
        (True, 0, 3, 0, "0.00"),
    ]
    assert BankStatement.objects.count() == 1
    assert Payment.objects.count() == 3


def test_the_command_that_loses_the_race_prints_zero_booked(
    business_customer, actor, monkeypatch, tmp_path
):
    for _ in range(3):
        finalized(business_customer, actor)
    path = tmp_path / "auszug.xml"
    path.write_bytes(
        camt([transfer("119.00", f"RE-2026-0000{n}", reference=f"R-{n}") for n in (1, 2, 3)])
    )
    _slow_import_and_booking(monkeypatch)
    connection.close()
    context = multiprocessing.get_context("fork")
    queue, barrier = context.Queue(), context.Barrier(2)
    processes = [
        context.Process(target=_import_by_command, args=(str(path), barrier, queue))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    outputs = sorted(queue.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)

    assert outputs == [
        "auszug.xml was imported before; nothing new.\n"
        "auszug.xml: 3 transactions, 0 new, 3 duplicates, 0 booked (0.00 EUR), "
        "0 unmatched, 0 returns, 0 ignored\n",
        "auszug.xml: 3 transactions, 3 new, 0 duplicates, 3 booked (357.00 EUR), "
        "0 unmatched, 0 returns, 0 ignored\n",
    ]
    assert Payment.objects.count() == 3


def _import_full(data: bytes, barrier, queue) -> None:
    connections.close_all()
    connection.ensure_connection()
    barrier.wait(timeout=120)
    with clock.frozen(dt.datetime.combine(BOOKING_DAY, dt.time(12), tzinfo=dt.UTC)):
        result = services.import_statement(data=data, filename="x.xml", actor=ACTOR)
    connections.close_all()
    queue.put(
        (
            result.already_imported,
            result.new,
            result.duplicates,
            result.booked,
            str(result.booked_amount),
        )
    )


def _import_and_hang_in_second_chunk(data: bytes, queue) -> None:
    """Book chunks of three; in the second chunk, with its payments written, wait to be killed."""
    from faktura.payments import services as payments

    connections.close_all()
    connection.ensure_connection()
    booking.BOOKING_CHUNK = 3
    chunks = []

    def hang_in_second_chunk(*, invoice_ids, actor):
        chunks.append(invoice_ids)
        if len(chunks) == 2:
            queue.put("in the second chunk")
            time.sleep(120)

    payments.money_received = hang_in_second_chunk
    with clock.frozen(dt.datetime.combine(BOOKING_DAY, dt.time(12), tzinfo=dt.UTC)):
        services.import_statement(data=data, filename="x.xml", actor=ACTOR)


def test_an_import_killed_in_the_middle_of_a_chunk_leaves_whole_chunks_booked_once(
    business_customer, actor
):
    invoices = [finalized(business_customer, actor) for _ in range(8)]
    data = camt([transfer("119.00", f"Rechnung {i.number}") for i in invoices])
    connection.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_import_and_hang_in_second_chunk, args=(data, queue))
    process.start()
    assert queue.get(timeout=120) == "in the second chunk"
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=60)

    states = list(BankTransaction.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["booked"] * 3 + ["matched"] * 5
    assert Payment.objects.count() == Allocation.objects.count() == 3

    with clock.frozen(dt.datetime.combine(BOOKING_DAY, dt.time(12), tzinfo=dt.UTC)):
        again = services.import_statement(data=data, filename="x.xml", actor=ACTOR)

    assert (again.already_imported, again.booked) == (True, 5)
    assert set(BankTransaction.objects.values_list("state", flat=True)) == {"booked"}
    assert Payment.objects.count() == Allocation.objects.count() == 8
    assert len(set(Payment.objects.values_list("external_id", flat=True))) == 8
    assert [open_amount(i) for i in invoices] == [Decimal("0.00")] * 8
