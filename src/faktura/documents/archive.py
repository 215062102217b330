"""Store each document's original once, read it back verified, and check the whole archive.

Invariant (DESIGN 2, GoBD Unveränderbarkeit): an archived file is never replaced. The file
is written first, under a deterministic name, outside any transaction; then the row is
inserted with its SHA-256 under the customer's lock and audited. A second render of the
same document (a repeated task, a concurrent worker) finds the row and returns it, or loses
the insert on the unique constraint and returns the winner's row; an existing file is never
written over.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.files.utils import validate_file_name
from django.db import IntegrityError, transaction

from faktura.core import audit, clock
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.customers.models import Customer
from faktura.documents.models import (
    ArchivedDocument,
    archive_storage,
    retention_until,
    safe_filename,
)
from faktura.invoicing.models import Invoice

logger = logging.getLogger(__name__)

CONTENT_TYPES = {"pdf": "application/pdf", "xml": "application/xml"}
_CHUNK = 1024 * 1024
SYSTEM_ACTOR = Actor.system("documents")


class ArchiveDamaged(DomainError):
    """An archived file is missing or its bytes no longer match the recorded SHA-256."""

    code = "archive_damaged"
    http_status = 500


class DocumentNotArchived(DomainError):
    """The document has no archived file (yet): not rendered, or blocked by validation."""

    code = "document_not_archived"
    http_status = 404


def archive_name(invoice: Invoice, kind: str) -> str:
    """The deterministic storage name: ``archive/2026/RE-2026-00001.pdf``."""
    assert invoice.number is not None
    assert invoice.issue_date is not None
    return f"archive/{invoice.issue_date.year}/{safe_filename(invoice.number, kind)}"


@dataclass(frozen=True)
class StoredFile:
    """A file written to the archive storage, not yet recorded by a row."""

    kind: str
    name: str
    sha256: str
    size: int
    created: bool  # written now (False: an identical file was there already)


def store_file(*, invoice: Invoice, kind: str, content: bytes) -> StoredFile:
    """Write ``content`` under the document's deterministic name; never overwrite a file.

    Step one of archiving, outside any transaction; ``record_locked`` is step two.
    """
    if kind not in CONTENT_TYPES:
        raise ValueError(f"unknown document kind {kind!r}")
    if not invoice.is_finalized or invoice.number is None or invoice.issue_date is None:
        raise ValueError(f"{invoice} is not finalized")
    digest = hashlib.sha256(content).hexdigest()
    name, created = _store(archive_storage(), archive_name(invoice, kind), content, digest)
    return StoredFile(kind=kind, name=name, sha256=digest, size=len(content), created=created)


def record_locked(
    *, invoice: Invoice, stored: StoredFile, validation: str = "", einvoice_sha256: str = ""
) -> tuple[ArchivedDocument, audit.PendingEntry | None]:
    """Insert the row of a stored file unless the document is archived already.

    Runs inside the caller's transaction, which holds the customer's lock (so a second
    writer waits and then finds this row). Returns the row and the audit entry to record,
    or the existing row and None. A writer that raced past the lock fails on the unique
    constraint (IntegrityError): the caller re-reads the winner.
    """
    assert transaction.get_connection().in_atomic_block, "record_locked needs a transaction"
    existing = ArchivedDocument.objects.filter(invoice_id=invoice.pk, kind=stored.kind).first()
    if existing is not None:
        return existing, None
    document, entry = new_row(
        invoice=invoice, stored=stored, validation=validation, einvoice_sha256=einvoice_sha256
    )
    document.save()
    return document, entry


def new_row(
    *, invoice: Invoice, stored: StoredFile, validation: str = "", einvoice_sha256: str = ""
) -> tuple[ArchivedDocument, audit.PendingEntry]:
    """The unsaved row of a stored file and the audit entry that records it.

    For callers that have checked, under the customer's lock, that the document has no
    row of this kind yet: ``record_locked`` for one file, the chunked pipeline for many
    (one ``bulk_create``; the unique constraint still refuses a second row).
    """
    assert invoice.number is not None
    assert invoice.issue_date is not None
    document = ArchivedDocument(
        invoice=invoice,
        kind=stored.kind,
        file=stored.name,
        sha256=stored.sha256,
        size=stored.size,
        content_type=CONTENT_TYPES[stored.kind],
        filename=safe_filename(invoice.number, stored.kind),
        created_at=clock.now(),
        retention_until=retention_until(invoice.issue_date, "invoice"),
        einvoice_sha256=einvoice_sha256,
        validation=validation,
    )
    entry = audit.PendingEntry(
        chain=audit.customer_chain(invoice.customer_id),
        action="document.archived",
        object_type=invoice.kind,
        object_id=invoice.pk,
        data={
            "number": invoice.number,
            "kind": stored.kind,
            "file": stored.name,
            "sha256": stored.sha256,
            "size": stored.size,
        },
    )
    return document, entry


def discard_unused(stored: StoredFile) -> None:
    """Remove a file this writer created when another writer's row won.

    Only files written by this very call and referred to by no row are removed; an
    archived file is never touched.
    """
    if not stored.created:
        return
    winner = ArchivedDocument.objects.filter(file=stored.name).exists()
    if not winner:
        archive_storage().delete(stored.name)


def archive_once(
    *,
    invoice: Invoice,
    kind: str,
    content: bytes,
    validation: str = "",
    einvoice_sha256: str = "",
    actor: Actor = SYSTEM_ACTOR,
) -> ArchivedDocument:
    """Archive ``content`` as the ``kind`` document of a finalized ``invoice``, exactly once.

    Returns the existing row when the document is archived already (the new content is then
    ignored: rendering again is a no-op). Must not run inside a transaction: the file is
    written before the row's short transaction (locks: the customer's account).
    Raises ValueError for an unknown kind or a document that is not finalized.
    """
    existing = ArchivedDocument.objects.filter(invoice_id=invoice.pk, kind=kind).first()
    if existing is not None:
        return existing
    stored = store_file(invoice=invoice, kind=kind, content=content)
    try:
        with transaction.atomic():
            Customer.objects.select_for_update().only("pk").get(pk=invoice.customer_id)
            document, entry = record_locked(
                invoice=invoice,
                stored=stored,
                validation=validation,
                einvoice_sha256=einvoice_sha256,
            )
            if entry is not None:
                audit.record_many(actor=actor, entries=[entry])
    except IntegrityError:
        # Lost the race on the unique constraint (invoice, kind): the winner's row counts.
        winner = ArchivedDocument.objects.filter(invoice_id=invoice.pk, kind=kind).first()
        if winner is None:
            raise
        document = winner
    if document.file.name != stored.name:
        discard_unused(stored)
    return document


def _store(storage: Storage, name: str, content: bytes, digest: str) -> tuple[str, bool]:
    """Write ``content`` under ``name`` unless that file exists; return (name, created).

    An existing file with the same bytes (a crash between file and row, a concurrent
    writer) is reused. One with other bytes is left untouched and the content goes beside
    it under a name carrying its hash.
    """
    written = _create(storage, name, content)
    if written is not None:
        return written, True
    if _file_digest(storage, name) == digest:
        return name, False
    path = PurePosixPath(name)
    alternative = str(path.with_name(f"{path.stem}.{digest[:16]}{path.suffix}"))
    logger.warning("%s exists with other content; archiving as %s", name, alternative)
    written = _create(storage, alternative, content)
    if written is not None:
        return written, True
    if _file_digest(storage, alternative) == digest:
        return alternative, False
    raise ArchiveDamaged(
        f"Cannot archive {name}: {alternative} exists with other content.",
        code="archive_name_taken",
    )


_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _create(storage: Storage, name: str, content: bytes) -> str | None:
    """Create the file ``name`` with ``content``; None when a file of that name exists.

    Returns the name written: a storage's ``save()`` may choose another one when a
    concurrent writer took the name between the check and the write; it never writes over
    a file.
    """
    if storage.__class__ is FileSystemStorage:  # the default (also behind default_storage)
        return _create_local(storage, name, content)
    if storage.exists(name):
        return None
    return storage.save(name, ContentFile(content))


def _create_local(storage: FileSystemStorage, name: str, content: bytes) -> str | None:
    """``_create`` on the local file system, durable before it returns.

    The bytes go to a temporary file in the target directory, are flushed and fsynced, and
    the file is then linked under its name (``os.link`` refuses an existing name, so no
    file is ever written over) and the directory fsynced. The caller inserts the archive
    row only after that: a power loss right after the row's commit cannot leave a
    truncated or missing file behind it, and a crash before leaves at most a temporary
    file, never a partial one under the archived name. The permissions and the group
    follow the storage's rules as in ``save()``; new directories are created with its
    directory permissions and fsynced into their parents.
    """
    validate_file_name(name, allow_relative_path=True)
    path = storage.path(name)
    if os.path.lexists(path):
        return None
    directory = os.path.dirname(path)
    created = _make_directories(storage, directory)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, _EXCLUSIVE, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            if os.name == "posix":
                if storage.file_permissions_mode is not None:
                    os.fchmod(fd, storage.file_permissions_mode)
                location_gid = os.stat(storage.location).st_gid
                if os.fstat(fd).st_gid != location_gid:
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, -1, location_gid)
            os.fsync(fd)
        if os.name != "posix" and storage.file_permissions_mode is not None:
            os.chmod(temporary, storage.file_permissions_mode)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    for changed in [directory, *created]:
        _fsync_directory(changed)
    return name


def _make_directories(storage: FileSystemStorage, directory: str) -> list[str]:
    """Create ``directory`` and its missing parents with the storage's permissions; return
    the parents whose entries changed (to be fsynced), innermost first."""
    missing = []
    current = directory
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if not missing:
        return []
    if storage.directory_permissions_mode is not None:
        # As FileSystemStorage._save: the mode exactly, whatever the umask.
        old_umask = os.umask(0o777 & ~storage.directory_permissions_mode)
        try:
            os.makedirs(directory, storage.directory_permissions_mode, exist_ok=True)
        finally:
            os.umask(old_umask)
    else:
        os.makedirs(directory, exist_ok=True)
    return [os.path.dirname(created) for created in missing]


def _fsync_directory(directory: str) -> None:
    """Make the directory's entries (a new name) durable; POSIX only."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_digest(storage: Storage, name: str) -> str:
    sha = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _describe(document: ArchivedDocument) -> str:
    invoice = document.invoice
    kind = invoice.get_kind_display()
    return f"{kind} {invoice.number} ({document.kind}, file {document.file.name})"


