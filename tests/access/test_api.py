"""/customers/{id}/access and /access-blocks/{id}/lift."""

from __future__ import annotations

import pytest

from faktura.access.models import AccessBlock, AccessOverride
from tests.banking.helpers import api_client
from tests.payments.helpers import finalized

pytestmark = pytest.mark.django_db


def test_block_override_and_lift_through_the_api(business_customer, actor):
    invoice = finalized(business_customer, actor)
    client = api_client("accountant")
    path = f"/customers/{business_customer.pk}/access"
    assert client.get_json(path).json() == {
        "object": "access",
        "customer": business_customer.pk,
        "status": "active",
        "reasons": [],
        "override": None,
        "subscriptions": [],
    }
    made = client.send(
        "POST",
        f"{path}/blocks",
        {"effect": "restrict", "why": "Missbrauch", "invoices": [invoice.pk]},
    )
    assert made.status_code == 201, made.json()
    block = AccessBlock.objects.get()
    assert made.json()["status"] == "restricted"
    assert made.json()["reasons"] == [
        {
            "block": block.pk,
            "reason": "manual",
            "level": None,
            "effect": "restrict",
            "since": "2026-11-16T09:00:00Z",
            "by": "api:bank",
            "why": "Missbrauch",
            "invoices": ["RE-2026-00001"],
        }
    ]
    allowed = client.send("POST", f"{path}/override", {"until": "2026-11-30", "why": "Kulanz"})
    assert allowed.status_code == 201, allowed.json()
    assert allowed.json()["status"] == "active"
    assert allowed.json()["override"]["until"] == "2026-11-30"
    assert AccessOverride.objects.get().why == "Kulanz"

    lifted = client.send("POST", f"/access-blocks/{block.pk}/lift", {"why": "geklärt"})
    assert lifted.status_code == 200, lifted.json()
    assert lifted.json()["reasons"] == []
    again = client.send("POST", f"/access-blocks/{block.pk}/lift", {"why": "geklärt"})
    assert (again.status_code, again.json()["code"]) == (409, "access_block_ended")


def test_refusals(business_customer):
    path = f"/customers/{business_customer.pk}/access"
    cashier = api_client("cashier", name="kasse")
    refused = cashier.send("POST", f"{path}/blocks", {"why": "x"})
    assert refused.status_code == 403
    client = api_client("accountant")
    assert client.get_json("/customers/999999/access").status_code == 404
    assert client.send("POST", "/customers/999999/access/blocks", {"why": "x"}).status_code == 404
    assert client.send("POST", "/access-blocks/999999/lift", {"why": "x"}).status_code == 404
    unknown = client.send("POST", f"{path}/blocks", {"why": "x", "colour": "red"})
    assert unknown.status_code == 422
    past = client.send("POST", f"{path}/override", {"until": "2026-11-01", "why": "x"})
    assert (past.status_code, past.json()["code"]) == (422, "override_in_the_past")
    assert not AccessBlock.objects.exists()
