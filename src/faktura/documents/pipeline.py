"""What happens to a finalized document after its commit: render, validate, archive, deliver.

``process(invoice_id)`` is the task's one call (``documents.tasks``). It holds no lock while
rendering (DESIGN invariant 2): it reads the frozen figures, builds the e-invoice, validates
it by the official rules, renders the PDF, writes the archive once and then queues the
mail in one short transaction. Every step is idempotent, so a repeated task, a crash
half-way or a second worker end in the state one run gives.

Decisions:

* A document whose e-invoice fails validation archives nothing and is not sent: it is
  marked ``delivery_status = "blocked"`` with the failed rules for staff. The figures are
  frozen, so the remedy is a code fix; running the pipeline again (``faktura
  process-documents --blocked``) then archives and sends it. Nothing wrong is ever archived.
* ZUGFeRD/Factur-X (every buyer without Leitweg-ID): one original, the PDF/A-3b with the
  validated CII embedded as factur-x.xml. The API's ``/xml`` extracts that attachment.
* XRechnung (buyers with a Leitweg-ID, CII or UBL): the XML is the original and what is
  sent (kind "xml"). A PDF without embedded XML is archived beside it for people (portal,
  back office); it carries no second e-invoice, so only one e-invoice is in circulation.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from faktura.core import audit
from faktura.core.actors import Actor
from faktura.documents.archive import StoredFile, discard_unused, record_locked, store_file
from faktura.documents.einvoice import ValidationReport, build_cii, build_ubl, validate
from faktura.documents.einvoice import validation as einvoice_validation
from faktura.documents.models import ArchivedDocument, Letterhead
from faktura.documents.pdf import render_pdf
from faktura.documents.pdf.letterhead import DEFAULT_ACCENT
from faktura.documents.snapshot import DirectDebitSnapshot, DocumentSnapshot
from faktura.invoicing.models import Invoice

logger = logging.getLogger(__name__)

ACTOR = Actor.system("documents")


@dataclass(frozen=True)
class Rendered:
    """The outcome of rendering one snapshot: the report, the XML and the files to archive."""

    report: ValidationReport
    xml: bytes
    files: dict[str, bytes] = field(default_factory=dict)  # kind → bytes; empty if invalid

    @property
    def validation_note(self) -> str:
        r = self.report
        what = f"{'XRechnung' if r.xrechnung else 'EN 16931'} {(r.syntax or '').upper()}"
        note = f"{what}: valid ({', '.join(r.steps)})"
        if r.warnings:
            note += "; warnings: " + ", ".join(sorted(r.warning_ids))
        return note


def is_xrechnung(invoice: Invoice) -> bool:
    """XRechnung goes to buyers with a Leitweg-ID (same rule as ``snapshot_for``)."""
    return bool(invoice.buyer.get("leitweg_id"))


def kinds_for(invoice: Invoice) -> tuple[str, ...]:
    """The archived originals of a document: XML and a PDF for XRechnung, else the PDF."""
    return ("xml", "pdf") if is_xrechnung(invoice) else ("pdf",)


def render_documents(
    snapshot: DocumentSnapshot, *, letterhead: Any = None, kinds: tuple[str, ...] | None = None
) -> Rendered:
    """Build, validate and render; no database access. Returns no files when invalid."""
    ubl = snapshot.einvoice_format == "xrechnung-ubl"
    xml = build_ubl(snapshot) if ubl else build_cii(snapshot)
    report = validate(
        xml, syntax="ubl" if ubl else "cii", xrechnung=snapshot.einvoice_format != "cii"
    )
    if not report.ok:
        return Rendered(report, xml)
    if kinds is None:
        kinds = ("pdf",) if snapshot.einvoice_format == "cii" else ("xml", "pdf")
    files: dict[str, bytes] = {}
    if "xml" in kinds:
        files["xml"] = xml
    if "pdf" in kinds:
        embedded = xml if snapshot.einvoice_format == "cii" else None
        files["pdf"] = render_pdf(snapshot, einvoice_xml=embedded, letterhead=letterhead)
    return Rendered(report, xml, files)


def direct_debit_for(invoice: Invoice) -> DirectDebitSnapshot | None:
    """The pre-notification data of a direct-debit invoice (mandates arrive with banking).

    Without a usable mandate ``snapshot_for`` falls back to transfer; PDF, XML and mail all
    use the same snapshot, so they always agree.
    """
    return None


def snapshot_of(invoice: Invoice) -> DocumentSnapshot:
    from faktura.invoicing.snapshots import snapshot_for

    return snapshot_for(invoice, direct_debit=direct_debit_for(invoice))


_letterhead_cache: tuple[object, Any] | None = None


def current_letterhead() -> Any:
    """The PDF letterhead from master data, read once per process and change (``updated_at``)."""
    global _letterhead_cache
    row = Letterhead.objects.order_by("pk").values_list("pk", "updated_at").first()
    if _letterhead_cache is not None and _letterhead_cache[0] == row:
        return _letterhead_cache[1]
    letterhead = None
    if row is not None:
        letterhead = Letterhead.objects.get(pk=row[0]).to_pdf_letterhead()
    _letterhead_cache = (row, letterhead)
    return letterhead


_warm_pid: int | None = None


def warm_up() -> None:
    """Compile the Saxon stylesheets and start Typst once per (worker) process."""
    global _warm_pid
    if _warm_pid == os.getpid():
        return
    from faktura.documents.samples import sample_snapshots

    einvoice_validation.warm_up()
    sample = sample_snapshots()["standard_rate"]
    render_pdf(sample, einvoice_xml=build_cii(sample))
    _warm_pid = os.getpid()


def process(invoice_id: int) -> None:
    """Render and archive the document, then hand it to delivery; safe to run twice."""
    invoice = Invoice.objects.select_related("original").filter(pk=invoice_id).first()
    if invoice is None or not invoice.is_finalized:
        logger.warning("document %s is not finalized; nothing to render", invoice_id)
        return
    archived = set(
        ArchivedDocument.objects.filter(invoice_id=invoice_id).values_list("kind", flat=True)
    )
    missing = tuple(kind for kind in kinds_for(invoice) if kind not in archived)
    if not missing:
        _deliver(invoice_id)  # archived by an earlier run: only make sure the mail is queued
        return
    warm_up()
    snapshot = snapshot_of(invoice)
    letterhead = current_letterhead()
    rendered = render_documents(snapshot, letterhead=letterhead, kinds=missing)
    if not rendered.report.ok:
        from faktura.documents.services import block_delivery

        logger.error("%s: e-invoice invalid, not sent:\n%s", invoice, rendered.report.summary())
        block_delivery(
            invoice_id=invoice_id,
            reason=rendered.report.summary(),
            rule_ids=sorted(rendered.report.rule_ids),
            actor=ACTOR,
        )
        return
    # The files first, outside any transaction; the XML first: for XRechnung the original.
    stored = [
        store_file(invoice=invoice, kind=kind, content=rendered.files[kind]) for kind in missing
    ]
    xml_sha = hashlib.sha256(rendered.xml).hexdigest()
    accent = letterhead.accent_colour if letterhead is not None else DEFAULT_ACCENT
    try:
        documents = _record_and_queue(invoice_id, stored, rendered, xml_sha, snapshot, accent)
    except IntegrityError:
        # Another worker archived the document between our check and our insert: its
        # rows count. Deliver what it archived.
        documents = {}
        _deliver(invoice_id)
    for file in stored:
        document = documents.get(file.kind)
        if document is None or document.file.name != file.name:
            discard_unused(file)  # only if we wrote it and no row refers to it


def _record_and_queue(
    invoice_id: int,
    stored: list[StoredFile],
    rendered: Rendered,
    xml_sha: str,
    snapshot: DocumentSnapshot,
    accent: str,
) -> dict[str, ArchivedDocument]:
    """One short transaction: the archive rows, the mail, the audit entries, the send task.

    Locks the customer's account, then the document. Archived therefore always means
    queued for delivery.
    """
    from faktura.notifications.services import lock_document, queue_locked

    with transaction.atomic():
        invoice = lock_document(invoice_id)
        entries = []
        documents = {}
        for file in stored:
            embeds = file.kind == "xml" or not is_xrechnung(invoice)
            document, entry = record_locked(
                invoice=invoice,
                stored=file,
                validation=rendered.validation_note if embeds else "visualisation, no e-invoice",
                einvoice_sha256=xml_sha if embeds else "",
            )
            documents[file.kind] = document
            if entry is not None:
                entries.append(entry)
        sent = documents.get(kinds_for(invoice)[0]) or ArchivedDocument.objects.get(
            invoice=invoice, kind=kinds_for(invoice)[0]
        )
        _message, queued = queue_locked(
            invoice, actor=ACTOR, resend=False, document=sent, snapshot=snapshot, accent=accent
        )
        if queued is not None:
            entries.append(queued)
        if entries:
            audit.record_many(actor=ACTOR, entries=entries)
    return documents


def _deliver(invoice_id: int) -> None:
    from faktura.notifications.services import queue_document_mail

    queue_document_mail(invoice_id=invoice_id, actor=ACTOR)
