"""Each writing API route's operation is the one the service behind it checks.

The API's gate (``api.permissions.ROUTE_OPERATIONS``) refuses a key before the body is
read; the service refuses again. Both must ask the same question, or a role passes the
one and fails the other. Walked here: every route is called once with an admin's key and
the gate switched off, with a small valid request built from the OpenAPI schema (ids of
real objects where the handler looks one up before it calls the service), while
``permissions.require`` records what the services ask.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from faktura.api.permissions import ROUTE_OPERATIONS
from faktura.api.router import api as ninja_api
from faktura.core import permissions
from faktura.core.actors import CUSTOMER, ROLES, Actor
from tests.api.conftest import order_body
from tests.conftest import TODAY
from tests.core.test_permission_matrix import (  # noqa: F401 - fixtures
    SYSTEM,
    key_client,
    order_via_system,
    payment_request,
    person,
    world,
    writing_routes,
)

pytestmark = pytest.mark.django_db

# Request fields that are amounts (the schema says string; the services want "1.00").
AMOUNT_FIELDS = {"amount", "price", "value", "unit_price"}
# Bodies the schema alone does not give (an optional body whose first form is another's,
# an order's lines).
BODIES: dict[str, Any] = {
    "POST /subscriptions/{subscription_id}/cancel": {},
    "POST /payment-requests/{request_id}/reject": {"reason": "falsch erfasst"},
}


def _sample(schema: dict[str, Any], spec: dict[str, Any], name: str = "") -> Any:
    """The smallest value the schema accepts (required fields only)."""
    if "$ref" in schema:
        return _sample(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]], spec)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _sample(options[0], spec, name) if options else None
    if "allOf" in schema:
        return _sample(schema["allOf"][0], spec, name)
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("default") is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        properties = schema.get("properties", {}).items()
        return {key: _sample(value, spec, key) for key, value in properties if key in required}
    if kind == "array":
        return [
            _sample(schema.get("items", {}), spec) for _ in range(max(1, schema.get("minItems", 0)))
        ]
    if kind == "integer":
        return 999999
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return {
        "date": TODAY.isoformat(),
        "date-time": f"{TODAY.isoformat()}T09:00:00Z",
        "uri": "https://example.org/hook",
        "email": "x@example.org",
    }.get(schema.get("format", ""), "1.00" if name in AMOUNT_FIELDS else "x")


def _body(spec: dict[str, Any], route: str, objects: dict[str, Any]) -> Any:
    if route == "POST /orders":
        return order_body(objects["customer_id"])
    if route in BODIES:
        return BODIES[route]
    method, path = route.split(" ", 1)
    content = spec["paths"]["/api/v1" + path][method.lower()].get("requestBody", {})
    content = content.get("content", {})
    if "multipart/form-data" in content:
        return io.BytesIO(b"x")
    if "application/json" in content:
        return _sample(content["application/json"]["schema"], spec)
    return {}


@pytest.fixture
def objects(world, payment_request):  # noqa: F811 - the fixtures imported above
    """Real objects for the handlers that look one up before they call the service."""
    from faktura.payments import services as payments
    from faktura.payments.models import PaymentSettings
    from faktura.subscriptions import services as subscriptions
    from tests.subscriptions.helpers import plan

    invoice = order_via_system(world)
    payment = payments.record_payment(
        actor=SYSTEM, amount="10.00", date=TODAY, method="transfer", source="manual",
        customer_id=world["customer"],
    )  # fmt: skip
    (allocation,) = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice, "10.00")], actor=SYSTEM
    )
    assert PaymentSettings.objects.get().require_payment_confirmation
    cashier = Actor(label="user:kai", roles=frozenset({"cashier"}))
    second = payments.request_manual_payment(
        actor=cashier, amount="5.00", date=TODAY, method="cash"
    )
    subscription = subscriptions.create_subscription(
        actor=SYSTEM, customer_id=world["customer"], plan_id=plan().pk, starts_on=TODAY
    )
    return {
        "customer_id": world["customer"],
        "product_id": world["product"],
        "invoice_id": invoice,
        "payment_id": payment.pk,
        "allocation_id": allocation.pk,
        "subscription_id": subscription.pk,
        "request_id": {"confirm": payment_request, "reject": second.pk},
    }


def _path(path: str, objects: dict[str, Any]) -> str:
    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        if name == "request_id":
            return str(objects[name]["reject" if path.endswith("reject") else "confirm"])
        if name == "number":
            return "0"  # a dunning level
        return str(objects.get(name, 999999))  # missing: the service refuses first

    return re.sub(r"\{(\w+)\}", value, path)


def _roles(operations: set[str]) -> frozenset[str]:
    """Who passes every one of ``operations`` (staff roles and the customer)."""
    return frozenset(
        role
        for role in (*ROLES, CUSTOMER)
        if all(role in permissions.allowed_roles(op) for op in operations)
    )


def _walk(
    objects: dict[str, Any], monkeypatch: Any, only: set[str] | None = None
) -> dict[str, tuple[set[str], int]]:
    """Route → (the operations its service asked, the status) with the gate switched off."""
    spec = ninja_api.get_openapi_schema()
    asked: set[str] = set()
    require = permissions.require

    def recording(actor: Any, operation: str) -> None:
        asked.add(operation)
        require(actor, operation)

    client = key_client(person("superuser"))
    monkeypatch.setattr(permissions, "require", recording)
    monkeypatch.setattr("faktura.api.permissions.operation_of", lambda request: None)
    found: dict[str, tuple[set[str], int]] = {}
    for method, path in writing_routes():
        route = f"{method} {path}"
        if ROUTE_OPERATIONS.get(route) is None or (only is not None and route not in only):
            continue
        asked.clear()
        body, concrete = _body(spec, route, objects), _path(path, objects)
        if isinstance(body, io.BytesIO):
            body.name = "auszug.xml"
            response = client.post(f"/api/v1{concrete}", {"file": body})
        else:
            response = client.send(method, concrete, body)
        found[route] = (set(asked), response.status_code)
    return found


def _differences(walked: dict[str, tuple[set[str], int]]) -> list[str]:
    """Routes whose operation is not their service's, or lets other roles pass."""
    return [
        f"{route}: route {ROUTE_OPERATIONS[route]}, service {sorted(asked)} ({status})"
        for route, (asked, status) in sorted(walked.items())
        if ROUTE_OPERATIONS[route] not in asked
        or _roles(asked) != _roles({ROUTE_OPERATIONS[route] or ""})
    ]


def test_every_api_route_asks_what_its_service_asks(objects, monkeypatch):
    with monkeypatch.context() as patched:
        walked = _walk(objects, patched)
    routes = [route for route, operation in ROUTE_OPERATIONS.items() if operation is not None]
    assert set(walked) == set(routes)
    # A route whose service asks nothing is listed too (the gate alone would decide).
    differences = _differences(walked)
    assert not differences, "\n".join(differences)


def test_the_walk_names_a_route_mapped_to_another_operation(objects, monkeypatch):
    monkeypatch.setitem(ROUTE_OPERATIONS, "POST /customers", "customer.change")
    with monkeypatch.context() as patched:
        walked = _walk(objects, patched, only={"POST /customers"})
    asked, status = walked["POST /customers"]
    assert asked == {"customer.create"}
    assert _differences({"POST /customers": (asked, status)}) == [
        f"POST /customers: route customer.change, service ['customer.create'] ({status})"
    ]
