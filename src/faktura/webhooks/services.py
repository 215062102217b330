"""Outgoing webhooks: endpoints, the outbox of deliveries, sending, retries, redelivery.

``emit`` runs inside the transaction of the service whose change it reports: the delivery
rows and the task that sends them are written with that change, so nothing leaves before
the commit and nothing decided is lost on a crash (the ``webhook-sweep`` job queues what
no task will send). Sending runs after the commit and outside any transaction: it claims
the row, POSTs the signed body, then records the attempt. A failed attempt is retried
after 1 min, 5 min, 30 min, 2 h, 6 h, 12 h and 48 h; after the eighth it is "failed".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django_tasks_db.models import DBTaskResult, get_date_max

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.money import format_amount
from faktura.core.text import check_text
from faktura.webhooks.events import EVENT_TYPES
from faktura.webhooks.models import (
    BACKOFF_MINUTES,
    MAX_ATTEMPTS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from faktura.workers.lease import current_worker_id

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
OPERATION = "webhook.manage"
SECRET_MARKER = "whsec_"  # noqa: S105 (a marker, not a secret)
TIMEOUT_SECONDS = 10
# A claim older than this was lost with its sender (no request lasts that long).
STALE_CLAIM = dt.timedelta(minutes=5)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
USER_AGENT = "Faktura-Webhooks/1"
SEND_BATCH = 100  # deliveries per send task queued by ``resume_deliveries``


# --- endpoints ---------------------------------------------------------------------------


def _url(value: str) -> str:
    url = (value or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput(
            "url: not a valid http(s) URL.", code="invalid_webhook_url", field="url"
        ) from None
    parts = urlsplit(url)
    if parts.scheme == "http" and not (
        (parts.hostname or "") in LOCAL_HOSTS and settings.FAKTURA_WEBHOOKS_ALLOW_HTTP
    ):
        raise InvalidInput(
            "url: webhooks are sent over https only (http only to localhost, when "
            "FAKTURA_WEBHOOKS_ALLOW_HTTP is set).",
            code="invalid_webhook_url",
            field="url",
        )
    if parts.username or parts.password:
        raise InvalidInput(
            "url: no credentials in the URL; verify the signature instead.",
            code="invalid_webhook_url",
            field="url",
        )
    return url


def _events(values: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(values))
    unknown = [value for value in wanted if value not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"events: unknown event type(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(EVENT_TYPES)}.",
            code="invalid_event_type",
            field="events",
        )
    return wanted


def _description(value: str) -> str:
    text = (value or "").strip()
    if len(text) > 200:
        raise InvalidInput(
            "description: at most 200 characters.", code="invalid_description", field="description"
        )
    check_text(text, field="description")
    return text


def _audit(actor: Actor, action: str, object_type: str, object_id: int, **data: object) -> None:
    audit.record(
        chain=audit.COMPANY_CHAIN,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data,
    )


def create_endpoint(
    *, actor: Actor, url: str, events: Iterable[str] = (), description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; return it with its signing secret (show it to the user once).

    ``events`` empty: every event type. Raises InvalidInput invalid_webhook_url,
    invalid_event_type, invalid_description; PermissionRefused (admins only).
    """
    permissions.require(actor, OPERATION)
    endpoint = WebhookEndpoint(
        url=_url(url),
        events=_events(events),
        description=_description(description),
        secret=SECRET_MARKER + secrets.token_urlsafe(32),
        created_at=clock.now(),
        created_by=actor.label,
    )
    with transaction.atomic():
        endpoint.save()
        _audit(
            actor,
            "webhook_endpoint.created",
            "webhook_endpoint",
            endpoint.pk,
            url=endpoint.url,
            events=endpoint.events,
        )
    return endpoint, endpoint.secret


MAX_OVERLAP_HOURS = 7 * 24


