"""Finalized documents whose way to the customer has stalled (DESIGN invariant 9).

A finalized document is rendered, archived and announced by a task after its commit
(``pipeline``), then its first mail is sent by another. When a worker dies the lease
brings its task back (``faktura.workers.lease``); this module finds what still fell
through: documents left unarchived, archived without their first mail, or with that mail
still unsent. The worker's sweep hands the first two to the pipeline again
(``services.requeue_unprocessed``); `faktura check` names all three once they have stayed
so for ``FAKTURA_STUCK_AFTER_MINUTES``. Blocked documents (an invalid e-invoice) and mails
that failed for good are on the staff's to-do list instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from faktura.core import clock
from faktura.documents.models import ArchivedDocument
from faktura.documents.services import BLOCKED
from faktura.invoicing.models import Invoice


def unfinished(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> QuerySet[Any]:
    """Finalized, unblocked documents finalized before ``now - older_than`` that have no
    archived file or no first mail, or whose first mail is queued or being sent; annotated
    with ``is_archived``, ``is_announced`` and ``is_unsent``."""
    from faktura.notifications.models import OutboxMessage

    now = now or clock.now()
    first_mail = OutboxMessage.objects.filter(invoice_id=OuterRef("pk"), is_resend=False)
    return (
        Invoice.objects.finalized()
        .exclude(delivery_status=BLOCKED)
        .filter(finalized_at__lt=now - older_than)
        .annotate(
            is_archived=Exists(ArchivedDocument.objects.filter(invoice_id=OuterRef("pk"))),
            is_announced=Exists(first_mail),
            is_unsent=Exists(first_mail.filter(state__in=["queued", "sending"])),
        )
        .filter(Q(is_archived=False) | Q(is_announced=False) | Q(is_unsent=True))
        .order_by("pk")
    )


def stuck_after() -> dt.timedelta:
    return dt.timedelta(minutes=float(settings.FAKTURA_STUCK_AFTER_MINUTES))


def stuck_document_problems() -> Iterator[str]:
    """Yield one line per finalized document stuck on its way to the customer (for
    `faktura check`), naming it by its number."""
    now = clock.now()
    threshold = stuck_after()
    kinds = dict(Invoice._meta.get_field("kind").flatchoices)
    rows = unfinished(older_than=threshold, now=now).values_list(
        "pk", "kind", "number", "finalized_at", "is_archived", "is_announced"
    )
    for pk, kind, number, finalized_at, is_archived, is_announced in rows.iterator(500):
        minutes = int((now - finalized_at).total_seconds() // 60)
        if not is_archived:
            what = "not archived (rendering never finished)"
        elif not is_announced:
            what = "archived, but no mail queued"
        else:
            what = "archived, mail not sent yet"
        yield (
            f"{kinds.get(kind, kind)} {number} (id {pk}): stuck, {what}, "
            f"{minutes} minutes after finalization (threshold "
            f"{int(threshold.total_seconds() // 60)} minutes)"
        )
