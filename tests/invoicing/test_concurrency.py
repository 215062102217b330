"""Gapless numbers under real concurrency: 8 processes finalizing at once on PostgreSQL.

The first test proves the race exists without the counter lock, so the second one,
with the lock, shows something.
"""

from __future__ import annotations

import multiprocessing
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections

from faktura.core import numbering
from faktura.core.actors import Actor
from faktura.core.models import NumberCounter
from faktura.customers.services import create_customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, InvoiceLine, InvoiceTax
from tests.invoicing.helpers import line, order

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKERS = 8
ACTOR = Actor.system("concurrency-test")


def _make_drafts(company, total: int) -> list[list[int]]:
    """Create ``total`` drafts spread over one customer per worker; return ids per worker."""
    per_worker = []
    for worker in range(WORKERS):
        customer = create_customer(
            actor=ACTOR,
            name=f"Kunde {worker}",
            street="Weg",
            postcode="10115",
            city="Berlin",
            email=f"k{worker}@example.org",
        )
        template = order(customer, ACTOR, line("1", "10.00"))
        template_line = template.lines.get()
        template_tax = template.taxes.get()
        copies = Invoice.objects.bulk_create(
            [
                Invoice(
                    **{
                        f.attname: getattr(template, f.attname)
                        for f in Invoice._meta.concrete_fields
                        if f.attname not in ("id", "order_id")
                    }
                )
                for _ in range(total // WORKERS - 1)
            ]
        )
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(**{**_fields(template_line), "invoice_id": c.pk}) for c in copies]
        )
        InvoiceTax.objects.bulk_create(
            [InvoiceTax(**{**_fields(template_tax), "invoice_id": c.pk}) for c in copies]
        )
        per_worker.append([template.pk, *(c.pk for c in copies)])
    return per_worker


def _fields(row) -> dict:
    return {
        f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.attname != "id"
    }


def _finalize_all(ids: list[int], queue) -> None:
    connections.close_all()  # never share the parent's socket
    numbers, failures = [], 0
    for invoice_id in ids:
        try:
            numbers.append(invoicing.finalize_invoice(invoice_id=invoice_id, actor=ACTOR).number)
        except IntegrityError:
            failures += 1
    connections.close_all()
    queue.put((numbers, failures))


def _run_workers(per_worker: list[list[int]]) -> tuple[list[str], int]:
    connection.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_finalize_all, args=(ids, queue)) for ids in per_worker]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    numbers = [n for found, _ in results for n in found]
    return numbers, sum(failures for _, failures in results)


def test_without_the_counter_lock_concurrent_finalization_collides(company, monkeypatch):
    def unlocked_counter(number_range, period):
        counter, _ = NumberCounter.objects.get_or_create(number_range=number_range, period=period)
        return counter

    monkeypatch.setattr(numbering, "_locked_counter", unlocked_counter)
    numbers, failures = _run_workers(_make_drafts(company, 400))
    # Lost updates hand the same number to two documents: the unique constraint refuses
    # the second, so drafts fail to finalize, or numbers are skipped.
    expected = {f"RE-2026-{n:05d}" for n in range(1, 401)}
    assert failures > 0 or set(numbers) != expected


def test_eight_processes_finalizing_2000_drafts_get_numbers_1_to_2000(company):
    numbers, failures = _run_workers(_make_drafts(company, 2000))
    assert failures == 0
    assert len(numbers) == 2000
    assert sorted(numbers) == [f"RE-2026-{n:05d}" for n in range(1, 2001)]
    assert Invoice.objects.filter(status="finalized").count() == 2000
    assert NumberCounter.objects.get(number_range__kind="invoice").last_value == 2000
    assert sum(Invoice.objects.values_list("grand_total", flat=True)) == Decimal("23800.00")
