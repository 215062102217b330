"""customer.access_changed reaches the customer's product when a block starts and ends."""

from __future__ import annotations

import json

import pytest

from faktura.access import services as access
from faktura.core import clock
from faktura.webhooks import services
from faktura.webhooks.verify import verify_signature
from tests.webhooks.conftest import run_webhook_tasks

pytestmark = pytest.mark.django_db


def test_a_block_and_its_lifting_are_sent_signed(receiver, admin, business_customer, actor):
    _endpoint, secret = services.create_endpoint(
        actor=admin, url=receiver.url, events=["customer.access_changed"]
    )
    block = access.block(
        customer_id=business_customer.pk,
        reason="manual",
        effect="block",
        why="Vertrag ruht",
        actor=actor,
    )
    access.lift(block_id=block.pk, actor=actor, why="Geklärt")
    assert run_webhook_tasks() >= 1
    bodies = [json.loads(request.body) for request in receiver.requests]
    assert [b["type"] for b in bodies] == ["customer.access_changed"] * 2
    first, second = (b["data"] for b in bodies)
    assert (first["previous_status"], first["status"]) == ("active", "blocked")
    assert first["customer_number"] == business_customer.number
    assert [r["reason"] for r in first["reasons"]] == ["manual"]
    assert (second["previous_status"], second["status"], second["reasons"]) == (
        "blocked",
        "active",
        [],
    )
    for request in receiver.requests:
        header = request.headers["Faktura-Signature"]
        assert verify_signature(request.body, header, secret, now=clock.now().timestamp())
