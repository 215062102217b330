"""Dunning services: approve or cancel a proposed notice, add or waive a fee by hand,
change a policy's level.

Each is one transaction that locks the customer first and is audited on its chain.
"""

from __future__ import annotations

from decimal import Decimal
from string import Template
from typing import Any

from django.db import transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.money import parse_amount
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.dunning import run as dunning_run
from faktura.dunning.models import (
    DunningCase,
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    DunningPolicy,
)
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


# The values ``run.compose`` fills into a level's texts ($name or ${name}).
PLACEHOLDERS = frozenset(
    {
        "customer_name",
        "items",
        "principal",
        "fees",
        "interest",
        "return_fees",
        "total",
        "deadline",
        "company",
        "bank",
        "reference",
    }
)
LEVEL_FIELDS = (
    "days",
    "deadline_days",
    "fee_consumer",
    "fee_business",
    "review_required",
    "interest",
    "flat_fee",
    "access_effect",
    "subject_de",
    "text_de",
    "subject_en",
    "text_en",
)
_TEXT_LIMITS = {"subject_de": 200, "subject_en": 200, "text_de": 20000, "text_en": 20000}
_ACCESS_EFFECTS = ("", "restrict", "block")


def _check_template(value: str, *, field: str) -> None:
    template = Template(value)
    if not template.is_valid():
        raise InvalidInput(
            f"{field}: a $ must start a placeholder ($customer_name) or be written $$.",
            code="unknown_placeholder",
            field=field,
        )
    unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS)
    if unknown:
        raise InvalidInput(
            f"{field}: unknown placeholder(s) {', '.join('$' + u for u in unknown)}; "
            f"known: {', '.join('$' + p for p in sorted(PLACEHOLDERS))}.",
            code="unknown_placeholder",
            field=field,
        )


def _level_value(name: str, value: Any) -> Any:
    if name in ("days", "deadline_days"):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
            raise InvalidInput(
                f"{name}: a whole number of days from 1 to 365.",
                code="invalid_dunning_level",
                field=name,
            )
        return value
    if name in ("fee_consumer", "fee_business"):
        return parse_amount(value, field=name)  # refuses negatives and a third decimal
    if name in ("review_required", "interest", "flat_fee"):
        if not isinstance(value, bool):
            raise InvalidInput(f"{name}: true or false.", code="invalid_dunning_level", field=name)
        return value
    if name == "access_effect":
        value = value or ""
        if value not in _ACCESS_EFFECTS:
            raise InvalidInput(
                f"{name}: one of restrict, block or empty.",
                code="invalid_dunning_level",
                field=name,
            )
        return value
    text = str(value or "").strip() if name.startswith("subject") else str(value or "")
    if not text.strip():
        raise InvalidInput(f"{name}: must not be empty.", code="invalid_dunning_level", field=name)
    if len(text) > _TEXT_LIMITS[name]:
        raise InvalidInput(
            f"{name}: at most {_TEXT_LIMITS[name]} characters.",
            code="invalid_dunning_level",
            field=name,
        )
    check_text(text, field=name, multiline=name.startswith("text"))
    _check_template(text, field=name)
    return text


def update_level(*, policy_id: int, number: int, actor: Actor, **changes: Any) -> DunningLevel:
    """Change a level's days, fees, interest, review, access effect or texts (audited).

    Texts are ``string.Template`` texts; only the placeholders the notices fill are allowed.
    Notices already made keep their figures; the next run uses the new settings.
    """
    permissions.require(actor, "master_data.change")
    unknown = set(changes) - set(LEVEL_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown level fields: {', '.join(sorted(unknown))}", code="invalid_dunning_level"
        )
    values = {name: _level_value(name, value) for name, value in changes.items()}
    with transaction.atomic():
        level = (
            DunningLevel.objects.select_for_update()
            .filter(policy_id=policy_id, number=number)
            .first()
        )
        if level is None:
            raise NotFound(
                f"Policy {policy_id} has no level {number}.", code="dunning_level_not_found"
            )
        before = {name: getattr(level, name) for name in values}
        for name, value in values.items():
            setattr(level, name, value)
        if values:
            level.save(update_fields=list(values))
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="dunning.level_changed",
            object_type="dunning_level",
            object_id=level.pk,
            data={
                "policy": policy_id,
                "number": number,
                "before": {k: str(v) for k, v in before.items()},
                "after": {k: str(v) for k, v in values.items()},
            },
        )
    return level


# How often one claim may be collected with a regular direct debit at most (policy limit).
MAX_ARREARS_DEBIT_LIMIT = 10


def update_policy(
    *,
    policy_id: int,
    actor: Actor,
    collect_arrears_by_debit: bool | None = None,
    arrears_debit_limit: int | None = None,
) -> DunningPolicy:
    """Switch collecting arrears with the next regular direct debit on or off, and set how
    often one claim may be collected that way (1–10; audited, before/after).

    Raises NotFound dunning_policy_not_found; InvalidInput invalid_arrears_debit_limit.
    """
    permissions.require(actor, "master_data.change")
    values: dict[str, Any] = {}
    if collect_arrears_by_debit is not None:
        values["collect_arrears_by_debit"] = bool(collect_arrears_by_debit)
    if arrears_debit_limit is not None:
        if (
            isinstance(arrears_debit_limit, bool)
            or not isinstance(arrears_debit_limit, int)
            or not 1 <= arrears_debit_limit <= MAX_ARREARS_DEBIT_LIMIT
        ):
            raise InvalidInput(
                f"arrears_debit_limit: {arrears_debit_limit!r} is not a whole number from 1 "
                f"to {MAX_ARREARS_DEBIT_LIMIT}",
                code="invalid_arrears_debit_limit",
                field="arrears_debit_limit",
            )
        values["arrears_debit_limit"] = arrears_debit_limit
    with transaction.atomic():
        policy = DunningPolicy.objects.select_for_update().filter(pk=policy_id).first()
        if policy is None:
            raise NotFound(
                f"Dunning policy {policy_id} does not exist.", code="dunning_policy_not_found"
            )
        before = {name: getattr(policy, name) for name in values}
        for name, value in values.items():
            setattr(policy, name, value)
        if values:
            policy.save(update_fields=list(values))
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="dunning.policy_changed",
            object_type="dunning_policy",
            object_id=policy.pk,
            data={
                "before": {k: str(v) for k, v in before.items()},
                "after": {k: str(v) for k, v in values.items()},
            },
        )
    return policy