def read_archived(document: ArchivedDocument) -> bytes:
    """Return the archived bytes after checking them against the recorded SHA-256.

    Raises ArchiveDamaged (code ``archived_file_missing`` or ``archived_file_altered``).
    """
    storage = document.file.storage
    name = document.file.name or ""
    if not name or not storage.exists(name):
        raise ArchiveDamaged(
            f"{_describe(document)}: the archived file is missing.",
            code="archived_file_missing",
        )
    with storage.open(name, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise ArchiveDamaged(
            f"{_describe(document)}: the archived file was altered (SHA-256 mismatch).",
            code="archived_file_altered",
        )
    return data


def archived(invoice_id: int, kind: str) -> ArchivedDocument:
    """Return the archived ``kind`` document of an invoice; raise DocumentNotArchived."""
    document = (
        ArchivedDocument.objects.select_related("invoice")
        .filter(invoice_id=invoice_id, kind=kind)
        .first()
    )
    if document is None:
        raise DocumentNotArchived(
            f"Invoice {invoice_id} has no archived {kind.upper()} (not rendered yet, or its "
            "e-invoice was blocked by validation)."
        )
    return document


def einvoice_of(invoice_id: int) -> tuple[bytes, str]:
    """Return the e-invoice XML and a file name: the archived XRechnung, else the Factur-X
    XML embedded in the archived PDF (byte-identical to what was validated and sent).

    Raises DocumentNotArchived, or ArchiveDamaged when the bytes do not match their hashes.
    """
    xml_document = (
        ArchivedDocument.objects.select_related("invoice")
        .filter(invoice_id=invoice_id, kind=ArchivedDocument.Kind.XML)
        .first()
    )
    if xml_document is not None:
        return read_archived(xml_document), xml_document.filename
    pdf_document = archived(invoice_id, ArchivedDocument.Kind.PDF)
    xml = embedded_xml(read_archived(pdf_document))
    if xml is None or hashlib.sha256(xml).hexdigest() != pdf_document.einvoice_sha256:
        raise DocumentNotArchived(
            f"{_describe(pdf_document)} carries no e-invoice XML.", code="document_not_archived"
        )
    return xml, safe_filename(pdf_document.invoice.number or str(invoice_id), "xml")


def embedded_xml(pdf: bytes) -> bytes | None:
    """Return the Factur-X/ZUGFeRD XML attached to ``pdf`` (factur-x.xml, xrechnung.xml)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        for name in ("factur-x.xml", "xrechnung.xml", "zugferd-invoice.xml"):
            attached = document.attachments.get(name)
            if attached is not None:
                return bytes(attached.get_file().read_bytes())
    return None


def archive_problems() -> Iterator[str]:
    """Yield one line per archived file that is missing, changed, or differs from its record.

    Three things must agree: the file's bytes, its row (SHA-256, size) and the
    ``document.archived`` audit entry written with the row. A file replaced together with
    its row's hash and size still differs from the entry; a deleted row leaves its entry
    behind; a row without an entry was never archived by Faktura. One ordered pass over
    the rows and one over the entries, joined by document.
    """
    from faktura.core.integrity import entries_by_object, merge_by_key, object_key
    from faktura.invoicing.models import Kind
    from faktura.reporting.models import PurgedDocument
    from faktura.reporting.retention import purged

    entries = entries_by_object(actions=["document.archived"], object_types=Kind.values)
    documents = (
        ArchivedDocument.objects.select_related("invoice")
        .annotate(purged=purged(PurgedDocument.Kind.INVOICE_ARCHIVE))
        .order_by("invoice_id", "kind")
        .iterator(chunk_size=500)
    )
    for _key, recorded, rows in merge_by_key(
        entries,
        documents,
        left_key=lambda entry: object_key(entry["object_id"]),
        right_key=lambda document: object_key(document.invoice_id),
    ):
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for entry in recorded:
            by_kind.setdefault(str(entry["data"].get("kind")), []).append(entry)
        for document in rows:
            yield from _file_problems(document)
            yield from _record_problems(document, by_kind.pop(document.kind, []))
        for entries_of_kind in by_kind.values():
            yield _row_gone(entries_of_kind[0])


def _file_problems(document: ArchivedDocument) -> Iterator[str]:
    storage = document.file.storage
    name = document.file.name or ""
    try:
        if not name or not storage.exists(name):
            # Deleted after its retention period: the deletion log is the proof.
            if not getattr(document, "purged", False):
                yield f"{_describe(document)}: the archived file is missing"
            return
        actual = _file_digest(storage, name)
    except OSError as error:
        yield f"{_describe(document)}: the archived file cannot be read ({error})"
        return
    if actual != document.sha256:
        yield (
            f"{_describe(document)}: the archived file was altered "
            f"(SHA-256 {actual}, archived {document.sha256})"
        )


def _record_problems(document: ArchivedDocument, recorded: list[dict[str, Any]]) -> Iterator[str]:
    if not recorded:
        yield f"{_describe(document)}: no archiving record in the audit log"
        return
    if len(recorded) > 1:
        numbers = ", ".join(f"#{entry['pk']}" for entry in recorded)
        yield f"{_describe(document)}: archived more than once in the audit log ({numbers})"
    entry = recorded[0]
    data = entry["data"]
    differences = [
        f"{label} {actual}, recorded {data.get(key)}"
        for key, label, actual in (
            ("sha256", "SHA-256", document.sha256),
            ("size", "size", document.size),
            ("file", "file", document.file.name),
            ("number", "number", document.invoice.number),
        )
        if data.get(key) != actual
    ]
    if differences:
        yield (
            f"{_describe(document)}: differs from its archiving record (audit entry "
            f"#{entry['pk']}; {'; '.join(differences)})"
        )


def _row_gone(entry: dict[str, Any]) -> str:
    from faktura.invoicing.models import Kind

    data = entry["data"]
    label = Kind(entry["object_type"]).label if entry["object_type"] in Kind.values else "?"
    return (
        f"{label} {data.get('number')} ({data.get('kind')}, file {data.get('file')}): "
        f"archived according to audit entry #{entry['pk']}, but its archive row is missing "
        "(deleted)"
    )
