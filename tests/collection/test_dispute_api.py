"""An MD06 dispute is visible where a user looks: invoice, customer and mandate resources."""

from __future__ import annotations

import pytest

from faktura.api import presenters
from faktura.payments import services as payments
from faktura.payments.models import Dispute
from tests.collection.test_returns import _return, collected  # noqa: F401 - fixture
from tests.payments.api_helpers import key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(company):
    return key_client("anna-api", "accountant")


def test_md06_shows_on_invoice_customer_and_mandate_until_cleared(
    api,
    collected,  # noqa: F811
    business_customer,
    actor,
):
    mandate = business_customer.mandates.get()
    before = api.send("GET", f"/invoices/{collected.pk}").json()
    assert (before["disputed"], before["dispute"]) == (False, None)
    assert api.send("GET", f"/customers/{business_customer.pk}").json()["open_disputes"] == 0

    _return(collected, actor, "MD06")
    dispute = Dispute.objects.get()
    assert dispute.opened_at.date().isoformat() == "2026-11-19"

    invoice = api.send("GET", f"/invoices/{collected.pk}").json()
    assert invoice["disputed"] is True
    assert invoice["dispute"] == {
        "id": dispute.pk,
        "object": "dispute",
        "reason_code": "MD06",
        "opened_at": presenters.timestamp(dispute.opened_at),
        "mandate": mandate.pk,
    }
    listed = api.send("GET", "/invoices", {"customer": business_customer.pk}).json()["data"]
    assert [(row["id"], row["disputed"]) for row in listed] == [(collected.pk, True)]
    customer = api.send("GET", f"/customers/{business_customer.pk}").json()
    assert customer["open_disputes"] == 1
    customers = api.send("GET", "/customers").json()["data"]
    assert [c["open_disputes"] for c in customers] == [1]
    shown = api.send("GET", f"/mandates/{mandate.pk}").json()
    assert shown["status"] == "active"
    assert shown["collection_paused"] is True
    assert shown["collection_paused_reason"] == f"Widerspruch MD06 zu {collected.number}"
    assert shown["paused_by_disputes"] == [dispute.pk]
    [row] = api.send("GET", "/mandates").json()["data"]
    assert row["collection_paused"] is True

    payments.clear_dispute(dispute_id=dispute.pk, actor=actor)
    assert api.send("GET", f"/invoices/{collected.pk}").json()["disputed"] is False
    assert api.send("GET", f"/customers/{business_customer.pk}").json()["open_disputes"] == 0
    cleared = api.send("GET", f"/mandates/{mandate.pk}").json()
    assert (cleared["collection_paused"], cleared["collection_paused_reason"]) == (False, "")
