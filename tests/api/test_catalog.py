"""/products and /tax-rates: the catalog a shop reads and maintains."""

from __future__ import annotations

from decimal import Decimal

import pytest

from faktura.catalog.models import Product, StockMovement
from faktura.core.models import AuditEntry

pytestmark = pytest.mark.django_db

BOOK = {"sku": "BOOK-1", "name": "Handbuch", "unit_price": "24.9900", "tax_rate": "de-7"}


def test_create_product_with_a_four_decimal_price(api, company):
    response = api.send("POST", "/products", {**BOOK, "unit_price": "0.1234"})
    assert response.status_code == 201
    body = response.json()
    assert (body["object"], body["sku"], body["unit_price"], body["currency"]) == (
        "product",
        "BOOK-1",
        "0.1234",
        "EUR",
    )
    assert body["tax_rate"] == "de-7"
    assert body["created_at"] == "2026-11-16T09:00:00Z"
    assert AuditEntry.objects.get(action="product.created").actor == "api:shop"


def test_prices_show_at_least_two_decimals(api, company):
    body = api.send("POST", "/products", BOOK).json()
    assert body["unit_price"] == "24.99"


def test_price_with_five_decimals_is_refused(api, company):
    response = api.send("POST", "/products", {**BOOK, "unit_price": "1.00001"})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "too_many_decimals",
        "unit_price",
    )
    assert Product.objects.count() == 0


def test_unknown_tax_rate_and_duplicate_sku_are_refused(api, company):
    unknown = api.send("POST", "/products", {**BOOK, "tax_rate": "de-16"})
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_tax_rate", "tax_rate")
    api.send("POST", "/products", BOOK)
    duplicate = api.send("POST", "/products", BOOK)
    assert duplicate.status_code == 422
    assert (duplicate.json()["code"], duplicate.json()["field"]) == ("duplicate_sku", "sku")
    assert Product.objects.count() == 1


def test_opening_stock_is_booked_as_a_movement(api, company):
    body = api.send("POST", "/products", {**BOOK, "track_stock": True, "stock_level": 12}).json()
    assert body["stock_level"] == "12"
    movement = StockMovement.objects.get()
    assert (movement.quantity, movement.document_number) == (Decimal("12"), "Anfangsbestand")


def test_patch_product_changes_price_and_tax_rate(api, company):
    product = api.send("POST", "/products", BOOK).json()
    response = api.send(
        "PATCH", f"/products/{product['id']}", {"unit_price": "29.90", "tax_rate": "de-19"}
    )
    assert response.status_code == 200
    assert (response.json()["unit_price"], response.json()["tax_rate"]) == ("29.90", "de-19")
    entry = AuditEntry.objects.get(action="product.updated")
    assert entry.data == {
        "before": {"unit_price": "24.9900", "tax_rate": "de-7"},
        "after": {"unit_price": "29.9000", "tax_rate": "de-19"},
    }


def test_product_list_and_filter(api, company):
    api.send("POST", "/products", BOOK)
    api.send("POST", "/products", {**BOOK, "sku": "BOOK-2"})
    listed = api.get_json("/products", sku="BOOK-2").json()
    assert [p["sku"] for p in listed["data"]] == ["BOOK-2"]
    assert api.get_json("/products/999").json()["code"] == "not_found"


def test_tax_rates_are_listed_and_read_by_code(api, company):
    listed = api.get_json("/tax-rates").json()
    assert {t["code"] for t in listed["data"]} >= {
        "de-19", "de-7", "de-0", "de-kleinunternehmer", "de-reverse-charge",
        "eu-intra-community", "export",
    }  # fmt: skip
    rate = api.get_json("/tax-rates/de-19").json()
    assert (rate["id"], rate["object"], rate["rate"], rate["category"]) == (
        "de-19",
        "tax_rate",
        "19.00",
        "S",
    )
    assert api.get_json("/tax-rates/de-16").status_code == 404


def test_tax_rates_are_read_only(api, company):
    response = api.send("POST", "/tax-rates", {"code": "de-16"})
    assert response.status_code == 405


def test_product_kind_is_accepted_shown_and_changed(api, company):
    created = api.send("POST", "/products", {**BOOK, "kind": "goods"})
    assert created.status_code == 201, created.json()
    product = created.json()
    assert product["kind"] == "goods"
    assert api.get_json(f"/products/{product['id']}").json()["kind"] == "goods"
    changed = api.send("PATCH", f"/products/{product['id']}", {"kind": "service"})
    assert (changed.status_code, changed.json()["kind"]) == (200, "service")
    assert Product.objects.get(pk=product["id"]).kind == "service"
    entry = AuditEntry.objects.filter(action="product.updated").latest("pk")
    assert entry.data == {"before": {"kind": "goods"}, "after": {"kind": "service"}}
    refused = api.send("PATCH", f"/products/{product['id']}", {"kind": "software"})
    assert refused.status_code == 422
    assert Product.objects.get(pk=product["id"]).kind == "service"


def test_without_a_kind_tracked_products_are_goods_and_others_services(api, company):
    plain = api.send("POST", "/products", BOOK).json()
    tracked = api.send("POST", "/products", {**BOOK, "sku": "CUP", "track_stock": True}).json()
    assert (plain["kind"], tracked["kind"]) == ("service", "goods")


def test_cross_border_rates_are_listed(api, company):
    codes = {t["code"]: t for t in api.get_json("/tax-rates", limit=200).json()["data"]}
    assert (codes["eu-reverse-charge"]["category"], codes["not-taxable-3a"]["category"]) == (
        "AE",
        "O",
    )
    assert codes["not-taxable-3a"]["exemption_reason_code"] == "VATEX-EU-O"
