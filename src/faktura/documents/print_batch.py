"""The daily print batch: every paper customer's archived documents in one duplex-ready PDF.

Customers with ``delivery_by_post`` get their invoices, credit notes, cancellations and
dunning letters also as letters. Each day ``create_print_batch`` joins the archived PDFs
(already laid out for a DIN 5008 window envelope) that no batch holds yet, each padded with
a blank page to an even page count so that every letter starts on a new sheet when printed
on both sides, behind a cover list (date, count, recipients, document numbers).

Once in a batch, a document is never in another: ``PostalDelivery`` is one row per
document (unique). The batch is made under the lock of its audit chain, so two runs never
interleave; the file is archived (written once, fsynced) before the rows commit, so a crash
leaves either nothing or a stray file that the next run reuses or ignores. A document whose
PDF is not archived yet (rendering after finalization) waits for the next batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pikepdf
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.models import AuditChain, Company
from faktura.documents.archive import ArchiveDamaged, _store, read_archived
from faktura.documents.models import (
    ArchivedDocument,
    PostalDelivery,
    PrintBatch,
    archive_storage,
    safe_filename,
)
from faktura.dunning.models import DunningNotice, NoticeLetter
from faktura.invoicing.models import Invoice

CHAIN = "print-batches"
_COVER = Path(__file__).parent / "pdf" / "templates" / "print_cover.typ"


@dataclass(frozen=True)
class Letter:
    """One document of a batch, in print order."""

    invoice_id: int | None
    notice_id: int | None
    customer_id: int
    number: str
    kind: str
    recipient: str
    address: str
    pdf: bytes


def waiting_invoices(*, on: dt.date | None) -> QuerySet[Invoice]:
    """Invoices, credit notes and cancellations of paper customers issued up to ``on`` (None:
    whenever), archived as PDF, that no batch holds yet: what a batch of ``on`` takes."""
    waiting = Invoice.objects.finalized().filter(
        customer__delivery_by_post=True,
        postal_delivery__isnull=True,
        archived_documents__kind=ArchivedDocument.Kind.PDF,
    )
    return waiting if on is None else waiting.filter(issue_date__lte=on)


def waiting_notices(*, on: dt.date | None) -> QuerySet[DunningNotice]:
    """Sent dunning notices of paper customers up to ``on`` (None: whenever) with their
    letter archived that no batch holds yet."""
    waiting = DunningNotice.objects.filter(
        status=DunningNotice.Status.SENT,
        customer__delivery_by_post=True,
        postal_delivery__isnull=True,
        letter__isnull=False,
    )
    return waiting if on is None else waiting.filter(notice_date__lte=on)


def paper_documents(*, on: dt.date) -> tuple[list[Invoice], list[DunningNotice]]:
    """The archived documents of paper customers up to ``on`` that no batch holds yet."""
    invoices = list(waiting_invoices(on=on).order_by("issue_date", "finalized_at", "pk"))
    notices = list(
        waiting_notices(on=on).select_related("customer", "letter").order_by("notice_date", "pk")
    )
    return invoices, notices


def create_print_batch(*, on: dt.date, actor: Actor) -> PrintBatch | None:
    """Make the print batch of ``on``; None when no paper document waits.

    Idempotent: a second run finds no document (each is in one batch only) and makes
    nothing. Holds the lock of the print batches' audit chain. Raises ArchiveDamaged when
    an archived file is missing or altered (nothing is written then).
    """
    permissions.require(actor, "print_batch.create")
    with transaction.atomic():
        AuditChain.objects.select_for_update().get_or_create(key=CHAIN)
        invoices, notices = paper_documents(on=on)
        if not invoices and not notices:
            return None
        letters = [_invoice_letter(i) for i in invoices] + [_notice_letter(n) for n in notices]
        content, pages = _join(letters, on=on)
        digest = hashlib.sha256(content).hexdigest()
        filename = f"Druckstapel-{on.isoformat()}.pdf"
        name, _created = _store(
            archive_storage(),
            f"archive/{on:%Y}/print/{safe_filename(f'Druckstapel-{on.isoformat()}', 'pdf')}",
            content,
            digest,
        )
        batch = PrintBatch.objects.create(
            batch_date=on,
            document_count=len(letters),
            sheet_count=sum(pages) // 2,
            file=name,
            sha256=digest,
            size=len(content),
            filename=filename,
            created_at=clock.now(),
            created_by=actor.label,
        )
        PostalDelivery.objects.bulk_create(
            PostalDelivery(
                batch=batch,
                position=position,
                customer_id=letter.customer_id,
                invoice_id=letter.invoice_id,
                dunning_notice_id=letter.notice_id,
                document_number=letter.number,
                recipient=letter.recipient[:200],
                pages=count,
            )
            for position, (letter, count) in enumerate(zip(letters, pages[1:], strict=True), 1)
        )
        audit.record(
            chain=CHAIN,
            actor=actor,
            action="print_batch.created",
            object_type="print_batch",
            object_id=batch.pk,
            data={
                "date": on,
                "documents": [letter.number for letter in letters],
                "sheets": batch.sheet_count,
                "file": name,
                "sha256": digest,
            },
        )
    return batch


def read_batch(batch: PrintBatch) -> bytes:
    """The batch's PDF after checking it against its SHA-256 (ArchiveDamaged if not)."""
    storage = archive_storage()
    if not storage.exists(batch.file.name):
        raise ArchiveDamaged(f"{batch}: the file is missing.", code="archived_file_missing")
    with storage.open(batch.file.name, "rb") as handle:
        data: bytes = handle.read()
    if hashlib.sha256(data).hexdigest() != batch.sha256:
        raise ArchiveDamaged(f"{batch}: the file was altered.", code="archived_file_altered")
    return data


