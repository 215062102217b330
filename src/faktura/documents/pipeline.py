"""What happens to a finalized document after its commit: render, validate, archive, deliver.

``process(invoice_id)`` is the task's one call (``documents.tasks``). It holds no lock while
rendering (DESIGN invariant 2): it reads the frozen figures, builds the e-invoice, validates
it by the official rules, renders the PDF, writes the archive once and then queues the
mail in one short transaction. Every step is idempotent, so a repeated task, a crash
half-way or a second worker end in the state one run gives.

``process_many(invoice_ids)`` does the same for a chunk finalized together (a billing run):
it reads the chunk in a handful of queries, renders and stores every document outside any
transaction, then writes all archive rows, blocked states, outbox messages, audit entries
and one send task in ONE short transaction (customers locked in id order, then the
documents). A document that cannot be rendered is blocked with its error; one that meets a
transient fault or has no recipient does not hold up the others either: the rest is
committed, then its error is raised.

Decisions:

* A document whose e-invoice fails validation archives nothing and is not sent: it is
  marked ``delivery_status = "blocked"`` with the failed rules for staff. The figures are
  frozen, so the remedy is a code fix; running the pipeline again (``faktura
  process-documents --blocked``) then archives and sends it. Nothing wrong is ever archived.
* ZUGFeRD/Factur-X (every buyer without Leitweg-ID): one original, the PDF/A-3a with the
  validated CII embedded as factur-x.xml. The API's ``/xml`` extracts that attachment.
* XRechnung (buyers with a Leitweg-ID, CII or UBL): the XML is the original and what is
  sent (kind "xml"). A PDF without embedded XML is archived beside it for people (portal,
  back office); it carries no second e-invoice, so only one e-invoice is in circulation.
* A document that fails for any other reason of its own (its e-invoice cannot be built, e.g.
  a control character in legacy data; Typst cannot set it; its mail cannot be composed) is
  blocked the same way, with the step and the error as ``delivery_error`` and an audit
  entry, and never stops the others: the single path returns, a chunk commits the rest,
  ``process-documents`` goes on with the next. Retrying it could only fail again until the
  code or the data is fixed; then ``process-documents --blocked`` finishes it.
* Trouble of the infrastructure is not the document's fault and blocks nothing
  (``is_transient``): a database that is unreachable or a lock that timed out
  (OperationalError, InterfaceError), a disk that is full or a file that cannot be read
  (OSError), memory, a renderer that cannot run in this process. The error is raised, so the
  task fails and is retried (a chunk raises ChunkFailed after committing the others), and
  the document stays pending for the next run or the sweeper; blocking it would hide a
  passing fault behind a state that needs staff.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from faktura.core import audit
from faktura.core.actors import Actor
from faktura.core.errors import StateConflict
from faktura.documents.archive import (
    StoredFile,
    discard_unused,
    new_row,
    record_locked,
    store_file,
)
from faktura.documents.einvoice import ValidationReport, build_cii, build_ubl, validate
from faktura.documents.einvoice import validation as einvoice_validation
from faktura.documents.einvoice.validation import Syntax
from faktura.documents.models import ArchivedDocument, Letterhead, safe_filename
from faktura.documents.pdf import render_pdf
from faktura.documents.pdf.letterhead import DEFAULT_ACCENT
from faktura.documents.pdf.render import RendererUnavailable
from faktura.documents.snapshot import DirectDebitSnapshot, DocumentSnapshot
from faktura.invoicing.models import Invoice

logger = logging.getLogger(__name__)

ACTOR = Actor.system("documents")

# Documents per chunk of a billing run (``finalize_invoices`` + ``process_many``): long
# enough that Saxon and Typst each run a long stretch with warm caches and many documents
# share one short transaction (100 renders in about 15 % less CPU per document than 50),
# short enough that a chunk is a couple of seconds of work and holds its locks briefly.
CHUNK_SIZE = 100
# The longest error text kept in ``delivery_error`` of a document blocked by a failure.
MAX_ERROR_CHARS = 2000


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is the infrastructure's (retry later), not the document's (block)."""
    return isinstance(
        error, (OperationalError, InterfaceError, OSError, MemoryError, RendererUnavailable)
    )


