"""Finalized invoices become e-invoices that pass the official rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from faktura.documents.einvoice.cii import build_cii
from faktura.documents.einvoice.ubl import build_ubl
from faktura.documents.einvoice.validation import validate
from faktura.invoicing import services as invoicing
from faktura.invoicing.snapshots import snapshot_for
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db
CII = {
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}


def _finalized(customer, actor, *lines, **kwargs):
    return invoicing.finalize_invoice(
        invoice_id=order(customer, actor, *lines, **kwargs).pk, actor=actor
    )


def test_invoice_credit_note_and_cancellation_pass_en16931(business_customer, consumer, actor):
    invoice = _finalized(
        business_customer,
        actor,
        line("3", "49.99", discount_percent="10"),
        line("2", "12.00", rate="de-7"),
        document_discount_percent="5",
    )
    gross = _finalized(consumer, actor, line("1", "149.00"), line("2", "39.90", rate="de-7"))
    credit = invoicing.finalize_invoice(
        invoice_id=invoicing.create_credit_note(
            invoice_id=invoice.pk, actor=actor, lines=[(1, "1")]
        ).pk,
        actor=actor,
    )
    cancellation = invoicing.cancel_invoice(invoice_id=gross.pk, actor=actor)
    for document in (invoice, gross, credit, cancellation):
        xml = build_cii(snapshot_for(document))
        report = validate(xml)
        assert report.ok, (document.number, report.summary())
        tree = etree.fromstring(xml)
        assert tree.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=CII) == document.number
        grand = tree.findtext(".//ram:GrandTotalAmount", namespaces=CII)
        assert Decimal(grand) == document.grand_total
    cancel_tree = etree.fromstring(build_cii(snapshot_for(cancellation)))
    assert cancel_tree.findtext(".//ram:TypeCode", namespaces=CII) == "381"
    assert (
        cancel_tree.findtext(
            ".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=CII
        )
        == gross.number
    )


def test_public_body_gets_xrechnung_in_its_chosen_syntax(company, actor):
    from faktura.customers.services import create_customer

    authority = create_customer(
        actor=actor,
        kind="public_body",
        name="Stadtverwaltung Musterstadt",
        street="Rathausplatz",
        house_number="1",
        postcode="12345",
        city="Musterstadt",
        email="rechnung@musterstadt.de",
        leitweg_id="04011000-1234512345-06",
        xrechnung_syntax="ubl",
    )
    invoice = _finalized(authority, actor, line("8", "120.00", unit_code="HUR"))
    snapshot = snapshot_for(invoice)
    assert snapshot.einvoice_format == "xrechnung-ubl"
    assert snapshot.buyer_reference == "04011000-1234512345-06"
    report = validate(build_ubl(snapshot))
    assert report.ok, report.summary()
    assert report.xrechnung


def test_intra_community_supply_names_both_vat_ids(company, actor):
    from faktura.customers.services import create_customer

    buyer = create_customer(
        actor=actor,
        name="Wiener Handel GmbH",
        street="Ring",
        house_number="1",
        postcode="1010",
        city="Wien",
        country="AT",
        email="office@example.at",
        vat_id="ATU13585627",
    )
    invoice = _finalized(buyer, actor, line("1", "1450.00", rate="eu-intra-community"))
    xml = build_cii(snapshot_for(invoice))
    assert validate(xml).ok
    assert b"ATU13585627" in xml
    assert b"DE136695976" in xml
    assert invoice.grand_total == Decimal("1450.00")


def test_consumer_pdf_shows_the_gross_line_amount_of_an_amount_discount(consumer, actor):
    from io import BytesIO

    from pypdf import PdfReader

    from faktura.documents.pdf.render import render_pdf

    invoice = _finalized(consumer, actor, line("2", "9.99", discount_amount="1.01"))
    snapshot = snapshot_for(invoice)
    assert snapshot.lines[0].gross_amount == Decimal("18.97")
    assert invoice.grand_total == Decimal("18.97")
    pdf = render_pdf(snapshot, einvoice_xml=build_cii(snapshot))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "18,97" in text.replace("\xa0", " ")
