"""`faktura backup` and `faktura restore`: one file in, a fresh installation out that
`faktura check` passes, with every table's rows and every archived file's bytes; a damaged
backup changes nothing.

The source is the test database (SQLite or PostgreSQL, whichever the run uses); the target
is a fresh installation of the same kind (a new data directory, on PostgreSQL also a new
database), restored by a real `faktura restore` process.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

import faktura
from faktura.core.operations.container import BackupDamaged, ContainerWriter, VerifiedContainer
from faktura.core.operations.restore import TargetNotEmpty, restore_backup
from faktura.documents.archive import archive_once
from faktura.documents.models import ArchivedDocument, Letterhead
from faktura.payments.models import Payment
from tests.documents.pipeline_helpers import finalized
from tests.invoicing.helpers import line

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ON_POSTGRES = "postgres" in os.environ.get("DATABASE_URL", "")
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class Target:
    """A fresh installation: its data directory and, on PostgreSQL, its own new database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("EMAIL_", "DATABASE_URL", "DJANGO_SETTINGS"))
        }
        self.env["FAKTURA_DATA_DIR"] = str(self.data)
        # This checkout's code, whatever the working directory of the subprocess.
        self.env["PYTHONPATH"] = str(Path(faktura.__file__).resolve().parents[1])
        # The subprocess has no frozen clock: documents finalized "today" in the test are
        # weeks old to it, and their mails were never meant to be sent here.
        self.env["FAKTURA_STUCK_AFTER_MINUTES"] = str(10**9)
        self.database: str | None = None
        if ON_POSTGRES:
            self.database = f"t_backup_restore_{secrets.token_hex(4)}"
            self._admin(f'CREATE DATABASE "{self.database}"')
            self.env["DATABASE_URL"] = _server_url(self.database)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(_server_url("postgres", psycopg=True), autocommit=True) as admin:
            admin.execute(sql)

    def drop(self) -> None:
        if self.database:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def faktura(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "faktura.cli", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def row_counts(self) -> dict[str, int]:
        if self.database:
            import psycopg

            with psycopg.connect(_server_url(self.database, psycopg=True)) as db:
                tables = [
                    name
                    for (name,) in db.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    )
                ]
                return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
        path = self.data / "faktura.sqlite3"
        if not path.exists():
            return {}
        with sqlite3.connect(path) as db:
            tables = [
                name
                for (name,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608

    def files(self) -> dict[str, bytes]:
        root = self.data / "files"
        if not root.exists():
            return {}
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }


def _server_url(database: str, *, psycopg: bool = False) -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    scheme = "postgresql" if psycopg else "postgres"
    host = db["HOST"] or "127.0.0.1"
    return f"{scheme}://{user}{password}@{host}:{db['PORT'] or 5432}/{database}"


@pytest.fixture
def target(tmp_path) -> Iterator[Target]:
    installation = Target(tmp_path / "target")
    try:
        yield installation
    finally:
        installation.drop()


def _source_row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def installation(company, business_customer, consumer, actor, settings):
    """Invoices with archived originals (one of them arbitrary binary), a payment, a
    letterhead logo in the default storage."""
    invoices = [
        finalized(business_customer, actor, line(price="119.00")),
        finalized(consumer, actor, line(quantity="3", price="19.99")),
        finalized(business_customer, actor, line(price="0.50", rate="de-7")),
    ]
    contents = [
        b"%PDF-1.7\nerste Rechnung\n%%EOF\n",
        bytes(range(256)) * 64,
        b"%PDF-1.7\n" + secrets.token_bytes(5000),
    ]
    for invoice, content in zip(invoices, contents, strict=True):
        archive_once(invoice=invoice, kind="pdf", content=content, validation="ok")
    Letterhead.objects.create(logo=ContentFile(LOGO, name="logo.png"))
    return invoices


def _archived() -> dict[str, bytes]:
    files = {doc.file.name: doc.file.read() for doc in ArchivedDocument.objects.all()}
    logo = Letterhead.current().logo
    files[logo.name] = logo.read()
    return files


def test_backup_then_restore_into_a_fresh_installation_gives_the_same_data(
    installation, target, tmp_path
):
    call_command("check", stdout=open(os.devnull, "w"))  # the source itself is sound  # noqa: SIM115
    backup = tmp_path / "faktura.backup.zip"
    call_command("backup", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    expected_rows = _source_row_counts()
    expected_files = _archived()
    assert len(expected_files) == 4
    assert Payment.objects.count() == 0

    restored = target.faktura("restore", str(backup))

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Integrity check passed" in restored.stdout
    assert target.files() == expected_files
    rows = target.row_counts()
    assert rows == expected_rows
    assert rows["invoicing_invoice"] == 3
    assert rows["documents_archiveddocument"] == 3
    assert rows["core_auditentry"] > 0


def test_the_manifest_names_every_member_with_its_hash_size_version_and_migrations(
    installation, tmp_path
):
    backup = tmp_path / "b.zip"
    call_command("backup", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    with zipfile.ZipFile(backup) as container:
        manifest = json.loads(container.read("manifest.json"))
        members = {m["name"]: m for m in manifest["members"]}
        assert set(members) == set(container.namelist()) - {"manifest.json"}
        for name, entry in members.items():
            data = container.read(name)
            assert entry == {
                "name": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
    vendor = connection.vendor
    assert manifest["database"]["vendor"] == vendor
    assert manifest["database"]["member"] in members
    for name, content in _archived().items():
        storage = "default" if name == "letterhead/logo.png" else "archive"
        assert members[f"files/{storage}/{name}"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert manifest["faktura_version"] == "0.1.0"
    assert manifest["created_at"] == "2026-11-16T09:00:00+00:00"
    assert manifest["files"] == 4
    assert manifest["missing_files"] == []
    assert manifest["migrations"]["invoicing"].startswith("00")
    assert manifest["migrations"]["core"] >= "0001_initial"


def _damage(backup: Path, how: str) -> Path:
    data = bytearray(backup.read_bytes())
    if how == "truncated":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) // 2] ^= 0x01
    damaged = backup.with_name(f"{how}.zip")
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.mark.parametrize("how", ["truncated", "flipped-byte"])
def test_a_damaged_backup_is_refused_and_nothing_is_written(installation, target, tmp_path, how):
    backup = tmp_path / "b.zip"
    call_command("backup", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    damaged = _damage(backup, how)

    restored = target.faktura("restore", str(damaged))

    assert restored.returncode == 1
    assert "backup_damaged: Die Sicherung ist beschädigt oder unvollständig" in restored.stderr
    assert "Nichts wurde wiederhergestellt" in restored.stderr
    assert target.row_counts() == {}
    assert target.files() == {}


def test_a_flipped_byte_anywhere_is_found_before_anything_is_read(installation, tmp_path):
    backup = tmp_path / "b.zip"
    call_command("backup", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    sound = backup.read_bytes()
    VerifiedContainer(backup).close()
    # Positions from the first byte to the last: data, local headers, the central
    # directory, its end record and the seal itself.
    for where in range(0, 100, 3):
        data = bytearray(sound)
        data[(len(data) - 1) * where // 99] ^= 0x20
        backup.write_bytes(bytes(data))
        with pytest.raises(BackupDamaged):
            VerifiedContainer(backup)


def test_restore_refuses_a_database_with_tables(installation, tmp_path):
    backup = tmp_path / "b.zip"
    call_command("backup", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    before = _source_row_counts()
    with pytest.raises(TargetNotEmpty, match="Die Datenbank ist nicht leer"):
        restore_backup(source=backup)
    assert _source_row_counts() == before


def test_restore_refuses_an_installation_with_files(installation, target, tmp_path):
    backup = tmp_path / "b.zip"
    call_command("backup", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    stray = target.data / "files" / "archive" / "2026" / "RE-2026-00099.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"%PDF")

    restored = target.faktura("restore", str(backup))

    assert restored.returncode == 1
    assert "restore_target_not_empty: Der Dateispeicher (archive) ist nicht leer" in restored.stderr
    assert target.files() == {"archive/2026/RE-2026-00099.pdf": b"%PDF"}
    assert not any(target.row_counts().values())


def test_a_backup_of_another_database_vendor_is_refused(target, tmp_path):
    other = "sqlite" if ON_POSTGRES else "postgresql"
    backup = tmp_path / "other.zip"
    writer = ContainerWriter(backup)
    member = writer.add_stream("database/faktura.dump", open(os.devnull, "rb"))  # noqa: SIM115
    writer.close(
        {
            "format": "faktura-backup",
            "format_version": 1,
            "faktura_version": "0.1.0",
            "database": {"vendor": other, "member": member.name},
            "migrations": {},
        }
    )

    restored = target.faktura("restore", str(backup))

    assert restored.returncode == 1
    assert f"backup_incompatible: Die Sicherung stammt aus {other}" in restored.stderr
    assert not any(target.row_counts().values())
    assert target.files() == {}


def test_a_backup_never_overwrites_a_file(installation, tmp_path):
    backup = tmp_path / "b.zip"
    backup.write_bytes(b"older backup")
    with pytest.raises(CommandError, match="backup_exists"):
        call_command("backup", str(backup))
    assert backup.read_bytes() == b"older backup"
    assert list(tmp_path.iterdir()) == [backup]


def test_a_backup_into_a_missing_directory_is_refused_clearly(installation, tmp_path):
    with pytest.raises(CommandError, match="backup_directory_missing: Das Verzeichnis"):
        call_command("backup", str(tmp_path / "fehlt" / "b.zip"))
    assert not (tmp_path / "fehlt").exists()