def failure_reason(step: str, error: BaseException) -> str:
    """The ``delivery_error`` of a document that failed in ``step``: what staff read."""
    text = f"{step} failed: {type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _block_failed(invoice: Invoice, step: str, error: BaseException) -> None:
    """Block a document whose processing failed in ``step`` (not transient) with its error."""
    from faktura.documents.services import block_delivery

    logger.error("%s: %s failed, blocked", invoice, step, exc_info=error)
    block_delivery(
        invoice_id=invoice.pk, reason=failure_reason(step, error), rule_ids=[], actor=ACTOR
    )


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
    xml, report = build_einvoice(snapshot)
    if not report.ok:
        return Rendered(report, xml)
    return Rendered(report, xml, render_files(snapshot, xml, letterhead=letterhead, kinds=kinds))


def build_einvoice(snapshot: DocumentSnapshot) -> tuple[bytes, ValidationReport]:
    """The document's e-invoice (CII, or UBL for XRechnung UBL) and its validation report."""
    xml = einvoice_xml(snapshot)
    return xml, validate_einvoice(snapshot, xml)


def einvoice_xml(snapshot: DocumentSnapshot) -> bytes:
    return (
        build_ubl(snapshot) if snapshot.einvoice_format == "xrechnung-ubl" else build_cii(snapshot)
    )


def validate_einvoice(snapshot: DocumentSnapshot, xml: bytes) -> ValidationReport:
    syntax: Syntax = "ubl" if snapshot.einvoice_format == "xrechnung-ubl" else "cii"
    return validate(xml, syntax=syntax, xrechnung=snapshot.einvoice_format != "cii")


def render_files(
    snapshot: DocumentSnapshot,
    xml: bytes,
    *,
    letterhead: Any = None,
    kinds: tuple[str, ...] | None = None,
) -> dict[str, bytes]:
    """The files to archive for a validated e-invoice: kind → bytes."""
    if kinds is None:
        kinds = ("pdf",) if snapshot.einvoice_format == "cii" else ("xml", "pdf")
    files: dict[str, bytes] = {}
    if "xml" in kinds:
        files["xml"] = xml
    if "pdf" in kinds:
        embedded = xml if snapshot.einvoice_format == "cii" else None
        files["pdf"] = render_pdf(snapshot, einvoice_xml=embedded, letterhead=letterhead)
    return files


def direct_debit_for(invoice: Invoice) -> DirectDebitSnapshot | None:
    """The pre-notification data of a direct-debit invoice, from its customer's mandate.

    Without a usable mandate ``snapshot_for`` falls back to transfer; PDF, XML and mail all
    use the same snapshot, so they always agree.
    """
    from faktura.collection.selectors import direct_debit_snapshot_for

    return direct_debit_snapshot_for(invoice)


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
    """Compile the Saxon stylesheets and start Typst once per (worker) process.

    Then it moves what is alive by now (modules, stylesheets, templates, caches: objects
    that live as long as the process) out of reach of Python's cyclic garbage collector
    (``gc.freeze``), which would otherwise walk them all again in each full collection:
    about 0.15 ms of CPU per document in a chunked worker. Reference counting still frees
    them; only a garbage cycle among them would stay until the process ends.
    """
    global _warm_pid
    if _warm_pid == os.getpid():
        return
    from faktura.documents.samples import sample_snapshots

    # The worker processes are the parallelism: Typst's own thread pool (rayon) would only
    # compete with the other workers for the same cores. Read when Typst first runs.
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    einvoice_validation.warm_up()
    sample = sample_snapshots()["standard_rate"]
    render_pdf(sample, einvoice_xml=build_cii(sample))
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
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
    letterhead = current_letterhead()
    step = "e-invoice"
    stored: list[StoredFile] = []
    try:
        snapshot = snapshot_of(invoice)
        xml = einvoice_xml(snapshot)
        step = "validation"
        report = validate_einvoice(snapshot, xml)
        if not report.ok:
            from faktura.documents.services import block_delivery

            logger.error("%s: e-invoice invalid, not sent:\n%s", invoice, report.summary())
            block_delivery(
                invoice_id=invoice_id,
                reason=report.summary(),
                rule_ids=sorted(report.rule_ids),
                actor=ACTOR,
            )
            return
        step = "PDF"
        rendered = Rendered(
            report, xml, render_files(snapshot, xml, letterhead=letterhead, kinds=missing)
        )
        step = "archive"
        # The files first, outside any transaction; the XML first: for XRechnung the original.
        for kind in missing:
            stored.append(store_file(invoice=invoice, kind=kind, content=rendered.files[kind]))
        xml_sha = hashlib.sha256(rendered.xml).hexdigest()
        accent = letterhead.accent_colour if letterhead is not None else DEFAULT_ACCENT
        step = "mail"
        # The mail too is composed before the locks are taken (it needs only the snapshot).
        composed = _compose(invoice, snapshot, accent)
    except Exception as error:
        for file in stored:
            discard_unused(file)  # only if we wrote it and no row refers to it
        if is_transient(error):
            raise
        _block_failed(invoice, step, error)
        return
    try:
        documents = _record_and_queue(invoice_id, stored, rendered, xml_sha, composed)
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
    composed: Any,
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
            invoice, actor=ACTOR, resend=False, document=sent, composed=composed
        )
        if queued is not None:
            entries.append(queued)
        if entries:
            audit.record_many(actor=ACTOR, entries=entries)
    return documents


