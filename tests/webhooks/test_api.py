"""/webhook-endpoints and /webhook-deliveries: the secret once, the log, redelivery."""

from __future__ import annotations

import pytest
from django.db import transaction

from faktura.api.keys import create_api_key
from faktura.core.actors import Actor
from faktura.webhooks import services
from faktura.webhooks.models import WebhookDelivery
from tests.api.conftest import ApiClient, make_user
from tests.webhooks.conftest import run_webhook_tasks

pytestmark = pytest.mark.django_db


def _client(username: str, *roles: str) -> ApiClient:
    _key, secret = create_api_key(
        name=username, user=make_user(username, *roles), scopes=["read", "write"]
    )
    return ApiClient(secret)


def test_endpoints_and_deliveries_through_the_api(company, receiver):
    admin = _client("root", "admin")
    created = admin.send("POST", "/webhook-endpoints", {"url": receiver.url, "events": []})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["url"] == receiver.url
    endpoint_id = body["id"]
    shown = admin.get_json(f"/webhook-endpoints/{endpoint_id}").json()
    assert "secret" not in shown

    with transaction.atomic():
        services.emit("invoice.paid", {"id": 3}, actor=Actor.system("test"))
    receiver.status = 500
    run_webhook_tasks()
    [delivery] = admin.get_json("/webhook-deliveries", status="pending").json()["data"]
    assert delivery["event_type"] == "invoice.paid"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 500
    assert admin.get_json("/webhook-deliveries", type="payment.received").json()["data"] == []

    receiver.status = 200
    redelivered = admin.send("POST", f"/webhook-deliveries/{delivery['id']}/redeliver")
    assert redelivered.status_code == 202
    run_webhook_tasks()
    detail = admin.get_json(f"/webhook-deliveries/{delivery['id']}").json()
    assert detail["status"] == "delivered"
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]

    off = admin.send("DELETE", f"/webhook-endpoints/{endpoint_id}")
    assert off.json()["active"] is False
    assert WebhookDelivery.objects.count() == 1  # the log stays

    accountant = _client("anna", "accountant")
    refused = accountant.send("POST", "/webhook-endpoints", {"url": receiver.url})
    assert refused.status_code == 403
    bad = admin.send("POST", "/webhook-endpoints", {"url": "http://example.com/x"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_webhook_url")
    missing = admin.get_json("/webhook-deliveries/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_rotating_the_secret_through_the_api(company, receiver):
    admin = _client("root", "admin")
    created = admin.send("POST", "/webhook-endpoints", {"url": receiver.url}).json()
    rotated = admin.send("POST", f"/webhook-endpoints/{created['id']}/rotate-secret", {})
    assert rotated.status_code == 200, rotated.content
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] == "2026-11-17T09:00:00Z"  # 24 h
    shown = admin.get_json(f"/webhook-endpoints/{created['id']}").json()
    assert "secret" not in shown
    assert shown["previous_secret_expires_at"] == "2026-11-17T09:00:00Z"
    too_long = admin.send(
        "POST", f"/webhook-endpoints/{created['id']}/rotate-secret", {"keep_old_hours": 200}
    )
    assert too_long.status_code == 422
    refused = _client("anna", "accountant").send(
        "POST", f"/webhook-endpoints/{created['id']}/rotate-secret", {}
    )
    assert refused.status_code == 403
