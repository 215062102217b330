"""The document pipeline after finalization: validate, render, archive once, queue the mail."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from pypdf import PdfReader

from faktura.core.models import AuditEntry
from faktura.documents import pipeline
from faktura.documents.archive import embedded_xml, read_archived
from faktura.documents.einvoice import build_cii, build_ubl, validate
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


@pytest.fixture
def authority(company, actor):
    from faktura.customers.services import create_customer

    def make(syntax: str):
        return create_customer(
            actor=actor,
            kind="public_body",
            name="Stadtverwaltung Musterstadt",
            street="Rathausplatz",
            house_number="1",
            postcode="12345",
            city="Musterstadt",
            email="rechnung@musterstadt.de",
            leitweg_id=LEITWEG_ID,
            xrechnung_syntax=syntax,
        )

    return make


def _state() -> tuple:
    """Everything the pipeline may write, to prove a second run writes nothing."""
    return (
        list(ArchivedDocument.objects.order_by("pk").values_list("pk", "file", "sha256")),
        list(OutboxMessage.objects.order_by("pk").values_list("pk", "state", "subject")),
        AuditEntry.objects.count(),
        len(pending_tasks()),
        list(Invoice.objects.order_by("pk").values_list("delivery_status", "delivery_error")),
    )


def test_finalized_invoice_is_archived_as_pdf_a_with_the_validated_xml(
    business_customer, actor, archive_dir
):
    invoice = finalized(business_customer, actor, line("2", "100.00"))
    assert run_tasks("process_finalized_document") == 1

    document = ArchivedDocument.objects.get()
    assert (document.invoice_id, document.kind, document.filename) == (
        invoice.pk,
        "pdf",
        "RE-2026-00001.pdf",
    )
    pdf = (archive_dir / "archive/2026/RE-2026-00001.pdf").read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == document.sha256
    assert document.size == len(pdf)
    expected_xml = build_cii(snapshot_for(invoice))
    with pikepdf.open(io.BytesIO(pdf)) as archived_pdf:
        assert list(archived_pdf.attachments) == ["factur-x.xml"]
        xml = archived_pdf.attachments["factur-x.xml"].get_file().read_bytes()
        with archived_pdf.open_metadata() as meta:
            assert meta.pdfa_status == "3A"
    assert xml == expected_xml
    assert document.einvoice_sha256 == hashlib.sha256(xml).hexdigest()
    assert validate(xml).ok
    assert document.validation == "EN 16931 CII: valid (xml, xsd, en16931)"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "RE-2026-00001" in text
    # The frozen document itself is untouched; only its delivery state moved on.
    invoice.refresh_from_db()
    assert invoice.content_hash == invoice.compute_content_hash()
    assert invoice.delivery_status == "queued"


def test_the_mail_is_queued_with_the_archived_pdf_in_the_same_step(business_customer, actor):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    message = OutboxMessage.objects.get()
    document = ArchivedDocument.objects.get()
    assert message.invoice_id == invoice.pk
    assert message.event == "invoice_issued"
    assert message.to == ["buchhaltung@beispiel.de"]
    assert message.subject == "Rechnung RE-2026-00001 von Muster Software GmbH"
    assert message.language == "de"
    assert message.attachments == [document.pk]
    assert message.state == "queued"
    assert message.is_resend is False
    [task] = pending_tasks("send_outbox_message")
    assert task.args_kwargs["args"] == [message.pk]
    entry = AuditEntry.objects.get(action="document.mail_queued")
    assert entry.chain.key == f"customer:{business_customer.pk}"
    assert entry.data["attachments"] == ["RE-2026-00001.pdf"]


@pytest.mark.parametrize(("syntax", "root"), [("cii", "CrossIndustryInvoice"), ("ubl", "Invoice")])
def test_xrechnung_customer_gets_the_xml_as_original_and_a_pdf_to_read(
    authority, actor, syntax, root
):
    invoice = finalized(authority(syntax), actor, line("8", "120.00", unit_code="HUR"))
    run_tasks("process_finalized_document")

    xml_doc = ArchivedDocument.objects.get(kind="xml")
    pdf_doc = ArchivedDocument.objects.get(kind="pdf")
    xml = read_archived(xml_doc)
    snapshot = snapshot_for(invoice)
    assert xml == (build_ubl(snapshot) if syntax == "ubl" else build_cii(snapshot))
    assert etree.QName(etree.fromstring(xml)).localname == root
    report = validate(xml)
    assert report.ok, report.summary()
    assert report.xrechnung
    assert xml_doc.filename == "RE-2026-00001.xml"
    assert xml_doc.content_type == "application/xml"
    assert xml_doc.einvoice_sha256 == xml_doc.sha256
    assert xml_doc.validation == f"XRechnung {syntax.upper()}: valid (xml, xsd, en16931, xrechnung)"
    # The PDF is for people only: it carries no second e-invoice.
    assert embedded_xml(read_archived(pdf_doc)) is None
    assert pdf_doc.einvoice_sha256 == ""
    message = OutboxMessage.objects.get()
    assert message.attachments == [xml_doc.pk]
    assert message.to == ["rechnung@musterstadt.de"]
    assert "XRechnung im Anhang (RE-2026-00001.xml)" in message.body_text


def test_an_invalid_einvoice_is_blocked_with_its_rule_and_nothing_is_archived_or_sent(
    business_customer, actor, archive_dir, monkeypatch
):
    def broken_total(snapshot):
        # BR-CO-15: grand total = total without VAT + VAT; one euro too much breaks it.
        return build_cii(
            replace(
                snapshot,
                grand_total=snapshot.grand_total + Decimal("1.00"),
                payable_amount=snapshot.payable_amount + Decimal("1.00"),
            )
        )

    monkeypatch.setattr(pipeline, "build_cii", broken_total)
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")

    invoice.refresh_from_db()
    assert invoice.delivery_status == "blocked"
    assert "BR-CO-15" in invoice.delivery_error
    assert invoice.content_hash == invoice.compute_content_hash()
    assert ArchivedDocument.objects.count() == 0
    assert not (archive_dir / "archive").exists()
    assert OutboxMessage.objects.count() == 0
    assert pending_tasks("send_outbox_message") == []
    entry = AuditEntry.objects.get(action="document.blocked")
    assert "BR-CO-15" in entry.data["rules"]

    # Blocking again for the same reason records nothing new.
    before = _state()
    pipeline.process(invoice.pk)
    assert _state() == before


def test_a_blocked_document_is_archived_and_sent_once_the_fault_is_fixed(
    business_customer, actor, monkeypatch
):
    real = pipeline.build_cii
    monkeypatch.setattr(
        pipeline, "build_cii", lambda s: real(replace(s, grand_total=s.grand_total + 1))
    )
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "blocked"

    monkeypatch.setattr(pipeline, "build_cii", real)  # the code fix is deployed
    pipeline.process(invoice.pk)
    invoice.refresh_from_db()
    assert (invoice.delivery_status, invoice.delivery_error) == ("queued", "")
    assert ArchivedDocument.objects.filter(invoice=invoice, kind="pdf").count() == 1
    assert OutboxMessage.objects.filter(invoice=invoice).count() == 1


def test_running_the_pipeline_twice_changes_nothing(business_customer, actor, archive_dir):
    invoice = finalized(business_customer, actor)
    run_tasks("process_finalized_document")
    path = archive_dir / "archive/2026/RE-2026-00001.pdf"
    pdf, mtime = path.read_bytes(), path.stat().st_mtime_ns
    before = _state()

    pipeline.process(invoice.pk)
    pipeline.process(invoice.pk)

    assert _state() == before
    assert path.read_bytes() == pdf
    assert path.stat().st_mtime_ns == mtime


def test_credit_note_and_cancellation_are_archived_and_announced(business_customer, actor):
    invoice = finalized(business_customer, actor, line("2", "50.00"))
    credit = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "1")])
    credit = invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    second = finalized(business_customer, actor)
    cancellation = invoicing.cancel_invoice(invoice_id=second.pk, actor=actor)
    run_tasks("process_finalized_document")

    subjects = dict(OutboxMessage.objects.values_list("invoice__number", "subject"))
    assert subjects == {
        "RE-2026-00001": "Rechnung RE-2026-00001 von Muster Software GmbH",
        "GS-2026-00001": "Rechnungskorrektur GS-2026-00001 von Muster Software GmbH",
        "RE-2026-00002": "Rechnung RE-2026-00002 von Muster Software GmbH",
        "GS-2026-00002": "Stornorechnung GS-2026-00002 von Muster Software GmbH",
    }
    events = dict(OutboxMessage.objects.values_list("invoice_id", "event"))
    assert events[credit.pk] == "credit_note_issued"
    assert events[cancellation.pk] == "cancellation_issued"
    for document in ArchivedDocument.objects.filter(invoice__in=[credit, cancellation]):
        xml = embedded_xml(read_archived(document))
        assert validate(xml).ok


def test_a_billing_run_chunk_is_processed_by_one_task(business_customer, actor):
    drafts = [order(business_customer, actor, line(price=f"{10 + i}.00")) for i in range(3)]
    invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    assert run_tasks("process_finalized_documents") == 1
    assert sorted(ArchivedDocument.objects.values_list("filename", flat=True)) == [
        "RE-2026-00001.pdf",
        "RE-2026-00002.pdf",
        "RE-2026-00003.pdf",
    ]
    assert OutboxMessage.objects.count() == 3


def test_a_draft_is_never_rendered(business_customer, actor):
    draft = order(business_customer, actor, line())
    pipeline.process(draft.pk)
    pipeline.process(999_999)
    assert ArchivedDocument.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