def _compose(
    invoice: Invoice, snapshot: DocumentSnapshot, accent: str, own_texts: Any = None
) -> Any:
    """The first mail of a document (``notifications.mail.ComposedMail``); reads only the
    company's own mail text, unless ``own_texts`` (``mail_texts.saved_all()``) has it."""
    from faktura.customers.portal import document_link
    from faktura.notifications import mail

    assert invoice.number is not None
    filename = safe_filename(invoice.number, kinds_for(invoice)[0])
    return mail.compose(
        snapshot,
        attachments=[filename],
        accent=accent,
        portal_url=document_link(customer_id=invoice.customer_id, invoice_id=invoice.pk),
        own_texts=own_texts,
    )


def _deliver(invoice_id: int) -> None:
    from faktura.notifications.services import queue_document_mail

    queue_document_mail(invoice_id=invoice_id, actor=ACTOR)


# --------------------------------------------------------------------------- chunks


@dataclass
class _Job:
    """One document of a chunk on its way through ``process_many``."""

    invoice: Invoice
    archived: dict[str, ArchivedDocument]  # kind → row, as read before rendering
    snapshot: DocumentSnapshot | None = None
    stored: list[StoredFile] = field(default_factory=list)
    validation: str = ""
    xml_sha: str = ""
    blocked: tuple[str, list[str]] | None = None  # (reason, rule ids)
    mail: Any = None  # notifications.mail.ComposedMail of the first mail, if to be queued

    @property
    def sent_kind(self) -> str:
        return kinds_for(self.invoice)[0]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(kind for kind in kinds_for(self.invoice) if kind not in self.archived)


class ChunkFailed(Exception):
    """Some documents of a chunk met a transient fault or have no recipient; the others were
    archived and queued (or blocked with their error)."""

    def __init__(self, failures: dict[int, BaseException]) -> None:
        self.failures = failures
        lines = [f"{pk}: {type(e).__name__}: {e}" for pk, e in sorted(failures.items())]
        super().__init__(f"{len(failures)} document(s) failed:\n" + "\n".join(lines))


def process_many(invoice_ids: Iterable[int]) -> None:
    """Render and archive a chunk of documents, then queue their mails; safe to run twice.

    The same outcome per document as ``process`` for each id, with a few queries for the
    whole chunk and one short transaction for all its writes. A document that fails is
    blocked with its error. Raises ChunkFailed after committing the others when a document
    met a transient fault (``is_transient``) or could not be queued for want of a recipient.
    """
    from faktura.invoicing.snapshots import prefetch_snapshot_parts
    from faktura.notifications.models import OutboxMessage

    ids = sorted(set(invoice_ids))
    if not ids:
        return
    invoices = {
        invoice.pk: invoice
        for invoice in Invoice.objects.filter(pk__in=ids)  # originals: prefetch_snapshot_parts
    }
    for pk in ids:
        invoice = invoices.get(pk)
        if invoice is None or not invoice.is_finalized:
            logger.warning("document %s is not finalized; nothing to render", pk)
            invoices.pop(pk, None)
    if not invoices:
        return
    archived: dict[int, dict[str, ArchivedDocument]] = {pk: {} for pk in invoices}
    for document in ArchivedDocument.objects.filter(invoice_id__in=invoices):
        archived[document.invoice_id][document.kind] = document
    mailed = set(
        OutboxMessage.objects.filter(invoice_id__in=invoices, is_resend=False).values_list(
            "invoice_id", flat=True
        )
    )
    # Documents archived and announced by an earlier run need nothing more.
    jobs = [
        _Job(invoice=invoices[pk], archived=archived[pk])
        for pk in sorted(invoices)
        if any(kind not in archived[pk] for kind in kinds_for(invoices[pk])) or pk not in mailed
    ]
    if not jobs:
        return
    prefetch_snapshot_parts(job.invoice for job in jobs)
    letterhead = current_letterhead()
    accent = letterhead.accent_colour if letterhead is not None else DEFAULT_ACCENT
    failures: dict[int, BaseException] = {}
    _render_jobs(jobs, letterhead, accent, mailed, failures)
    stored = [file for job in jobs for file in job.stored]  # also of failed ones: discarded
    jobs = [job for job in jobs if job.invoice.pk not in failures]
    try:
        rows, no_recipient = _record_chunk(jobs)
    except IntegrityError:
        # A writer outside the customers' locks archived or queued one of them in the
        # meantime: settle each document on its own; the files are reused, not rendered
        # twice into different bytes.
        logger.warning("chunk %s raced another writer; processing one by one", ids[:3])
        rows, no_recipient = {}, []
        for job in jobs:
            try:
                process(job.invoice.pk)
            except Exception as error:
                failures[job.invoice.pk] = error
    for file in stored:
        if rows.get(file.name) is None:
            discard_unused(file)  # only if we wrote it and no row refers to it
    for pk in no_recipient:
        failures[pk] = _no_recipient(invoices[pk])
    if failures:
        raise ChunkFailed(failures)


