"""Tell a live batch run (billing, dunning) from one whose process died.

A run holds a PostgreSQL session advisory lock on (namespace, run id) as long as its process
lives; the server gives it back when the process dies (SIGKILL, power loss), so a run whose
lock is free is dead. Other databases cannot tell: there every run still marked running
counts as dead.
"""

from __future__ import annotations

from django.db import connection


def hold(namespace: int, run_id: int) -> None:
    """Take the lock of a starting run (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [namespace, run_id])


def release(namespace: int, run_id: int) -> None:
    """Give back the lock of a run that finished or failed (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, run_id])


def dead(namespace: int, run_ids: list[int]) -> list[int]:
    """The runs of ``run_ids`` whose process is gone (all of them but on PostgreSQL)."""
    if connection.vendor != "postgresql":
        return run_ids
    gone = []
    with connection.cursor() as cursor:
        for run_id in run_ids:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, run_id])
            if cursor.fetchone()[0]:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, run_id])
                gone.append(run_id)
    return gone
