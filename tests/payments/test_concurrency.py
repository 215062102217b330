"""Allocations under real concurrency on PostgreSQL: a payment is never allocated twice.

Twelve processes, released together by a barrier, allocate 1.00 at a time from one
payment of 10.00. The first test proves the check-then-write race exists without the
locks (the check is slowed down to widen the window: all twelve see 10.00 left), so the
second one, with the locks, shows something.
"""

from __future__ import annotations

import multiprocessing
import time
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum

from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.customers.models import Customer
from faktura.customers.services import create_customer
from faktura.invoicing.models import Invoice
from faktura.payments import locks, selectors
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment
from tests.conftest import TODAY
from tests.payments.helpers import finalized

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKERS = 12
ATTEMPTS = 3
ACTOR = Actor.system("concurrency-test")


def _setup(company) -> tuple[int, int]:
    customer = create_customer(
        actor=ACTOR, name="Kunde", street="Weg", postcode="10115", city="Berlin",
        email="k@example.org",
    )  # fmt: skip
    invoice = finalized(customer, ACTOR, price="1000.00")
    payment = payments.record_payment(
        actor=ACTOR,
        amount="10.00",
        date=TODAY,
        method="transfer",
        source="statement",
        customer_id=customer.pk,
    )
    return payment.pk, invoice.pk


def _allocate(payment_id: int, invoice_id: int, barrier, queue) -> None:
    connections.close_all()  # never share the parent's socket
    connection.ensure_connection()
    barrier.wait(timeout=120)
    done = refused = 0
    for _ in range(ATTEMPTS):
        try:
            payments.allocate_payment(
                payment_id=payment_id, allocations=[(invoice_id, "1.00")], actor=ACTOR
            )
            done += 1
        except DomainError:
            refused += 1
    connections.close_all()
    queue.put((done, refused))


def _run(payment_id: int, invoice_id: int) -> int:
    connection.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    barrier = context.Barrier(WORKERS)
    processes = [
        context.Process(target=_allocate, args=(payment_id, invoice_id, barrier, queue))
        for _ in range(WORKERS)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sum(done + refused for done, refused in results) == WORKERS * ATTEMPTS
    return sum(done for done, _ in results)


def test_without_the_locks_a_payment_is_allocated_more_than_once(company, monkeypatch):
    payment_id, invoice_id = _setup(company)
    checked = selectors.unallocated_amount

    def slow_check(payment_id: int) -> Decimal:
        amount = checked(payment_id)
        time.sleep(0.2)  # the window between check and write
        return amount

    monkeypatch.setattr(selectors, "unallocated_amount", slow_check)
    monkeypatch.setattr(locks, "lock_customer", lambda customer_id, **_: Customer(pk=customer_id))
    monkeypatch.setattr(
        locks, "lock_invoices", lambda ids: {i.pk: i for i in Invoice.objects.filter(pk__in=ids)}
    )
    monkeypatch.setattr(
        locks, "lock_payments", lambda ids: {p.pk: p for p in Payment.objects.filter(pk__in=ids)}
    )
    _run(payment_id, invoice_id)
    total = Allocation.objects.aggregate(total=Sum("amount"))["total"]
    assert total > Decimal("10.00")


def test_with_the_locks_a_payment_is_allocated_exactly_once(company, monkeypatch):
    payment_id, invoice_id = _setup(company)
    checked = selectors.unallocated_amount

    def slow_check(payment_id: int) -> Decimal:
        amount = checked(payment_id)
        time.sleep(0.02)
        return amount

    monkeypatch.setattr(selectors, "unallocated_amount", slow_check)
    assert _run(payment_id, invoice_id) == 10
    assert Allocation.objects.aggregate(total=Sum("amount"))["total"] == Decimal("10.00")
    assert selectors.unallocated_amount(payment_id) == Decimal("0.00")
