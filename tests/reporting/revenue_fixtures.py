"""Fixture documents of October and November 2026 for the revenue and VAT reports."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.catalog.services import create_product
from faktura.invoicing.drafting import LineRequest
from tests.invoicing.helpers import line
from tests.reporting.helpers import business, cancel, credit, finalized


@pytest.fixture(name="products")
def products_fixture(company, actor):
    def make(sku, name, price, rate, kind):
        return create_product(
            actor=actor, sku=sku, name=name, unit_price=price, tax_rate=rate, kind=kind
        )

    return {
        "BERATUNG": make("BERATUNG", "Beratung", "100.00", "de-19", "service"),
        "BUCH": make("BUCH", "Fachbuch", "50.00", "de-7", "goods"),
        "WORKSHOP": make("WORKSHOP", "Inhouse-Workshop", "1450.00", "de-19", "service"),
        "TERMINAL": make("TERMINAL", "Kassenterminal", "349.00", "de-19", "goods"),
    }


@pytest.fixture(name="documents")
def documents_fixture(company, actor, products, business_customer, consumer):
    vienna = business(actor, country="AT", city="Wien", postcode="1010", vat_id="ATU13585627")
    zurich = business(actor, country="CH", city="Zürich", postcode="8001")
    mixed = finalized(
        business_customer,
        actor,
        LineRequest(sku="BERATUNG", quantity="2"),
        LineRequest(sku="BUCH", quantity="1"),
        day=dt.date(2026, 10, 5),
    )
    book = finalized(
        consumer, actor, LineRequest(sku="BUCH", quantity="1"), day=dt.date(2026, 10, 20)
    )
    finalized(
        vienna,
        actor,
        LineRequest(sku="WORKSHOP", quantity="1"),
        LineRequest(sku="TERMINAL", quantity="2"),
        day=dt.date(2026, 11, 3),
    )
    finalized(zurich, actor, LineRequest(sku="TERMINAL", quantity="1"), day=dt.date(2026, 11, 4))
    finalized(zurich, actor, LineRequest(sku="WORKSHOP", quantity="1"), day=dt.date(2026, 11, 4))
    finalized(
        business_customer,
        actor,
        line(price="1000.00", rate="de-reverse-charge", name="Bauleistung"),
        day=dt.date(2026, 11, 5),
    )
    finalized(
        consumer, actor, line(price="80.00", rate="de-kleinunternehmer"), day=dt.date(2026, 11, 6)
    )
    credit(mixed, actor, lines=[(1, "1")], day=dt.date(2026, 11, 10))
    cancel(book, actor, day=dt.date(2026, 11, 12))
    # Outside the period.
    finalized(business_customer, actor, line(price="999.00"), day=dt.date(2026, 9, 30))
    finalized(business_customer, actor, line(price="888.00"), day=dt.date(2026, 12, 1))
