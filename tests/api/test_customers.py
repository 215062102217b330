"""/customers: created and changed through the customer service, refused with the field."""

from __future__ import annotations

import pytest

from faktura.customers.models import Customer

pytestmark = pytest.mark.django_db

BASE = {
    "name": "Stadt Musterhausen",
    "street": "Rathausplatz",
    "house_number": "1",
    "postcode": "12345",
    "city": "Musterhausen",
    "email": "rechnung@musterhausen.de",
}


def test_create_numbers_the_customer_and_returns_it(api, company):
    response = api.send("POST", "/customers", {**BASE, "credit_limit": "5000.00"})
    assert response.status_code == 201
    body = response.json()
    assert (body["object"], body["number"], body["kind"]) == ("customer", "K00001", "business")
    assert (body["credit_limit"], body["currency"]) == ("5000.00", "EUR")
    assert api.get_json(f"/customers/{body['id']}").json() == body


def test_invalid_vat_id_is_refused_with_the_field(api, company):
    response = api.send("POST", "/customers", {**BASE, "vat_id": "DE123456789"})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("invalid_vat_id", "vat_id")
    assert Customer.objects.count() == 0


def test_invalid_leitweg_id_is_refused_with_the_field(api, company):
    body = {**BASE, "kind": "public_body", "leitweg_id": "991-12345-99"}
    response = api.send("POST", "/customers", body)
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "invalid_leitweg_id",
        "leitweg_id",
    )
    assert Customer.objects.count() == 0


def test_valid_leitweg_id_makes_a_public_body(api, company):
    body = {**BASE, "kind": "public_body", "leitweg_id": "04011000-1234512345-06"}
    response = api.send("POST", "/customers", body)
    assert response.status_code == 201, response.json()
    assert response.json()["leitweg_id"] == "04011000-1234512345-06"


def test_invalid_email_is_refused_with_the_field(api, company):
    response = api.send("POST", "/customers", {**BASE, "email": "not-an-address"})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("invalid_email", "email")


def test_missing_required_field_names_it(api, company):
    body = {key: value for key, value in BASE.items() if key != "city"}
    response = api.send("POST", "/customers", body)
    assert (response.status_code, response.json()["field"]) == (422, "city")


def test_credit_limit_with_three_decimals_is_refused(api, company):
    response = api.send("POST", "/customers", {**BASE, "credit_limit": "10.005"})
    assert (response.status_code, response.json()["code"]) == (422, "too_many_decimals")


def test_patch_changes_only_the_fields_sent(api, customer):
    response = api.send("PATCH", f"/customers/{customer['id']}", {"city": "Bremen"})
    assert response.status_code == 200
    assert response.json()["city"] == "Bremen"
    assert response.json()["street"] == customer["street"]
    assert Customer.objects.get(pk=customer["id"]).city == "Bremen"


def test_patch_refuses_null_for_a_required_field_and_bad_vat_id(api, customer):
    null = api.send("PATCH", f"/customers/{customer['id']}", {"name": None})
    assert (null.status_code, null.json()["field"]) == (422, "name")
    bad = api.send("PATCH", f"/customers/{customer['id']}", {"vat_id": "DE000"})
    assert (bad.status_code, bad.json()["field"]) == (422, "vat_id")
    assert Customer.objects.get(pk=customer["id"]).name == "Beispiel Handel AG"


def test_patch_of_an_unknown_customer_is_404(api, company):
    response = api.send("PATCH", "/customers/999", {"city": "Bremen"})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_list_filters_by_email_and_number(api, customer):
    other = api.send("POST", "/customers", BASE).json()
    by_email = api.get_json("/customers", email="BUCHHALTUNG@beispiel.de").json()
    assert [c["id"] for c in by_email["data"]] == [customer["id"]]
    by_number = api.get_json("/customers", number=other["number"]).json()
    assert [c["id"] for c in by_number["data"]] == [other["id"]]
    everyone = api.get_json("/customers").json()
    assert (everyone["object"], everyone["has_more"], len(everyone["data"])) == ("list", False, 2)


def test_customer_create_is_idempotent(api, company):
    first = api.send("POST", "/customers", BASE, **{"Idempotency-Key": "c-1"})
    second = api.send("POST", "/customers", BASE, **{"Idempotency-Key": "c-1"})
    assert second.json() == first.json()
    assert Customer.objects.count() == 1
