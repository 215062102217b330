"""Which archived files have outlived their retention period, and which are held.

Read-only; ``faktura.reporting.services.purge_expired`` acts on it. Archived invoices
(``documents.ArchivedDocument``) and dunning letters (``dunning.NoticeLetter``) carry a
``retention_until``; a file may go the day after, unless the customer is under a legal hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from faktura.documents.models import ArchivedDocument
from faktura.dunning.models import NoticeLetter
from faktura.reporting.models import LegalHold, PurgedDocument

CHUNK = 500


@dataclass(frozen=True)
class Expired:
    kind: str  # PurgedDocument.Kind
    object_id: int
    customer_id: int
    document: str  # what a person recognises: the file name (number and kind)
    file_name: str  # the name in the archive storage
    sha256: str
    size: int
    retention_until: dt.date
    held: bool


def active_hold(customer_ref: Any) -> Exists:
    return Exists(LegalHold.objects.filter(customer_id=customer_ref, cleared_at__isnull=True))


def purged(kind: str) -> Exists:
    """Whether the deletion log has the archive row of the outer query (by id and hash)."""
    return Exists(
        PurgedDocument.objects.filter(
            kind=kind, object_id=OuterRef("pk"), sha256=OuterRef("sha256")
        )
    )


def _invoice_archives(on: dt.date) -> QuerySet[ArchivedDocument]:
    return (
        ArchivedDocument.objects.filter(retention_until__lt=on)
        .annotate(
            logged=purged(PurgedDocument.Kind.INVOICE_ARCHIVE),
            held=active_hold(OuterRef("invoice__customer_id")),
        )
        .filter(logged=False)
    )


def _dunning_letters(on: dt.date) -> QuerySet[NoticeLetter]:
    return (
        NoticeLetter.objects.filter(retention_until__lt=on)
        .annotate(
            logged=purged(PurgedDocument.Kind.DUNNING_LETTER),
            held=active_hold(OuterRef("notice__customer_id")),
        )
        .filter(logged=False)
    )


def expired(on: dt.date) -> Iterator[Expired]:
    """Every archived file whose retention ended before ``on`` and that is not purged yet."""
    sources: list[tuple[str, QuerySet[Any], str]] = [
        (PurgedDocument.Kind.INVOICE_ARCHIVE, _invoice_archives(on), "invoice__customer_id"),
        (PurgedDocument.Kind.DUNNING_LETTER, _dunning_letters(on), "notice__customer_id"),
    ]
    for kind, queryset, customer in sources:
        rows = (
            queryset.order_by("pk")
            .values_list(
                "pk", customer, "filename", "file", "sha256", "size", "retention_until", "held"
            )
            .iterator(chunk_size=CHUNK)
        )
        for pk, customer_id, filename, file_name, sha256, size, until, held in rows:
            yield Expired(
                kind=kind,
                object_id=pk,
                customer_id=customer_id,
                document=filename,
                file_name=file_name,
                sha256=sha256,
                size=size,
                retention_until=until,
                held=held,
            )


def has_active_hold(customer_id: int) -> bool:
    return LegalHold.objects.filter(customer_id=customer_id, cleared_at__isnull=True).exists()
