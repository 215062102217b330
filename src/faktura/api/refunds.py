"""/refunds: customer credit paid back by transfer (read-only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import read_auth
from faktura.api.fields import MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.payments.models import Refund

router = Router(tags=["refunds"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}

RefundStatus = Literal["requested", "approved", "rejected", "batched", "paid"]


class RefundOut(Schema):
    id: int
    object: Literal["refund"] = "refund"
    created_at: Timestamp = Field(description="When the refund was requested")
    status: RefundStatus = Field(
        description="requested → approved (second person) → batched (in a pain.001 file) → "
        "paid (file released); or rejected. Every status but rejected holds the money: it "
        "is no longer the customer's credit."
    )
    customer: int
    amount: MoneyOut
    currency: str = "EUR"
    account_holder: str
    iban: str
    bic: str
    reason: str
    end_to_end_id: str = Field(examples=["ERSTATTUNG-7"])
    batch: int | None = Field(description="The refund file (pain.001) it is paid with")
    batch_status: Literal["created", "released", "discarded"] | None
    execution_date: dt.date | None = Field(description="The file's execution date")
    requested_by: str
    approved_by: str
    approved_at: Timestamp | None
    rejected_by: str
    rejection_reason: str


class RefundList(Schema):
    object: Literal["list"] = "list"
    data: list[RefundOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


def _refunds() -> QuerySet[Refund]:
    return Refund.objects.select_related("batch").defer("batch__xml")


def _refund(obj: Refund) -> RefundOut:
    batch = obj.batch
    return RefundOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.requested_at) or "",
        status=obj.status,  # type: ignore[arg-type]
        customer=obj.customer_id,
        amount=format_amount(obj.amount),
        account_holder=obj.account_holder,
        iban=obj.iban,
        bic=obj.bic,
        reason=obj.reason,
        end_to_end_id=obj.end_to_end_id,
        batch=obj.batch_id,
        batch_status=batch.status if batch else None,  # type: ignore[arg-type]
        execution_date=batch.execution_date if batch else None,
        requested_by=obj.requested_by,
        approved_by=obj.approved_by,
        approved_at=presenters.timestamp(obj.approved_at),
        rejected_by=obj.rejected_by,
        rejection_reason=obj.rejection_reason,
    )


def _refund_list(rows: Iterable[Refund]) -> list[RefundOut]:
    return [_refund(row) for row in rows]


@router.get("", response={200: RefundList, **READ_ERRORS}, auth=read_auth)
def list_refunds(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    status: RefundStatus | None = None,
    batch: int | None = None,
) -> Any:
    """Refunds of customer credit in id order; ``status=requested``: waiting for approval."""
    queryset = _refunds()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if status is not None:
        queryset = queryset.filter(status=status)
    if batch is not None:
        queryset = queryset.filter(batch_id=batch)
    return presenters.page(queryset, params, _refund_list)


@router.get("/{refund_id}", response={200: RefundOut, **READ_ERRORS}, auth=read_auth)
def get_refund(request: HttpRequest, refund_id: int) -> Any:
    refund = _refunds().filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    return _refund(refund)
