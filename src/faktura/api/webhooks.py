"""/webhook-endpoints and /webhook-deliveries: where Faktura tells the customer's product
what happened, and the log of what was sent (docs/webhooks.md).

Endpoints are managed by admins (``webhook.manage``); the signing secret is in the answer
to ``POST /webhook-endpoints`` only. ``DELETE`` deactivates: the delivery log stays.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import InputSchema, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.core.errors import NotFound
from faktura.webhooks import services
from faktura.webhooks.models import WebhookDelivery, WebhookEndpoint

endpoints_router = Router(tags=["webhooks"])
deliveries_router = Router(tags=["webhooks"])
READ_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
}
ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}

DeliveryStatus = Literal["pending", "delivered", "failed"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


class EndpointOut(Schema):
    id: int
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created_at: Timestamp
    url: str
    events: list[str] = Field(description="Event types sent here; empty: every event")
    active: bool
    description: str
    created_by: str
    previous_secret_expires_at: Timestamp | None = Field(
        description="After a rotation: until then deliveries are signed with the old secret too"
    )


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(
        description="Signs every delivery (Faktura-Signature); shown only in this answer",
        examples=["whsec_…"],
    )


class EndpointList(_List):
    data: list[EndpointOut]


class EndpointIn(InputSchema):
    url: str = Field(max_length=500, examples=["https://app.example.com/faktura-webhooks"])
    events: list[str] = Field(
        default_factory=list,
        description="Event types to send; empty or absent: every event",
        examples=[["invoice.paid", "customer.access_changed"]],
    )
    description: str = Field("", max_length=200)


class RotateIn(InputSchema):
    keep_old_hours: int = Field(
        24,
        ge=0,
        le=168,
        description="How long the old secret still signs (a second v1); 0: ends it at once",
    )


class EndpointPatch(InputSchema):
    url: str | None = Field(None, max_length=500)
    events: list[str] | None = None
    active: bool | None = None
    description: str | None = Field(None, max_length=200)


class AttemptOut(Schema):
    attempted_at: Timestamp
    status_code: int | None = Field(description="The endpoint's HTTP status; none: no answer")
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: int
    object: Literal["webhook_delivery"] = "webhook_delivery"
    created_at: Timestamp
    endpoint: int
    event_id: str = Field(description="Faktura-Event-Id: the same for every attempt")
    event_type: str = Field(examples=["invoice.paid"])
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str
    delivered_at: Timestamp | None
    payload: dict[str, Any] = Field(description="The body sent: id, type, created, data")


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first")


class DeliveryList(_List):
    data: list[DeliveryOut]


def _endpoint(obj: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "created_at": presenters.timestamp(obj.created_at) or "",
        "url": obj.url,
        "events": list(obj.events or []),
        "active": obj.active,
        "description": obj.description,
        "created_by": obj.created_by,
        "previous_secret_expires_at": presenters.timestamp(obj.previous_secret_expires_at),
    }


def _delivery(obj: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "created_at": presenters.timestamp(obj.created_at) or "",
        "endpoint": obj.endpoint_id,
        "event_id": str(obj.event_id),
        "event_type": obj.event_type,
        "status": obj.status,
        "attempts": obj.attempts,
        "next_attempt_at": presenters.timestamp(obj.next_attempt_at),
        "last_attempt_at": presenters.timestamp(obj.last_attempt_at),
        "last_status_code": obj.last_status_code,
        "last_error": obj.last_error,
        "delivered_at": presenters.timestamp(obj.delivered_at),
        "payload": obj.payload,
    }


def _get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(
            f"Webhook endpoint {endpoint_id} does not exist.", code="webhook_endpoint_not_found"
        )
    return endpoint


def _delivery_detail(delivery_id: int) -> DeliveryDetailOut:
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(
            f"Webhook delivery {delivery_id} does not exist.", code="webhook_delivery_not_found"
        )
    attempts = [
        AttemptOut(
            attempted_at=presenters.timestamp(a.attempted_at) or "",
            status_code=a.status_code,
            error=a.error,
            duration_ms=a.duration_ms,
        )
        for a in delivery.attempt_log.order_by("pk")
    ]
    return DeliveryDetailOut(**_delivery(delivery), attempt_log=attempts)


# --- /webhook-endpoints --------------------------------------------------------------------


@endpoints_router.get("", response={200: EndpointList, **READ_ERRORS}, auth=read_auth)
def list_endpoints(request: HttpRequest, params: Query[Page], active: bool | None = None) -> Any:
    """The registered endpoints in id order (without their secrets)."""
    queryset = WebhookEndpoint.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    return presenters.page(queryset, params, lambda rows: [_endpoint(r) for r in rows])


@endpoints_router.post("", response={201: EndpointCreatedOut, **ERRORS}, auth=write_auth)
def create_endpoint(request: HttpRequest, payload: EndpointIn) -> Any:
    """Register an endpoint (admin). The answer holds the signing ``secret``, once: keep it.

    ``events``: invoice.finalized, invoice.paid, invoice.overdue, payment.received,
    payment.returned, dunning.notice_sent, customer.access_changed, subscription.created,
    subscription.updated, subscription.cancelled, subscription.ended (docs/webhooks.md).
    """
    endpoint, secret = services.create_endpoint(
        actor=actor_of(request),
        url=payload.url,
        events=payload.events,
        description=payload.description,
    )
    return Status(201, {**_endpoint(endpoint), "secret": secret})


@endpoints_router.get("/{endpoint_id}", response={200: EndpointOut, **READ_ERRORS}, auth=read_auth)
def get_endpoint(request: HttpRequest, endpoint_id: int) -> Any:
    return _endpoint(_get_endpoint(endpoint_id))


@endpoints_router.patch("/{endpoint_id}", response={200: EndpointOut, **ERRORS}, auth=write_auth)
def update_endpoint(request: HttpRequest, endpoint_id: int, payload: EndpointPatch) -> Any:
    """Change the fields sent (admin); ``active: false`` stops new deliveries."""
    endpoint = services.update_endpoint(
        actor=actor_of(request),
        endpoint_id=endpoint_id,
        url=payload.url,
        events=payload.events,
        active=payload.active,
        description=payload.description,
    )
    return _endpoint(endpoint)


@endpoints_router.post(
    "/{endpoint_id}/rotate-secret", response={200: EndpointCreatedOut, **ERRORS}, auth=write_auth
)
def rotate_secret(request: HttpRequest, endpoint_id: int, payload: RotateIn) -> Any:
    """A new signing secret (admin), in this answer only. For ``keep_old_hours`` every
    delivery carries a second ``v1`` signature made with the old secret, so the receiver
    can switch without rejecting a delivery."""
    endpoint, secret = services.rotate_secret(
        actor=actor_of(request), endpoint_id=endpoint_id, keep_old_hours=payload.keep_old_hours
    )
    return {**_endpoint(endpoint), "secret": secret}


@endpoints_router.delete("/{endpoint_id}", response={200: EndpointOut, **ERRORS}, auth=write_auth)
def deactivate_endpoint(request: HttpRequest, endpoint_id: int) -> Any:
    """Deactivate the endpoint (admin): no new deliveries; its delivery log stays."""
    endpoint = services.update_endpoint(
        actor=actor_of(request), endpoint_id=endpoint_id, active=False
    )
    return _endpoint(endpoint)


# --- /webhook-deliveries -------------------------------------------------------------------


@deliveries_router.get("", response={200: DeliveryList, **READ_ERRORS}, auth=read_auth)
def list_deliveries(
    request: HttpRequest,
    params: Query[Page],
    endpoint: int | None = None,
    status: DeliveryStatus | None = None,
    type: str | None = None,
) -> Any:
    """Deliveries in id order; filter by endpoint, status or event type."""
    queryset = WebhookDelivery.objects.all()
    if endpoint is not None:
        queryset = queryset.filter(endpoint_id=endpoint)
    if status is not None:
        queryset = queryset.filter(status=status)
    if type is not None:
        queryset = queryset.filter(event_type=type)
    return presenters.page(queryset, params, lambda rows: [_delivery(r) for r in rows])


@deliveries_router.get(
    "/{delivery_id}", response={200: DeliveryDetailOut, **READ_ERRORS}, auth=read_auth
)
def get_delivery(request: HttpRequest, delivery_id: int) -> Any:
    """One delivery with every attempt (status code, error, duration)."""
    return _delivery_detail(delivery_id)


@deliveries_router.post(
    "/{delivery_id}/redeliver", response={202: DeliveryDetailOut, **ERRORS}, auth=write_auth
)
def redeliver(request: HttpRequest, delivery_id: int) -> Any:
    """Send it again now (admin), with the same event id and body; 409 while being sent."""
    services.redeliver(delivery_id=delivery_id, actor=actor_of(request))
    return Status(202, _delivery_detail(delivery_id))
