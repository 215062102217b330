"""Fixtures of the API tests: company, staff users with roles, keys, authorized clients."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.test.client import ClientHandler

from faktura.api import invoice_parts
from faktura.api.keys import create_api_key
from faktura.core import clock
from faktura.core.handlers import ApiMiddleware
from faktura.core.models import BankAccount, Company

TODAY = dt.date(2026, 11, 16)


@pytest.fixture(autouse=True)
def _api_clock():
    with clock.frozen(dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)):
        yield


@pytest.fixture(autouse=True)
def _no_documents_kept_from_another_test():
    # A rolled-back test leaves its ids free for the next one (SQLite).
    invoice_parts.clear()


@pytest.fixture
def company(db) -> Company:
    company = Company(
        legal_name="Muster Software GmbH",
        legal_form="GmbH",
        street="Friedrichstraße",
        house_number="123",
        postcode="10117",
        city="Berlin",
        tax_number="30/123/45678",
        vat_id="DE136695976",
        email="rechnung@muster-software.de",
    )
    company.full_clean()
    company.save()
    BankAccount.objects.create(
        company=company,
        bank_name="Musterbank",
        account_holder="Muster Software GmbH",
        iban="DE02120300000000202051",
        is_default=True,
    )
    return company


def make_user(username: str, *roles: str) -> User:
    user = User.objects.create_user(username=username, password="unused-password-1")
    for role in roles:
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


class ApiClientHandler(ApiMiddleware, ClientHandler):
    """The test client's handler with the API's middleware, as ``faktura serve`` runs it."""


class ApiClient(Client):
    """A test client that speaks JSON to /api/v1/ with one key, through the API's middleware."""

    def __init__(self, secret: str | None) -> None:
        headers = {"authorization": f"Bearer {secret}"} if secret else {}
        super().__init__(headers=headers)
        self.handler = ApiClientHandler(enforce_csrf_checks=False)

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        call = getattr(self, method.lower())
        kwargs: dict[str, Any] = {"headers": headers}
        if method.upper() != "GET":
            kwargs.update(data=data or "", content_type="application/json")
        return call(f"/api/v1{path}", **kwargs)

    def get_json(self, path: str, **params: Any) -> Any:
        return self.get(f"/api/v1{path}", params)


@pytest.fixture
def accountant_user(company) -> User:
    return make_user("anna", "accountant", "approver")


@pytest.fixture
def approver_user(company) -> User:
    return make_user("bernd", "approver", "accountant")


@pytest.fixture
def viewer_user(company) -> User:
    return make_user("vera", "viewer")


@pytest.fixture
def shop_key(accountant_user):
    return create_api_key(name="shop", user=accountant_user, scopes=["read", "write"])


@pytest.fixture
def api(shop_key) -> ApiClient:
    """The shop's client: read and write, acting as an accountant who may also approve."""
    return ApiClient(shop_key[1])


@pytest.fixture
def approver_api(approver_user) -> ApiClient:
    _, secret = create_api_key(name="approval-desk", user=approver_user, scopes=["write"])
    return ApiClient(secret)


@pytest.fixture
def reader_api(viewer_user) -> ApiClient:
    _, secret = create_api_key(name="reporting", user=viewer_user, scopes=["read"])
    return ApiClient(secret)


@pytest.fixture
def customer(api) -> dict[str, Any]:
    response = api.send(
        "POST",
        "/customers",
        {
            "kind": "business",
            "name": "Beispiel Handel AG",
            "street": "Hafenstraße",
            "house_number": "5",
            "postcode": "20457",
            "city": "Hamburg",
            "email": "buchhaltung@beispiel.de",
            "vat_id": "DE136695976",
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def order_body(customer_id: int, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "customer": customer_id,
        "lines": list(lines)
        or [{"name": "Beratung", "quantity": "2", "unit_price": "100.00", "tax_rate": "de-19"}],
        **extra,
    }


@pytest.fixture
def place(api, customer):
    """Place an order through the API and return the invoice resource."""

    def place(*lines: dict[str, Any], client: ApiClient | None = None, **extra: Any) -> Any:
        response = (client or api).send(
            "POST", "/orders", order_body(customer["id"], *lines, **extra)
        )
        assert response.status_code == 201, response.json()
        return response.json()

    return place
