"""POST /orders: a shop's sale becomes an invoice, exactly once per Idempotency-Key."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.api.idempotency import purge_expired
from faktura.api.models import IdempotencyRecord
from faktura.core import clock
from faktura.invoicing.models import Invoice
from faktura.sales.models import Order
from tests.api.conftest import order_body

pytestmark = pytest.mark.django_db


def test_order_returns_its_draft_invoice_with_totals_as_strings(api, customer):
    response = api.send("POST", "/orders", order_body(customer["id"]))
    assert response.status_code == 201
    invoice = response.json()
    assert invoice["object"] == "invoice"
    assert invoice["status"] == "draft"
    assert invoice["number"] is None
    assert invoice["customer"] == customer["id"]
    assert invoice["currency"] == "EUR"
    assert (invoice["line_total"], invoice["tax_total"], invoice["grand_total"]) == (
        "200.00",
        "38.00",
        "238.00",
    )
    assert invoice["taxes"] == [
        {
            "category": "S",
            "rate": "19.00",
            "taxable_amount": "200.00",
            "tax_amount": "38.00",
            "exemption_reason": "",
            "exemption_reason_code": "",
        }
    ]
    line = invoice["lines"][0]
    assert (line["quantity"], line["unit_price"], line["net_amount"], line["tax_rate"]) == (
        "2",
        "100.00",
        "200.00",
        "de-19",
    )
    assert invoice["created_at"] == "2026-11-16T09:00:00Z"
    assert invoice["open_amount"] is None
    assert invoice["payment_status"] is None


def test_same_idempotency_key_twice_returns_the_first_response_and_one_order(api, customer):
    body = order_body(customer["id"])
    first = api.send("POST", "/orders", body, **{"Idempotency-Key": "order-1001"})
    second = api.send("POST", "/orders", body, **{"Idempotency-Key": "order-1001"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert Invoice.objects.count() == 1


def test_same_key_with_the_same_json_in_another_key_order_is_the_same_request(api, customer):
    body = order_body(customer["id"])
    api.send("POST", "/orders", body, **{"Idempotency-Key": "k"})
    reordered = dict(reversed(list(body.items())))
    again = api.send("POST", "/orders", reordered, **{"Idempotency-Key": "k"})
    assert again.status_code == 201
    assert Invoice.objects.count() == 1


def test_same_key_with_another_body_is_refused_and_creates_nothing(api, customer):
    api.send("POST", "/orders", order_body(customer["id"]), **{"Idempotency-Key": "order-1001"})
    other = order_body(
        customer["id"],
        {"name": "Schulung", "quantity": "1", "unit_price": "50.00", "tax_rate": "de-19"},
    )
    response = api.send("POST", "/orders", other, **{"Idempotency-Key": "order-1001"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["field"] == "Idempotency-Key"
    assert Order.objects.count() == 1
    assert Invoice.objects.count() == 1


def test_keys_of_different_api_keys_do_not_collide(api, approver_api, customer):
    body = order_body(customer["id"])
    api.send("POST", "/orders", body, **{"Idempotency-Key": "same"})
    response = approver_api.send("POST", "/orders", body, **{"Idempotency-Key": "same"})
    assert response.status_code == 201
    assert Invoice.objects.count() == 2


def test_a_refused_request_stores_nothing_and_can_be_retried_with_the_same_key(api, customer):
    bad = order_body(
        customer["id"], {"name": "X", "quantity": "1", "unit_price": "1.00", "tax_rate": "de-99"}
    )
    assert api.send("POST", "/orders", bad, **{"Idempotency-Key": "k"}).status_code == 422
    assert IdempotencyRecord.objects.count() == 0
    fixed = api.send("POST", "/orders", order_body(customer["id"]), **{"Idempotency-Key": "k"})
    assert fixed.status_code == 201
    assert Invoice.objects.count() == 1


def test_concurrent_request_with_the_same_key_answers_with_the_winners_response(
    api, customer, monkeypatch
):
    """The loser of the race finds no record first, collides on insert, replays the winner."""
    body = order_body(customer["id"])
    winner = api.send("POST", "/orders", body, **{"Idempotency-Key": "race"})
    real_filter = IdempotencyRecord.objects.filter
    calls = []

    def filter_missing_once(*args, **kwargs):
        calls.append(kwargs)
        queryset = real_filter(*args, **kwargs)
        return queryset.none() if len(calls) == 1 else queryset

    monkeypatch.setattr(IdempotencyRecord.objects, "filter", filter_missing_once)
    loser = api.send("POST", "/orders", body, **{"Idempotency-Key": "race"})
    assert loser.status_code == 201
    assert loser.json() == winner.json()
    assert Order.objects.count() == 1
    assert Invoice.objects.count() == 1


def test_money_as_a_json_number_with_three_decimals_is_refused(api, customer):
    body = order_body(customer["id"], document_discount_amount=1.005)
    response = api.send("POST", "/orders", body)
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_decimals"
    assert response.json()["field"] == "document_discount_amount"
    assert response.json()["message"] == (
        "document_discount_amount: 1.005 has more than 2 decimal places"
    )
    assert Order.objects.count() == 0


def test_unit_price_as_a_json_number_with_five_decimals_is_refused(api, customer):
    line = {"name": "Beratung", "quantity": 1, "unit_price": 19.99999, "tax_rate": "de-19"}
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_decimals"
    assert response.json()["field"] == "lines.0.unit_price"
    assert Order.objects.count() == 0


def test_amount_string_with_three_decimals_is_refused_with_the_field(api, customer):
    line = {"name": "Beratung", "quantity": "1", "unit_price": "10.00", "tax_rate": "de-19",
            "discount_amount": "1.005"}  # fmt: skip
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_decimals"
    assert response.json()["field"] == "lines.0.discount_amount"
    assert Invoice.objects.count() == 0


def test_money_as_a_json_number_is_refused_even_with_two_decimals(api, customer):
    line = {"name": "Beratung", "quantity": 1, "unit_price": 19.99, "tax_rate": "de-19"}
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_amount"
    assert "string" in response.json()["message"]


def test_quantity_may_be_an_integer_or_a_string_but_not_a_float(api, customer):
    line = {"name": "Beratung", "quantity": 3, "unit_price": "10.00", "tax_rate": "de-19"}
    assert api.send("POST", "/orders", order_body(customer["id"], line)).status_code == 201
    line["quantity"] = "1.5"
    assert api.send("POST", "/orders", order_body(customer["id"], line)).status_code == 201
    line["quantity"] = 1.5
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "invalid_quantity",
        "lines.0.quantity",
    )
    assert Invoice.objects.count() == 2


def test_unknown_tax_rate_is_refused_with_the_field(api, customer):
    line = {"name": "Beratung", "quantity": "1", "unit_price": "10.00", "tax_rate": "de-16"}
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_tax_rate"
    assert response.json()["field"] == "lines.0.tax_rate"
    assert Order.objects.count() == 0


def test_unknown_customer_is_refused_with_the_field(api, company):
    response = api.send("POST", "/orders", order_body(4711))
    assert response.status_code == 422
    assert response.json()["code"] == "customer_not_found"
    assert response.json()["field"] == "customer"
    assert Order.objects.count() == 0


def test_missing_quantity_names_the_field(api, customer):
    line = {"name": "Beratung", "unit_price": "10.00", "tax_rate": "de-19"}
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["field"] == "lines.0.quantity"
    assert response.json()["message"].startswith("lines.0.quantity: ")


def test_malformed_json_is_a_400(api, customer):
    response = api.send("POST", "/orders", '{"customer": 1, "lines": [')
    assert response.status_code == 400
    assert response.json() == {
        "code": "malformed_json",
        "message": "The request body is not valid JSON.",
        "field": None,
    }


def test_product_lines_take_price_and_tax_rate_from_the_catalog(api, customer):
    product = api.send("POST", "/products", {"sku": "BOOK-1", "name": "Handbuch",
                       "unit_price": "20.00", "tax_rate": "de-7"}).json()  # fmt: skip
    invoice = api.send(
        "POST", "/orders", order_body(customer["id"], {"sku": "BOOK-1", "quantity": 3})
    ).json()
    line = invoice["lines"][0]
    assert (line["product"], line["name"], line["tax_rate"], line["net_amount"]) == (
        product["id"],
        "Handbuch",
        "de-7",
        "60.00",
    )
    assert invoice["grand_total"] == "64.20"


def test_repeated_external_reference_returns_the_first_invoice(api, customer):
    body = order_body(customer["id"], external_reference="SHOP-1001")
    first = api.send("POST", "/orders", body).json()
    second = api.send("POST", "/orders", body).json()
    assert second["id"] == first["id"]
    assert second["order_reference"] == "SHOP-1001"
    assert Order.objects.count() == 1


def test_order_above_the_approval_threshold_waits_for_approval(api, customer, company):
    company.approval_threshold = "100.00"
    company.save()
    invoice = api.send("POST", "/orders", order_body(customer["id"])).json()
    assert invoice["status"] == "pending_approval"
    assert invoice["approval_reasons"] == ["amount_above_threshold"]


def test_same_key_on_another_endpoint_is_refused(api, customer):
    api.send("POST", "/orders", order_body(customer["id"]), **{"Idempotency-Key": "k"})
    product = {"sku": "X", "name": "X", "unit_price": "1.00", "tax_rate": "de-19"}
    response = api.send("POST", "/products", product, **{"Idempotency-Key": "k"})
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")


def test_stored_responses_are_kept_24_hours_then_purged(api, customer):
    api.send("POST", "/orders", order_body(customer["id"]), **{"Idempotency-Key": "k"})
    with clock.frozen(clock.now() + dt.timedelta(hours=23, minutes=59)):
        assert purge_expired() == 0
        replay = api.send("POST", "/orders", order_body(customer["id"]), **{"Idempotency-Key": "k"})
        assert replay["Idempotent-Replayed"] == "true"
    with clock.frozen(clock.now() + dt.timedelta(hours=24, seconds=1)):
        assert purge_expired() == 1
    assert IdempotencyRecord.objects.count() == 0


def test_an_order_line_for_a_business_in_vienna_is_taxed_by_its_kind(api, company):
    vienna = api.send(
        "POST",
        "/customers",
        {
            "kind": "business",
            "name": "Alpen Software GmbH",
            "street": "Mariahilfer Straße",
            "house_number": "88",
            "postcode": "1070",
            "city": "Wien",
            "country": "AT",
            "email": "office@alpen.example",
            "vat_id": "ATU13585627",
        },
    ).json()
    workshop = {"name": "Workshop", "quantity": "1", "unit_price": "1450.00", "kind": "service"}
    response = api.send("POST", "/orders", {"customer": vienna["id"], "lines": [workshop]})
    assert response.status_code == 201, response.json()
    [line] = response.json()["lines"]
    assert (line["tax_category"], line["tax_rate"], line["supply_kind"]) == (
        "AE",
        "eu-reverse-charge",
        "service",
    )
    without = {key: value for key, value in workshop.items() if key != "kind"}
    refused = api.send("POST", "/orders", {"customer": vienna["id"], "lines": [without]})
    assert (refused.status_code, refused.json()["code"]) == (422, "supply_kind_required")


def _line(name: str, start: str, end: str) -> dict[str, str]:
    return {
        "name": name,
        "quantity": "1",
        "unit_price": "49.00",
        "tax_rate": "de-19",
        "service_date_start": start,
        "service_date_end": end,
    }


def test_order_lines_carry_their_own_service_period(api, customer):
    body = order_body(
        customer["id"],
        _line("Tarif Pro", "2026-12-01", "2026-12-31"),
        _line("Tarif Basis", "2026-11-01", "2026-11-30"),
    )
    response = api.send("POST", "/orders", body)
    assert response.status_code == 201, response.json()
    invoice = response.json()
    periods = [(li["service_date_start"], li["service_date_end"]) for li in invoice["lines"]]
    assert periods == [("2026-12-01", "2026-12-31"), ("2026-11-01", "2026-11-30")]
    # Differing line periods: the invoice names none of its own.
    assert invoice["service_period"] == {"start": None, "end": None}
    stored = Order.objects.get().request["lines"][0]
    assert (stored["service_date_start"], stored["service_date_end"]) == (
        "2026-12-01",
        "2026-12-31",
    )


def test_lines_without_period_show_null(api, customer):
    line = api.send("POST", "/orders", order_body(customer["id"])).json()["lines"][0]
    assert (line["service_date_start"], line["service_date_end"]) == (None, None)


def test_half_a_line_period_is_refused_with_its_field(api, customer):
    line = _line("Tarif Pro", "2026-12-01", "2026-12-31")
    del line["service_date_end"]
    response = api.send("POST", "/orders", order_body(customer["id"], line))
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "invalid_period",
        "lines.0.service_date_start",  # the API's path notation
    )
    assert not Invoice.objects.exists()
