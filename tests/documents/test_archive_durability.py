"""Archived files are durable before their row commits: written to a temporary file,
fsynced, linked into place without replacing anything, and the directory fsynced."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from django.db import connection

from faktura.documents.archive import archive_once
from faktura.documents.models import ArchivedDocument
from tests.documents.pipeline_helpers import finalized

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\nfirst render\n%%EOF\n"


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def events(monkeypatch) -> list[tuple]:
    """Every fsync (by path), link, rename and archive-row insert, in order."""
    happened: list[tuple] = []
    real_fsync, real_link, real_rename = os.fsync, os.link, os.rename

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        content = Path(path).read_bytes() if os.path.isfile(path) else None
        happened.append(("fsync", path, content))
        return real_fsync(fd)

    def link(src, dst, *args, **kwargs):
        happened.append(("link", str(src), str(dst)))
        return real_link(src, dst, *args, **kwargs)

    def rename(src, dst, *args, **kwargs):
        happened.append(("rename", str(src), str(dst)))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "rename", rename)

    def insert(execute, sql, params, many, context):
        if 'INSERT INTO "documents_archiveddocument"' in sql:
            happened.append(("insert",))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(insert):
        yield happened


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_the_file_is_fsynced_linked_and_its_directory_fsynced_before_the_row(
    business_customer, actor, archive_dir, events
):
    invoice = finalized(business_customer, actor)
    (archive_dir / "archive/2026").mkdir(parents=True)

    archive_once(invoice=invoice, kind="pdf", content=PDF)

    final = str(archive_dir / "archive/2026/RE-2026-00001.pdf")
    directory = str(archive_dir / "archive/2026")
    [fsync_file, link, fsync_dir, insert] = events
    assert fsync_file[0] == "fsync"
    temporary = fsync_file[1]
    assert os.path.dirname(temporary) == directory  # same file system: link is atomic
    assert fsync_file[2] == PDF  # every byte written when it is fsynced
    assert link == ("link", temporary, final)
    assert fsync_dir == ("fsync", directory, None)
    assert insert == ("insert",)
    assert os.listdir(directory) == ["RE-2026-00001.pdf"]  # no temporary file left
    assert Path(final).read_bytes() == PDF


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_a_new_directory_is_fsynced_into_its_parent(business_customer, actor, archive_dir, events):
    invoice = finalized(business_customer, actor)

    archive_once(invoice=invoice, kind="pdf", content=PDF)

    synced_dirs = [e[1] for e in events if e[0] == "fsync" and os.path.isdir(e[1])]
    assert synced_dirs == [
        str(archive_dir / "archive/2026"),
        str(archive_dir / "archive"),
        str(archive_dir),
    ]
    assert events[-1] == ("insert",)


def test_a_file_that_appears_meanwhile_is_never_replaced(
    business_customer, actor, archive_dir, monkeypatch
):
    invoice = finalized(business_customer, actor)
    final = archive_dir / "archive/2026/RE-2026-00001.pdf"
    real_link = os.link

    def concurrent_writer_first(src, dst, *args, **kwargs):
        # Another writer links the same name between our check and our link.
        if str(dst) == str(final) and not final.exists():
            final.write_bytes(b"the other writer's bytes")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", concurrent_writer_first)
    document = archive_once(invoice=invoice, kind="pdf", content=PDF)

    # The name was taken with other bytes: those stay, ours go beside them.
    assert final.read_bytes() == b"the other writer's bytes"
    alternative = f"RE-2026-00001.{hashlib.sha256(PDF).hexdigest()[:16]}.pdf"
    assert document.file.name == f"archive/2026/{alternative}"
    assert sorted(p.name for p in final.parent.iterdir()) == [alternative, final.name]


def test_a_failed_write_leaves_no_file_under_the_archived_name(
    business_customer, actor, archive_dir, monkeypatch
):
    invoice = finalized(business_customer, actor)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        archive_once(invoice=invoice, kind="pdf", content=PDF)
    assert list((archive_dir / "archive/2026").iterdir()) == []
    assert not ArchivedDocument.objects.exists()
