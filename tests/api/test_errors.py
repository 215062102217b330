"""Every refusal has the same shape; odd input is a 400 or 422, never a 500."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from faktura.api.router import api as ninja_api
from faktura.core.errors import ImmutableDocument
from faktura.invoicing.models import Invoice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ("", 422, "validation_error", None),
        ("[]", 422, "validation_error", None),
        ('{"customer": 1, "lines": [], "note": NaN}', 400, "malformed_json", None),
        ('{"customer": "eins", "lines": []}', 422, "validation_error", "customer"),
        ('{"customer": 1, "lines": [{"quantity": true, "name": "X"}]}', 422, "invalid_quantity",
         "lines.0.quantity"),
        ('{"customer": 1, "lines": [{"quantity": "1", "unit_code": "STUECK"}]}', 422,
         "validation_error", "lines.0.unit_code"),
    ],
)  # fmt: skip
def test_odd_order_bodies_are_refused_with_code_and_field(api, customer, body, status, code, field):
    response = api.send("POST", "/orders", body)
    assert response.status_code == status, response.json()
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert set(response.json()) == {"code", "message", "field"}
    assert Invoice.objects.count() == 0


def test_order_without_lines_is_refused_by_the_service(api, customer):
    response = api.send("POST", "/orders", {"customer": customer["id"], "lines": []})
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        422,
        "no_lines",
        "lines",
    )


def test_immutable_document_is_a_409_and_an_unexpected_error_a_json_500(company):
    request = RequestFactory().get("/api/v1/invoices/1")
    conflict = ninja_api.on_exception(request, ImmutableDocument("RE-2026-00001 is finalized."))
    assert conflict.status_code == 409
    assert b'"code": "document_finalized"' in conflict.content
    crash = ninja_api.on_exception(request, RuntimeError("boom"))
    assert crash.status_code == 500
    assert b'"code": "internal_error"' in crash.content
    assert b"boom" not in crash.content
