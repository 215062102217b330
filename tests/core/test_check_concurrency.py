"""`faktura check` on a live PostgreSQL database: no false alarm while workers write.

The first test proves the race of reading chain heads and entries at different moments
(the read pattern of a check without one snapshot); the others show that the check,
reading one snapshot, reports nothing while services commit between its reads.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from faktura.core.actors import Actor
from faktura.core.audit import verify_chains
from faktura.core.integrity import all_problems
from faktura.core.models import AuditChain, AuditEntry
from faktura.customers.services import create_customer
from faktura.invoicing import services as invoicing
from tests.invoicing.helpers import line, order
from tests.payments.helpers import pay

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ACTOR = Actor(label="user:anna", user_id=None, roles=frozenset({"accountant"}))


def _customers(count: int) -> list:
    return [
        create_customer(
            actor=ACTOR,
            name=f"Kunde {n}",
            street="Weg",
            postcode="10115",
            city="Berlin",
            email=f"k{n}@example.org",
        )
        for n in range(count)
    ]


def _in_thread(work) -> None:
    """Run ``work`` on its own connection and commit it, as another process would."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the caller
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not failures, failures


def _commit_while_checking(monkeypatch, customer, draft_id: int) -> None:
    """While the check hashes its first entry, finalize ``draft_id`` in another connection."""
    compute_hash = AuditEntry.compute_hash
    main = threading.get_ident()
    fired = []

    def hash_and_interleave(entry: AuditEntry) -> str:
        if not fired and threading.get_ident() == main:
            fired.append(True)
            _in_thread(lambda: invoicing.finalize_invoice(invoice_id=draft_id, actor=ACTOR))
        return compute_hash(entry)

    monkeypatch.setattr(AuditEntry, "compute_hash", hash_and_interleave)


def _setup_interleaving(company, monkeypatch) -> None:
    customers = _customers(2)
    last_chain = AuditChain.objects.order_by("-key").first().key
    customer = next(c for c in customers if f"customer:{c.pk}" == last_chain)
    assert AuditChain.objects.order_by("key").first().key != last_chain
    draft = order(customer, ACTOR, line("1", "10.00"))
    _commit_while_checking(monkeypatch, customer, draft.pk)


def test_reading_heads_and_entries_at_different_moments_cries_wolf(company, monkeypatch):
    _setup_interleaving(company, monkeypatch)
    # The read pattern without a snapshot: each query sees what was committed before it.
    problems = [str(problem) for problem in verify_chains()]
    assert len(problems) == 1
    assert "entries at the end were deleted or altered" in problems[0]


def test_check_reads_one_snapshot_while_a_service_commits_between_its_reads(company, monkeypatch):
    _setup_interleaving(company, monkeypatch)
    assert list(all_problems()) == []
    # The interleaved write did happen, and the next check sees it whole.
    assert AuditEntry.objects.filter(action="invoice.finalized").count() == 1
    assert list(all_problems()) == []


def test_check_while_a_worker_finalizes_and_books_reports_nothing(company):
    customers = _customers(4)
    drafts = [order(customers[n % 4], ACTOR, line("1", "10.00")).pk for n in range(120)]
    stop = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for n, draft_id in enumerate(drafts):
                if stop.is_set():
                    break
                invoicing.finalize_invoice(invoice_id=draft_id, actor=ACTOR)
                pay(ACTOR, "10.00", customers[n % 4])
                written.append(draft_id)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    reports = []
    try:
        for _ in range(20):
            reports.append(list(all_problems()))
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not failures, failures
    assert len(written) > 0
    assert reports == [[]] * 20
    assert list(all_problems()) == []