def rotate_secret(
    *, actor: Actor, endpoint_id: int, keep_old_hours: int = 24
) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new signing secret; return it (show it to the user once).

    For ``keep_old_hours`` (0 … 168) deliveries carry a second signature with the old
    secret, so the receiver can deploy the new one without rejecting anything; 0 ends the
    old secret at once (it leaked). Raises InvalidInput invalid_overlap, NotFound.
    """
    permissions.require(actor, OPERATION)
    if (
        isinstance(keep_old_hours, bool)
        or not isinstance(keep_old_hours, int)
        or not 0 <= keep_old_hours <= MAX_OVERLAP_HOURS
    ):
        raise InvalidInput(
            f"keep_old_hours: a whole number from 0 to {MAX_OVERLAP_HOURS}.",
            code="invalid_overlap",
            field="keep_old_hours",
        )
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound(
                f"Webhook endpoint {endpoint_id} does not exist.",
                code="webhook_endpoint_not_found",
            )
        now = clock.now()
        endpoint.previous_secret = endpoint.secret if keep_old_hours else ""
        endpoint.previous_secret_expires_at = (
            now + dt.timedelta(hours=keep_old_hours) if keep_old_hours else None
        )
        endpoint.secret = SECRET_MARKER + secrets.token_urlsafe(32)
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        _audit(
            actor,
            "webhook_endpoint.secret_rotated",
            "webhook_endpoint",
            endpoint.pk,
            old_secret_valid_until=(
                endpoint.previous_secret_expires_at.isoformat()
                if endpoint.previous_secret_expires_at
                else None
            ),
        )
    return endpoint, endpoint.secret


def update_endpoint(
    *,
    actor: Actor,
    endpoint_id: int,
    url: str | None = None,
    events: Sequence[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    """Change the fields given; pending deliveries go to the new URL. An inactive endpoint
    gets no new deliveries (those pending are still sent)."""
    permissions.require(actor, OPERATION)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound(
                f"Webhook endpoint {endpoint_id} does not exist.",
                code="webhook_endpoint_not_found",
            )
        changes: dict[str, object] = {}
        if url is not None:
            changes["url"] = _url(url)
        if events is not None:
            changes["events"] = _events(events)
        if active is not None:
            changes["active"] = bool(active)
        if description is not None:
            changes["description"] = _description(description)
        changed = {k: v for k, v in changes.items() if getattr(endpoint, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(endpoint, name, value)
            endpoint.save(update_fields=list(changed))
            _audit(actor, "webhook_endpoint.changed", "webhook_endpoint", endpoint.pk, **changed)
    return endpoint


# --- emitting ----------------------------------------------------------------------------


def has_active_endpoints() -> bool:
    return WebhookEndpoint.objects.filter(active=True).exists()


def _json(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as JSON values: dates ISO, Decimals as strings (money strings, as the API)."""
    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


def emit(event_type: str, data: dict[str, Any], *, actor: Actor) -> list[WebhookDelivery]:
    """Write one event's deliveries (one per active endpoint that wants it) and one task
    that sends them, inside the caller's transaction. Returns the deliveries."""
    return emit_many([(event_type, data)], actor=actor)


def emit_many(
    events: Sequence[tuple[str, dict[str, Any]]], *, actor: Actor
) -> list[WebhookDelivery]:
    """``emit`` for many events at once: one insert and one send task in all.

    Each event gets its own id. With no active endpoint: one query, nothing written.
    """
    assert transaction.get_connection().in_atomic_block, "emit runs in the caller's transaction"
    if not events:
        return []
    for event_type, _data in events:
        if event_type not in EVENT_TYPES:
            raise KeyError(f"unregistered webhook event type {event_type!r}")
    endpoints = list(WebhookEndpoint.objects.filter(active=True).only("pk", "events"))
    if not endpoints:
        return []
    now = clock.now()
    created = now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    rows: list[WebhookDelivery] = []
    for event_type, data in events:
        wanting = [endpoint for endpoint in endpoints if endpoint.wants(event_type)]
        if not wanting:
            continue
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), "type": event_type, "created": created, "data": _json(data)}
        rows.extend(
            WebhookDelivery(
                endpoint_id=endpoint.pk,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                created_at=now,
                created_by=actor.label,
            )
            for endpoint in wanting
        )
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows)
    from faktura.webhooks.tasks import send_webhook_deliveries

    send_webhook_deliveries.enqueue([row.pk for row in rows])
    return rows


# What the events tell: ids and numbers the customer's product can match, money as strings.


def invoice_data(invoice: Any) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "object": invoice.kind,
        "number": invoice.number,
        "customer": invoice.customer_id,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "total": format_amount(invoice.grand_total),
        "currency": invoice.currency,
    }


