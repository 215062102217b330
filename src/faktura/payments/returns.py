"""Returned direct debits and chargebacks: money taken back, and what follows from it.

A return reverses the allocation (the invoice is open again; a direct debit that also
collected dunning costs reopens them too), takes the principal back
from the payment, charges the bank's fee to the customer as a FeeItem, records a
ReturnEvent that the dunning capability picks up, and applies the reason
(STANDARDS 3.1):

* AM04 (insufficient funds), MS03 (reason not specified by the bank): the mandate
  stays usable and a later batch collects the invoice again;
* account and mandate codes (AC01, AC04, AC06, AG01, MD01, MD02, MD07 …): the mandate
  is unusable and the customer pays by transfer from now on;
* MD06 (refund request of the debtor): a dispute — the invoice is not collected
  automatically again, and nothing else is collected with the mandate of the returned
  debit, until staff clear the dispute (the rule and its reasons:
  ``faktura.collection.selectors``);
* anything else: a person decides (no automatic new attempt).

Recording is idempotent by ``source_reference`` (DESIGN invariant 6).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.money import ZERO, format_amount, parse_amount
from faktura.invoicing.models import Invoice
from faktura.payments import locks, selectors
from faktura.payments.models import (
    Allocation,
    Dispute,
    FeeItem,
    Payment,
    PaymentSettings,
    ReturnEvent,
)

Consequence = ReturnEvent.Consequence

RETRY_CODES = frozenset({"AM04", "MS03"})
DISPUTE_CODES = frozenset({"MD06"})
# Codes saying the account or the mandate cannot be used again (AC* = account).
MANDATE_CODES = frozenset({"AC01", "AC04", "AC06", "AC13", "AG01", "AG02", "MD01", "MD02", "MD07"})


def consequence_of(reason_code: str) -> str:
    """Classify an ISO 20022 return reason code (pure)."""
    code = reason_code.strip().upper()
    if code in RETRY_CODES:
        return Consequence.RETRY
    if code in DISPUTE_CODES:
        return Consequence.DISPUTE
    if code in MANDATE_CODES or code.startswith("AC"):
        return Consequence.MANDATE_UNUSABLE
    return Consequence.MANUAL


def _source_reference(value: str) -> str:
    return locks.required_text(
        value, field="source_reference", code="source_reference_required", max_length=200
    )


def _fee(value: object, *, field: str) -> Decimal | None:
    if value is None:
        return None
    return parse_amount(value, field=field)


def _process(
    *,
    kind: str,
    actor: Actor,
    customer_id: int,
    invoice_id: int | None,
    allocation: Allocation | None,
    payment: Payment | None,
    amount: Decimal,
    reason_code: str,
    consequence: str,
    fee: Decimal | None,
    source_reference: str,
    end_to_end_id: str = "",
    booking_date: object = None,
    mandate_id: int | None = None,
) -> ReturnEvent:
    """Write everything a return changes; the caller holds the customer's lock."""
    now = clock.now()
    label = ReturnEvent.Kind(kind).label
    if allocation is not None and allocation.reversed_at is None:
        allocation.reversed_at = now
        allocation.reversed_by = actor.label
        allocation.reversal_reason = f"{label} {reason_code}".strip()[:200]
        allocation.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    fee_amount = fee if fee is not None else PaymentSettings.load().effective_return_fee
    event = ReturnEvent.objects.create(
        kind=kind,
        customer_id=customer_id,
        invoice_id=invoice_id,
        payment=payment,
        allocation=allocation,
        end_to_end_id=end_to_end_id[:35],
        reason_code=reason_code,
        consequence=consequence,
        amount=amount,
        fee_amount=fee_amount,
        source_reference=source_reference,
        booking_date=locks.business_date(booking_date, field="booking_date")
        if booking_date is not None
        else None,
        created_at=now,
        created_by=actor.label,
    )
    fee_item = None
    if fee_amount > 0:
        fee_item = FeeItem.objects.create(
            customer_id=customer_id,
            invoice_id=invoice_id,
            amount=fee_amount,
            reason=f"{label}sgebühr {reason_code}".strip(),
            return_event=event,
            created_at=now,
            created_by=actor.label,
        )
    if consequence == Consequence.MANDATE_UNUSABLE and mandate_id is not None:
        from faktura.collection.services import make_mandate_unusable

        make_mandate_unusable(
            mandate_id=mandate_id, actor=actor, reason=f"{label} {reason_code}".strip()
        )
    dispute = None
    if consequence == Consequence.DISPUTE and invoice_id is not None:
        dispute = Dispute.objects.filter(invoice_id=invoice_id, cleared_at__isnull=True).first()
        if dispute is None:
            dispute = Dispute.objects.create(
                invoice_id=invoice_id,
                customer_id=customer_id,
                reason_code=reason_code,
                return_event=event,
                opened_at=now,
                opened_by=actor.label,
            )
    audit.record(
        chain=audit.customer_chain(customer_id),
        actor=actor,
        action=f"payment.{kind}",
        object_type="return_event",
        object_id=event.pk,
        data={
            "invoice": invoice_id,
            "allocation": allocation.pk if allocation else None,
            "payment": payment.pk if payment else None,
            "amount": amount,
            "reason_code": reason_code,
            "consequence": consequence,
            "fee": fee_amount,
            "fee_item": fee_item.pk if fee_item else None,
            "dispute": dispute.pk if dispute else None,
            "source_reference": source_reference,
        },
    )
    from faktura.access.services import block_for_return

    block_for_return(
        customer_id=customer_id,
        kind=kind,
        invoice_id=invoice_id,
        reason_code=reason_code,
        actor=actor,
    )
    from faktura.payments.tasks import process_return_event
    from faktura.webhooks.services import emit

    process_return_event.enqueue(event.pk)
    emit(
        "payment.returned",
        {
            "id": event.pk,
            "object": kind,
            "customer": customer_id,
            "invoice": invoice_id,
            "payment": payment.pk if payment else None,
            "amount": format_amount(amount),
            "fee": format_amount(fee_amount),
            "currency": "EUR",
            "reason_code": reason_code,
            "consequence": consequence,
            "booking_date": event.booking_date,
        },
        actor=actor,
    )
    return event


