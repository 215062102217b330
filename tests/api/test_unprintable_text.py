"""The API refuses text no document can show with 422 ``text_not_printable`` and the field."""

from __future__ import annotations

import pytest

from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind
from tests.api.conftest import order_body

pytestmark = pytest.mark.django_db

CUSTOMER = {
    "kind": "business",
    "name": "Neu GmbH",
    "street": "Weg",
    "house_number": "1",
    "postcode": "10115",
    "city": "Berlin",
    "email": "neu@example.org",
}


def test_the_api_refuses_a_bidi_override_in_a_name_with_422(api, company):
    response = api.send("POST", "/customers", {**CUSTOMER, "name": "Neu \u202eHbmG"})
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["field"]) == ("text_not_printable", "name")
    assert "U+202E" in body["message"]
    assert not Customer.objects.exists()


def test_the_api_refuses_a_control_character_in_an_order_note(api, customer):
    response = api.send("POST", "/orders", order_body(customer["id"], note="Danke\u000b"))
    assert (response.status_code, response.json()["code"]) == (422, "text_not_printable")
    assert not Invoice.objects.exists()


def test_the_api_refuses_a_c1_control_in_a_credit_note_reason(api, place):
    draft = place()
    invoice = api.send("POST", f"/invoices/{draft['id']}/finalize").json()
    response = api.send(
        "POST", f"/invoices/{invoice['id']}/credit-notes", {"amount": "10.00", "reason": "a\u009cb"}
    )
    assert (response.status_code, response.json()["code"]) == (422, "text_not_printable")
    assert response.json()["field"] == "reason"
    assert not Invoice.objects.filter(kind=Kind.CREDIT_NOTE).exists()
