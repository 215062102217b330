"""``faktura backup FILE``: the database, the files its rows name and a manifest, in one file.

The database is dumped from one snapshot, and the files are the ones the rows of that same
snapshot name. Archived files are written before their row commits and never change, so
each one is complete on disk when it is copied. The file appears under its name only when
it is complete and sealed: a backup that fails leaves nothing that looks like a backup.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from faktura.core import clock
from faktura.core.errors import StateConflict
from faktura.core.operations import database, files
from faktura.core.operations.container import FORMAT, FORMAT_VERSION, ContainerWriter

Progress = Callable[[str], None]
PROGRESS_SECONDS = 2.0


@dataclass
class BackupResult:
    path: Path
    files: int = 0
    size: int = 0
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0


def faktura_version() -> str:
    try:
        return version("faktura")
    except PackageNotFoundError:
        return "unknown"


def latest_migrations(query: database.Query) -> dict[str, str]:
    """The latest applied migration of every app (names are numbered, so the greatest)."""
    latest: dict[str, str] = {}
    for app, name in query("SELECT app, name FROM django_migrations"):
        if name > latest.get(app, ""):
            latest[app] = name
    return dict(sorted(latest.items()))


def make_backup(*, target: Path, progress: Progress = lambda line: None) -> BackupResult:
    """Write the backup to ``target``, which must not exist yet.

    Raises StateConflict when ``target`` exists, ToolFailed when pg_dump fails.
    """
    if target.exists():
        raise StateConflict(
            _("%(path)s gibt es schon; eine Sicherung überschreibt keine Datei.")
            % {"path": target},
            code="backup_exists",
        )
    if not target.parent.is_dir():
        raise StateConflict(
            _("Das Verzeichnis %(path)s gibt es nicht.") % {"path": target.parent},
            code="backup_directory_missing",
        )
    started = time.monotonic()
    dump = database.dump_format()
    result = BackupResult(path=target)
    partial = target.with_name(f".{target.name}.part")
    with tempfile.TemporaryDirectory(prefix="faktura-backup-") as temporary:
        dump_path = Path(temporary) / "database"
        progress(_("Datenbank (%(vendor)s) wird gesichert …") % {"vendor": dump.vendor})
        created_at = clock.now()
        with database.dumped_snapshot(dump_path) as query:
            names = files.referenced_files(query)
            migrations = latest_migrations(query)
        progress(_("Datenbank gesichert: %(mb).1f MB.") % {"mb": dump_path.stat().st_size / 1e6})
        writer = ContainerWriter(partial)
        try:
            writer.add_file(dump.member, dump_path, compress=dump.compress)
            _add_files(writer, names, result, progress)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "faktura_version": faktura_version(),
                "created_at": created_at.isoformat(),
                "database": {
                    "vendor": dump.vendor,
                    "format": dump.format,
                    "member": dump.member,
                    "server_version": database.server_version(),
                },
                "migrations": migrations,
                "files": result.files,
                "missing_files": result.missing,
            }
            writer.close(manifest)
        except BaseException:
            writer.abort()
            partial.unlink(missing_ok=True)
            raise
    partial.rename(target)
    result.size = target.stat().st_size
    result.seconds = time.monotonic() - started
    return result


def _add_files(
    writer: ContainerWriter,
    names: list[files.StoredName],
    result: BackupResult,
    progress: Progress,
) -> None:
    total = len(names)
    last = time.monotonic()
    copied = 0
    for done, stored in enumerate(names, start=1):
        try:
            with files.storage(stored.storage).open(stored.name, "rb") as source:
                copied += writer.add_stream(stored.member, source).size
        except FileNotFoundError:
            # `faktura check` names it too; the backup keeps everything that is there.
            result.missing.append(stored.member)
            progress(_("FEHLT: %(name)s") % {"name": stored.name})
            continue
        result.files += 1
        if time.monotonic() - last >= PROGRESS_SECONDS or done == total:
            last = time.monotonic()
            progress(
                _("Dateien: %(done)d/%(total)d (%(mb).1f MB)")
                % {"done": done, "total": total, "mb": copied / 1e6}
            )