def payment_data(payment: Any) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "object": "payment",
        "customer": payment.customer_id,
        "amount": format_amount(payment.amount),
        "currency": payment.currency,
        "date": payment.date,
        "method": payment.method,
        "source": payment.source,
        "reference": payment.reference,
    }


def subscription_data(subscription: Any) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "object": "subscription",
        "customer": subscription.customer_id,
        "plan": subscription.plan_id,
        "course": subscription.course_id,
        "status": subscription.status,
        "quantity": format_amount(subscription.quantity),
        "starts_on": subscription.starts_on,
        "trial_ends_on": subscription.trial_ends_on,
        "ends_on": subscription.ends_on,
        "external_reference": subscription.external_reference,
    }


def emit_paid(invoices: Iterable[Any], open_before: dict[int, Any], *, actor: Actor) -> None:
    """``invoice.paid`` for each of ``invoices`` that had something open before and has
    nothing open now (so once per invoice becoming paid). Inside the booking transaction."""
    from faktura.payments import selectors

    candidates = [invoice for invoice in invoices if open_before.get(invoice.pk, 0) > 0]
    if not candidates or not has_active_endpoints():
        return
    open_now = selectors.open_amounts([invoice.pk for invoice in candidates])
    emit_many(
        [
            ("invoice.paid", {**invoice_data(invoice), "paid_at": clock.now()})
            for invoice in candidates
            if open_now[invoice.pk] <= 0
        ],
        actor=actor,
    )


# --- sending -----------------------------------------------------------------------------


def body_of(delivery: WebhookDelivery) -> bytes:
    """The bytes sent: the same for every attempt (keys sorted, whatever the database kept)."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()


def signature_header(body: bytes, secret: str | Sequence[str], timestamp: int) -> str:
    """``t=<timestamp>,v1=<HMAC>``, with one ``v1`` per secret (two while rotating)."""
    signed = str(timestamp).encode() + b"." + body
    keys = [secret] if isinstance(secret, str) else list(secret)
    digests = [hmac.new(key.encode(), signed, hashlib.sha256).hexdigest() for key in keys]
    return ",".join([f"t={timestamp}", *(f"v1={digest}" for digest in digests)])


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = clock.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Status.PENDING or delivery.claimed_at:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None
        delivery.claimed_at = now
        # Named, so that the claim is released as soon as this worker is found dead.
        delivery.claimed_by = current_worker_id()
        delivery.save(update_fields=["claimed_at", "claimed_by"])
    return delivery


def send_delivery(delivery_id: int) -> WebhookDelivery | None:
    """Send one pending delivery that is due; record the attempt and its outcome.

    Does nothing (returns None) for a delivery that is delivered, failed, claimed by
    another sender, or not due yet (its retry task or the sweep comes back for it).
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    body = body_of(delivery)
    now = clock.now()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Faktura-Event-Id": str(delivery.event_id),
        "Faktura-Event-Type": delivery.event_type,
        "Faktura-Signature": signature_header(body, endpoint.signing_secrets(now), timestamp),
    }
    status_code: int | None = None
    error = ""
    started = time.monotonic()
    try:
        response = requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:500]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
    duration_ms = int((time.monotonic() - started) * 1000)
    if error:
        logger.warning("webhook delivery %s not delivered: %s", delivery_id, error)
    return _record_attempt(delivery_id, status_code=status_code, error=error, duration=duration_ms)


def _record_attempt(
    delivery_id: int, *, status_code: int | None, error: str, duration: int
) -> WebhookDelivery:
    from faktura.webhooks.tasks import send_webhook_delivery

    now = clock.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration,
        )
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.last_attempt_at = now
        delivery.claimed_at = None
        delivery.claimed_by = ""
        if not error:
            delivery.status = Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
        else:
            delay = BACKOFF_MINUTES[delivery.attempts - 1]
            delivery.next_attempt_at = now + dt.timedelta(minutes=delay)
        delivery.save()
        if delivery.next_attempt_at is not None:
            task = send_webhook_delivery
            if task.get_backend().supports_defer:
                task.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)
            # Without deferred tasks the webhook-sweep job queues the retry when due.
    return delivery


def send_deliveries(delivery_ids: list[int]) -> None:
    """Send each delivery on its own; an unexpected error in one does not keep the others
    from being sent and is raised after the last one (the sweep releases its claim)."""
    error: Exception | None = None
    for delivery_id in delivery_ids:
        try:
            send_delivery(delivery_id)
        except Exception as exc:
            logger.exception("webhook delivery %s: sending failed unexpectedly", delivery_id)
            error = error or exc
    if error is not None:
        raise error


