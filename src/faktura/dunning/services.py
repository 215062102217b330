"""Dunning services: approve or cancel a proposed notice, add or waive a fee by hand.

Each is one transaction that locks the customer first and is audited on its chain.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.money import parse_amount
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.dunning import run as dunning_run
from faktura.dunning.models import DunningCase, DunningFee, DunningNotice, DunningNoticeItem
from faktura.invoicing.models import Invoice


def _lock_notice(notice_id: int) -> DunningNotice:
    customer_id = (
        DunningNotice.objects.filter(pk=notice_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(f"No dunning notice {notice_id}.", code="dunning_notice_not_found")
    Customer.objects.select_for_update().get(pk=customer_id)
    notice = DunningNotice.objects.select_related("customer").get(pk=notice_id)
    if notice.status != DunningNotice.Status.PROPOSED:
        raise StateConflict(
            f"Notice {notice_id} is {notice.status}, not a proposal.",
            code="dunning_notice_not_proposed",
        )
    return notice


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why.", code="dunning_reason_required")
    check_text(reason, field="reason")
    return reason


def approve_notice(*, notice_id: int, actor: Actor) -> DunningNotice:
    """Send a proposed notice (queue its mail); the next level counts from today."""
    permissions.require(actor, "dunning.approve")
    with transaction.atomic():
        notice = _lock_notice(notice_id)
        now = clock.now()
        today = clock.today(Company.time_zone_or_default())
        notice.status = DunningNotice.Status.APPROVED
        notice.approved_at = now
        notice.approved_by = actor.label
        notice.save(update_fields=["status", "approved_at", "approved_by"])
        DunningCase.objects.filter(
            invoice_id__in=notice.items.filter(active=True).values("invoice_id")
        ).update(last_notice_on=today)
        dunning_run.send_notices([notice], actor=actor, context=dunning_run.Context.load())
        notice.refresh_from_db()
        audit.record(
            chain=audit.customer_chain(notice.customer_id),
            actor=actor,
            action="dunning.notice_approved",
            object_type="dunning_notice",
            object_id=notice.pk,
            data={"status": notice.status, "message": notice.message_id},
        )
    return notice


def cancel_notice(*, notice_id: int, actor: Actor, reason: str) -> DunningNotice:
    """Discard a proposal: its fees and interest go, its invoices fall back a level."""
    permissions.require(actor, "dunning.approve")
    reason = _reason(reason)
    with transaction.atomic():
        notice = _lock_notice(notice_id)
        invoice_ids = list(
            DunningNoticeItem.objects.filter(notice=notice, active=True).values_list(
                "invoice_id", flat=True
            )
        )
        DunningNoticeItem.objects.filter(notice=notice).update(active=False)
        # Never sent: the fees of a discarded proposal were never claimed.
        removed = [
            [kind, str(amount)]
            for kind, amount in DunningFee.objects.filter(notice=notice).values_list(
                "kind", "amount"
            )
        ]
        DunningFee.objects.filter(notice=notice).delete()
        if notice.level == 0:
            DunningCase.objects.filter(invoice_id__in=invoice_ids, level=0).delete()
        else:
            DunningCase.objects.filter(invoice_id__in=invoice_ids, level=notice.level).update(
                level=notice.level - 1
            )
        notice.status = DunningNotice.Status.CANCELLED
        notice.cancelled_at = clock.now()
        notice.cancelled_by = actor.label
        notice.cancel_reason = reason
        notice.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        audit.record(
            chain=audit.customer_chain(notice.customer_id),
            actor=actor,
            action="dunning.notice_cancelled",
            object_type="dunning_notice",
            object_id=notice.pk,
            data={"reason": reason, "fees_removed": removed},
        )
    return notice


def add_fee(
    *,
    customer_id: int,
    amount: object,
    reason: str,
    actor: Actor,
    invoice_id: int | None = None,
) -> DunningFee:
    """Charge a dunning fee by hand (a claim without VAT)."""
    permissions.require(actor, "dunning.fee")
    value: Decimal = parse_amount(amount)
    reason = _reason(reason)
    if value <= 0:
        raise InvalidInput("A fee is a positive amount.", code="invalid_dunning_fee")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(f"No customer {customer_id}.", code="not_found")
        if (
            invoice_id is not None
            and not Invoice.objects.filter(pk=invoice_id, customer=customer).exists()
        ):
            raise NotFound(f"No invoice {invoice_id} of this customer.", code="not_found")
        fee = DunningFee.objects.create(
            customer=customer,
            invoice_id=invoice_id,
            kind=DunningFee.Kind.FEE,
            amount=value,
            reason=reason,
            created_at=clock.now(),
            created_by=actor.label,
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="dunning.fee_added",
            object_type="dunning_fee",
            object_id=fee.pk,
            data={"amount": str(value), "reason": reason, "invoice": invoice_id},
        )
    return fee


def waive_fee(*, fee_id: int, reason: str, actor: Actor) -> DunningFee:
    """Waive an open fee, flat fee or interest period (audited; the row stays)."""
    permissions.require(actor, "dunning.fee")
    reason = _reason(reason)
    with transaction.atomic():
        customer_id = (
            DunningFee.objects.filter(pk=fee_id).values_list("customer_id", flat=True).first()
        )
        if customer_id is None:
            raise NotFound(f"No dunning fee {fee_id}.", code="dunning_fee_not_found")
        Customer.objects.select_for_update().get(pk=customer_id)
        fee = DunningFee.objects.get(pk=fee_id)
        if not fee.is_open:
            raise StateConflict(f"Fee {fee_id} is not open.", code="dunning_fee_not_open")
        fee.waived_at = clock.now()
        fee.waived_by = actor.label
        fee.waived_reason = reason
        fee.save(update_fields=["waived_at", "waived_by", "waived_reason"])
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="dunning.fee_waived",
            object_type="dunning_fee",
            object_id=fee.pk,
            data={"kind": fee.kind, "amount": str(fee.amount), "reason": reason},
        )
    return fee
