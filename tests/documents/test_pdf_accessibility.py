"""Invoices and credit notes are tagged PDF/A-3a + PDF/UA-1, and the Factur-X XML stays as is."""

from __future__ import annotations

import io

import pikepdf
import pytest

from faktura.documents.einvoice import validate
from faktura.documents.einvoice.cii import build_cii
from faktura.documents.pdf import Asset, Letterhead, epc_qr, render_pdf
from faktura.documents.snapshot import DocumentSnapshot
from tests.documents.tagged_pdf import PDFA_CONFORMANCE, PDFA_PART, PDFUA, structure


def _render(snapshot: DocumentSnapshot, **kwargs: object) -> tuple[bytes, bytes]:
    xml = build_cii(snapshot)
    return render_pdf(snapshot, einvoice_xml=xml, **kwargs), xml  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["standard_rate", "credit_note", "cancellation", "multi_page"])
def test_the_document_is_tagged_with_language_title_heading_and_table(samples, name):
    pdf, _xml = _render(samples[name])

    found = structure(pdf)

    assert found.marked
    assert found.lang == "de"
    assert found.display_title  # viewers show "Rechnung RE-…", not the file name
    assert found.title.endswith(samples[name].number)
    assert found.top == ["Document"]
    assert found.headings == ["H1"]
    assert found.roles["Table"] == 1
    assert found.roles["TH"] >= 1
    assert found.roles["TD"] >= len(samples[name].lines)
    assert found.roles["P"] > 5
    assert found.xmp == {PDFUA: "1", PDFA_PART: "3", PDFA_CONFORMANCE: "A"}


def test_an_english_document_declares_english(samples):
    found = structure(_render(samples["english_customer"])[0])
    assert found.lang == "en"
    assert found.title.startswith("Invoice ")


def test_the_transfer_qr_code_and_the_logo_have_alternative_texts(samples):
    buffer = io.BytesIO()
    epc_qr("BCD\n002\n2\nSCT\n\nLogo\nDE02120300000000202051\nEUR1.00\n\n\nx").save(
        buffer, kind="png", scale=4
    )
    letterhead = Letterhead(logo=Asset(buffer.getvalue(), "image/png"), accent_colour="#7a2e2e")

    pdf, _xml = _render(samples["standard_rate"], letterhead=letterhead)

    alts = structure(pdf).figure_alts
    assert "Logo Muster Software GmbH" in alts
    assert any(alt.startswith("QR-Code für die Überweisung (GiroCode)") for alt in alts)
    assert all(alts)


def test_a_pdf_letterhead_beneath_the_pages_is_an_artifact(samples):
    background = render_pdf(samples["credit_note"], einvoice_xml=None)
    letterhead = Letterhead(first_page_background=Asset(background, "application/pdf"))

    pdf, _xml = _render(samples["standard_rate"], letterhead=letterhead)

    with pikepdf.open(io.BytesIO(pdf)) as document:
        content = document.pages[0].Contents.read_bytes()
    assert content.startswith(b"/Artifact BMC\n")
    assert structure(pdf).marked


def test_the_embedded_factur_x_xml_is_unchanged_and_valid(samples):
    pdf, xml = _render(samples["standard_rate"])

    with pikepdf.open(io.BytesIO(pdf)) as document:
        embedded = document.attachments["factur-x.xml"].get_file().read_bytes()
        relationship = document.Root.AF[0].AFRelationship
        with document.open_metadata() as meta:
            fx = meta["{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}ConformanceLevel"]

    assert embedded == xml
    assert relationship == pikepdf.Name.Alternative
    assert fx == "EN 16931"
    assert validate(embedded).ok
