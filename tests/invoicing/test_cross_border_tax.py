"""The VAT category of a sale to a business abroad follows the kind of what is sold.

A workshop (a service) for a business in Vienna is reverse charge (AE), not an
intra-community supply (K, goods only); goods to the same buyer are K; a service for a
business outside the EU is not taxable in Germany (O). Each document passes the official
e-invoice rules and prints the note VAT law asks for.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from faktura.catalog.services import create_product
from faktura.core.errors import InvalidInput
from faktura.customers.services import create_customer
from faktura.documents.einvoice.cii import build_cii
from faktura.documents.einvoice.ubl import build_ubl
from faktura.documents.einvoice.validation import validate
from faktura.documents.pdf.render import render_pdf
from faktura.invoicing import services as invoicing
from faktura.invoicing.drafting import LineRequest
from faktura.invoicing.models import Invoice
from faktura.invoicing.snapshots import snapshot_for
from tests.invoicing.helpers import order

pytestmark = pytest.mark.django_db


def _business(actor, *, country, city, postcode, vat_id="", language="de", name=None):
    return create_customer(
        actor=actor,
        kind="business",
        name=name or f"Kunde {city} GmbH",
        street="Hauptstraße",
        house_number="1",
        postcode=postcode,
        city=city,
        country=country,
        vat_id=vat_id,
        email=f"office@{city.lower()}.example",
        language=language,
    )


@pytest.fixture
def vienna(company, actor):
    return _business(actor, country="AT", city="Wien", postcode="1010", vat_id="ATU13585627")


@pytest.fixture
def zurich(company, actor):
    return _business(actor, country="CH", city="Zürich", postcode="8001", language="en")


@pytest.fixture
def products(company, actor):
    return {
        "WORKSHOP": create_product(
            actor=actor,
            sku="WORKSHOP",
            name="Inhouse-Workshop",
            unit_code="DAY",
            unit_price="1450.00",
            tax_rate="de-19",
            kind="service",
        ),
        "TERMINAL": create_product(
            actor=actor,
            sku="TERMINAL",
            name="Kassenterminal",
            unit_price="349.00",
            tax_rate="de-19",
            kind="goods",
        ),
    }


def _finalized(customer, actor, *lines) -> Invoice:
    draft = order(customer, actor, *lines)
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def _pdf_text(invoice: Invoice) -> str:
    snapshot = snapshot_for(invoice)
    pdf = render_pdf(snapshot, einvoice_xml=build_cii(snapshot))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(text.replace("\xa0", " ").split())


def _valid(invoice: Invoice) -> None:
    snapshot = snapshot_for(invoice)
    for xml in (build_cii(snapshot), build_ubl(snapshot)):
        report = validate(xml)
        assert report.ok, report.summary()


def test_a_workshop_for_a_business_in_vienna_is_reverse_charge(vienna, products, actor):
    invoice = _finalized(vienna, actor, LineRequest(sku="WORKSHOP", quantity="1"))
    [line] = invoice.lines.all()
    assert (line.tax_category, line.tax_rate, line.supply_kind) == (
        "AE",
        Decimal("0.00"),
        "service",
    )
    assert line.tax_rate_code == "eu-reverse-charge"
    [tax] = invoice.taxes.all()
    assert (tax.category, tax.taxable_amount, tax.tax_amount) == (
        "AE",
        Decimal("1450.00"),
        Decimal("0.00"),
    )
    assert tax.exemption_reason == (
        "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG / Art. 196 MwStSystRL)"
    )
    assert tax.exemption_reason_code == "VATEX-EU-AE"
    assert invoice.grand_total == Decimal("1450.00")
    _valid(invoice)
    text = _pdf_text(invoice)
    assert "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG / Art. 196 MwStSystRL)" in (
        text
    )
    assert "innergemeinschaftliche Lieferung" not in text
    assert "Art. 138" not in text


def test_goods_for_a_business_in_vienna_are_an_intra_community_supply(vienna, products, actor):
    invoice = _finalized(vienna, actor, LineRequest(sku="TERMINAL", quantity="2"))
    [tax] = invoice.taxes.all()
    assert (tax.category, tax.exemption_reason_code, tax.taxable_amount) == (
        "K",
        "VATEX-EU-IC",
        Decimal("698.00"),
    )
    assert tax.exemption_reason == (
        "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG)"
    )
    _valid(invoice)
    assert "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG)" in (
        _pdf_text(invoice)
    )


def test_goods_and_a_workshop_for_vienna_are_k_and_ae_lines(vienna, products, actor):
    invoice = _finalized(
        vienna,
        actor,
        LineRequest(sku="TERMINAL", quantity="1"),
        LineRequest(sku="WORKSHOP", quantity="1"),
    )
    assert [(line.sku, line.tax_category) for line in invoice.lines.order_by("position")] == [
        ("TERMINAL", "K"),
        ("WORKSHOP", "AE"),
    ]
    assert sorted((t.category, t.taxable_amount) for t in invoice.taxes.all()) == [
        ("AE", Decimal("1450.00")),
        ("K", Decimal("349.00")),
    ]
    assert invoice.tax_total == Decimal("0.00")
    _valid(invoice)
    text = _pdf_text(invoice)
    assert "Art. 196 MwStSystRL" in text
    assert "§ 6a UStG" in text


def test_a_service_for_a_business_in_zurich_is_not_taxable_in_germany(zurich, products, actor):
    invoice = _finalized(zurich, actor, LineRequest(sku="WORKSHOP", quantity="2"))
    [tax] = invoice.taxes.all()
    assert (tax.category, tax.exemption_reason_code, tax.tax_amount) == (
        "O",
        "VATEX-EU-O",
        Decimal("0.00"),
    )
    # The customer reads English: the reason is in the document's language.
    assert tax.exemption_reason.startswith("Not taxable in Germany")
    assert invoice.grand_total == Decimal("2900.00")
    _valid(invoice)
    assert "Not taxable in Germany" in _pdf_text(invoice)


def test_goods_for_a_business_in_zurich_are_an_export(zurich, products, actor):
    invoice = _finalized(zurich, actor, LineRequest(sku="TERMINAL", quantity="1"))
    assert [(t.category, t.exemption_reason_code) for t in invoice.taxes.all()] == [
        ("G", "VATEX-EU-G")
    ]
    _valid(invoice)


def test_goods_and_a_service_for_zurich_are_refused_and_nothing_is_written(zurich, products, actor):
    before = Invoice.objects.count()
    with pytest.raises(InvalidInput) as error:
        order(
            zurich,
            actor,
            LineRequest(sku="TERMINAL", quantity="1"),
            LineRequest(sku="WORKSHOP", quantity="1"),
        )
    assert error.value.code == "not_taxable_mixed"
    assert Invoice.objects.count() == before


def test_german_customers_consumers_and_eu_businesses_without_vat_id_pay_german_vat(
    company, business_customer, consumer, products, actor
):
    no_vat_id = _business(actor, country="AT", city="Graz", postcode="8010")
    austrian_consumer = create_customer(
        actor=actor,
        kind="consumer",
        name="Maria Huber",
        street="Herrengasse",
        house_number="3",
        postcode="8010",
        city="Graz",
        country="AT",
        email="maria@example.org",
    )
    for customer in (business_customer, consumer, no_vat_id, austrian_consumer):
        draft = order(customer, actor, LineRequest(sku="WORKSHOP", quantity="1"))
        assert [(t.category, t.rate) for t in draft.taxes.all()] == [("S", Decimal("19.00"))]


def test_an_explicit_tax_rate_wins(vienna, products, actor):
    draft = order(vienna, actor, LineRequest(sku="WORKSHOP", quantity="1", tax_rate="de-19"))
    assert [t.category for t in draft.taxes.all()] == ["S"]


def test_a_free_line_for_a_business_abroad_needs_its_kind(vienna, actor):
    free = {"quantity": "1", "name": "Schulung", "unit_price": "500.00"}
    with pytest.raises(InvalidInput) as error:
        order(vienna, actor, LineRequest(**free))
    assert (error.value.code, error.value.field) == ("supply_kind_required", "lines[0].kind")
    draft = order(vienna, actor, LineRequest(**free, kind="service"))
    assert [line.tax_category for line in draft.lines.all()] == ["AE"]
    with pytest.raises(InvalidInput) as error:
        order(vienna, actor, LineRequest(**free, kind="software"))
    assert error.value.code == "invalid_supply_kind"


def test_a_credit_note_repeats_the_reverse_charge_of_its_original(vienna, products, actor):
    invoice = _finalized(vienna, actor, LineRequest(sku="WORKSHOP", quantity="2"))
    credit = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "1")])
    credit = invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    [tax] = credit.taxes.all()
    assert (tax.category, tax.exemption_reason_code, tax.taxable_amount) == (
        "AE",
        "VATEX-EU-AE",
        Decimal("1450.00"),
    )
    assert "Art. 196 MwStSystRL" in tax.exemption_reason
    assert credit.lines.get().supply_kind == "service"
    _valid(credit)
    by_amount = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, amount="100.00")
    assert [(t.category, t.exemption_reason_code) for t in by_amount.taxes.all()] == [
        ("AE", "VATEX-EU-AE")
    ]
