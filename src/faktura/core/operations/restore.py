"""``faktura restore FILE``: a backup into an empty installation, verified before anything
is written.

Order: the target must be empty (no table, no file in the storages); the whole file's seal,
the manifest and every member's SHA-256 and size are checked while the members are copied
to a temporary directory; only then are the files written and the database loaded. If
loading the database fails, the files written are removed again, so a failed restore
leaves the installation as empty as it found it. A backup made by an older Faktura is
migrated afterwards; one from a newer Faktura (migrations this code does not know) is
refused.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

from faktura.core.errors import StateConflict
from faktura.core.operations import database, files
from faktura.core.operations.backup import PROGRESS_SECONDS
from faktura.core.operations.container import Member, VerifiedContainer

Progress = Callable[[str], None]


class TargetNotEmpty(StateConflict):
    code = "restore_target_not_empty"


class BackupIncompatible(StateConflict):
    code = "backup_incompatible"


@dataclass
class RestoreResult:
    manifest: dict[str, object]
    files: int = 0
    migrated: list[str] = field(default_factory=list)
    seconds: float = 0.0


def ensure_empty_installation() -> None:
    """Refuse a target whose database has tables or whose storages hold files."""
    tables = database.table_names()
    if tables:
        raise TargetNotEmpty(
            _(
                "Die Datenbank ist nicht leer (%(count)d Tabellen, z. B. %(table)s). "
                "Wiederherstellen nur in eine neue, leere Datenbank."
            )
            % {"count": len(tables), "table": tables[0]}
        )
    for key, store in files.storages().items():
        found = files.first_file(store)
        if found is not None:
            raise TargetNotEmpty(
                _(
                    "Der Dateispeicher (%(key)s) ist nicht leer, z. B. %(name)s. "
                    "Wiederherstellen nur in eine leere Installation."
                )
                % {"key": key, "name": found}
            )


def restore_backup(*, source: Path, progress: Progress = lambda line: None) -> RestoreResult:
    """Restore ``source`` into this empty installation.

    Raises TargetNotEmpty, BackupDamaged (nothing written), BackupIncompatible (other
    database vendor, newer Faktura), ToolFailed (pg_restore).
    """
    started = time.monotonic()
    ensure_empty_installation()
    progress(_("Sicherung wird geprüft …"))
    container = VerifiedContainer(source)
    try:
        manifest = container.manifest
        _check_compatible(manifest)
        if manifest["database"].get("member") not in {m.name for m in container.members}:
            raise BackupIncompatible(_("Das Manifest nennt keine enthaltene Datenbank."))
        result = RestoreResult(manifest=manifest)
        with tempfile.TemporaryDirectory(prefix="faktura-restore-") as temporary:
            extracted = _extract_all(container, Path(temporary), progress)
            progress(_("Sicherung geprüft: jede Prüfsumme stimmt."))
            written: list[tuple[Storage, str]] = []
            try:
                _write_files(extracted, written, progress)
                progress(_("Datenbank wird wiederhergestellt …"))
                database.restore(extracted[manifest["database"]["member"]][1])
            except BaseException:
                for store, name in written:
                    store.delete(name)
                raise
            result.files = len(written)
    finally:
        container.close()
    result.migrated = _migrate(progress)
    result.seconds = time.monotonic() - started
    return result


def _check_compatible(manifest: dict[str, object]) -> None:
    vendor = database.dump_format().vendor
    db = manifest.get("database")
    if not isinstance(db, dict) or db.get("vendor") not in database.FORMATS:
        raise BackupIncompatible(_("Das Manifest nennt keine bekannte Datenbank."))
    if db["vendor"] != vendor:
        raise BackupIncompatible(
            _(
                "Die Sicherung stammt aus %(source)s; diese Installation nutzt %(target)s. "
                "Eine Sicherung lässt sich nur in dieselbe Datenbankart wiederherstellen."
            )
            % {"source": db["vendor"], "target": vendor}
        )
    loader = MigrationLoader(None, ignore_no_migrations=True)
    migrations = manifest.get("migrations")
    if not isinstance(migrations, dict):
        raise BackupIncompatible(_("Das Manifest nennt keinen Migrationsstand."))
    unknown = sorted(
        f"{app}.{name}"
        for app, name in migrations.items()
        if (app, name) not in loader.disk_migrations
    )
    if unknown:
        raise BackupIncompatible(
            _(
                "Die Sicherung stammt von einer neueren Faktura-Version (%(version)s; "
                "unbekannte Migrationen: %(names)s). Erst Faktura aktualisieren."
            )
            % {"version": manifest.get("faktura_version"), "names": ", ".join(unknown[:5])}
        )


def _extract_all(
    container: VerifiedContainer, directory: Path, progress: Progress
) -> dict[str, tuple[Member, Path]]:
    extracted: dict[str, tuple[Member, Path]] = {}
    last = time.monotonic()
    total = len(container.members)
    for number, member in enumerate(container.members, start=1):
        # Numbered names: a member's own name never becomes a path on this machine.
        path = directory / f"{number:08d}"
        container.extract(member, path)
        extracted[member.name] = (member, path)
        if time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            progress(_("Geprüft: %(done)d/%(total)d") % {"done": number, "total": total})
    return extracted


def _write_files(
    extracted: dict[str, tuple[Member, Path]],
    written: list[tuple[Storage, str]],
    progress: Progress,
) -> None:
    stored = [(files.member_name(name), path) for name, (_member, path) in extracted.items()]
    todo = [(target, path) for target, path in stored if target is not None]
    last = time.monotonic()
    for done, (target, path) in enumerate(todo, start=1):
        store = files.storage(target.storage)
        with path.open("rb") as content:
            name = store.save(target.name, File(content, name=target.name))
        written.append((store, name))
        if name != target.name:
            raise TargetNotEmpty(_("%(name)s lag schon im Dateispeicher.") % {"name": target.name})
        if time.monotonic() - last >= PROGRESS_SECONDS or done == len(todo):
            last = time.monotonic()
            progress(_("Dateien: %(done)d/%(total)d") % {"done": done, "total": len(todo)})


def _migrate(progress: Progress) -> list[str]:
    """Bring a backup of an older Faktura up to this version's migrations."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return []
    names = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    progress(_("Migrationen dieser Version: %(count)d …") % {"count": len(names)})
    call_command("migrate", database=DEFAULT_DB_ALIAS, interactive=False, verbosity=0)
    return names