def _render_jobs(
    jobs: list[_Job],
    letterhead: Any,
    accent: str,
    mailed: set[int],
    failures: dict[int, BaseException],
) -> None:
    """Render, validate, store the missing files and compose the first mails (no locks).

    Step by step over the chunk: every e-invoice is built, then every one validated, then
    every PDF rendered, then files are stored and mails composed. Saxon and Typst thus each
    run many documents in a row with their caches warm; interleaved per document, both cost
    more. A document that fails drops out: blocked with its error, or for a transient fault
    (``is_transient``) into ``failures``, to be raised after the others are committed.
    """
    warm_up()

    def each(name: str, step: Any, candidates: list[_Job]) -> list[_Job]:
        passed = []
        for job in candidates:
            try:
                step(job)
            except Exception as error:  # one broken document must not hold up the chunk
                if is_transient(error):
                    logger.exception("%s: %s failed (transient)", job.invoice, name)
                    failures[job.invoice.pk] = error
                else:
                    logger.exception("%s: %s failed, blocked", job.invoice, name)
                    job.blocked = (failure_reason(name, error), [])
            else:
                if job.blocked is None:
                    passed.append(job)
        return passed

    xmls: dict[int, tuple[bytes, ValidationReport]] = {}
    built: dict[int, bytes] = {}

    def build(job: _Job) -> None:
        job.snapshot = snapshot_of(job.invoice)
        if job.missing:
            built[job.invoice.pk] = einvoice_xml(job.snapshot)

    def check(job: _Job) -> None:
        if job.missing:
            assert job.snapshot is not None
            xml = built[job.invoice.pk]
            report = validate_einvoice(job.snapshot, xml)
            xmls[job.invoice.pk] = (xml, report)
            if not report.ok:
                logger.error("%s: e-invoice invalid, not sent:\n%s", job.invoice, report.summary())
                job.blocked = (report.summary(), sorted(report.rule_ids))

    files: dict[int, dict[str, bytes]] = {}

    def render(job: _Job) -> None:
        if job.missing and job.blocked is None:
            assert job.snapshot is not None
            xml = xmls[job.invoice.pk][0]
            files[job.invoice.pk] = render_files(
                job.snapshot, xml, letterhead=letterhead, kinds=job.missing
            )

    def store(job: _Job) -> None:
        invoice = job.invoice
        if job.blocked is not None:
            return
        if job.missing:
            xml, report = xmls[invoice.pk]
            rendered = Rendered(report, xml, files[invoice.pk])
            # The files first, outside any transaction; the XML first: for XRechnung the
            # original.
            for kind in job.missing:
                job.stored.append(
                    store_file(invoice=invoice, kind=kind, content=rendered.files[kind])
                )
            job.validation = rendered.validation_note
            job.xml_sha = hashlib.sha256(xml).hexdigest()

    from faktura.notifications.mail_texts import saved_all

    own_texts = saved_all()  # the company's own mail texts, read once for the chunk

    def compose(job: _Job) -> None:
        if job.invoice.pk not in mailed:
            assert job.snapshot is not None
            job.mail = _compose(job.invoice, job.snapshot, accent, own_texts)

    valid = each("validation", check, each("e-invoice", build, jobs))
    each("mail", compose, each("archive", store, each("PDF", render, valid)))


