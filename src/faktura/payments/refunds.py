"""Paying customer credit back: request, approval by a second person, pain.001 file, release.

A requested refund holds its amount at once (it is no longer credit that could be
applied to an invoice); a rejected one gives it back. Approved refunds are collected
into a pain.001.001.09 credit-transfer file that an approver releases — never the person
who made the file (four-eyes principle).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from faktura.banking.sepa.pain001 import CreditTransfer, Debtor, generate_pain001
from faktura.collection.calendar import is_business_day
from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.money import ZERO
from faktura.payments import locks, selectors
from faktura.payments.models import Payment, Refund, RefundBatch


def _account_of(customer_id: int) -> tuple[str, str, str]:
    """The customer's known account (newest mandate, else the last payment): IBAN, BIC, holder."""
    from faktura.collection.models import Mandate

    mandate = Mandate.objects.filter(customer_id=customer_id).order_by("-signature_date", "-pk")
    if (m := mandate.first()) is not None:
        return m.iban, m.bic, m.debtor_name
    payment = (
        Payment.objects.filter(customer_id=customer_id)
        .exclude(payer_iban="")
        .order_by("-date", "-pk")
        .first()
    )
    if payment is not None:
        return payment.payer_iban, "", payment.payer_name
    return "", "", ""


def refund_credit(
    *,
    customer_id: int,
    actor: Actor,
    amount: object = None,
    iban: str | None = None,
    bic: str = "",
    account_holder: str | None = None,
    reason: str = "",
) -> Refund:
    """Request paying back (part of) the customer's credit; an approver must approve it.

    The account defaults to the customer's newest mandate or last paying account.
    Raises StateConflict no_credit, insufficient_credit; InvalidInput iban_required,
    invalid_iban, invalid_bic.
    """
    permissions.require(actor, "refund.request")
    wanted = None if amount is None else locks.positive_amount(amount)
    with transaction.atomic():
        customer = locks.lock_customer(customer_id)
        credit = selectors.credit_balance(customer_id)
        if credit <= 0:
            raise StateConflict("The customer has no credit to refund.", code="no_credit")
        value = wanted if wanted is not None else credit
        if value > credit:
            raise StateConflict(
                f"The customer has {credit} credit, not {value}.", code="insufficient_credit"
            )
        known_iban, known_bic, known_holder = _account_of(customer_id)
        raw_iban = iban if iban is not None else known_iban
        if not raw_iban:
            raise InvalidInput(
                "No account of the customer is known; give the IBAN.",
                code="iban_required",
                field="iban",
            )
        refund = Refund.objects.create(
            customer=customer,
            amount=value,
            iban=locks.iban(raw_iban),
            bic=locks.bic(bic if iban is not None else known_bic),
            account_holder=(account_holder or known_holder or customer.name).strip()[:70],
            reason=reason.strip()[:140],
            requested_by=actor.label,
            requested_by_user_id=actor.user_id,
            requested_at=clock.now(),
        )
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="refund.requested",
            object_type="refund",
            object_id=refund.pk,
            data={"amount": value, "iban": refund.iban, "credit_after": credit - value},
        )
    return refund


def _locked_refund(refund_id: int) -> Refund:
    found = Refund.objects.filter(pk=refund_id).values("customer_id").first()
    if found is None:
        raise NotFound(f"Refund {refund_id} does not exist.", code="refund_not_found")
    locks.lock_customer(found["customer_id"])
    return Refund.objects.select_for_update().get(pk=refund_id)


def _check_approver(actor: Actor, *, made_by: str, made_by_user_id: int | None) -> None:
    """Not the person who requested the refund or made the file (the role is checked first)."""
    permissions.require_second_person(
        actor,
        label=made_by,
        user_id=made_by_user_id,
        code="approver_is_creator",
        message="Who requested a refund or made the file cannot approve it (four-eyes principle).",
    )


