"""/customers/{id}/access and /access-blocks: whom the customer's product lets in.

``GET /customers/{id}/access`` answers with the derived status, every active reason, the
override that wins (if any) and, per subscription, the day it is paid through (a paid
yearly plan stays usable while the customer is blocked). The writing routes are one
service call each (``faktura.access.services``, operation ``access.manage``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from faktura.access import selectors, services
from faktura.access.models import AccessBlock
from faktura.api import presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import InputSchema, Timestamp
from faktura.api.schemas import ErrorOut
from faktura.core.errors import NotFound
from faktura.customers.models import Customer
from faktura.subscriptions.models import Subscription

customers_router = Router(tags=["access"])
blocks_router = Router(tags=["access"])
READ_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

AccessStatus = Literal["active", "restricted", "blocked"]
Reason = Literal["dunning_level", "returned_debit", "chargeback", "collection", "manual"]
Effect = Literal["restrict", "block"]


class ReasonOut(Schema):
    block: int = Field(description="The access block (lift it with /access-blocks/{id}/lift)")
    reason: Reason
    level: int | None = Field(description="The dunning level, for reason dunning_level")
    effect: Effect
    since: Timestamp
    by: str
    why: str
    invoices: list[str] = Field(description="Numbers of the claims; paid, the reason ends")


class OverrideOut(Schema):
    id: int
    until: dt.date | None = Field(description="Inclusive; null: until revoked")
    why: str
    by: str
    created_at: Timestamp


class SubscriptionAccessOut(Schema):
    id: int
    plan: str | None = Field(description="The plan's code")
    status: str
    paid_through: dt.date | None = Field(
        description="Last day of the periods billed and paid without a gap: usable until then"
    )


class AccessOut(Schema):
    object: Literal["access"] = "access"
    customer: int
    status: AccessStatus = Field(
        description="blocked if any active reason blocks, restricted if one restricts, "
        "else active; an active override makes it active"
    )
    reasons: list[ReasonOut]
    override: OverrideOut | None
    subscriptions: list[SubscriptionAccessOut]


class BlockIn(InputSchema):
    effect: Effect = "block"
    why: str = Field(min_length=1, max_length=500)
    invoices: list[int] = Field(
        default_factory=list, description="Invoice ids; when all are paid the block ends"
    )


class OverrideIn(InputSchema):
    until: dt.date | None = Field(None, description="Inclusive; omitted: until revoked")
    why: str = Field(min_length=1, max_length=500)


class LiftIn(InputSchema):
    why: str = Field(min_length=1, max_length=500)


def _customer(customer_id: int) -> None:
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"Customer {customer_id} does not exist.")


def present(customer_id: int) -> AccessOut:
    _customer(customer_id)
    override = selectors.active_override(customer_id)
    subscriptions = Subscription.objects.filter(customer_id=customer_id).select_related("plan")
    return AccessOut(
        customer=customer_id,
        status=selectors.status(customer_id),  # type: ignore[arg-type]
        reasons=[
            ReasonOut(
                block=r["block"],
                reason=r["reason"],
                level=r["level"],
                effect=r["effect"],
                since=presenters.timestamp(r["since"]) or "",
                by=r["by"],
                why=r["why"],
                invoices=r["invoices"],
            )
            for r in selectors.reasons(customer_id)
        ],
        override=OverrideOut(
            id=override.pk,
            until=override.until,
            why=override.why,
            by=override.created_by,
            created_at=presenters.timestamp(override.created_at) or "",
        )
        if override is not None
        else None,
        subscriptions=[
            SubscriptionAccessOut(
                id=s.pk,
                plan=s.plan.code if s.plan else None,
                status=s.status,
                paid_through=selectors.paid_through(s),
            )
            for s in subscriptions.order_by("pk")
        ],
    )


@customers_router.get(
    "/{customer_id}/access", response={200: AccessOut, **READ_ERRORS}, auth=read_auth
)
def get_access(request: HttpRequest, customer_id: int) -> Any:
    """The customer's access status, its reasons, the override, and what is paid for."""
    return present(customer_id)


@customers_router.post(
    "/{customer_id}/access/blocks", response={201: AccessOut, **ERRORS}, auth=write_auth
)
def block_customer(request: HttpRequest, customer_id: int, payload: BlockIn) -> Any:
    """Block or restrict by hand (reason manual); the same block twice is one block."""
    _customer(customer_id)
    services.block(
        customer_id=customer_id,
        reason=AccessBlock.Reason.MANUAL,
        effect=payload.effect,
        invoice_ids=payload.invoices,
        why=payload.why,
        actor=actor_of(request),
    )
    return Status(201, present(customer_id))


@customers_router.post(
    "/{customer_id}/access/override", response={201: AccessOut, **ERRORS}, auth=write_auth
)
def override_access(request: HttpRequest, customer_id: int, payload: OverrideIn) -> Any:
    """Let the customer in despite its blocks, until a date or until revoked (audited)."""
    _customer(customer_id)
    services.override(
        customer_id=customer_id, until=payload.until, why=payload.why, actor=actor_of(request)
    )
    return Status(201, present(customer_id))


@blocks_router.post("/{block_id}/lift", response={200: AccessOut, **ERRORS}, auth=write_auth)
def lift_block(request: HttpRequest, block_id: int, payload: LiftIn) -> Any:
    """End a block by hand; 409 access_block_ended when it has ended already."""
    row = services.lift(block_id=block_id, actor=actor_of(request), why=payload.why)
    return present(row.customer_id)
