"""``audit.record_many``: the batch runs' way to append to many chains at once."""

from __future__ import annotations

import pytest
from django.db import transaction

from faktura.core import audit
from faktura.core.actors import Actor
from faktura.core.models import AuditChain, AuditEntry

ACTOR = Actor.system("test")


def _entry(chain: str, n: int) -> audit.PendingEntry:
    return audit.PendingEntry(
        chain=chain, action="test.done", object_type="test", object_id=n, data={"n": n}
    )


@pytest.mark.django_db
def test_entries_of_many_chains_are_linked_and_the_heads_advanced():
    with transaction.atomic():
        audit.record_many(actor=ACTOR, entries=[_entry("a", 1), _entry("b", 2), _entry("a", 3)])
    with transaction.atomic():
        audit.record_many(actor=ACTOR, entries=[_entry("b", 4)])
    heads = {c.key: c for c in AuditChain.objects.filter(key__in=["a", "b"])}
    assert heads["a"].length == 2
    assert heads["b"].length == 2
    last_b = AuditEntry.objects.filter(chain=heads["b"]).order_by("sequence").last()
    assert last_b.data == {"n": 4}
    assert heads["b"].head_hash == last_b.entry_hash
    assert list(audit.verify_chains()) == []


@pytest.mark.django_db
def test_nothing_to_record_writes_nothing():
    before = AuditEntry.objects.count()
    with transaction.atomic():
        audit.record_many(actor=ACTOR, entries=[])
    assert AuditEntry.objects.count() == before