def _record_chunk(jobs: list[_Job]) -> tuple[dict[str, ArchivedDocument], list[int]]:
    """The one short transaction of a chunk: archive rows, blocked states, first mails,
    audit entries and one send task. Returns the rows by file name and the documents left
    unqueued for want of a recipient.

    Locks the customers in id order, then the documents in id order (as every service
    does), and re-reads under the locks what an earlier or concurrent run may have written.
    """
    from faktura.customers.models import Customer
    from faktura.documents.services import BLOCKED, blocked_data
    from faktura.notifications.models import OutboxMessage
    from faktura.notifications.services import has_recipient, new_message, queue_many_locked
    from faktura.notifications.services import queued_entry as mail_entry

    if not jobs:
        return {}, []
    by_id = {job.invoice.pk: job for job in jobs}
    with transaction.atomic():
        customers = {
            customer.pk: customer
            for customer in Customer.objects.select_for_update()
            .filter(pk__in={job.invoice.customer_id for job in jobs})
            .order_by("pk")
        }
        states = {
            pk: (status, error)
            for pk, status, error in Invoice.objects.select_for_update()
            .filter(pk__in=by_id)
            .order_by("pk")
            .values_list("pk", "delivery_status", "delivery_error")
        }
        existing: dict[int, dict[str, ArchivedDocument]] = {pk: {} for pk in by_id}
        for document in ArchivedDocument.objects.filter(invoice_id__in=by_id):
            existing[document.invoice_id][document.kind] = document
        mailed = set(
            OutboxMessage.objects.filter(invoice_id__in=by_id, is_resend=False).values_list(
                "invoice_id", flat=True
            )
        )
        entries: dict[int, list[audit.PendingEntry]] = {pk: [] for pk in by_id}
        new_rows: list[ArchivedDocument] = []
        now = timezone.now()
        for pk, job in by_id.items():
            invoice = job.invoice
            invoice.customer = customers[invoice.customer_id]
            if job.blocked is not None:
                reason, rule_ids = job.blocked
                if states[pk] != (BLOCKED, reason):
                    Invoice.objects.filter(pk=pk).update(
                        delivery_status=BLOCKED, delivery_error=reason, updated_at=now
                    )
                    entries[pk].append(
                        audit.PendingEntry(
                            chain=audit.customer_chain(invoice.customer_id),
                            action="document.blocked",
                            object_type=invoice.kind,
                            object_id=pk,
                            data=blocked_data(invoice.number, reason, rule_ids),
                        )
                    )
                continue
            for file in job.stored:
                if file.kind in existing[pk]:
                    continue  # archived by a concurrent run: its row counts
                embeds = file.kind == "xml" or not is_xrechnung(invoice)
                row, entry = new_row(
                    invoice=invoice,
                    stored=file,
                    validation=job.validation if embeds else "visualisation, no e-invoice",
                    einvoice_sha256=job.xml_sha if embeds else "",
                )
                existing[pk][file.kind] = row
                new_rows.append(row)
                entries[pk].append(entry)
        ArchivedDocument.objects.bulk_create(new_rows)
        queued: list[tuple[Invoice, Any, ArchivedDocument]] = []  # invoice, message, sent
        no_recipient = []
        for pk, job in by_id.items():
            sent = existing[pk].get(job.sent_kind)
            if job.mail is None or sent is None or pk in mailed:
                continue
            if not has_recipient(job.invoice):
                no_recipient.append(pk)  # archived; the mail is refused below
                continue
            assert sent.pk is not None, "bulk_create must return the primary keys"
            message = new_message(
                job.invoice, actor=ACTOR, resend=False, document=sent, composed=job.mail
            )
            queued.append((job.invoice, message, sent))
        queue_many_locked([message for _invoice, message, _sent in queued])
        for invoice, message, sent in queued:
            entries[invoice.pk].append(mail_entry(invoice, message, sent))
        pending = [entry for pk in sorted(entries) for entry in entries[pk]]
        if pending:
            audit.record_many(actor=ACTOR, entries=pending)
    rows = {
        document.file.name: document for kinds in existing.values() for document in kinds.values()
    }
    return rows, no_recipient


def _no_recipient(invoice: Invoice) -> StateConflict:
    """The error ``queue_document_mail`` raises for a document without a recipient."""
    return StateConflict(f"{invoice.customer} has no e-mail address.", code="no_recipient")
