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
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``%s`` placeholders) with ``params``."""
    # Bound once: each attribute of django.db.connection is looked up per thread.
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor != "postgresql":
        with database.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    # As Django's own cursors do: a kept connection is checked once per request, so that
    # a request after a database restart reconnects instead of failing.
    database.close_if_health_check_failed()
    database.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(database.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall()
    if database.queries_logged:
        seconds = time.monotonic() - started
        shown = sql % tuple(repr(p) for p in params)
        database.queries_log.append({"sql": shown, "time": f"{seconds:.3f}"})
    return rows


def instances(model: type[M], alias: str, tail: str, params: Sequence[Any]) -> list[M]:
    """Instances of ``model`` from ``SELECT <its columns> FROM <tail>``, where ``tail``
    names the model's table as ``alias``; converted as the ORM converts its columns."""
    database = connections[DEFAULT_DB_ALIAS]
    columns, names, converters = _reading(model, alias, database.vendor)
    found = []
    for row in fetch_all(f"SELECT {columns} FROM {tail}", params):  # noqa: S608
        values = list(row)
        for n, field, field_converters in converters:
            for convert in field_converters:
                values[n] = convert(values[n], field, database)
        found.append(model.from_db(DEFAULT_DB_ALIAS, names, values))
    return found


@cache
def _reading(model: type[models.Model], alias: str, vendor: str) -> tuple[str, list[str], Any]:
    """How ``instances`` reads ``model``: its columns, their names, and per column that
    needs them, the ORM's converters (the same for every query of a database vendor)."""
    database = connections[DEFAULT_DB_ALIAS]
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{database.ops.quote_name(f.column)}" for f in fields)
    converters = []
    for n, field in enumerate(fields):
        field_converters = [
            *database.ops.get_db_converters(field.get_col(model._meta.db_table)),
            *field.get_db_converters(database),  # type: ignore[attr-defined]
        ]
        if field_converters:
            converters.append((n, field, field_converters))
    return columns, [f.attname for f in fields], converters
