"""Independent reads of a report at once (``core.snapshot_reads.together``): on PostgreSQL
each on its own connection in the snapshot the first one took; inside a transaction one
after the other in it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from faktura.core.snapshot_reads import together
from faktura.customers.models import Customer
from faktura.customers.services import create_customer


def _second_customer(actor) -> None:
    create_customer(
        actor=actor, kind="consumer", name="Zweite Kundin", street="Weg", house_number="1",
        postcode="10115", city="Berlin", email="zwei@example.org",
    )  # fmt: skip


@pytest.mark.django_db
def test_inside_a_transaction_the_reads_see_its_uncommitted_writes(business_customer, actor):
    _second_customer(actor)
    assert together(Customer.objects.count, Customer.objects.count) == [2, 2]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_reads_share_the_snapshot_taken_before_them(business_customer, actor):
    if connection.vendor != "postgresql":
        pytest.skip("the reads run at once on PostgreSQL only (SQLite: one after the other)")
    committed = threading.Event()
    readers: list[str] = []

    def first() -> int:
        # Meanwhile another session commits a second customer.
        def commit() -> None:
            try:
                _second_customer(actor)
            finally:
                connections.close_all()

        readers.append(threading.current_thread().name)
        count = Customer.objects.count()
        writer = threading.Thread(target=commit)
        writer.start()
        writer.join()
        committed.set()
        return count

    def second() -> int:
        readers.append(threading.current_thread().name)
        assert committed.wait(timeout=30)
        return Customer.objects.count()

    assert together(first, second) == [1, 1]
    assert len(set(readers)) == 2  # two threads, two connections
    assert Customer.objects.count() == 2  # committed all the same
