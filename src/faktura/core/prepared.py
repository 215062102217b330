"""Queries asked on every request of a hot read, prepared once per database connection.

Django binds parameters on the client (psycopg's ``ClientCursor``), so PostgreSQL plans
each query anew: for the API's settlement query of a page that took longer than running
it. A query run here is sent with server-side binding and prepared on the connection
(``prepare=True``): planned once, then executed. Elsewhere (SQLite) it runs as any query.
Captured like Django's own queries while they are logged (tests, DEBUG).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``%s`` placeholders) with ``params``."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    # As Django's own cursors do: a kept connection is checked once per request, so that
    # a request after a database restart reconnects instead of failing.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall()
    if connection.queries_logged:
        seconds = time.monotonic() - started
        shown = sql % tuple(repr(p) for p in params)
        connection.queries_log.append({"sql": shown, "time": f"{seconds:.3f}"})
    return rows


def instances(model: type[M], alias: str, tail: str, params: Sequence[Any]) -> list[M]:
    """Instances of ``model`` from ``SELECT <its columns> FROM <tail>``, where ``tail``
    names the model's table as ``alias``; converted as the ORM converts its columns."""
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
    converters = [
        [
            *connection.ops.get_db_converters(f.get_col(model._meta.db_table)),
            *f.get_db_converters(connection),  # type: ignore[attr-defined]
        ]
        for f in fields
    ]
    names = [f.attname for f in fields]
    found = []
    for row in fetch_all(f"SELECT {columns} FROM {tail}", params):  # noqa: S608
        values = list(row)
        for n, field_converters in enumerate(converters):
            for convert in field_converters:
                values[n] = convert(values[n], fields[n], connection)
        found.append(model.from_db(connection.alias, names, values))
    return found