def _already_recorded(source_reference: str) -> ReturnEvent | None:
    return ReturnEvent.objects.filter(source_reference=source_reference).first()


def record_returned_debit(
    *,
    actor: Actor,
    reason_code: str,
    source_reference: str,
    allocation_id: int | None = None,
    end_to_end_id: str | None = None,
    return_fee: object = None,
    booking_date: object = None,
) -> ReturnEvent:
    """Record a returned SEPA direct debit, found by its allocation or end-to-end id.

    ``return_fee`` is the bank's charge from the statement; without it the configured
    default (FAKTURA_RETURN_FEE_DEFAULT) is charged. The same ``source_reference`` twice
    returns the first event and changes nothing. Raises InvalidInput return_target_required,
    source_reference_required; NotFound direct_debit_not_found, allocation_not_found;
    StateConflict direct_debit_already_returned. An allocation released by hand before
    stays released; the money is taken back from the payment all the same.
    """
    permissions.require(actor, "payment.return")
    if (allocation_id is None) == (end_to_end_id is None):
        raise InvalidInput(
            "Name the returned debit by allocation_id or by end_to_end_id (one of them).",
            code="return_target_required",
        )
    source_reference = _source_reference(source_reference)
    code = (reason_code or "").strip().upper()[:35]
    fee = _fee(return_fee, field="return_fee")
    if (existing := _already_recorded(source_reference)) is not None:
        return existing
    from faktura.collection.models import DirectDebitItem

    item_id: int | None = None
    if end_to_end_id is not None:
        item = (
            DirectDebitItem.objects.filter(
                end_to_end_id=end_to_end_id.strip(),
                state__in=(DirectDebitItem.State.SUBMITTED, DirectDebitItem.State.SETTLED),
            )
            .order_by("-pk")
            .values("pk", "customer_id", "allocation_id")
            .first()
        )
        if item is None:
            returned = DirectDebitItem.objects.filter(
                end_to_end_id=end_to_end_id.strip(), state=DirectDebitItem.State.RETURNED
            ).exists()
            if returned:
                raise StateConflict(
                    f"The direct debit {end_to_end_id} was returned already.",
                    code="direct_debit_already_returned",
                )
            raise NotFound(
                f"No submitted direct debit with end-to-end id {end_to_end_id!r}.",
                code="direct_debit_not_found",
                field="end_to_end_id",
            )
        item_id, customer_id, allocation_id = item["pk"], item["customer_id"], item["allocation_id"]
    else:
        assert allocation_id is not None
        found = (
            Allocation.objects.filter(pk=allocation_id)
            .values("invoice__customer_id", "direct_debit_item")
            .first()
        )
        if found is None:
            raise NotFound(
                f"Allocation {allocation_id} does not exist.",
                code="allocation_not_found",
                field="allocation_id",
            )
        customer_id, item_id = found["invoice__customer_id"], found["direct_debit_item"]
    with transaction.atomic():
        locks.lock_customer(customer_id)
        if (existing := _already_recorded(source_reference)) is not None:
            return existing
        item_row = (
            DirectDebitItem.objects.select_for_update().get(pk=item_id)
            if item_id is not None
            else None
        )
        allocation = (
            Allocation.objects.select_for_update().get(pk=allocation_id)
            if allocation_id is not None
            else None
        )
        if item_row is not None:
            if item_row.state not in (
                DirectDebitItem.State.SUBMITTED,
                DirectDebitItem.State.SETTLED,
            ):
                raise StateConflict(
                    f"The direct debit {item_row.end_to_end_id} is not with the bank "
                    f"(state {item_row.state}).",
                    code="direct_debit_already_returned",
                )
            # The whole collected amount goes back, allocated or kept as credit at settlement.
            invoice_id = item_row.invoice_id
            payment = item_row.payment
            amount = item_row.amount
        else:
            assert allocation is not None
            if ReturnEvent.objects.filter(allocation=allocation).exists():
                raise StateConflict(
                    f"The debit of allocation {allocation.pk} was returned already.",
                    code="direct_debit_already_returned",
                )
            invoice_id = allocation.invoice_id
            payment = allocation.payment
            amount = allocation.amount
        locks.lock_invoices([invoice_id])
        if payment is not None:
            locks.lock_payments([payment.pk])
        if item_row is not None and payment is not None:
            # The debit's money went back: what it paid of dunning costs (arrears collected
            # with costs, ``collection.arrears``) is open again.
            from faktura.payments import claims as cost_claims

            ledger = cost_claims.ledger()
            reversed_costs = (
                ledger.reverse(payment.pk, actor=actor, now=clock.now()) if ledger else []
            )
            if reversed_costs:
                audit.record_many(actor=actor, entries=reversed_costs)
        consequence = consequence_of(code)
        event = _process(
            kind=ReturnEvent.Kind.RETURNED_DEBIT,
            actor=actor,
            customer_id=customer_id,
            invoice_id=invoice_id,
            allocation=allocation,
            payment=payment,
            amount=amount,
            reason_code=code,
            consequence=consequence,
            fee=fee,
            source_reference=source_reference,
            end_to_end_id=item_row.end_to_end_id if item_row else "",
            booking_date=booking_date,
            mandate_id=item_row.mandate_id if item_row else None,
        )
        if item_row is not None:
            from faktura.collection import recollection

            # Arrears collected with a regular debit get no retry of their own: only a later
            # regular debit takes them again, within the policy's limit (collection.arrears).
            next_debit = (
                None
                if item_row.arrears
                else recollection.plan_recollection(item=item_row, event=event)
            )
            item_row.state = DirectDebitItem.State.RETURNED
            # A disputed invoice waits for its dispute to be cleared, not for a new mandate;
            # an announced new attempt waits for its date.
            item_row.may_retry = next_debit is not None or consequence == Consequence.DISPUTE
            item_row.return_event = event
            item_row.save(update_fields=["state", "may_retry", "return_event"])
            from faktura.collection.services import update_batch_status

            update_batch_status(item_row.batch_id, actor=actor)
            recollection.notify_return(
                event=event,
                invoice=Invoice.objects.get(pk=invoice_id),
                mandate=item_row.mandate,
                next_debit=next_debit,
                actor=actor,
            )
    return event