def release_stale_claims(*, older_than: dt.timedelta = STALE_CLAIM) -> int:
    """Give back the deliveries whose sender died mid-send (worker killed, lease expired,
    or a claim older than any request lasts). A delivery that did arrive before the crash
    is sent again with the same ``Faktura-Event-Id``: receivers deduplicate by it."""
    from faktura.workers.lease import dead_worker_ids

    lost = Q(claimed_at__lt=clock.now() - older_than)
    dead = dead_worker_ids()
    if dead:
        lost |= Q(claimed_by__in=dead)
    with transaction.atomic():
        return (
            WebhookDelivery.objects.filter(status=Status.PENDING, claimed_at__isnull=False)
            .filter(lost)
            .update(claimed_at=None, claimed_by="")
        )


def due_delivery_ids() -> list[int]:
    return list(
        WebhookDelivery.objects.filter(status=Status.PENDING, claimed_at__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=clock.now()))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def resume_deliveries() -> dict[str, int]:
    """Release the deliveries of dead senders and queue a send task for every due delivery
    that no waiting or running task will send (the ``webhook-sweep`` job). Idempotent."""
    from faktura.webhooks.tasks import send_webhook_deliveries, send_webhook_delivery

    released = release_stale_claims()
    due = due_delivery_ids()
    if not due:
        return {"released": released, "queued": 0}
    covered: set[int] = set()
    paths = {send_webhook_delivery.module_path, send_webhook_deliveries.module_path}
    # A deferred retry task that is not due yet would leave a due delivery waiting.
    now = clock.now()
    for args in (
        DBTaskResult.objects.filter(status__in=["READY", "RUNNING"], task_path__in=paths)
        .filter(Q(run_after=get_date_max()) | Q(run_after__lte=now))
        .values_list("args_kwargs", flat=True)
    ):
        for arg in args.get("args", []):
            covered.update(arg if isinstance(arg, list) else [arg])
    missing = [pk for pk in due if pk not in covered]
    for start in range(0, len(missing), SEND_BATCH):
        send_webhook_deliveries.enqueue(missing[start : start + SEND_BATCH])
    return {"released": released, "queued": len(missing)}


def redeliver(*, delivery_id: int, actor: Actor) -> WebhookDelivery:
    """Send a delivery again now, whatever its status (the receiver lost it, or was down
    until the retries were spent). Same event id and body; one more attempt is logged.
    Raises NotFound webhook_delivery_not_found, StateConflict webhook_delivery_in_progress.
    """
    from faktura.webhooks.tasks import send_webhook_delivery

    permissions.require(actor, OPERATION)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(
                f"Webhook delivery {delivery_id} does not exist.",
                code="webhook_delivery_not_found",
            )
        if delivery.claimed_at is not None:
            raise StateConflict(
                f"Webhook delivery {delivery_id} is being sent right now.",
                code="webhook_delivery_in_progress",
            )
        before = delivery.status
        delivery.status = Status.PENDING
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "next_attempt_at"])
        _audit(
            actor,
            "webhook_delivery.redelivered",
            "webhook_delivery",
            delivery.pk,
            event_id=str(delivery.event_id),
            event_type=delivery.event_type,
            status_before=before,
        )
        send_webhook_delivery.enqueue(delivery.pk)
    return delivery


def emit_access_changed(
    customer_id: int, old_status: str, new_status: str, reasons: list[dict[str, Any]]
) -> None:
    """``customer.access_changed``: the customer's product lets the customer in or not."""
    from faktura.customers.models import Customer

    number = Customer.objects.filter(pk=customer_id).values_list("number", flat=True).first()
    emit(
        "customer.access_changed",
        {
            "customer_id": customer_id,
            "customer_number": number,
            "previous_status": old_status,
            "status": new_status,
            "reasons": [
                {
                    "reason": reason.get("reason"),
                    "effect": reason.get("effect"),
                    "level": reason.get("level"),
                    "since": reason.get("since"),
                    "invoices": reason.get("invoices", []),
                }
                for reason in reasons
            ],
        },
        actor=Actor.system("access"),
    )
