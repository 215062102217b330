"""Every change of a customer's access: block, lift, override, and the end of paid claims.

Each service locks the customer first, compares the access status before and after, audits
on the customer's chain, and calls the ``faktura.access.events.ACCESS_CHANGED`` listeners
in the same transaction exactly when the status changed.

Staff actions need ``access.manage``. ``block`` is also called by other services
(returned debits, chargebacks, the dunning run) with their own actor: the returned-debit
and chargeback services pass theirs (``payment.return`` is an accountant's, who may manage
access), background runs pass a system actor. ``claims_paid`` has no operation of its own:
it is a consequence of a booking the caller's service has already allowed, and runs inside
that booking's transaction, under its customer lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction

from faktura.access import events, selectors
from faktura.access.models import AccessBlock, AccessOverride, AccessSettings, Effect
from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.text import check_text
from faktura.invoicing.models import Invoice
from faktura.payments import locks

__all__ = [
    "block",
    "block_for_return",
    "claims_paid",
    "lift",
    "override",
    "revoke_override",
]


def _why(value: object, *, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput("why: say why.", code="reason_required", field="why")
    if len(text) > 500:
        raise InvalidInput("why: at most 500 characters.", code="invalid_why", field="why")
    check_text(text, field="why")
    return text


@contextmanager
def _watch(customer_id: int) -> Iterator[None]:
    """Tell the listeners when the status after the block differs from before."""
    before = selectors.status(customer_id)
    yield
    after = selectors.status(customer_id)
    if after != before:
        events.notify(customer_id, before, after, selectors.reasons(customer_id))


def _audit(
    customer_id: int, actor: Actor, action: str, object_type: str, pk: int, data: dict[str, object]
) -> None:
    audit.record(
        chain=audit.customer_chain(customer_id),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=pk,
        data={**data, "status": selectors.status(customer_id)},
    )


def _block_locked(
    *,
    customer_id: int,
    reason: str,
    effect: str,
    invoice_ids: list[int],
    why: str,
    actor: Actor,
    level: int | None,
) -> AccessBlock:
    """Create the block unless the same reason (and level) about the same claims is active."""
    wanted = set(invoice_ids)
    for existing in selectors.active_blocks(customer_id).filter(reason=reason, level=level):
        if set(existing.invoices.values_list("pk", flat=True)) == wanted:
            return existing
    with _watch(customer_id):
        created = AccessBlock.objects.create(
            customer_id=customer_id,
            reason=reason,
            level=level,
            effect=effect,
            since=clock.now(),
            created_by=actor.label,
            why=why,
        )
        if wanted:
            created.invoices.set(sorted(wanted))
        _audit(
            customer_id,
            actor,
            "access.blocked",
            "access_block",
            created.pk,
            {
                "reason": reason,
                "level": level,
                "effect": effect,
                "invoices": sorted(wanted),
                "why": why,
            },
        )
    return created


def block(
    *,
    customer_id: int,
    reason: str,
    effect: str,
    invoice_ids: Iterable[int] = (),
    why: str = "",
    actor: Actor,
    level: int | None = None,
) -> AccessBlock:
    """Restrict or block a customer's access for a reason, about some of its claims.

    Idempotent: an active block with the same reason, level and claims is returned as it
    is (a dunning run or a replayed return never stacks blocks). A manual block needs a
    ``why``. Raises InvalidInput invalid_access_reason, invalid_access_effect,
    reason_required, invoice_of_other_customer; NotFound customer_not_found,
    invoice_not_found.
    """
    permissions.require(actor, "access.manage")
    if reason not in AccessBlock.Reason.values:
        raise InvalidInput(
            f"reason: {reason!r} is not one of {', '.join(AccessBlock.Reason.values)}",
            code="invalid_access_reason",
            field="reason",
        )
    if effect not in Effect.values:
        raise InvalidInput(
            f"effect: {effect!r} is not one of {', '.join(Effect.values)}",
            code="invalid_access_effect",
            field="effect",
        )
    text = _why(why, required=reason == AccessBlock.Reason.MANUAL)
    ids = sorted(set(invoice_ids))
    with transaction.atomic():
        locks.lock_customer(customer_id, field="customer_id")
        owners = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "customer_id"))
        for invoice_id in ids:
            if invoice_id not in owners:
                raise NotFound(
                    f"Invoice {invoice_id} does not exist.",
                    code="invoice_not_found",
                    field="invoices",
                )
            if owners[invoice_id] != customer_id:
                raise InvalidInput(
                    f"Invoice {invoice_id} belongs to another customer.",
                    code="invoice_of_other_customer",
                    field="invoices",
                )
        return _block_locked(
            customer_id=customer_id,
            reason=reason,
            effect=effect,
            invoice_ids=ids,
            why=text,
            actor=actor,
            level=level,
        )


def block_for_return(
    *, customer_id: int, kind: str, invoice_id: int | None, reason_code: str, actor: Actor
) -> AccessBlock | None:
    """The block a returned debit or a chargeback causes, with the configured effect.

    Called by the returned-debit and chargeback service inside its transaction, under its
    customer lock. A chargeback of unallocated credit (no invoice) blocks nothing: there is
    no claim whose payment would end it.
    """
    if invoice_id is None:
        return None
    settings = AccessSettings.load()
    if kind == AccessBlock.Reason.CHARGEBACK:
        effect = settings.chargeback_effect
    else:
        effect = settings.returned_debit_effect
    number = Invoice.objects.filter(pk=invoice_id).values_list("number", flat=True).first()
    label = AccessBlock.Reason(kind).label
    return _block_locked(
        customer_id=customer_id,
        reason=kind,
        effect=effect,
        invoice_ids=[invoice_id],
        why=f"{label} {reason_code} {number or ''}".replace("  ", " ").strip(),
        actor=actor,
        level=None,
    )


def _end(block_row: AccessBlock, *, actor: Actor, end_reason: str, why: str) -> None:
    block_row.ended_at = clock.now()
    block_row.ended_by = actor.label
    block_row.end_reason = end_reason
    block_row.end_why = why
    block_row.save(update_fields=["ended_at", "ended_by", "end_reason", "end_why"])


def lift(*, block_id: int, actor: Actor, why: str) -> AccessBlock:
    """End a block by hand (staff decided), with a reason.

    Raises InvalidInput reason_required; NotFound access_block_not_found; StateConflict
    access_block_ended.
    """
    permissions.require(actor, "access.manage")
    text = _why(why, required=True)
    customer_id = (
        AccessBlock.objects.filter(pk=block_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(f"Access block {block_id} does not exist.", code="access_block_not_found")
    with transaction.atomic():
        locks.lock_customer(customer_id)
        row = AccessBlock.objects.select_for_update().get(pk=block_id)
        if row.ended_at is not None:
            raise StateConflict(
                f"Access block {block_id} ended already.", code="access_block_ended"
            )
        with _watch(customer_id):
            _end(row, actor=actor, end_reason=AccessBlock.EndReason.LIFTED, why=text)
            _audit(
                customer_id,
                actor,
                "access.lifted",
                "access_block",
                row.pk,
                {"reason": row.reason, "effect": row.effect, "why": text},
            )
    return row


def override(*, customer_id: int, until: dt.date | None, why: str, actor: Actor) -> AccessOverride:
    """Let a customer in despite its blocks until ``until`` (inclusive) or until revoked.

    The blocks stay; when the override ends they count again. A newer override replaces
    the active one (which is revoked with it). Raises InvalidInput reason_required,
    override_in_the_past; NotFound customer_not_found.
    """
    permissions.require(actor, "access.manage")
    text = _why(why, required=True)
    today = clock.today()
    if until is not None and until < today:
        raise InvalidInput(
            f"until: {until} lies in the past.", code="override_in_the_past", field="until"
        )
    with transaction.atomic():
        locks.lock_customer(customer_id, field="customer_id")
        with _watch(customer_id):
            now = clock.now()
            for previous in AccessOverride.objects.select_for_update().filter(
                customer_id=customer_id, revoked_at__isnull=True
            ):
                if previous.is_active(today):
                    previous.revoked_at = now
                    previous.revoked_by = actor.label
                    previous.revoke_why = "replaced"
                    previous.save(update_fields=["revoked_at", "revoked_by", "revoke_why"])
            created = AccessOverride.objects.create(
                customer_id=customer_id,
                until=until,
                why=text,
                created_at=now,
                created_by=actor.label,
            )
            _audit(
                customer_id,
                actor,
                "access.overridden",
                "access_override",
                created.pk,
                {"until": until, "why": text},
            )
    return created


def revoke_override(*, override_id: int, actor: Actor, why: str) -> AccessOverride:
    """End an override before its date: the active blocks count again at once.

    Raises InvalidInput reason_required; NotFound access_override_not_found; StateConflict
    access_override_ended.
    """
    permissions.require(actor, "access.manage")
    text = _why(why, required=True)
    customer_id = (
        AccessOverride.objects.filter(pk=override_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(
            f"Access override {override_id} does not exist.", code="access_override_not_found"
        )
    with transaction.atomic():
        locks.lock_customer(customer_id)
        row = AccessOverride.objects.select_for_update().get(pk=override_id)
        if not row.is_active(clock.today()):
            raise StateConflict(
                f"Access override {override_id} has ended.", code="access_override_ended"
            )
        with _watch(customer_id):
            row.revoked_at = clock.now()
            row.revoked_by = actor.label
            row.revoke_why = text
            row.save(update_fields=["revoked_at", "revoked_by", "revoke_why"])
            _audit(
                customer_id,
                actor,
                "access.override_revoked",
                "access_override",
                row.pk,
                {"why": text},
            )
    return row


def claims_corrected(original: Invoice, actor: Actor) -> None:
    """A credit note or cancellation of ``original`` was finalized: what it settles counts
    like a payment (a block whose claims are now all settled ends at once)."""
    claims_paid(original.customer_id, actor=actor)


def claims_paid(customer_id: int, *, actor: Actor) -> list[AccessBlock]:
    """End every active block of the customer whose claims are all paid (open amount ≤ 0).

    Called by every service that books money onto invoices (allocation, credit applied,
    write-off, direct-debit settlement), inside its transaction and under its customer
    lock, so that the block ends with the booking. Cheap when the customer has no active
    block: one indexed ``exists()``. Blocks without claims (manual) are not ended here.
    """
    assert transaction.get_connection().in_atomic_block, "claims_paid runs in the booking"
    if not AccessBlock.objects.filter(customer_id=customer_id, ended_at__isnull=True).exists():
        return []
    from faktura.payments.selectors import open_amounts

    active = list(selectors.active_blocks(customer_id).select_for_update().order_by("pk"))
    claims = {row.pk: list(row.invoices.values_list("pk", flat=True)) for row in active}
    open_ = open_amounts(sorted({i for ids in claims.values() for i in ids}))
    ended = [row for row in active if claims[row.pk] and all(open_[i] <= 0 for i in claims[row.pk])]
    if not ended:
        return []
    with _watch(customer_id):
        for row in ended:
            _end(row, actor=actor, end_reason=AccessBlock.EndReason.PAID, why="")
            _audit(
                customer_id,
                actor,
                "access.claims_paid",
                "access_block",
                row.pk,
                {"reason": row.reason, "effect": row.effect, "invoices": claims[row.pk]},
            )
    return ended
