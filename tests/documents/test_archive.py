"""The archive: each original stored once with its SHA-256, never replaced, checked by
`faktura check`, kept until the end of the retention period."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from faktura.core.errors import ImmutableDocument
from faktura.core.models import AuditEntry
from faktura.documents import archive
from faktura.documents.archive import ArchiveDamaged, archive_once, read_archived
from faktura.documents.models import ArchivedDocument, Letterhead, retention_until
from tests.documents.pipeline_helpers import finalized

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\nfirst render\n%%EOF\n"


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _archived_entries() -> int:
    return AuditEntry.objects.filter(action="document.archived").count()


def test_archive_once_writes_the_file_and_records_its_hash(business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    document = archive_once(invoice=invoice, kind="pdf", content=PDF, validation="ok")
    assert document.filename == "RE-2026-00001.pdf"
    assert document.file.name == "archive/2026/RE-2026-00001.pdf"
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.size == len(PDF)
    assert document.content_type == "application/pdf"
    assert document.retention_until == dt.date(2034, 12, 31)
    assert (archive_dir / "archive/2026/RE-2026-00001.pdf").read_bytes() == PDF
    assert read_archived(document) == PDF
    entry = AuditEntry.objects.get(action="document.archived")
    assert entry.chain.key == f"customer:{business_customer.pk}"
    assert entry.data == {
        "number": "RE-2026-00001",
        "kind": "pdf",
        "file": "archive/2026/RE-2026-00001.pdf",
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF),
    }


def test_a_second_render_never_replaces_the_archived_file(business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    first = archive_once(invoice=invoice, kind="pdf", content=PDF)
    second = archive_once(invoice=invoice, kind="pdf", content=b"%PDF-1.7\nother bytes\n")
    assert second.pk == first.pk
    assert second.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (archive_dir / "archive/2026/RE-2026-00001.pdf").read_bytes() == PDF
    assert sorted(p.name for p in (archive_dir / "archive/2026").iterdir()) == ["RE-2026-00001.pdf"]
    assert ArchivedDocument.objects.count() == 1
    assert _archived_entries() == 1


def test_a_concurrent_second_writer_gets_the_first_writers_row(
    business_customer, actor, archive_dir, monkeypatch
):
    invoice = finalized(business_customer, actor)
    real_store = archive._store
    rows, racing = [], []

    def store_then_lose_the_race(*args, **kwargs):
        stored = real_store(*args, **kwargs)
        if not racing:
            racing.append(True)
            # Another worker renders the same document and commits its row while this
            # one is still between writing its file and inserting its row.
            rows.append(archive_once(invoice=invoice, kind="pdf", content=PDF))
        return stored

    monkeypatch.setattr(archive, "_store", store_then_lose_the_race)
    late = archive_once(invoice=invoice, kind="pdf", content=PDF)
    assert late.pk == rows[0].pk
    assert ArchivedDocument.objects.count() == 1
    assert _archived_entries() == 1
    assert read_archived(late) == PDF
    assert sorted(p.name for p in (archive_dir / "archive/2026").iterdir()) == ["RE-2026-00001.pdf"]


def test_a_losing_writer_with_other_bytes_removes_only_its_own_file(
    business_customer, actor, archive_dir, monkeypatch
):
    invoice = finalized(business_customer, actor)
    real_store = archive._store
    winner_bytes = b"%PDF-1.7\nwinner\n"
    rows, racing = [], []

    def store_then_lose_the_race(*args, **kwargs):
        stored = real_store(*args, **kwargs)
        if not racing:
            racing.append(True)
            rows.append(archive_once(invoice=invoice, kind="pdf", content=winner_bytes))
        return stored

    monkeypatch.setattr(archive, "_store", store_then_lose_the_race)
    late = archive_once(invoice=invoice, kind="pdf", content=PDF)
    assert late.pk == rows[0].pk
    assert read_archived(late) == winner_bytes
    # The winner found the loser's file under the deterministic name and did not touch it;
    # the loser then removed the file no row refers to.
    assert late.file.name.startswith("archive/2026/RE-2026-00001.")
    assert [p.name for p in (archive_dir / "archive/2026").iterdir()] == [Path(late.file.name).name]


def test_a_leftover_file_with_the_same_bytes_is_reused(business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    leftover = archive_dir / "archive/2026/RE-2026-00001.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(PDF)  # a worker crashed between writing the file and its row
    document = archive_once(invoice=invoice, kind="pdf", content=PDF)
    assert document.file.name == "archive/2026/RE-2026-00001.pdf"
    assert len(list(leftover.parent.iterdir())) == 1


def test_a_leftover_file_with_other_bytes_is_never_overwritten(
    business_customer, actor, archive_dir
):
    invoice = finalized(business_customer, actor)
    leftover = archive_dir / "archive/2026/RE-2026-00001.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"someone else's file")
    document = archive_once(invoice=invoice, kind="pdf", content=PDF)
    digest = hashlib.sha256(PDF).hexdigest()
    assert document.file.name == f"archive/2026/RE-2026-00001.{digest[:16]}.pdf"
    assert leftover.read_bytes() == b"someone else's file"
    assert read_archived(document) == PDF


def test_read_archived_refuses_an_altered_or_missing_file(business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    document = archive_once(invoice=invoice, kind="pdf", content=PDF)
    path = archive_dir / document.file.name
    path.write_bytes(PDF.replace(b"first", b"forged"))
    with pytest.raises(ArchiveDamaged) as altered:
        read_archived(document)
    assert altered.value.code == "archived_file_altered"
    assert "RE-2026-00001" in altered.value.message
    path.unlink()
    with pytest.raises(ArchiveDamaged) as missing:
        read_archived(document)
    assert missing.value.code == "archived_file_missing"


def test_faktura_check_names_altered_and_deleted_files(business_customer, actor, archive_dir):
    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor)
    altered = archive_once(invoice=first, kind="pdf", content=PDF)
    deleted = archive_once(invoice=second, kind="pdf", content=PDF)
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())  # intact: passes

    (archive_dir / altered.file.name).write_bytes(b"%PDF-1.7\nchanged afterwards\n")
    (archive_dir / deleted.file.name).unlink()
    stderr = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("check", stdout=io.StringIO(), stderr=stderr)
    report = stderr.getvalue()
    assert (
        "Rechnung RE-2026-00001 (pdf, file archive/2026/RE-2026-00001.pdf): "
        "the archived file was altered" in report
    )
    assert (
        "Rechnung RE-2026-00002 (pdf, file archive/2026/RE-2026-00002.pdf): "
        "the archived file is missing" in report
    )


def test_retention_runs_from_the_end_of_the_year_of_issue(business_customer, actor, settings):
    invoice = finalized(business_customer, actor)
    assert invoice.issue_date == dt.date(2026, 11, 16)
    assert archive_once(invoice=invoice, kind="pdf", content=PDF).retention_until == dt.date(
        2034, 12, 31
    )
    assert retention_until(dt.date(2026, 1, 1)) == dt.date(2034, 12, 31)
    assert retention_until(dt.date(2026, 11, 16), "book") == dt.date(2036, 12, 31)
    settings.FAKTURA_RETENTION_YEARS = {"invoice": 10, "book": 10}
    assert retention_until(dt.date(2026, 11, 16)) == dt.date(2036, 12, 31)


def test_archived_rows_are_never_changed_or_deleted(business_customer, actor):
    invoice = finalized(business_customer, actor)
    document = archive_once(invoice=invoice, kind="pdf", content=PDF)
    document.sha256 = "0" * 64
    with pytest.raises(ImmutableDocument):
        document.save()
    with pytest.raises(ImmutableDocument):
        document.delete()
    with pytest.raises(ImmutableDocument):
        ArchivedDocument.objects.filter(pk=document.pk).update(sha256="0" * 64)
    with pytest.raises(ImmutableDocument):
        ArchivedDocument.objects.filter(pk=document.pk).delete()
    assert ArchivedDocument.objects.get().sha256 == hashlib.sha256(PDF).hexdigest()


def test_only_finalized_documents_are_archived(business_customer, actor):
    from tests.invoicing.helpers import line, order

    draft = order(business_customer, actor, line())
    with pytest.raises(ValueError, match="not finalized"):
        archive_once(invoice=draft, kind="pdf", content=PDF)
    assert ArchivedDocument.objects.count() == 0


def test_letterhead_becomes_the_renderers_letterhead(company):
    from django.core.files.base import ContentFile

    letterhead = Letterhead(accent_colour="#aa3300", show_footer=False)
    letterhead.logo.save("logo.svg", ContentFile(b"<svg xmlns='http://www.w3.org/2000/svg'/>"))
    letterhead.save()
    pdf_letterhead = Letterhead.current().to_pdf_letterhead()
    assert pdf_letterhead.accent_colour == "#aa3300"
    assert pdf_letterhead.footer is False
    assert pdf_letterhead.logo.mime == "image/svg+xml"
    assert pdf_letterhead.logo.data == b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    assert pdf_letterhead.first_page_background is None


def test_admin_downloads_the_verified_archived_bytes(admin_client, business_customer, actor):
    invoice = finalized(business_customer, actor)
    document = archive_once(invoice=invoice, kind="pdf", content=PDF)
    response = admin_client.get(f"/admin/documents/archiveddocument/{document.pk}/download/")
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Disposition"] == 'attachment; filename="RE-2026-00001.pdf"'
    listing = admin_client.get("/admin/documents/archiveddocument/")
    assert b"RE-2026-00001.pdf" in listing.content


def test_process_documents_command_renders_what_a_lost_task_left(business_customer, actor):
    invoice = finalized(business_customer, actor)  # its task never ran
    out = io.StringIO()
    call_command("process-documents", stdout=out)
    assert out.getvalue().strip() == "processed 1 document(s), 0 blocked, 0 failed"
    assert ArchivedDocument.objects.get().invoice_id == invoice.pk
    out = io.StringIO()
    call_command("process-documents", stdout=out)
    assert out.getvalue().strip() == "processed 0 document(s), 0 blocked, 0 failed"


def _check_report() -> str:
    stderr = io.StringIO()
    with pytest.raises(CommandError, match="Integrity check failed"):
        call_command("check", stdout=io.StringIO(), stderr=stderr)
    return stderr.getvalue()


def test_a_pdf_replaced_by_another_invoices_pdf_with_its_row_is_caught(
    business_customer, actor, archive_dir
):
    from django.db import connection

    first = archive_once(invoice=finalized(business_customer, actor), kind="pdf", content=PDF)
    other_pdf = b"%PDF-1.7\nthe second invoice, a little longer\n%%EOF\n"
    archive_once(invoice=finalized(business_customer, actor), kind="pdf", content=other_pdf)
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())  # intact: passes
    entry = AuditEntry.objects.get(action="document.archived", object_id=str(first.invoice_id))

    # Replace the file and update its row's hash and size to match, behind Faktura's back.
    (archive_dir / first.file.name).write_bytes(other_pdf)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE documents_archiveddocument SET sha256 = %s, size = %s WHERE id = %s",
            [hashlib.sha256(other_pdf).hexdigest(), len(other_pdf), first.pk],
        )
    report = _check_report()
    now, then = hashlib.sha256(other_pdf).hexdigest(), hashlib.sha256(PDF).hexdigest()
    assert (
        "Rechnung RE-2026-00001 (pdf, file archive/2026/RE-2026-00001.pdf): differs from its "
        f"archiving record (audit entry #{entry.pk}; SHA-256 {now}, recorded {then}; "
        f"size {len(other_pdf)}, recorded {len(PDF)})" in report
    )
    assert "RE-2026-00002" not in report


def test_a_deleted_archive_row_is_named_by_document_and_kind(business_customer, actor):
    from django.db import connection

    document = archive_once(invoice=finalized(business_customer, actor), kind="pdf", content=PDF)
    entry = AuditEntry.objects.get(action="document.archived")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM documents_archiveddocument WHERE id = %s", [document.pk])
    report = _check_report()
    assert (
        "Rechnung RE-2026-00001 (pdf, file archive/2026/RE-2026-00001.pdf): archived according "
        f"to audit entry #{entry.pk}, but its archive row is missing (deleted)" in report
    )


def test_an_archive_row_without_its_audit_entry_is_reported(business_customer, actor):
    invoice = finalized(business_customer, actor)
    stored = archive.store_file(invoice=invoice, kind="pdf", content=PDF)
    row, _entry = archive.new_row(invoice=invoice, stored=stored)
    row.save()  # the row alone, as if inserted behind the application's back
    report = _check_report()
    assert (
        "Rechnung RE-2026-00001 (pdf, file archive/2026/RE-2026-00001.pdf): no archiving record "
        "in the audit log" in report
    )
