"""The credit check of an order: over the credit limit or too risky → approval or prepayment.

``route`` is the pure rule; ``apply_credit_check`` runs inside ``place_order``'s
transaction (the customer locked), changes the order's draft invoice and records the
decision on the order and in the customer's audit chain.

Prepayment (Vorkasse) makes the invoice due on its issue date (payment term 0 days, no
early-payment discount) and payable by transfer: the goods go out once it is paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from faktura.core import audit, clock
from faktura.core.actors import Actor
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Status
from faktura.payments.models import PaymentSettings
from faktura.reporting import risk
from faktura.sales.models import Order

NORMAL, APPROVAL, PREPAYMENT = "normal", "approval", "prepayment"
# Approval reason codes (Invoice.approval_reasons), next to approval.reasons_for's.
CREDIT_LIMIT_EXCEEDED = "credit_limit_exceeded"
HIGH_RISK_SCORE = "high_risk_score"


@dataclass(frozen=True)
class Decision:
    action: str  # normal | approval | prepayment
    codes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # German lines, decision first
    score: int | None = None


def route(
    *,
    action: str,
    score: int,
    threshold: int,
    open_receivables: Decimal,
    order_total: Decimal,
    credit_limit: Decimal | None,
) -> Decision:
    """What an order gets (pure): the setting's action when a rule applies, else normal."""
    codes: list[str] = []
    reasons: list[str] = []
    if credit_limit is not None and open_receivables + order_total > credit_limit:
        codes.append(CREDIT_LIMIT_EXCEEDED)
        reasons.append(
            _(
                "Offene Forderungen %(open)s EUR und Auftrag %(order)s EUR übersteigen das "
                "Kreditlimit von %(limit)s EUR"
            )
            % {
                "open": risk.german_amount(open_receivables),
                "order": risk.german_amount(order_total),
                "limit": risk.german_amount(credit_limit),
            }
        )
    if score >= threshold:
        codes.append(HIGH_RISK_SCORE)
        reasons.append(
            _("Risikopunkte %(score)s erreichen die Schwelle von %(threshold)s")
            % {"score": score, "threshold": threshold}
        )
    if not codes or action not in (APPROVAL, PREPAYMENT):
        return Decision(action=NORMAL, codes=codes, reasons=reasons, score=score)
    return Decision(action=action, codes=codes, reasons=reasons, score=score)


def apply_credit_check(
    *, order: Order, invoice: Invoice, customer: Customer, actor: Actor
) -> Decision:
    """Check the order's draft and hold it for approval or switch it to prepayment.

    Runs inside ``place_order``'s transaction with ``customer`` locked. With the setting
    ``risk_action = none`` nothing is read or changed.
    """
    settings = PaymentSettings.load()
    if settings.risk_action not in (APPROVAL, PREPAYMENT):
        return Decision(action=NORMAL)
    figures, assessed = risk.customer_risk(customer.pk, today=clock.today())
    limit = (
        customer.credit_limit
        if customer.credit_limit is not None
        else settings.default_credit_limit
    )
    decision = route(
        action=settings.risk_action,
        score=assessed.score,
        threshold=settings.risk_score_threshold,
        open_receivables=figures.open_receivables,
        order_total=invoice.grand_total,
        credit_limit=limit,
    )
    if decision.action == APPROVAL and invoice.status in (Status.DRAFT, Status.PENDING_APPROVAL):
        invoice.status = Status.PENDING_APPROVAL
        invoice.approval_reasons = [*invoice.approval_reasons, *decision.codes]
        invoice.save(update_fields=["status", "approval_reasons", "updated_at"])
    elif decision.action == PREPAYMENT:
        invoice.payment_term_days = 0
        invoice.early_payment_discount_days = None
        invoice.early_payment_discount_percent = None
        invoice.payment_method = Customer.PaymentMethod.TRANSFER
        invoice.save(
            update_fields=[
                "payment_term_days",
                "early_payment_discount_days",
                "early_payment_discount_percent",
                "payment_method",
                "updated_at",
            ]
        )
    order.risk_decision = decision.action
    order.risk_score = assessed.score
    order.risk_reasons = [*decision.reasons, *assessed.reasons]
    order.save(update_fields=["risk_decision", "risk_score", "risk_reasons"])
    audit.record(
        chain=audit.customer_chain(customer.pk),
        actor=actor,
        action="order.credit_checked",
        object_type="order",
        object_id=order.pk,
        data={
            "decision": decision.action,
            "codes": decision.codes,
            "score": assessed.score,
            "open_receivables": figures.open_receivables,
            "order_total": invoice.grand_total,
            "credit_limit": limit,
            "reasons": order.risk_reasons,
        },
    )
    return decision
