"""Four processes making the same day's direct-debit file at once on PostgreSQL.

Each invoice lands in exactly one file; nobody fails with a constraint violation,
because the customers' locks serialize the selection.
"""

from __future__ import annotations

import multiprocessing

import pytest
from django.db import connection, connections

from faktura.collection import services as collection
from faktura.collection.models import DirectDebitBatch, DirectDebitItem
from faktura.core.actors import Actor
from faktura.customers.services import create_customer
from faktura.payments.models import PaymentSettings
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKERS = 4
ACTOR = Actor.system("concurrency-test")


def _create(queue) -> None:
    connections.close_all()
    try:
        batch = collection.create_direct_debit_batch(
            collection_date=TOMORROW, scheme="CORE", actor=ACTOR
        )
        queue.put(("ok", batch.pk if batch else None))
    except Exception as error:  # reported to the parent, which fails the test
        queue.put(("error", repr(error)))
    connections.close_all()


def test_concurrent_batches_collect_each_invoice_once(company):
    PaymentSettings.objects.create(pre_notification_days=1)
    invoices = []
    for n in range(6):
        customer = create_customer(
            actor=ACTOR, name=f"Kunde {n}", street="Weg", house_number="1", postcode="10115",
            city="Berlin", email=f"k{n}@example.org",
        )  # fmt: skip
        debit_customer(customer, ACTOR)
        invoices += [due_invoice(customer, ACTOR) for _ in range(3)]
    connection.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_create, args=(queue,)) for _ in range(WORKERS)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [r for r in results if r[0] == "error"] == []
    collected = list(DirectDebitItem.objects.values_list("invoice_id", flat=True))
    assert sorted(collected) == sorted(i.pk for i in invoices)
    assert sum(b.transaction_count for b in DirectDebitBatch.objects.all()) == len(invoices)
