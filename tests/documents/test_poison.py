"""Poison documents: one that cannot be built or rendered is blocked with its error and never
holds up the documents behind it; a transient fault blocks nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.documents import pipeline
from faktura.documents.models import ArchivedDocument
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from tests.documents.pipeline_helpers import finalized
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _legacy_poison(customer: Customer, name: str = "Müller\u000bGmbH") -> None:
    """A name from before the boundary refused control characters (raw update, no checks).

    Set after the draft was made: finalization copies it into the document as it is.
    """
    Customer.objects.filter(pk=customer.pk).update(name=name)


def _finalized_poison(customer: Customer, actor, name: str = "Müller\u000bGmbH") -> Invoice:
    draft = order(customer, actor, line())
    _legacy_poison(customer, name)
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def _chunk_with_poison(customer, consumer, actor, count: int, poison_at: int) -> list[Invoice]:
    drafts = [
        order(consumer if n == poison_at else customer, actor, line("1", f"{10 + n}.00"))
        for n in range(count)
    ]
    _legacy_poison(consumer)
    return invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)


def _fail_pdf_for(number: str, error: Exception, monkeypatch) -> None:
    real = pipeline.render_pdf

    def render(snapshot, **kwargs):
        if snapshot.number == number:
            raise error
        return real(snapshot, **kwargs)

    monkeypatch.setattr(pipeline, "render_pdf", render)


def test_a_poison_document_in_a_chunk_of_20_is_blocked_and_the_19_others_archived_and_queued(
    business_customer, consumer, actor
):
    invoices = _chunk_with_poison(business_customer, consumer, actor, 20, poison_at=7)
    poison = invoices[7]

    pipeline.process_many([i.pk for i in invoices])  # raises nothing

    poison.refresh_from_db()
    assert poison.delivery_status == "blocked"
    assert poison.delivery_error.startswith("e-invoice failed: ValueError: All strings must be XML")
    others = sorted(i.pk for i in invoices if i.pk != poison.pk)
    assert sorted(ArchivedDocument.objects.values_list("invoice_id", flat=True)) == others
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == others
    assert set(Invoice.objects.filter(pk__in=others).values_list("delivery_status", flat=True)) == {
        "queued"
    }
    [entry] = AuditEntry.objects.filter(action="document.blocked")
    assert entry.object_id == str(poison.pk)
    assert entry.data["rules"] == []
    assert entry.data["error"] == poison.delivery_error

    # Running the chunk again blocks nothing twice and writes nothing.
    pipeline.process_many([i.pk for i in invoices])
    assert AuditEntry.objects.filter(action="document.blocked").count() == 1


def test_a_document_typst_cannot_render_is_blocked_in_a_chunk(business_customer, consumer, actor):
    drafts = [order(c, actor, line()) for c in (business_customer, consumer, business_customer)]
    # U+009C passes XML 1.0 but no font draws it: Typst refuses the PDF/A.
    _legacy_poison(consumer, "Max\u009cMustermann")
    invoices = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)

    pipeline.process_many([i.pk for i in invoices])

    invoices[1].refresh_from_db()
    assert invoices[1].delivery_status == "blocked"
    assert invoices[1].delivery_error.startswith(
        "PDF failed: TypstError: PDF/A-3a, PDF/UA-1 error: "
    )
    assert "\\u{9c}" in invoices[1].delivery_error
    others = [invoices[0].pk, invoices[2].pk]
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == others


def test_a_blocked_document_is_finished_once_the_fault_is_fixed(
    business_customer, actor, monkeypatch
):
    drafts = [order(business_customer, actor, line()) for _ in range(3)]
    invoices = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    _fail_pdf_for(invoices[1].number, RuntimeError("Typst fell over"), monkeypatch)

    pipeline.process_many([i.pk for i in invoices])

    invoices[1].refresh_from_db()
    assert (invoices[1].delivery_status, invoices[1].delivery_error) == (
        "blocked",
        "PDF failed: RuntimeError: Typst fell over",
    )
    others = [invoices[0].pk, invoices[2].pk]
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == others

    # The fix is deployed: the blocked document is archived and sent.
    monkeypatch.undo()
    pipeline.process_many([i.pk for i in invoices])
    invoices[1].refresh_from_db()
    assert (invoices[1].delivery_status, invoices[1].delivery_error) == ("queued", "")
    assert OutboxMessage.objects.count() == 3


def test_a_transient_fault_blocks_nothing_and_the_retry_finishes_the_chunk(
    business_customer, actor, monkeypatch
):
    drafts = [order(business_customer, actor, line()) for _ in range(3)]
    invoices = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    _fail_pdf_for(invoices[1].number, OSError(28, "No space left on device"), monkeypatch)

    with pytest.raises(pipeline.ChunkFailed) as failed:
        pipeline.process_many([i.pk for i in invoices])

    assert list(failed.value.failures) == [invoices[1].pk]
    invoices[1].refresh_from_db()
    assert (invoices[1].delivery_status, invoices[1].delivery_error) == ("pending", "")
    assert not AuditEntry.objects.filter(action="document.blocked").exists()
    others = [invoices[0].pk, invoices[2].pk]
    assert sorted(ArchivedDocument.objects.values_list("invoice_id", flat=True)) == others
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == others

    monkeypatch.undo()  # the retry of the task finishes the chunk
    pipeline.process_many([i.pk for i in invoices])
    assert OutboxMessage.objects.count() == 3


def test_a_single_poison_document_is_blocked_with_its_error(consumer, actor):
    invoice = _finalized_poison(consumer, actor)

    pipeline.process(invoice.pk)  # raises nothing

    invoice.refresh_from_db()
    assert invoice.delivery_status == "blocked"
    assert invoice.delivery_error.startswith("e-invoice failed: ValueError:")
    assert not ArchivedDocument.objects.exists()
    assert not OutboxMessage.objects.exists()
    [entry] = AuditEntry.objects.filter(action="document.blocked")
    assert entry.data["error"] == invoice.delivery_error


def test_a_single_transient_fault_is_raised_and_blocks_nothing(
    business_customer, actor, monkeypatch
):
    invoice = finalized(business_customer, actor)
    _fail_pdf_for(invoice.number, OSError(28, "No space left on device"), monkeypatch)

    with pytest.raises(OSError, match="No space left on device"):
        pipeline.process(invoice.pk)

    invoice.refresh_from_db()
    assert (invoice.delivery_status, invoice.delivery_error) == ("pending", "")
    assert not AuditEntry.objects.filter(action="document.blocked").exists()


def test_process_documents_goes_on_past_a_poison_document_and_reports_it(
    business_customer, consumer, actor
):
    first = finalized(business_customer, actor)  # their tasks never ran
    poison = _finalized_poison(consumer, actor)
    last = finalized(business_customer, actor)
    out = io.StringIO()

    call_command("process-documents", stdout=out)

    poison.refresh_from_db()
    assert poison.delivery_status == "blocked"
    assert out.getvalue().splitlines() == [
        f"blocked {poison.number}: {poison.delivery_error}",
        "processed 3 document(s), 1 blocked, 0 failed",
    ]
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == [
        first.pk,
        last.pk,
    ]
    # `faktura check` names it until it is fixed.
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check", stdout=io.StringIO(), stderr=err)
    assert f"invoice {poison.number} (id {poison.pk}): blocked" in err.getvalue()


def test_process_documents_goes_on_past_a_transient_fault_and_exits_non_zero(
    business_customer, actor, monkeypatch
):
    invoices = [finalized(business_customer, actor) for _ in range(3)]
    _fail_pdf_for(invoices[0].number, OSError(28, "No space left on device"), monkeypatch)
    out = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("process-documents", stdout=out)

    assert str(failed.value) == (
        f"1 document(s) failed and stay pending:\n"
        f"{invoices[0].number}: OSError: [Errno 28] No space left on device"
    )
    assert out.getvalue().strip() == "processed 3 document(s), 0 blocked, 1 failed"
    assert sorted(OutboxMessage.objects.values_list("invoice_id", flat=True)) == [
        invoices[1].pk,
        invoices[2].pk,
    ]


def test_a_mail_that_cannot_be_composed_blocks_its_document_and_keeps_no_file(
    business_customer, actor, archive_dir, monkeypatch
):
    drafts = [order(business_customer, actor, line()) for _ in range(2)]
    invoices = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    real = pipeline._compose

    def compose(invoice, snapshot, accent, own_texts=None):
        if invoice.pk == invoices[0].pk:
            raise KeyError("subject_template")
        return real(invoice, snapshot, accent, own_texts)

    monkeypatch.setattr(pipeline, "_compose", compose)
    pipeline.process_many([i.pk for i in invoices])

    invoices[0].refresh_from_db()
    assert (invoices[0].delivery_status, invoices[0].delivery_error) == (
        "blocked",
        "mail failed: KeyError: 'subject_template'",
    )
    assert list(ArchivedDocument.objects.values_list("invoice_id", flat=True)) == [invoices[1].pk]
    assert not (archive_dir / f"archive/2026/{invoices[0].number}.pdf").exists()
    assert (archive_dir / f"archive/2026/{invoices[1].number}.pdf").exists()