def approve_refund(*, refund_id: int, actor: Actor) -> Refund:
    """Approve a requested refund (approver role, not the requester)."""
    permissions.require(actor, "refund.approve")
    with transaction.atomic():
        refund = _locked_refund(refund_id)
        _check_approver(
            actor, made_by=refund.requested_by, made_by_user_id=refund.requested_by_user_id
        )
        if refund.status != Refund.Status.REQUESTED:
            raise StateConflict(
                f"Refund {refund_id} is {refund.status}, not requested.", code="refund_not_pending"
            )
        refund.status = Refund.Status.APPROVED
        refund.approved_by = actor.label
        refund.approved_at = clock.now()
        refund.save(update_fields=["status", "approved_by", "approved_at"])
        audit.record(
            chain=audit.customer_chain(refund.customer_id),
            actor=actor,
            action="refund.approved",
            object_type="refund",
            object_id=refund.pk,
            data={"amount": refund.amount},
        )
    return refund


def reject_refund(*, refund_id: int, actor: Actor, reason: str) -> Refund:
    """Refuse a refund that is not in a file yet; its amount is credit again."""
    reason = locks.required_text(reason, field="reason", code="reason_required", max_length=500)
    permissions.require(actor, "refund.approve")
    with transaction.atomic():
        refund = _locked_refund(refund_id)
        _check_approver(
            actor, made_by=refund.requested_by, made_by_user_id=refund.requested_by_user_id
        )
        if refund.status not in (Refund.Status.REQUESTED, Refund.Status.APPROVED):
            raise StateConflict(
                f"Refund {refund_id} is {refund.status} and cannot be rejected.",
                code="refund_not_pending",
            )
        refund.status = Refund.Status.REJECTED
        refund.rejected_by = actor.label
        refund.rejection_reason = reason
        refund.save(update_fields=["status", "rejected_by", "rejection_reason"])
        audit.record(
            chain=audit.customer_chain(refund.customer_id),
            actor=actor,
            action="refund.rejected",
            object_type="refund",
            object_id=refund.pk,
            data={"amount": refund.amount, "reason": reason},
        )
    return refund


def _debtor(company: Company) -> Debtor:
    from faktura.banking.sepa.pain008 import PostalAddress

    account = selectors.paying_account()
    if account is None:
        raise StateConflict("The company has no bank account.", code="bank_account_missing")
    return Debtor(
        name=company.legal_name,
        iban=account.iban,
        bic=account.bic,
        address=PostalAddress(
            street_name=company.street,
            building_number=company.house_number,
            postcode=company.postcode,
            town=company.city,
            country=company.country,
        ),
    )


def create_refund_batch(
    *, actor: Actor, execution_date: dt.date | None = None
) -> RefundBatch | None:
    """Put every approved refund into one pain.001.001.09 file; None when there is none.

    ``execution_date`` defaults to the next TARGET2 business day. The file is stored
    once and never regenerated; the refunds are marked batched. It is paid from the
    company's default account (``selectors.paying_account``).
    """
    permissions.require(actor, "refund_batch.create")
    today = clock.today()
    day = execution_date or selectors.refund_execution_date()
    if day < today or not is_business_day(day):
        raise InvalidInput(
            f"execution_date: {day} is in the past or not a TARGET2 business day.",
            code="invalid_execution_date",
            field="execution_date",
        )
    debtor = _debtor(Company.get())
    customer_ids = Refund.objects.filter(
        status=Refund.Status.APPROVED, batch__isnull=True
    ).values_list("customer_id", flat=True)
    if not customer_ids:
        return None
    with transaction.atomic():
        locks.lock_customers(customer_ids)
        refunds = list(
            Refund.objects.select_for_update()
            .filter(status=Refund.Status.APPROVED, batch__isnull=True)
            .select_related("customer")
            .order_by("pk")
        )
        if not refunds:
            return None
        batch = RefundBatch.objects.create(
            execution_date=day,
            created_at=clock.now(),
            created_by=actor.label,
            created_by_user_id=actor.user_id,
        )
        message_id = f"FAKTURA-RF-{batch.pk:06d}"
        xml = generate_pain001(
            debtor=debtor,
            transfers=[
                CreditTransfer(
                    end_to_end_id=refund.end_to_end_id,
                    amount=refund.amount,
                    creditor_name=refund.account_holder,
                    creditor_iban=refund.iban,
                    creditor_bic=refund.bic,
                    remittance_information=refund.reason
                    or f"Erstattung Guthaben Kunde {refund.customer.number}",
                    execution_date=day,
                )
                for refund in refunds
            ],
            message_id=message_id,
        )
        total = sum((r.amount for r in refunds), ZERO)
        batch.seal(xml=xml, message_id=message_id, count=len(refunds), total=total)
        Refund.objects.filter(pk__in=[r.pk for r in refunds]).update(
            status=Refund.Status.BATCHED, batch=batch
        )
        entries = [
            audit.PendingEntry(
                chain=audit.customer_chain(r.customer_id),
                action="refund.batched",
                object_type="refund",
                object_id=r.pk,
                data={"batch": batch.pk, "amount": r.amount},
            )
            for r in refunds
        ]
        entries.append(
            audit.PendingEntry(
                chain=audit.COMPANY_CHAIN,
                action="refund_batch.created",
                object_type="refund_batch",
                object_id=batch.pk,
                data={"count": len(refunds), "total": total, "checksum": batch.checksum},
            )
        )
        audit.record_many(actor=actor, entries=entries)
    return batch