def record_chargeback(
    *,
    actor: Actor,
    source_reference: str,
    reason_code: str = "",
    allocation_id: int | None = None,
    payment_id: int | None = None,
    fee: object = None,
    booking_date: object = None,
    dispute: bool = True,
) -> ReturnEvent:
    """Record a chargeback (card statement, or a provider's dispute event).

    Handled like a returned debit: the allocation is reversed, the fee charged, a
    ReturnEvent recorded; by default the invoice is disputed (no automatic collection).
    A payment with several allocations needs ``allocation_id`` (chargeback_ambiguous);
    one without allocations gives back its unallocated credit.
    """
    permissions.require(actor, "payment.return")
    if (allocation_id is None) == (payment_id is None):
        raise InvalidInput(
            "Name the charged-back payment by allocation_id or by payment_id (one of them).",
            code="return_target_required",
        )
    source_reference = _source_reference(source_reference)
    code = (reason_code or "").strip()[:35]
    fee_amount = _fee(fee, field="fee")
    if (existing := _already_recorded(source_reference)) is not None:
        return existing
    if allocation_id is not None:
        found = Allocation.objects.filter(pk=allocation_id).values("payment_id").first()
        if found is None:
            raise NotFound(
                f"Allocation {allocation_id} does not exist.",
                code="allocation_not_found",
                field="allocation_id",
            )
        payment_id = found["payment_id"]
    assert payment_id is not None
    target: int = payment_id
    payment_row = Payment.objects.filter(pk=target).values("customer_id").first()
    if payment_row is None:
        raise NotFound(
            f"Payment {payment_id} does not exist.", code="payment_not_found", field="payment_id"
        )
    if payment_row["customer_id"] is None:
        raise StateConflict(
            f"Payment {payment_id} is not assigned to a customer.", code="payment_unassigned"
        )
    customer_id = payment_row["customer_id"]
    with transaction.atomic():
        locks.lock_customer(customer_id)
        if (existing := _already_recorded(source_reference)) is not None:
            return existing
        active = list(
            Allocation.objects.filter(payment_id=target, reversed_at__isnull=True).order_by("pk")
        )
        if allocation_id is not None:
            active = [a for a in active if a.pk == allocation_id]
            if not active:
                raise StateConflict(
                    f"Allocation {allocation_id} was released already.",
                    code="allocation_already_released",
                )
        if len(active) > 1:
            raise InvalidInput(
                f"Payment {payment_id} pays several invoices; name the allocation_id.",
                code="chargeback_ambiguous",
                field="allocation_id",
            )
        allocation = active[0] if active else None
        if allocation is not None:
            locks.lock_invoices([allocation.invoice_id])
            allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        payment = locks.lock_payments([target])[target]
        amount = allocation.amount if allocation else selectors.unallocated_amount(payment.pk)
        if amount <= ZERO:
            raise StateConflict(
                f"Payment {payment_id} has nothing left to charge back.",
                code="nothing_to_charge_back",
            )
        return _process(
            kind=ReturnEvent.Kind.CHARGEBACK,
            actor=actor,
            customer_id=customer_id,
            invoice_id=allocation.invoice_id if allocation else None,
            allocation=allocation,
            payment=payment,
            amount=amount,
            reason_code=code,
            consequence=Consequence.DISPUTE if dispute else Consequence.MANUAL,
            fee=fee_amount,
            source_reference=source_reference,
            booking_date=booking_date,
        )


def clear_dispute(*, dispute_id: int, actor: Actor, note: str = "") -> Dispute:
    """End a dispute: the invoice may be collected automatically again."""
    permissions.require(actor, "payment.return")
    found = Dispute.objects.filter(pk=dispute_id).values("customer_id").first()
    if found is None:
        raise NotFound(f"Dispute {dispute_id} does not exist.", code="dispute_not_found")
    with transaction.atomic():
        locks.lock_customer(found["customer_id"])
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if dispute.cleared_at is not None:
            raise StateConflict(f"Dispute {dispute_id} is cleared already.", code="dispute_cleared")
        dispute.cleared_at = clock.now()
        dispute.cleared_by = actor.label
        dispute.note = note.strip()[:500]
        dispute.save(update_fields=["cleared_at", "cleared_by", "note"])
        audit.record(
            chain=audit.customer_chain(dispute.customer_id),
            actor=actor,
            action="dispute.cleared",
            object_type="dispute",
            object_id=dispute.pk,
            data={"invoice": dispute.invoice_id, "note": dispute.note},
        )
    return dispute