def _address(party: dict[str, Any]) -> str:
    street = " ".join(p for p in (party.get("street", ""), party.get("house_number", "")) if p)
    city = " ".join(p for p in (party.get("postcode", ""), party.get("city", "")) if p)
    # DIN 5008: the country line only for letters abroad.
    country = party.get("country", "")
    return ", ".join(p for p in (street, city, "" if country == "DE" else country) if p)


def _invoice_letter(invoice: Invoice) -> Letter:
    document = invoice.archived_documents.get(kind=ArchivedDocument.Kind.PDF)
    buyer = invoice.buyer or {}
    return Letter(
        invoice_id=invoice.pk,
        notice_id=None,
        customer_id=invoice.customer_id,
        number=invoice.number or "",
        kind=str(invoice.get_kind_display()),
        recipient=str(buyer.get("name", "")),
        address=_address(buyer),
        pdf=read_archived(document),
    )


def _notice_letter(notice: DunningNotice) -> Letter:
    letter: NoticeLetter = notice.letter
    with letter.file.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != letter.sha256:
        raise ArchiveDamaged(
            f"Dunning letter {notice.reference}: the archived file was altered.",
            code="archived_file_altered",
        )
    customer = notice.customer
    return Letter(
        invoice_id=None,
        notice_id=notice.pk,
        customer_id=customer.pk,
        number=notice.reference,
        kind=notice.level_name,
        recipient=customer.name,
        address=_address(
            {
                "street": customer.street,
                "house_number": customer.house_number,
                "postcode": customer.postcode,
                "city": customer.city,
                "country": customer.country,
            }
        ),
        pdf=data,
    )


def _join(letters: list[Letter], *, on: dt.date) -> tuple[bytes, list[int]]:
    """The batch PDF and the padded page count of each part (the cover first)."""
    sources = [pikepdf.Pdf.open(io.BytesIO(letter.pdf)) for letter in letters]
    counts = [_padded(len(source.pages)) for source in sources]
    cover = pikepdf.Pdf.open(io.BytesIO(_cover(letters, counts, on=on)))
    joined = pikepdf.Pdf.new()
    pages = []
    for source in [cover, *sources]:
        joined.pages.extend(source.pages)
        if len(source.pages) % 2:
            # Duplex: the next letter starts on the front of a new sheet.
            box = source.pages[-1].mediabox
            joined.add_blank_page(
                page_size=(float(box[2]) - float(box[0]), float(box[3]) - float(box[1]))
            )
        pages.append(_padded(len(source.pages)))
    out = io.BytesIO()
    joined.save(out, deterministic_id=True)
    return out.getvalue(), pages


def _padded(count: int) -> int:
    return count + count % 2


def _cover(letters: list[Letter], counts: list[int], *, on: dt.date) -> bytes:
    from faktura.documents.pdf.render import _compile

    zone = ZoneInfo(Company.time_zone_or_default())
    data = {
        "title": _("Druckstapel vom %(date)s") % {"date": f"{on:%d.%m.%Y}"},
        "summary": _("%(count)s Dokumente, %(sheets)s Blatt doppelseitig, erstellt %(at)s")
        % {
            "count": len(letters),
            "sheets": sum(counts) // 2,
            "at": f"{clock.now().astimezone(zone):%d.%m.%Y %H:%M}",
        },
        "header": [_("Nr."), _("Empfänger"), _("Anschrift"), _("Dokument"), _("Art"), _("Seiten")],
        "rows": [
            [str(n), letter.recipient, letter.address, letter.number, letter.kind, str(count)]
            for n, (letter, count) in enumerate(zip(letters, counts, strict=True), 1)
        ],
    }
    return _compile(
        {"data": json.dumps(data, default=_plain)},
        timestamp=clock.now(),
        template=_COVER,
        accessible=False,
    )


def _plain(value: object) -> str:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    raise TypeError(type(value))
