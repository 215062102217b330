"""Append to and verify the hash-chained audit log (GoBD: traceability, immutability)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from faktura.core import bulk, clock
from faktura.core.actors import Actor
from faktura.core.models import GENESIS_HASH, AuditChain, AuditEntry

COMPANY_CHAIN = "company"


def version() -> str:
    """Changes whenever anything is recorded (every change of money is): the last entry's
    id and hash. Figures derived from the data may be kept until it changes."""
    last = AuditEntry.objects.order_by("-pk").values_list("pk", "entry_hash").first()
    return f"{last[0]}-{last[1]}" if last else "none"


def customer_chain(customer_id: int) -> str:
    return f"customer:{customer_id}"


def record(
    *,
    chain: str,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to ``chain``; must run inside the caller's transaction.

    Locks the chain's head row, so entries of one chain are strictly sequential.
    Customer chains are only ever appended to by services that already hold the
    customer's lock, so this lock adds no contention there.
    """
    assert transaction.get_connection().in_atomic_block, "audit.record needs a transaction"
    head, _ = AuditChain.objects.select_for_update().get_or_create(key=chain)
    entry = AuditEntry(
        chain=head,
        sequence=head.length + 1,
        created_at=clock.now(),
        actor=actor.label,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        # Stored exactly as it will be read back, so the hash recomputes identically.
        data=json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder)),
        previous_hash=head.head_hash,
    )
    entry.entry_hash = entry.compute_hash()
    entry.save()
    head.length = entry.sequence
    head.head_hash = entry.entry_hash
    head.save(update_fields=["length", "head_hash"])
    return entry


@dataclass(frozen=True)
class PendingEntry:
    chain: str
    action: str
    object_type: str
    object_id: object
    data: dict[str, Any]


def record_many(*, actor: Actor, entries: list[PendingEntry]) -> None:
    """Append many entries (batch runs) with one lock per chain and one insert in all."""
    assert transaction.get_connection().in_atomic_block, "audit.record needs a transaction"
    keys = sorted({entry.chain for entry in entries})
    known = set(
        AuditChain.objects.filter(bulk.column_in(AuditChain, "key", keys)).values_list(
            "key", flat=True
        )
    )
    if len(known) < len(keys):
        AuditChain.objects.bulk_create(
            [AuditChain(key=key) for key in keys if key not in known], ignore_conflicts=True
        )
    heads = {
        h.key: h
        for h in AuditChain.objects.select_for_update()
        .filter(bulk.column_in(AuditChain, "key", keys))
        .order_by("key")
    }
    lengths = {key: head.length for key, head in heads.items()}  # as locked
    now = clock.now()
    rows = []
    for pending in entries:
        head = heads[pending.chain]
        entry = AuditEntry(
            chain=head,
            sequence=head.length + 1,
            created_at=now,
            actor=actor.label,
            action=pending.action,
            object_type=pending.object_type,
            object_id=str(pending.object_id),
            data=json.loads(json.dumps(pending.data, cls=DjangoJSONEncoder)),
            previous_hash=head.head_hash,
        )
        entry.entry_hash = entry.compute_hash()
        head.length, head.head_hash = entry.sequence, entry.entry_hash
        rows.append(entry)
    bulk.insert(rows)
    _advance_heads(list(heads.values()), lengths)


def _advance_heads(heads: list[AuditChain], lengths: dict[str, int]) -> None:
    """Write the new length and head hash of each locked chain: one UPDATE per chain by
    primary key, sent together (``bulk_update``'s CASE expressions cost more than the
    entries). Each is guarded by the length read under the lock, so a head only ever
    moves on from the entry its new entries link to."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta = AuditChain._meta
    table, pk, length, head_hash = (
        quote(name)
        for name in (
            meta.db_table,
            meta.get_field("id").column,
            meta.get_field("length").column,
            meta.get_field("head_hash").column,
        )
    )
    if not heads:
        return
    rows = [(head.pk, head.length, head.head_hash, lengths[head.key]) for head in heads]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for the chunk's chains (a run locks hundreds): one array each.
            cursor.execute(
                f"UPDATE {table} SET {length} = v.new_length, {head_hash} = v.new_hash "  # noqa: S608
                "FROM UNNEST(%s::bigint[], %s::bigint[], %s::varchar[], %s::bigint[]) "
                "AS v(chain_id, new_length, new_hash, old_length) "
                f"WHERE {table}.{pk} = v.chain_id AND {table}.{length} = v.old_length",
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {length} = %s, {head_hash} = %s "  # noqa: S608
                f"WHERE {pk} = %s AND {length} = %s",
                [
                    (new_length, new_hash, chain_id, old)
                    for chain_id, new_length, new_hash, old in rows
                ],
            )
        moved = cursor.rowcount
    if moved != len(heads):
        raise RuntimeError(f"audit chain heads changed under their lock ({moved} of {len(heads)})")


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    sequence: int | None
    entry_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"audit entry #{self.entry_id} (chain {self.chain}, no. {self.sequence})"
        if self.entry_id is None:
            where = f"audit chain {self.chain}"
        return f"{where}: {self.message}"


def verify_chains() -> Iterator[ChainProblem]:
    """Recompute every chain; yield the first broken entry of each broken chain."""
    for head in AuditChain.objects.order_by("key").iterator():
        previous_hash = GENESIS_HASH
        expected_sequence = 1
        problem: ChainProblem | None = None
        entries = (
            AuditEntry.objects.filter(chain=head).order_by("sequence").iterator(chunk_size=2000)
        )
        for entry in entries:
            entry.chain = head
            if entry.sequence != expected_sequence:
                problem = ChainProblem(
                    head.key,
                    entry.sequence,
                    entry.pk,
                    f"sequence gap: expected no. {expected_sequence} (an entry was deleted)",
                )
                break
            if entry.previous_hash != previous_hash:
                problem = ChainProblem(
                    head.key, entry.sequence, entry.pk, "link to the previous entry is broken"
                )
                break
            if entry.compute_hash() != entry.entry_hash:
                problem = ChainProblem(
                    head.key, entry.sequence, entry.pk, "content was altered (hash mismatch)"
                )
                break
            previous_hash = entry.entry_hash
            expected_sequence += 1
        if problem is None and (
            head.length != expected_sequence - 1 or head.head_hash != previous_hash
        ):
            problem = ChainProblem(
                head.key,
                None,
                None,
                f"head says {head.length} entries, found {expected_sequence - 1}: "
                "entries at the end were deleted or altered",
            )
        if problem is not None:
            yield problem
