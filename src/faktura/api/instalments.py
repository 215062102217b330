"""/instalment-agreements: instalment agreements (Ratenzahlung) for scripts and the back
office.

Every writing route is one service call (``faktura.dunning.instalments``); the rules live
there. Money is a string with two decimals, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.dunning import ERRORS, READ_ERRORS, CancelIn, _List
from faktura.api.fields import Amount, InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import Page
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.dunning import instalments as services
from faktura.dunning.models import InstalmentAgreement

router = Router(tags=["dunning"])

AgreementStatus = Literal["active", "completed", "broken", "cancelled"]


class InstalmentOut(Schema):
    number: int
    reference: str = Field(description="What the customer puts on the transfer")
    due_date: dt.date
    amount: MoneyOut
    paid_amount: MoneyOut
    open_amount: MoneyOut


class CoveredInvoiceOut(Schema):
    invoice: int
    number: str
    open_amount: MoneyOut = Field(description="Open when the agreement was made")


class AgreementOut(Schema):
    id: int
    object: Literal["instalment_agreement"] = "instalment_agreement"
    reference: str
    customer: int
    status: AgreementStatus = Field(
        description="active (dunning paused), completed (paid), broken (an instalment "
        "missed: dunning resumed), cancelled"
    )
    total: MoneyOut = Field(description="The covered invoices' open amount when agreed")
    currency: Literal["EUR"] = "EUR"
    grace_days: int = Field(description="Days after a due date until a missed instalment counts")
    note: str
    invoices: list[CoveredInvoiceOut]
    instalments: list[InstalmentOut]
    agreed_on: dt.date
    created_at: Timestamp
    created_by: str
    ended_on: dt.date | None
    ended_at: Timestamp | None
    ended_by: str
    end_reason: str


class AgreementList(_List):
    data: list[AgreementOut]


class ScheduleIn(InputSchema):
    due_date: dt.date
    amount: Amount


class AgreementIn(InputSchema):
    customer: int
    invoices: list[int] = Field(description="Open invoices of the customer", max_length=500)
    instalments: int | None = Field(
        None, ge=1, le=60, description="Monthly instalments from first_due_date (or schedule)"
    )
    first_due_date: dt.date | None = None
    schedule: list[ScheduleIn] | None = Field(
        None, max_length=60, description="Due dates and amounts; they add up to the open amount"
    )
    grace_days: int = Field(7, ge=0, le=60)
    note: str = Field("", max_length=500)


def _query() -> QuerySet[InstalmentAgreement]:
    return InstalmentAgreement.objects.prefetch_related("instalments", "items__invoice")


def _agreement(obj: InstalmentAgreement) -> AgreementOut:
    return AgreementOut(
        id=obj.pk,
        reference=obj.reference or "",
        customer=obj.customer_id,
        status=obj.status,  # type: ignore[arg-type]
        total=format_amount(obj.total),
        grace_days=obj.grace_days,
        note=obj.note,
        invoices=[
            CoveredInvoiceOut(
                invoice=item.invoice_id,
                number=item.invoice.number or "",
                open_amount=format_amount(item.open_amount),
            )
            for item in obj.items.all()
        ],
        instalments=[
            InstalmentOut(
                number=i.number,
                reference=i.reference,
                due_date=i.due_date,
                amount=format_amount(i.amount),
                paid_amount=format_amount(i.paid_amount),
                open_amount=format_amount(i.open_amount),
            )
            for i in sorted(obj.instalments.all(), key=lambda i: i.number)
        ],
        agreed_on=obj.agreed_on,
        created_at=presenters.timestamp(obj.created_at) or "",
        created_by=obj.created_by,
        ended_on=obj.ended_on,
        ended_at=presenters.timestamp(obj.ended_at),
        ended_by=obj.ended_by,
        end_reason=obj.end_reason,
    )


def _get(agreement_id: int) -> InstalmentAgreement:
    found = _query().filter(pk=agreement_id).first()
    if found is None:
        raise NotFound(
            f"Instalment agreement {agreement_id} does not exist.",
            code="instalment_agreement_not_found",
        )
    return found


@router.get("", response={200: AgreementList, **READ_ERRORS}, auth=read_auth)
def list_agreements(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    status: AgreementStatus | None = None,
) -> Any:
    """Instalment agreements in id order; filter by customer or status."""
    queryset = _query().order_by("pk")
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if status is not None:
        queryset = queryset.filter(status=status)
    return presenters.page(queryset, params, lambda rows: [_agreement(r) for r in rows])


@router.get("/{agreement_id}", response={200: AgreementOut, **READ_ERRORS}, auth=read_auth)
def get_agreement(request: HttpRequest, agreement_id: int) -> Any:
    """One agreement with its invoices and instalments (what each has received)."""
    return _agreement(_get(agreement_id))


@router.post("", response={201: AgreementOut, **ERRORS}, auth=write_auth)
def create_agreement(
    request: HttpRequest, payload: AgreementIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Agree instalments for open invoices of one customer: either ``instalments`` monthly
    from ``first_due_date`` (the last takes the rounding remainder) or an explicit
    ``schedule`` adding up to the open amount. Dunning pauses for these invoices."""
    actor = actor_of(request)

    def create() -> Any:
        agreement = services.create_instalment_agreement(
            customer_id=payload.customer,
            invoice_ids=payload.invoices,
            instalments=payload.instalments,
            first_due_date=payload.first_due_date,
            schedule=(
                None
                if payload.schedule is None
                else [(row.due_date, row.amount) for row in payload.schedule]
            ),
            grace_days=payload.grace_days,
            note=payload.note,
            actor=actor,
        )
        return _agreement(_get(agreement.pk))

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@router.post("/{agreement_id}/cancel", response={200: AgreementOut, **ERRORS}, auth=write_auth)
def cancel_agreement(request: HttpRequest, agreement_id: int, payload: CancelIn) -> Any:
    """End an active agreement (audited, with the reason): dunning resumes at the level
    each invoice had reached."""
    services.cancel_instalment_agreement(
        agreement_id=agreement_id, reason=payload.reason, actor=actor_of(request)
    )
    return _agreement(_get(agreement_id))