def _locked_batch(batch_id: int) -> RefundBatch:
    if not RefundBatch.objects.filter(pk=batch_id).exists():
        raise NotFound(f"Refund file {batch_id} does not exist.", code="refund_batch_not_found")
    locks.lock_customers(
        Refund.objects.filter(batch_id=batch_id).values_list("customer_id", flat=True)
    )
    batch = RefundBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != RefundBatch.Status.CREATED:
        raise StateConflict(
            f"Refund file {batch_id} is {batch.status} already.", code="refund_batch_not_open"
        )
    return batch


def release_refund_batch(*, batch_id: int, actor: Actor) -> RefundBatch:
    """Release the file for the bank (approver, not who made it); the refunds are paid."""
    permissions.require(actor, "refund.approve")
    with transaction.atomic():
        batch = _locked_batch(batch_id)
        _check_approver(actor, made_by=batch.created_by, made_by_user_id=batch.created_by_user_id)
        batch.status = RefundBatch.Status.RELEASED
        batch.released_at = clock.now()
        batch.released_by = actor.label
        batch.save(update_fields=["status", "released_at", "released_by"])
        refunds = list(Refund.objects.filter(batch=batch).order_by("pk"))
        Refund.objects.filter(batch=batch).update(status=Refund.Status.PAID)
        audit.record_many(
            actor=actor,
            entries=[
                audit.PendingEntry(
                    chain=audit.customer_chain(r.customer_id),
                    action="refund.paid",
                    object_type="refund",
                    object_id=r.pk,
                    data={"batch": batch.pk, "amount": r.amount},
                )
                for r in refunds
            ]
            + [
                audit.PendingEntry(
                    chain=audit.COMPANY_CHAIN,
                    action="refund_batch.released",
                    object_type="refund_batch",
                    object_id=batch.pk,
                    data={"checksum": batch.checksum},
                )
            ],
        )
    return batch


def discard_refund_batch(*, batch_id: int, actor: Actor) -> RefundBatch:
    """Discard a file not yet released; its refunds wait (approved) for the next file."""
    permissions.require(actor, "refund_batch.create")
    with transaction.atomic():
        batch = _locked_batch(batch_id)
        batch.status = RefundBatch.Status.DISCARDED
        batch.discarded_at = clock.now()
        batch.discarded_by = actor.label
        batch.save(update_fields=["status", "discarded_at", "discarded_by"])
        Refund.objects.filter(batch=batch).update(status=Refund.Status.APPROVED, batch=None)
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="refund_batch.discarded",
            object_type="refund_batch",
            object_id=batch.pk,
            data={},
        )
    return batch
