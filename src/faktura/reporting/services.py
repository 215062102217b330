"""Retention: legal holds (Aufbewahrungssperre) and purging files past their retention.

GoBD / § 147 AO: archived originals are kept until ``retention_until`` and never changed;
after it they may be deleted, except while a legal hold protects the customer's documents.
Deleting is the only change an archived file ever sees, so it is logged (``PurgedDocument``)
and audited, and `faktura check` accepts a missing file only with that proof.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.customers.models import Customer
from faktura.documents.models import archive_storage
from faktura.reporting import retention
from faktura.reporting.models import LegalHold, PurgedDocument


def _reason(text: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidInput(_("Bitte einen Grund angeben."), code="reason_required", field="reason")
    if len(reason) > 500:
        raise InvalidInput(
            _("Der Grund ist zu lang (höchstens 500 Zeichen)."),
            code="reason_too_long",
            field="reason",
        )
    return reason


def _locked_customer(customer_id: int) -> Customer:
    try:
        return Customer.objects.select_for_update().get(pk=customer_id)
    except Customer.DoesNotExist:
        raise NotFound(
            _("Kunde %(id)s existiert nicht.") % {"id": customer_id}, code="customer_not_found"
        ) from None


def set_legal_hold(*, customer_id: int, reason: str, actor: Actor) -> LegalHold:
    """Protect every archived document of the customer from purging until cleared.

    Locks the customer. Raises PermissionRefused, InvalidInput reason_required, NotFound
    customer_not_found, StateConflict legal_hold_active (one active hold per customer).
    """
    permissions.require(actor, "retention.legal_hold")
    reason = _reason(reason)
    with transaction.atomic():
        customer = _locked_customer(customer_id)
        if retention.has_active_hold(customer.pk):
            raise StateConflict(
                _("Für Kunde %(number)s besteht bereits eine Aufbewahrungssperre.")
                % {"number": customer.number},
                code="legal_hold_active",
            )
        hold = LegalHold.objects.create(
            customer=customer, reason=reason, set_at=clock.now(), set_by=actor.label
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="legal_hold.set",
            object_type="legal_hold",
            object_id=hold.pk,
            data={"customer": customer.number, "reason": reason},
        )
    return hold


def clear_legal_hold(*, customer_id: int, reason: str, actor: Actor) -> LegalHold:
    """End the customer's active legal hold; it stays as history.

    Locks the customer. Raises PermissionRefused, InvalidInput reason_required, NotFound
    customer_not_found, StateConflict no_legal_hold.
    """
    permissions.require(actor, "retention.legal_hold")
    reason = _reason(reason)
    with transaction.atomic():
        customer = _locked_customer(customer_id)
        hold = LegalHold.objects.filter(customer=customer, cleared_at__isnull=True).first()
        if hold is None:
            raise StateConflict(
                _("Für Kunde %(number)s besteht keine Aufbewahrungssperre.")
                % {"number": customer.number},
                code="no_legal_hold",
            )
        hold.cleared_at = clock.now()
        hold.cleared_by = actor.label
        hold.clear_reason = reason
        hold.save(update_fields=["cleared_at", "cleared_by", "clear_reason"])
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="legal_hold.cleared",
            object_type="legal_hold",
            object_id=hold.pk,
            data={"customer": customer.number, "reason": reason},
        )
    return hold


@dataclass
class PurgeResult:
    purged: list[retention.Expired] = field(default_factory=list)
    held: list[retention.Expired] = field(default_factory=list)
    finished: int = 0  # files of an earlier, interrupted purge deleted now


def purge_expired(*, on: dt.date | None = None, actor: Actor, dry_run: bool = False) -> PurgeResult:
    """Delete every archived file whose ``retention_until`` is before ``on`` (default today),
    except those of customers under a legal hold; log and audit each.

    Per file one transaction: lock the customer, re-check hold and log, write the log row
    and the ``document.purged`` audit entry; the file is deleted after the commit (nothing
    leaves the process inside a transaction). A crash in between leaves a logged file that
    the next run deletes, so running it again is always safe. The archive row stays.
    ``dry_run`` only lists. Raises PermissionRefused.
    """
    permissions.require(actor, "retention.purge")
    day = on or clock.today()
    result = PurgeResult()
    for document in retention.expired(day):
        if document.held:
            result.held.append(document)
        elif dry_run:
            result.purged.append(document)
        elif _log(document, actor):
            _delete_file(document.file_name)
            result.purged.append(document)
        else:
            result.held.append(document)
    if not dry_run:
        result.finished = _finish_interrupted()
    return result


def _log(document: retention.Expired, actor: Actor) -> bool:
    """Write the log row and audit entry; False when a hold was set meanwhile."""
    with transaction.atomic():
        _locked_customer(document.customer_id)
        if retention.has_active_hold(document.customer_id):
            return False
        if PurgedDocument.objects.filter(kind=document.kind, object_id=document.object_id).exists():
            return True  # a parallel run logged it; its file goes below if still there
        PurgedDocument.objects.create(
            kind=document.kind,
            object_id=document.object_id,
            customer_id=document.customer_id,
            document=document.document,
            file_name=document.file_name,
            sha256=document.sha256,
            size=document.size,
            retention_until=document.retention_until,
            deleted_at=clock.now(),
            deleted_by=actor.label,
        )
        audit.record(
            chain=audit.customer_chain(document.customer_id),
            actor=actor,
            action="document.purged",
            object_type=document.kind,
            object_id=document.object_id,
            data={
                "document": document.document,
                "file": document.file_name,
                "sha256": document.sha256,
                "retention_until": document.retention_until.isoformat(),
            },
        )
    return True


def _delete_file(name: str) -> bool:
    storage = archive_storage()
    if name and storage.exists(name):
        storage.delete(name)
        return True
    return False


def _finish_interrupted() -> int:
    names = PurgedDocument.objects.order_by("pk").values_list("file_name", flat=True)
    return sum(_delete_file(name) for name in names.iterator(chunk_size=retention.CHUNK))
