"""The chunked document pipeline: a billing-run chunk rendered outside any transaction, then
archived, announced and audited in one short transaction."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faktura.core.audit import verify_chains
from faktura.core.errors import StateConflict
from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.documents import pipeline
from faktura.documents.archive import read_archived, store_file
from faktura.documents.einvoice import build_cii
from faktura.documents.models import ArchivedDocument
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.invoicing.snapshots import snapshot_for
from faktura.notifications.models import OutboxMessage
from tests.documents.pipeline_helpers import finalized, pending_tasks, run_tasks
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db

LEITWEG_ID = "04011000-1234512345-06"


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _chunk(customer, actor, count: int) -> list[Invoice]:
    drafts = [order(customer, actor, line("2", f"{10 + n}.00")) for n in range(count)]
    return invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)


def _state() -> tuple:
    """Everything the pipeline may write, to prove a second run writes nothing."""
    return (
        list(ArchivedDocument.objects.order_by("pk").values_list("pk", "file", "sha256")),
        list(OutboxMessage.objects.order_by("pk").values_list("pk", "state", "subject")),
        list(AuditEntry.objects.order_by("pk").values_list("pk", "entry_hash")),
        [(t.task_path, t.args_kwargs) for t in pending_tasks()],
        list(
            Invoice.objects.order_by("pk").values_list(
                "delivery_status", "delivery_error", "updated_at"
            )
        ),
    )


def _check_passes() -> None:
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())  # raises if not intact
    assert list(verify_chains()) == []


def _check_problems() -> list[str]:
    """The problems `faktura check` reports (it fails on any)."""
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check", stdout=io.StringIO(), stderr=err)
    return [line for line in err.getvalue().splitlines() if line.startswith("INTEGRITY")]


def _break_one(number: str | None, monkeypatch) -> None:
    """Make the CII of document ``number`` break BR-CO-15 (grand total one euro too high)."""
    real = pipeline.build_cii

    def build(snapshot):
        if snapshot.number != number:
            return real(snapshot)
        wrong = snapshot.grand_total + Decimal("1.00")
        return real(replace(snapshot, grand_total=wrong, payable_amount=wrong))

    monkeypatch.setattr(pipeline, "build_cii", build)


def test_a_chunk_of_five_is_archived_and_announced_in_one_task(
    business_customer, actor, archive_dir
):
    invoices = _chunk(business_customer, actor, 5)
    assert [t.args_kwargs["args"] for t in pending_tasks("process_finalized_documents")] == [
        [[invoice.pk for invoice in invoices]]
    ]
    assert run_tasks("process_finalized_documents") == 1

    documents = list(ArchivedDocument.objects.order_by("invoice_id"))
    assert [(d.invoice_id, d.kind) for d in documents] == [(i.pk, "pdf") for i in invoices]
    for invoice, document in zip(invoices, documents, strict=True):
        pdf = (archive_dir / f"archive/2026/{invoice.number}.pdf").read_bytes()
        assert hashlib.sha256(pdf).hexdigest() == document.sha256
        assert read_archived(document) == pdf
        # The same bytes the single-document path renders from the same frozen figures.
        single = pipeline.render_documents(snapshot_for(Invoice.objects.get(pk=invoice.pk)))
        assert single.files["pdf"] == pdf
        assert document.einvoice_sha256 == hashlib.sha256(single.xml).hexdigest()
        assert document.validation == "EN 16931 CII: valid (xml, xsd, en16931)"

    messages = list(OutboxMessage.objects.order_by("invoice_id"))
    assert [m.invoice_id for m in messages] == [i.pk for i in invoices]
    for invoice, message, document in zip(invoices, messages, documents, strict=True):
        assert message.subject == f"Rechnung {invoice.number} von Muster Software GmbH"
        assert message.to == ["buchhaltung@beispiel.de"]
        assert message.attachments == [document.pk]
        assert (message.state, message.is_resend) == ("queued", False)
    # One send task for the chunk, none per message.
    assert pending_tasks("send_outbox_message") == []
    [send] = pending_tasks("send_outbox_messages")
    assert send.args_kwargs["args"] == [[m.pk for m in messages]]
    assert set(Invoice.objects.values_list("delivery_status", flat=True)) == {"queued"}

    # Per document: finalized, archived, mail queued, in this order, in the customer's chain.
    chain = list(
        AuditEntry.objects.filter(chain__key=f"customer:{business_customer.pk}")
        .filter(action__in=["invoice.finalized", "document.archived", "document.mail_queued"])
        .order_by("sequence")
        .values_list("action", "object_id")
    )
    assert chain == [("invoice.finalized", str(i.pk)) for i in invoices] + [
        (action, str(i.pk))
        for i in invoices
        for action in ("document.archived", "document.mail_queued")
    ]
    _check_passes()


def test_running_the_chunk_again_changes_nothing(business_customer, actor, archive_dir):
    invoices = _chunk(business_customer, actor, 5)
    run_tasks("process_finalized_documents")
    files = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in (archive_dir / "archive/2026").iterdir()
    }
    before = _state()

    pipeline.process_many([invoice.pk for invoice in invoices])
    pipeline.process_many([invoice.pk for invoice in reversed(invoices)])
    for invoice in invoices:
        pipeline.process(invoice.pk)

    assert _state() == before
    assert {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in (archive_dir / "archive/2026").iterdir()
    } == files
    _check_passes()


def test_an_invalid_document_blocks_only_itself(business_customer, actor, archive_dir, monkeypatch):
    invoices = _chunk(business_customer, actor, 5)
    bad = invoices[2]
    _break_one(bad.number, monkeypatch)
    run_tasks("process_finalized_documents")

    bad.refresh_from_db()
    assert bad.delivery_status == "blocked"
    assert "BR-CO-15" in bad.delivery_error
    assert bad.content_hash == bad.compute_content_hash()
    assert not (archive_dir / f"archive/2026/{bad.number}.pdf").exists()
    good = [i.pk for i in invoices if i.pk != bad.pk]
    assert sorted(ArchivedDocument.objects.values_list("invoice_id", flat=True)) == good
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == good
    [entry] = AuditEntry.objects.filter(action="document.blocked")
    assert entry.object_id == str(bad.pk)
    assert "BR-CO-15" in entry.data["rules"]
    assert set(Invoice.objects.filter(pk__in=good).values_list("delivery_status", flat=True)) == {
        "queued"
    }
    assert _check_problems() == [
        f"INTEGRITY: invoice {bad.number} (id {bad.pk}): blocked, neither archived nor sent: "
        f"{bad.delivery_error.splitlines()[0]} (fix, then `faktura process-documents --blocked`)"
    ]
    assert list(verify_chains()) == []

    # Again, still broken: blocked for the same reason, nothing new.
    before = _state()
    pipeline.process_many([i.pk for i in invoices])
    assert _state() == before

    # The code fix is deployed: the next run archives and announces it, the rest stays.
    monkeypatch.undo()
    pipeline.process_many([i.pk for i in invoices])
    bad.refresh_from_db()
    assert (bad.delivery_status, bad.delivery_error) == ("queued", "")
    assert ArchivedDocument.objects.filter(invoice=bad).count() == 1
    assert OutboxMessage.objects.count() == 5
    _check_passes()


def test_a_chunk_finishes_what_an_earlier_run_left_half_done(business_customer, actor, archive_dir):
    invoices = _chunk(business_customer, actor, 4)
    ids = [i.pk for i in invoices]
    # 1: archived and announced by the single-document path already.
    pipeline.process(ids[0])
    # 2: archived, but the worker died before the mail was queued.
    first = Invoice.objects.get(pk=ids[1])
    rendered = pipeline.render_documents(snapshot_for(first))
    from faktura.documents.archive import archive_once

    archived = archive_once(invoice=first, kind="pdf", content=rendered.files["pdf"])
    # 3: the file was written, the row never (a crash between the two steps).
    third = Invoice.objects.get(pk=ids[2])
    stored = store_file(
        invoice=third,
        kind="pdf",
        content=pipeline.render_documents(snapshot_for(third)).files["pdf"],
    )

    pipeline.process_many(ids)

    assert ArchivedDocument.objects.filter(invoice_id=ids[1]).get() == archived
    assert ArchivedDocument.objects.get(invoice_id=ids[2]).file.name == stored.name
    assert sorted(ArchivedDocument.objects.values_list("invoice_id", flat=True)) == ids
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == ids
    assert len(list((archive_dir / "archive/2026").iterdir())) == 4
    assert AuditEntry.objects.filter(action="document.archived").count() == 4
    assert AuditEntry.objects.filter(action="document.mail_queued").count() == 4
    _check_passes()


def test_a_mixed_chunk_archives_xrechnung_as_xml_and_pdf(business_customer, company, actor):
    from faktura.customers.services import create_customer

    authority = create_customer(
        actor=actor,
        kind="public_body",
        name="Stadtverwaltung Musterstadt",
        street="Rathausplatz",
        house_number="1",
        postcode="12345",
        city="Musterstadt",
        email="rechnung@musterstadt.de",
        leitweg_id=LEITWEG_ID,
        xrechnung_syntax="ubl",
    )
    drafts = [
        order(authority, actor, line("8", "120.00", unit_code="HUR")),
        order(business_customer, actor, line()),
        order(authority, actor, line("1", "99.00")),
    ]
    invoices = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    run_tasks("process_finalized_documents")

    kinds = sorted(ArchivedDocument.objects.values_list("invoice_id", "kind"))
    assert kinds == sorted(
        [
            (invoices[0].pk, "pdf"),
            (invoices[0].pk, "xml"),
            (invoices[1].pk, "pdf"),
            (invoices[2].pk, "pdf"),
            (invoices[2].pk, "xml"),
        ]
    )
    for invoice in (invoices[0], invoices[2]):
        xml_doc = ArchivedDocument.objects.get(invoice=invoice, kind="xml")
        pdf_doc = ArchivedDocument.objects.get(invoice=invoice, kind="pdf")
        assert xml_doc.validation == "XRechnung UBL: valid (xml, xsd, en16931, xrechnung)"
        assert pdf_doc.validation == "visualisation, no e-invoice"
        message = OutboxMessage.objects.get(invoice=invoice)
        assert message.attachments == [xml_doc.pk]
        assert message.to == ["rechnung@musterstadt.de"]
    _check_passes()


def test_a_customer_without_address_is_archived_and_reported_the_rest_queued(
    business_customer, consumer, actor
):
    Customer.objects.filter(pk=consumer.pk).update(email="")  # bypasses the form's check
    drafts = [order(business_customer, actor, line()), order(consumer, actor, line())]
    invoices = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)

    with pytest.raises(pipeline.ChunkFailed) as failed:
        pipeline.process_many([i.pk for i in invoices])
    [error] = failed.value.failures.values()
    assert isinstance(error, StateConflict)
    assert error.code == "no_recipient"
    assert ArchivedDocument.objects.count() == 2
    assert list(OutboxMessage.objects.values_list("invoice_id", flat=True)) == [invoices[0].pk]
    _check_passes()


def test_the_queries_of_a_chunk_do_not_grow_with_its_size(business_customer, consumer, actor):
    def queries(count: int) -> int:
        invoices = _chunk(business_customer, actor, count // 2) + _chunk(
            consumer, actor, count // 2
        )
        pipeline.warm_up()
        with CaptureQueriesContext(connection) as captured:
            pipeline.process_many([i.pk for i in invoices])
        assert OutboxMessage.objects.filter(invoice__in=invoices).count() == count
        return len(captured)

    small, large = queries(2), queries(8)
    assert large == small
    assert large <= 30


def test_a_single_finalization_still_takes_the_single_path(business_customer, actor):
    invoice = finalized(business_customer, actor)
    assert run_tasks("process_finalized_document") == 1
    [send] = pending_tasks("send_outbox_message")
    assert send.args_kwargs["args"] == [OutboxMessage.objects.get(invoice=invoice).pk]
    assert pending_tasks("send_outbox_messages") == []


def test_the_chunk_snapshot_equals_the_single_one(business_customer, actor):
    draft = order(
        business_customer,
        actor,
        line("3", "10.00", name="B"),
        line("1", "20.00", rate="de-7", name="A"),
        line("2", "5.00", name="C", discount_percent="10"),
    )
    [invoice] = invoicing.finalize_invoices(invoice_ids=[draft.pk], actor=actor)
    from faktura.invoicing.snapshots import prefetch_snapshot_parts

    single = snapshot_for(Invoice.objects.get(pk=invoice.pk))
    loaded = list(Invoice.objects.select_related("original").filter(pk=invoice.pk))
    prefetch_snapshot_parts(loaded)
    with CaptureQueriesContext(connection) as captured:
        chunked = snapshot_for(loaded[0])
    assert len(captured) == 0
    assert chunked == single
    assert build_cii(chunked) == build_cii(single)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs_of_a_chunk_archive_and_announce_each_document_once(
    business_customer, consumer, actor, archive_dir
):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    invoices = _chunk(business_customer, actor, 3) + _chunk(consumer, actor, 3)
    ids = [invoice.pk for invoice in invoices]
    pipeline.warm_up()

    def run(job):
        try:
            job()
        finally:
            connections.close_all()  # this thread's connection

    jobs = [
        lambda: pipeline.process_many(ids),
        lambda: pipeline.process_many(list(reversed(ids))),
        lambda: pipeline.process(ids[2]),
        lambda: pipeline.process_many(ids[3:]),
    ]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()

    assert sorted(ArchivedDocument.objects.values_list("invoice_id", flat=True)) == ids
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == ids
    assert AuditEntry.objects.filter(action="document.archived").count() == 6
    assert AuditEntry.objects.filter(action="document.mail_queued").count() == 6
    assert len(list((archive_dir / "archive/2026").iterdir())) == 6
    _check_passes()
