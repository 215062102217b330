"""Outgoing webhooks: a real receiver on localhost gets signed deliveries; a failing one
gets retries on the documented schedule; redelivery; the outbox holds across rollbacks
and crashes; real finalizations and bookings arrive with their figures."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, PermissionRefused
from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.payments import services as payments
from faktura.scheduling import jobs
from faktura.webhooks import services
from faktura.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from faktura.webhooks.verify import verify_signature
from faktura.workers.models import WorkerHeartbeat
from tests.conftest import TODAY
from tests.invoicing.helpers import line, order
from tests.webhooks.conftest import due_webhook_tasks, run_webhook_tasks

pytestmark = pytest.mark.django_db

NOW = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
SYS = Actor.system("test")


def _emit(event_type: str = "invoice.paid", data: dict | None = None) -> list[WebhookDelivery]:
    with transaction.atomic():
        return services.emit(event_type, data or {"id": 7, "number": "RE-2026-0007"}, actor=SYS)


def _signature_time(header: str) -> int:
    return int(dict(part.split("=", 1) for part in header.split(","))["t"])


def test_a_delivery_reaches_a_real_receiver_and_its_signature_verifies(receiver, admin):
    endpoint, secret = services.create_endpoint(actor=admin, url=receiver.url)
    assert secret.startswith("whsec_")
    [delivery] = _emit("invoice.paid", {"id": 7, "number": "RE-2026-0007", "total": "119.00"})
    assert receiver.requests == []  # nothing leaves before a worker sends it

    assert run_webhook_tasks() == 1
    [request] = receiver.requests
    assert request.path == "/hooks"
    body = json.loads(request.body)
    assert body == {
        "id": str(delivery.event_id),
        "type": "invoice.paid",
        "created": "2026-11-16T09:00:00Z",
        "data": {"id": 7, "number": "RE-2026-0007", "total": "119.00"},
    }
    assert request.headers["Faktura-Event-Id"] == str(delivery.event_id)
    assert request.headers["Faktura-Event-Type"] == "invoice.paid"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Faktura-Webhooks/")
    header = request.headers["Faktura-Signature"]
    sent_at = NOW.timestamp()
    assert _signature_time(header) == int(sent_at)

    assert verify_signature(request.body, header, secret, now=sent_at)
    assert verify_signature(request.body, header, secret, now=sent_at + 299)
    # a replay six minutes later, a changed body, a forged or foreign signature: refused
    assert not verify_signature(request.body, header, secret, now=sent_at + 301)
    assert not verify_signature(
        request.body.replace(b"119.00", b"1.00"), header, secret, now=sent_at
    )
    forged = header[:-4] + ("0000" if not header.endswith("0000") else "1111")
    assert not verify_signature(request.body, forged, secret, now=sent_at)
    assert not verify_signature(request.body, header, "whsec_other", now=sent_at)
    assert not verify_signature(request.body, "garbage", secret, now=sent_at)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at == NOW
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (200, "")
    assert run_webhook_tasks() == 0  # sent once
    assert len(receiver.requests) == 1
    assert endpoint.secret == secret


def test_a_failing_receiver_gets_retries_with_backoff_then_the_delivery_fails(receiver, admin):
    receiver.status = 500
    services.create_endpoint(actor=admin, url=receiver.url)
    [delivery] = _emit()
    expected = [0, 1, 6, 36, 156, 516, 1236, 4116]  # minutes after the first attempt
    for minutes in expected:
        at = NOW + minutes * MINUTE
        with clock.frozen(at - dt.timedelta(seconds=1)):
            if minutes:
                run_webhook_tasks()  # one second early: not due yet
        assert len(receiver.requests) == expected.index(minutes)
        with clock.frozen(at):
            run_webhook_tasks()
        assert len(receiver.requests) == expected.index(minutes) + 1
    times = [_signature_time(r.headers["Faktura-Signature"]) for r in receiver.requests]
    assert times == [int((NOW + m * MINUTE).timestamp()) for m in expected]
    assert len({r.headers["Faktura-Event-Id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1  # every attempt the same bytes

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert delivery.last_status_code == 500
    assert delivery.last_error.startswith("HTTP 500")
    assert [a.status_code for a in WebhookAttempt.objects.filter(delivery=delivery)] == [500] * 8
    with clock.frozen(NOW + dt.timedelta(days=30)):
        assert run_webhook_tasks() == 0
        assert jobs.sweep_webhooks(None) == {"released": 0, "queued": 0}  # type: ignore[arg-type]
    assert len(receiver.requests) == 8


def test_an_unreachable_endpoint_is_retried_too(receiver, admin):
    endpoint, _secret = services.create_endpoint(actor=admin, url=receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/nothing")
    [delivery] = _emit()
    run_webhook_tasks()
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("ConnectionError")
    assert delivery.next_attempt_at == NOW + MINUTE


def test_redelivery_by_hand_sends_the_same_event_again(receiver, admin, actor):
    receiver.status = 503
    _endpoint, secret = services.create_endpoint(actor=admin, url=receiver.url)
    [delivery] = _emit()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8)
    with pytest.raises(PermissionRefused):
        services.redeliver(delivery_id=delivery.pk, actor=actor)  # an accountant

    receiver.status = 204
    services.redeliver(delivery_id=delivery.pk, actor=admin)
    run_webhook_tasks()
    [request] = receiver.requests
    assert request.headers["Faktura-Event-Id"] == str(delivery.event_id)
    assert verify_signature(
        request.body, request.headers["Faktura-Signature"], secret, now=NOW.timestamp()
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 9, 204)
    entry = AuditEntry.objects.get(action="webhook_delivery.redelivered")
    assert entry.data["status_before"] == "failed"
    assert entry.actor == "user:admin"


def test_an_event_of_a_rolled_back_transaction_is_never_sent(receiver, admin):
    services.create_endpoint(actor=admin, url=receiver.url)

    class Refused(Exception):
        pass

    written = []

    def booking_that_fails() -> None:
        with transaction.atomic():
            services.emit("invoice.paid", {"id": 1}, actor=SYS)
            written.append(WebhookDelivery.objects.count())
            raise Refused

    with pytest.raises(Refused):
        booking_that_fails()
    assert written == [1]
    assert WebhookDelivery.objects.count() == 0
    assert due_webhook_tasks() == []
    assert run_webhook_tasks() == 0
    assert receiver.requests == []


def test_one_event_one_id_one_delivery_per_wanting_active_endpoint(receiver, admin):
    everything, _ = services.create_endpoint(actor=admin, url=receiver.url)
    paid_only, _ = services.create_endpoint(
        actor=admin, url=receiver.url + "/paid", events=["invoice.paid"]
    )
    off, _ = services.create_endpoint(actor=admin, url=receiver.url + "/off")
    services.update_endpoint(actor=admin, endpoint_id=off.pk, active=False)

    deliveries = _emit("invoice.paid")
    assert sorted(d.endpoint_id for d in deliveries) == [everything.pk, paid_only.pk]
    assert len({d.event_id for d in deliveries}) == 1
    assert [d.endpoint_id for d in _emit("payment.received")] == [everything.pk]
    run_webhook_tasks()
    assert sorted(r.path for r in receiver.requests) == ["/hooks", "/hooks", "/hooks/paid"]


def test_endpoint_urls_and_event_types_are_checked(settings, admin):
    settings.FAKTURA_WEBHOOKS_ALLOW_HTTP = False
    for url in ("http://127.0.0.1:8000/x", "http://example.com/x", "ftp://example.com/x", "x"):
        with pytest.raises(InvalidInput) as refused:
            services.create_endpoint(actor=admin, url=url)
        assert refused.value.code == "invalid_webhook_url"
    with pytest.raises(InvalidInput) as refused:
        services.create_endpoint(actor=admin, url="https://user:pw@example.com/x")
    assert refused.value.code == "invalid_webhook_url"
    settings.FAKTURA_WEBHOOKS_ALLOW_HTTP = True
    with pytest.raises(InvalidInput):  # http to another host: never
        services.create_endpoint(actor=admin, url="http://example.com/x")
    services.create_endpoint(actor=admin, url="http://localhost:8000/x")
    with pytest.raises(InvalidInput) as refused:
        services.create_endpoint(actor=admin, url="https://example.com/x", events=["invoice.paied"])
    assert refused.value.code == "invalid_event_type"
    endpoint, _ = services.create_endpoint(
        actor=admin, url="https://example.com/x", events=["invoice.paid"]
    )
    assert endpoint.events == ["invoice.paid"]
    with pytest.raises(KeyError), transaction.atomic():
        services.emit("invoice.unknown", {}, actor=SYS)


def test_a_real_finalization_and_payment_booking_arrive_with_their_figures(
    receiver, admin, actor, business_customer
):
    _endpoint, secret = services.create_endpoint(
        actor=admin,
        url=receiver.url,
        events=["invoice.finalized", "invoice.paid", "payment.received"],
    )
    draft = order(business_customer, actor, line(quantity="2", price="50.00"))
    invoice = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    run_webhook_tasks()
    [finalized] = [json.loads(r.body) for r in receiver.requests]
    assert finalized["type"] == "invoice.finalized"
    assert finalized["data"] == {
        "id": invoice.pk,
        "object": "invoice",
        "number": invoice.number,
        "customer": business_customer.pk,
        "issue_date": "2026-11-16",
        "due_date": invoice.due_date.isoformat(),
        "total": "119.00",
        "currency": "EUR",
    }

    part = payments.record_payment(
        actor=actor,
        amount="19.00",
        date=TODAY,
        method="transfer",
        source="manual",
        customer_id=business_customer.pk,
    )
    payments.allocate_payment(payment_id=part.pk, allocations=[(invoice.pk, "19.00")], actor=actor)
    rest = payments.record_payment(
        actor=actor,
        amount="100.00",
        date=TODAY,
        method="transfer",
        source="manual",
        customer_id=business_customer.pk,
    )
    payments.allocate_payment(payment_id=rest.pk, allocations=[(invoice.pk, "100.00")], actor=actor)
    run_webhook_tasks()
    events = [json.loads(r.body) for r in receiver.requests[1:]]
    assert [(e["type"], e["data"].get("amount")) for e in events] == [
        ("payment.received", "19.00"),
        ("payment.received", "100.00"),
        ("invoice.paid", None),  # once: when the open amount reached 0
    ]
    assert events[1]["data"]["id"] == rest.pk
    assert events[2]["data"]["number"] == invoice.number
    assert events[2]["data"]["total"] == "119.00"
    for request in receiver.requests:
        assert verify_signature(
            request.body, request.headers["Faktura-Signature"], secret, now=NOW.timestamp()
        )


def test_a_batch_finalization_writes_the_chunk_in_one_go(receiver, admin, actor, consumer):
    drafts = [order(consumer, actor, line(price=f"{10 * n}.00")).pk for n in (1, 2, 3)]
    invoicing.finalize_invoices(invoice_ids=drafts[:1], actor=actor)
    assert WebhookDelivery.objects.count() == 0  # no endpoint: nothing written

    services.create_endpoint(actor=admin, url=receiver.url)
    invoicing.finalize_invoices(invoice_ids=drafts[1:], actor=actor)
    assert due_webhook_tasks()[0].args_kwargs["args"] == [
        list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
    ]
    assert run_webhook_tasks() == 1
    totals = sorted(Decimal(json.loads(r.body)["data"]["total"]) for r in receiver.requests)
    assert totals == [Decimal("20.00"), Decimal("30.00")]  # gross prices for consumers


def test_a_delivery_of_a_dead_worker_is_released_by_the_sweep(receiver, admin):
    services.create_endpoint(actor=admin, url=receiver.url)
    [delivery] = _emit()
    # The worker claimed it, then died before its request (SIGKILL): its task is gone too.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path__startswith="faktura.webhooks.").delete()
    WorkerHeartbeat.objects.create(
        worker_id="w-dead",
        pid=1,
        hostname="h",
        started_at=NOW,
        last_seen=NOW - dt.timedelta(hours=1),
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=NOW, claimed_by="w-dead")
    assert run_webhook_tasks() == 0

    assert jobs.sweep_webhooks(None) == {"released": 1, "queued": 1}  # type: ignore[arg-type]
    assert jobs.sweep_webhooks(None) == {"released": 0, "queued": 0}  # type: ignore[arg-type]
    run_webhook_tasks()
    assert [r.headers["Faktura-Event-Id"] for r in receiver.requests] == [str(delivery.event_id)]
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_a_claim_without_a_worker_is_released_after_five_minutes(receiver, admin):
    services.create_endpoint(actor=admin, url=receiver.url)
    [delivery] = _emit()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=NOW, claimed_by="")
    assert services.release_stale_claims() == 0  # perhaps still sending
    with clock.frozen(NOW + 5 * MINUTE + dt.timedelta(seconds=1)):
        assert services.resume_deliveries()["released"] == 1
        run_webhook_tasks()
    assert len(receiver.requests) == 1


def test_the_sweep_is_a_declared_job():
    [job] = [job for job in jobs.JOBS if job.name == "webhook-sweep"]
    assert job.schedule == "* * * * *"
    assert job.catch_up == "latest"


def test_event_ids_are_uuids_and_the_registry_lists_the_issue_events(receiver, admin):
    from faktura.webhooks.events import EVENT_TYPES

    assert {
        "invoice.finalized",
        "invoice.paid",
        "invoice.overdue",
        "payment.received",
        "payment.returned",
        "dunning.notice_sent",
        "customer.access_changed",
        "subscription.created",
        "subscription.updated",
        "subscription.cancelled",
        "subscription.ended",
    } <= set(EVENT_TYPES)
    services.create_endpoint(actor=admin, url=receiver.url)
    [delivery] = _emit()
    assert uuid.UUID(delivery.payload["id"]) == delivery.event_id


def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(receiver, admin):
    endpoint, old = services.create_endpoint(actor=admin, url=receiver.url)
    rotated, new = services.rotate_secret(actor=admin, endpoint_id=endpoint.pk, keep_old_hours=2)
    assert new.startswith("whsec_")
    assert new != old
    assert rotated.previous_secret_expires_at == NOW + dt.timedelta(hours=2)
    _emit()
    run_webhook_tasks()
    header = receiver.requests[-1].headers["Faktura-Signature"]
    body = receiver.requests[-1].body
    assert len([part for part in header.split(",") if part.startswith("v1=")]) == 2
    # Both secrets verify during the overlap: the receiver may switch at any moment.
    assert verify_signature(body, header, new, now=NOW.timestamp())
    assert verify_signature(body, header, old, now=NOW.timestamp())

    later = NOW + dt.timedelta(hours=2, minutes=1)
    with clock.frozen(later):
        _emit()
        run_webhook_tasks()
    header = receiver.requests[-1].headers["Faktura-Signature"]
    body = receiver.requests[-1].body
    assert len([part for part in header.split(",") if part.startswith("v1=")]) == 1
    assert verify_signature(body, header, new, now=later.timestamp())
    assert not verify_signature(body, header, old, now=later.timestamp())
    assert AuditEntry.objects.filter(action="webhook_endpoint.secret_rotated").count() == 1


def test_a_leaked_secret_ends_at_once_and_rotation_is_checked(receiver, admin, actor):
    endpoint, old = services.create_endpoint(actor=admin, url=receiver.url)
    _rotated, new = services.rotate_secret(actor=admin, endpoint_id=endpoint.pk, keep_old_hours=0)
    _emit()
    run_webhook_tasks()
    header = receiver.requests[-1].headers["Faktura-Signature"]
    assert verify_signature(receiver.requests[-1].body, header, new, now=NOW.timestamp())
    assert not verify_signature(receiver.requests[-1].body, header, old, now=NOW.timestamp())
    for hours in (-1, 169, True, "24"):
        with pytest.raises(InvalidInput) as refused:
            services.rotate_secret(actor=admin, endpoint_id=endpoint.pk, keep_old_hours=hours)
        assert refused.value.code == "invalid_overlap"
    with pytest.raises(PermissionRefused):
        services.rotate_secret(actor=actor, endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.secret == new
