"""The database in a backup: a dump of one snapshot, read in that same snapshot, and back.

SQLite: the online backup API copies the whole file in one step, a consistent snapshot even
while the worker writes. PostgreSQL: ``pg_dump -Fc`` of a snapshot exported by a
REPEATABLE READ transaction, which Faktura then reads itself (the archived files the
dumped rows name); ``pg_restore`` into an empty database in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from faktura.core.errors import StateConflict

Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class DumpFormat:
    vendor: str
    member: str
    format: str
    compress: bool


FORMATS = {
    "sqlite": DumpFormat("sqlite", "database/faktura.sqlite3", "sqlite3", compress=True),
    # pg_dump's custom format is compressed already.
    "postgresql": DumpFormat(
        "postgresql", "database/faktura.pgdump", "pg_dump-custom", compress=False
    ),
}


class ToolFailed(StateConflict):
    code = "backup_tool_failed"


def dump_format() -> DumpFormat:
    try:
        return FORMATS[connection.vendor]
    except KeyError:
        raise StateConflict(
            _("Sicherung für die Datenbank %(vendor)s gibt es nicht (nur SQLite, PostgreSQL).")
            % {"vendor": connection.vendor},
            code="backup_vendor_unsupported",
        ) from None


@contextmanager
def dumped_snapshot(target: Path) -> Iterator[Query]:
    """Dump the database to ``target``; yield a query function that reads the same snapshot."""
    vendor = dump_format().vendor
    if vendor == "sqlite":
        yield from _sqlite_snapshot(target)
    else:
        yield from _postgresql_snapshot(target)


def _sqlite_snapshot(target: Path) -> Iterator[Query]:
    connection.ensure_connection()
    with closing(sqlite3.connect(target)) as copy:
        # One step (pages=-1): a stepwise copy restarts whenever another process writes.
        connection.connection.backup(copy)
        # The copy is one self-contained file, without a -wal beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
    with closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as reader:
        yield lambda sql: reader.execute(sql).fetchall()


def _postgresql_snapshot(target: Path) -> Iterator[Query]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        # The snapshot lives as long as this transaction: pg_dump and the queries below see
        # exactly the same rows.
        _run_pg("pg_dump", ["-Fc", f"--snapshot={snapshot}", "-f", str(target)])

        def query(sql: str) -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())

        yield query


def server_version() -> str:
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version
    return str(connection.pg_version)  # type: ignore[attr-defined]


def table_names() -> list[str]:
    with connection.cursor() as cursor:
        return list(connection.introspection.table_names(cursor))


def restore(dump: Path) -> None:
    """Load a dump into the (empty) database; all or nothing."""
    vendor = dump_format().vendor
    if vendor == "sqlite":
        connection.ensure_connection()
        with closing(sqlite3.connect(dump)) as source:
            source.backup(connection.connection)
    else:
        _run_pg(
            "pg_restore",
            ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"],
            input_file=dump,
        )
    # The next connection sets the journal mode and sees the restored schema afresh.
    connection.close()


def _run_pg(tool: str, parameters: list[str], *, input_file: Path | None = None) -> None:
    client = connection.client
    args, env = client.settings_to_cmd_args_env(connection.settings_dict, [])
    args = list(args)
    database = args.pop() if connection.settings_dict.get("NAME") else None
    command = [tool, *args[1:], *parameters]
    if database:
        command += ["-d", database]
    if input_file is not None:
        command.append(str(input_file))
    try:
        result = subprocess.run(
            command,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise ToolFailed(
            _("%(tool)s ist nicht installiert (PostgreSQL-Client-Programme).") % {"tool": tool}
        ) from None
    if result.returncode != 0:
        raise ToolFailed(
            _("%(tool)s ist fehlgeschlagen: %(error)s")
            % {"tool": tool, "error": result.stderr.strip()[-2000:]}
        )
