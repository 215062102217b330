"""Independent reads of one report at once, on PostgreSQL, in one snapshot of the data.

A report at a date reads the invoices' side and the payments' side of the receivables, each
a pass over a million rows that one PostgreSQL process works through alone. ``together``
runs such reads on their own connections at the same time, all in the snapshot the first
one took (``pg_export_snapshot``, as parallel ``pg_dump`` does), so the parts agree with
each other as if read by one query. Inside a transaction (a test, a service that has just
written) the reads stay in it, one after the other: only that transaction sees its writes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def _begin_snapshot(cursor: Any) -> None:
    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    # Report queries are short for JIT compilation to pay off (it cost 0.1–0.2 s each).
    cursor.execute("SET LOCAL jit = off")


def together(*reads: Callable[[], Any]) -> list[Any]:
    """The results of ``reads``, in their order."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or connection.in_atomic_block or len(reads) < 2:
        return [read() for read in reads]
    with transaction.atomic():
        with connection.cursor() as cursor:
            _begin_snapshot(cursor)
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()

        def in_snapshot(read: Callable[[], Any]) -> Any:
            try:
                with transaction.atomic():
                    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                        _begin_snapshot(cursor)
                        cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
                    return read()
            finally:
                connections.close_all()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=len(reads) - 1) as pool:
            others = [pool.submit(in_snapshot, read) for read in reads[1:]]
            first = reads[0]()
            return [first, *(future.result() for future in others)]
