"""/customers/{id}/risk: the customer's payment-behaviour score and credit limit (read-only)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from faktura.api.auth import read_auth
from faktura.api.fields import MoneyOut
from faktura.api.schemas import ErrorOut
from faktura.core import clock
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.customers.models import Customer
from faktura.payments.models import PaymentSettings
from faktura.reporting import risk

customers_router = Router(tags=["customers"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut}


class RiskOut(Schema):
    object: Literal["customer_risk"] = "customer_risk"
    customer: int
    score: int = Field(description="0 (no concern) … 100 (worst); formula in docs/risk-and-post.md")
    reasons: list[str] = Field(description="The score's parts as German lines, with points")
    threshold: int = Field(description="From this score on an order counts as risky")
    risky: bool
    credit_limit: MoneyOut | None = Field(
        description="The customer's own limit, else the default of the payment settings"
    )
    credit_limit_source: Literal["customer", "default", "none"]
    open_receivables: MoneyOut
    available_credit: MoneyOut | None = Field(description="credit_limit − open_receivables")
    overdue_amount: MoneyOut
    paid_invoices: int
    average_days_to_pay: str | None = Field(examples=["21.0"])
    average_days_late: str | None = Field(examples=["7.0"])
    returned_debits: int
    chargebacks: int
    highest_dunning_level: int
    risk_action: Literal["approval", "prepayment", "none"]
    currency: str = "EUR"


@customers_router.get("/{customer_id}/risk", response={200: RiskOut, **READ_ERRORS}, auth=read_auth)
def get_risk(request: HttpRequest, customer_id: int) -> Any:
    """The customer's risk score with its reasons, and the credit limit that orders check."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    settings = PaymentSettings.load()
    figures, assessed = risk.customer_risk(customer.pk, today=clock.today())
    if customer.credit_limit is not None:
        limit, source = customer.credit_limit, "customer"
    elif settings.default_credit_limit is not None:
        limit, source = settings.default_credit_limit, "default"
    else:
        limit, source = None, "none"
    return RiskOut(
        customer=customer.pk,
        score=assessed.score,
        reasons=assessed.reasons,
        threshold=settings.risk_score_threshold,
        risky=assessed.score >= settings.risk_score_threshold,
        credit_limit=format_amount(limit) if limit is not None else None,
        credit_limit_source=source,  # type: ignore[arg-type]
        open_receivables=format_amount(figures.open_receivables),
        available_credit=(
            format_amount(limit - figures.open_receivables) if limit is not None else None
        ),
        overdue_amount=format_amount(figures.overdue_amount),
        paid_invoices=figures.paid_invoices,
        average_days_to_pay=_days(figures.average_days_to_pay),
        average_days_late=_days(figures.average_days_late),
        returned_debits=figures.returned_debits,
        chargebacks=figures.chargebacks,
        highest_dunning_level=figures.highest_dunning_level,
        risk_action=settings.risk_action,  # type: ignore[arg-type]
    )


def _days(value: object) -> str | None:
    return None if value is None else str(value)
