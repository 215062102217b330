"""Schemathesis over the whole published schema: no 500, every answer as documented.

Every operation of ``/api/v1/openapi.json`` is called with generated input (valid and
invalid), in-process through the WSGI application, with a key that may read and write,
on a small data set whose ids the generated ids hit (a customer, a product, a draft and
a finalized invoice, a payment). Checks: no server error, the status code is documented
for the operation, the content type is the documented one, the body conforms to the
documented schema. Routes added later are covered as they appear in the schema.

Bounded and reproducible: the coverage phase (the boundary cases of every parameter,
valid and invalid) plus MAX_EXAMPLES generated cases per operation, derandomized, no
deadline. About 65 s of CPU in one process (53 operations), split over the xdist workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from faktura.api.keys import create_api_key
from faktura.payments.providers import stripe_provider
from tests.api.conftest import ApiClient, make_user, order_body

# Generated cases per operation, beyond the coverage phase's boundary cases.
MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


class _FakeCheckoutSessions:
    """Stripe's checkout API, answered here: the fuzzer never talks to Stripe."""

    def create(self, params: dict[str, Any], options: dict[str, Any]) -> Any:
        return SimpleNamespace(id="cs_test_fuzz", url="https://checkout.example/cs_test_fuzz")


@pytest.fixture
def data(company, settings, monkeypatch) -> Iterator[dict[str, Any]]:
    """Objects with small ids, so that generated ids often name real ones."""
    # A configured provider: webhooks are checked against the secret, checkouts created.
    settings.STRIPE_SECRET_KEY = "sk_test_fuzz"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_fuzz"
    settings.STRIPE_SUCCESS_URL = "https://shop.example/paid/{invoice_id}"
    settings.STRIPE_CANCEL_URL = "https://shop.example/cancelled/{invoice_id}"
    client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(
        sessions=_FakeCheckoutSessions())))  # fmt: skip
    monkeypatch.setattr(stripe_provider, "make_client", lambda api_key: client)
    user = make_user("fuzz", "accountant", "approver", "admin")
    _, secret = create_api_key(name="fuzz", user=user, scopes=["read", "write"])
    api = ApiClient(secret)
    customer = api.send(
        "POST",
        "/customers",
        {"name": "Beispiel AG", "street": "Hafenstraße 5", "postcode": "20457",
         "city": "Hamburg", "email": "buchhaltung@beispiel.de"},
    ).json()  # fmt: skip
    api.send("POST", "/products", {"sku": "S-1", "name": "Ding", "unit_price": "1.00",
                "tax_rate": "de-19"})  # fmt: skip
    draft = api.send("POST", "/orders", order_body(customer["id"])).json()
    final = api.send("POST", "/orders", order_body(customer["id"])).json()
    api.send("POST", f"/invoices/{final['id']}/finalize")
    api.send("POST", "/payments", {"amount": "10.00", "date": "2026-11-16",
                "customer": customer["id"], "invoice": final["id"]})  # fmt: skip
    plan = api.send("POST", "/plans", {"code": "monat", "name": "Monatlich", "sku": "S-1",
                "interval": "month", "price": "30.00"}).json()  # fmt: skip
    api.send("POST", f"/plans/{plan['id']}/price-changes",
             {"effective_from": "2027-01-01", "price": "35.00", "needs_consent": True})  # fmt: skip
    api.send("POST", "/subscriptions", {"customer": customer["id"], "plan": plan["id"]})
    api.send("POST", "/coupons", {"code": "TEN", "name": "Zehn", "kind": "percent",
                "value": "10", "duration": "once"})  # fmt: skip
    api.send("POST", "/courses", {"code": "kurs", "name": "Kurs", "sku": "S-1",
                "price": "100.00", "starts_on": "2027-01-10", "ends_on": "2027-03-28"})  # fmt: skip
    assert api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"}).status_code == 201
    # Dunning: the reminder of the finalized invoice waits as a proposal (notice 1), and a
    # fee charged by hand (fee 1).
    policy = api.get_json("/dunning-policy").json()["data"][0]
    api.send("PATCH", f"/dunning-policy/{policy['id']}/levels/0", {"review_required": True})
    assert api.send("POST", "/dunning-runs", {"date": "2026-12-31"}).status_code == 201
    assert api.send("POST", "/dunning-fees", {"customer": customer["id"], "amount": "5.00",
                "reason": "Adressermittlung"}).status_code == 201  # fmt: skip
    assert draft["status"] == "draft"
    # Requests go through the WSGI handler, not the test client: keep the test's
    # transaction open across requests (Django's test client does the same).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {"key": secret}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_conforms_to_its_schema(case, data):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {data['key']}"},
        checks=CHECKS,
    )
