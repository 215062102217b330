"""/customers/{id}/legal-hold: the customer's Aufbewahrungssperre (retention hold).

While a hold is active, `faktura purge-expired` deletes none of the customer's archived
documents. Setting and clearing are one service call each (``faktura.reporting.services``,
operation ``retention.legal_hold``), audited with the reason.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import InputSchema, Timestamp
from faktura.api.schemas import ErrorOut
from faktura.core.errors import NotFound
from faktura.customers.models import Customer
from faktura.reporting import services
from faktura.reporting.models import LegalHold

router = Router(tags=["retention"])
READ_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}


class HoldOut(Schema):
    id: int
    reason: str
    set_at: Timestamp
    set_by: str
    cleared_at: Timestamp | None
    cleared_by: str
    clear_reason: str


class LegalHoldOut(Schema):
    active: bool = Field(description="True: nothing of the customer is purged")
    hold: HoldOut | None = Field(description="The active hold, else the last one")


class ReasonIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)


def present(customer_id: int) -> LegalHoldOut:
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"Customer {customer_id} does not exist.", code="customer_not_found")
    hold = LegalHold.objects.filter(customer_id=customer_id).order_by("-pk").first()
    return LegalHoldOut(
        active=hold is not None and hold.active,
        hold=None
        if hold is None
        else HoldOut(
            id=hold.pk,
            reason=hold.reason,
            set_at=presenters.timestamp(hold.set_at) or "",
            set_by=hold.set_by,
            cleared_at=presenters.timestamp(hold.cleared_at),
            cleared_by=hold.cleared_by,
            clear_reason=hold.clear_reason,
        ),
    )


@router.get(
    "/{customer_id}/legal-hold", response={200: LegalHoldOut, **READ_ERRORS}, auth=read_auth
)
def get_legal_hold(request: HttpRequest, customer_id: int) -> Any:
    """Whether the customer's archived documents are under a legal hold."""
    return present(customer_id)


@router.post("/{customer_id}/legal-hold", response={201: LegalHoldOut, **ERRORS}, auth=write_auth)
def set_legal_hold(request: HttpRequest, customer_id: int, payload: ReasonIn) -> Any:
    """Set the hold; 409 legal_hold_active when one is active already."""
    services.set_legal_hold(customer_id=customer_id, reason=payload.reason, actor=actor_of(request))
    return Status(201, present(customer_id))


@router.post(
    "/{customer_id}/legal-hold/clear", response={200: LegalHoldOut, **ERRORS}, auth=write_auth
)
def clear_legal_hold(request: HttpRequest, customer_id: int, payload: ReasonIn) -> Any:
    """Clear the active hold; 409 no_legal_hold when there is none."""
    services.clear_legal_hold(
        customer_id=customer_id, reason=payload.reason, actor=actor_of(request)
    )
    return present(customer_id)
