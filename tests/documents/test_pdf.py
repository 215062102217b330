"""PDF invoices: § 14 (4) UStG content by extracted text, PDF/A-3b and Factur-X structure.

Content is checked on the text pypdf extracts (whitespace removed, so line wrapping does not
matter); expected amounts are formatted here independently of the renderer's formatter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from pypdf import PdfReader

from faktura.core.errors import InvalidInput
from faktura.documents.einvoice.cii import build_cii
from faktura.documents.pdf import Asset, Letterhead, epc_qr, render_pdf, texts
from faktura.documents.pdf import render as render_module
from faktura.documents.samples import sample_snapshots
from faktura.documents.snapshot import DocumentSnapshot

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CHECKED = [
    "standard_rate",
    "mixed_rates",
    "line_and_document_discounts",
    "credit_note",
    "cancellation",
    "reverse_charge",
    "intra_community_supply",
    "small_business",
    "consumer_gross_prices",
    "multi_page",
    "xrechnung_cii",
    "direct_debit",
    "english_customer",
]


# --------------------------------------------------------------------------- helpers


@cache
def _snapshots() -> dict[str, DocumentSnapshot]:
    return sample_snapshots()


def _xml(snapshot: DocumentSnapshot) -> bytes:
    return build_cii(snapshot)


@cache
def _rendered(name: str) -> tuple[bytes, bytes]:
    snapshot = _snapshots()[name]
    xml = _xml(snapshot)
    return render_pdf(snapshot, einvoice_xml=xml), xml


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _contains(text: str, expected: str) -> bool:
    return _squash(expected) in _squash(text)


def _eur(value: Decimal, lang: str = "de") -> str:
    """Independent money format: 1.234,56 € (de) or €1,234.56 (en)."""
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.2f}"
    if lang == "en":
        return f"{sign}€{text}"
    return sign + text.replace(",", "_").replace(".", ",").replace("_", ".") + " €"


def _de_date(value) -> str:
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def _open(pdf: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(pdf))


# --------------------------------------------------------------------------- § 14 (4) UStG


@pytest.mark.parametrize("name", CHECKED)
def test_every_mandatory_item_of_section_14_is_printed(name: str):
    snapshot = _snapshots()[name]
    pdf, _xml_bytes = _rendered(name)
    text = " ".join(_pages(pdf))
    en = snapshot.language == "en"
    seller, buyer = snapshot.seller, snapshot.buyer
    expected = [
        # no. 1: full name and address of supplier and recipient
        seller.name,
        seller.street_line,
        f"{seller.postcode} {seller.city}",
        buyer.name,
        buyer.street_line,
        f"{buyer.postcode} {buyer.city}",
        # no. 2: supplier's VAT ID or tax number
        seller.vat_id or seller.tax_number,
        # no. 4: the number
        snapshot.number,
    ]
    # no. 3 and 6: issue date and service period
    if en:
        expected += ["16 November 2026", "1–31 October 2026"]
    else:
        expected += [_de_date(snapshot.issue_date), "01.10.–31.10.2026"]
    # no. 5: quantity and description of each line
    for line in snapshot.lines:
        expected.append(line.name)
        if line.description:
            expected.append(line.description)
    # no. 7 and 8: net amount per rate, rate and tax amount, grand total
    lang = "en" if en else "de"
    if not snapshot.small_business:
        for tax in snapshot.tax_breakdown:
            rate = f"{tax.rate.normalize():f}"
            basis = _eur(tax.taxable_amount, lang)
            label = f"VAT {rate}% on {basis}" if en else f"USt {rate} % auf {basis}"
            expected += [label, _eur(tax.tax_amount, lang)]
    expected.append(_eur(snapshot.grand_total, lang))
    missing = [item for item in expected if not _contains(text, item)]
    assert missing == []


def test_reverse_charge_prints_the_note_and_the_buyers_vat_id():
    text = " ".join(_pages(_rendered("reverse_charge")[0]))
    assert _contains(
        text,
        "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG). "
        "USt-IdNr. des Leistungsempfängers: DE123456788.",
    )
    # Printed once, although the sample also carries it as a free-text note (BT-22).
    assert _squash(text).count("Steuerschuldnerschaft") == 1


def test_intra_community_supply_prints_the_note_and_both_vat_ids():
    text = " ".join(_pages(_rendered("intra_community_supply")[0]))
    assert _contains(
        text,
        "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG). "
        "USt-IdNr. des Lieferers: DE136695976, USt-IdNr. des Abnehmers: ATU12345675.",
    )
    assert _contains(text, "ÖSTERREICH")


def test_small_business_prints_the_section_19_note_and_no_vat():
    text = " ".join(_pages(_rendered("small_business")[0]))
    assert _contains(text, "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.")
    assert "USt19" not in _squash(text)
    assert "Summenetto" not in _squash(text)
    assert _contains(text, "Gesamtbetrag 1.045,00 €")


def test_titles_name_the_corrected_invoice():
    credit = " ".join(_pages(_rendered("credit_note")[0]))
    cancellation = " ".join(_pages(_rendered("cancellation")[0]))
    assert _contains(credit, "Rechnungskorrektur zu Rechnung RE-2026-00090 vom 02.11.2026")
    assert _contains(cancellation, "Stornorechnung zu Rechnung RE-2026-00091 vom 03.11.2026")
    assert _contains(credit, "Gutschrift für nicht erbrachte Beratungsstunden.")


def test_english_invoice_uses_english_words_and_formats():
    text = " ".join(_pages(_rendered("english_customer")[0]))
    for item in (
        "Invoice no.",
        "Unit price",
        "Total net",
        "VAT 19% on €2,100.00",
        "€399.00",
        "Total €2,499.00",
        "Please transfer €2,499.00 by 30 November 2026",
        "Page 1 of 1",
    ):
        assert _contains(text, item), item
    assert "Rechnung" not in text


def test_consumer_invoice_shows_gross_prices():
    text = " ".join(_pages(_rendered("consumer_gross_prices")[0]))
    assert _contains(text, "Einzelpreis brutto")
    assert _contains(text, "149,00 €")  # the price the consumer saw, incl. 19 % VAT
    assert _contains(text, "39,98 €")  # 2 × 19,99 €
    assert _contains(text, "Guten Tag Anna Schmidt,")


def test_units_are_printed_with_their_names():
    text = " ".join(_pages(_rendered("standard_rate")[0]))
    for unit in ("Stk.", "Std.", "Monat"):
        assert unit in text


# --------------------------------------------------------------------------- payment


def test_transfer_invoice_asks_for_payment_with_bank_details():
    text = " ".join(_pages(_rendered("standard_rate")[0]))
    assert _contains(
        text,
        "Bitte überweisen Sie 2.558,38 € bis zum 30.11.2026 unter Angabe der "
        "Rechnungsnummer RE-2026-00101.",
    )
    assert _contains(text, "IBAN DE02 1203 0000 0000 2020 51")
    assert _contains(text, "GiroCode")


def test_early_payment_discount_is_stated_with_date_and_amount():
    snapshot = _snapshots()["mixed_rates"]
    text = " ".join(_pages(_rendered("mixed_rates")[0]))
    discounted = snapshot.payable_amount - (snapshot.payable_amount * 2 / 100).quantize(
        Decimal("0.01")
    )
    assert _contains(
        text, f"Bei Zahlung bis 23.11.2026 gewähren wir 2 % Skonto ({_eur(discounted)})."
    )


def test_direct_debit_prints_the_pre_notification_with_a_masked_iban():
    text = " ".join(_pages(_rendered("direct_debit")[0]))
    assert _contains(
        text,
        "Den Betrag von 178,38 € ziehen wir am 23.11.2026 mit der SEPA-Lastschrift zum Mandat "
        "MREF-K10042-01, Gläubiger-ID DE98ZZZ09999999999, von Ihrem Konto "
        "DE89 XXXX XXXX XXXX XX30 00 ein.",
    )
    assert "DE89370400440532013000" not in _squash(text)
    assert "Bitteüberweisen" not in _squash(text)
    assert "GiroCode" not in text


def test_credit_note_announces_the_refund_and_asks_for_no_payment():
    text = " ".join(_pages(_rendered("credit_note")[0]))
    assert _contains(
        text, "Der Betrag von 357,00 € wird Ihnen erstattet oder mit offenen Posten verrechnet."
    )
    assert "Bitteüberweisen" not in _squash(text)
    assert "GiroCode" not in text


@pytest.mark.skipif(
    shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
    reason="zbarimg or pdftoppm not installed",
)
def test_printed_girocode_decodes_to_the_payable_amount(tmp_path: Path):
    pdf_path = tmp_path / "invoice.pdf"
    pdf_path.write_bytes(_rendered("standard_rate")[0])
    subprocess.run(
        ["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", str(pdf_path), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    image = next(tmp_path.glob("p*.png"))
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, check=True, timeout=60
    )
    lines = result.stdout.decode("utf-8").rstrip("\n").split("\n")
    assert lines[6:8] == ["DE02120300000000202051", "EUR2558.38"]
    assert lines[-1] == "RE-2026-00101"


# --------------------------------------------------------------------------- multi page


# 18 items with details run onto a second page in the quick one-page layout, so they are set
# again as a table; 60 are set as a table at once (SURELY_MULTI_PAGE_ROWS).
MULTI_PAGE = ["multi_page_18_lines", "multi_page"]


@cache
def _multi_page(name: str) -> DocumentSnapshot:
    snapshot = _snapshots()["multi_page"]
    if name == "multi_page_18_lines":
        return dataclasses.replace(snapshot, lines=snapshot.lines[:18])
    return snapshot


@cache
def _multi_page_pdf(name: str) -> bytes:
    snapshot = _multi_page(name)
    return render_pdf(snapshot, einvoice_xml=_xml(snapshot))


@pytest.mark.parametrize("name", MULTI_PAGE)
def test_multi_page_invoice_carries_the_running_total_over_page_breaks(name: str):
    snapshot = _multi_page(name)
    pages = _pages(_multi_page_pdf(name))
    assert len(pages) >= 2
    running = Decimal("0.00")
    for number, page in enumerate(pages[:-1], start=1):
        # The lines whose name appears on this page, summed independently of the renderer.
        on_page = [line for line in snapshot.lines if _contains(page, line.name)]
        assert on_page, f"no line on page {number}"
        running += sum((line.net_amount for line in on_page), Decimal("0.00"))
        assert _contains(page, f"Übertrag {_eur(running)}"), f"carry missing on page {number}"
        assert _contains(pages[number], f"Übertrag {_eur(running)}"), "carry not brought over"
        assert _contains(page, f"Seite {number} von {len(pages)}")
    # The last page ends the table with the totals and shows no carry at its foot.
    assert _contains(pages[-1], f"Gesamtbetrag {_eur(snapshot.grand_total)}")
    assert _squash(pages[-1]).count("Übertrag") == 1


@pytest.mark.parametrize("name", MULTI_PAGE)
def test_table_header_repeats_on_every_page(name: str):
    pages = _pages(_multi_page_pdf(name))
    assert all(_contains(page, "Pos. Bezeichnung Menge Einheit") for page in pages[:-1])


@pytest.mark.parametrize(
    ("name", "compiles"), [("standard_rate", 1), ("multi_page_18_lines", 2), ("multi_page", 1)]
)
def test_only_a_document_that_outgrows_the_quick_layout_is_set_twice(
    name: str, compiles: int, monkeypatch
):
    snapshot = _snapshots()[name] if name in _snapshots() else _multi_page(name)
    calls = []
    compile_ = render_module._compile

    def counting(inputs, **kwargs):
        calls.append(json.loads(inputs["data"])["table"]["repeat_header"])
        return compile_(inputs, **kwargs)

    monkeypatch.setattr(render_module, "_compile", counting)
    render_pdf(snapshot, einvoice_xml=_xml(snapshot))
    assert len(calls) == compiles
    long_table = len(snapshot.lines) > render_module.SURELY_MULTI_PAGE_ROWS
    assert calls[-1] == (compiles == 2 or long_table)  # the last one set as a table or not


# --------------------------------------------------------------------------- PDF/A-3 + Factur-X


@pytest.mark.parametrize("name", ["standard_rate", "credit_note", "multi_page"])
def test_xml_is_embedded_byte_identical_as_factur_x(name: str):
    pdf, xml = _rendered(name)
    with _open(pdf) as document:
        af = document.Root.AF
        assert len(af) == 1
        spec = af[0]
        assert str(spec.F) == "factur-x.xml"
        assert str(spec.UF) == "factur-x.xml"
        assert spec.AFRelationship == pikepdf.Name.Alternative
        assert spec.EF.F.Subtype == pikepdf.Name("/text/xml")
        assert spec.EF.F.read_bytes() == xml
        names = document.Root.Names.EmbeddedFiles.Names
        assert str(names[0]) == "factur-x.xml"


def test_xrechnung_profile_is_embedded_as_xrechnung_xml():
    pdf, xml = _rendered("xrechnung_cii")
    with _open(pdf) as document:
        spec = document.Root.AF[0]
        assert str(spec.F) == "xrechnung.xml"
        assert spec.EF.F.read_bytes() == xml
        with document.open_metadata() as meta:
            assert meta[f"{{{FX}}}ConformanceLevel"] == "XRECHNUNG"
            assert meta[f"{{{FX}}}DocumentFileName"] == "xrechnung.xml"


@pytest.mark.parametrize("name", ["standard_rate", "multi_page", "english_customer"])
def test_xmp_declares_pdfa_3a_and_the_factur_x_properties(name: str):
    pdf, _xml_bytes = _rendered(name)
    with _open(pdf) as document:
        with document.open_metadata() as meta:
            assert meta.pdfa_status == "3A"
            assert meta[f"{{{FX}}}DocumentType"] == "INVOICE"
            assert meta[f"{{{FX}}}DocumentFileName"] == "factur-x.xml"
            assert meta[f"{{{FX}}}Version"] == "1.0"
            assert meta[f"{{{FX}}}ConformanceLevel"] == "EN 16931"
        packet = document.Root.Metadata.read_bytes()
        assert "/Filter" not in document.Root.Metadata  # PDF/A: metadata stays readable
    # PDF/A-3 § 6.6.2.3: the fx schema is described in the one extension schema bag.
    tree = etree.fromstring(
        packet[packet.index(b"<x:xmpmeta") : packet.rindex(b"</x:xmpmeta>") + 12]
    )
    bags = tree.findall(".//{http://www.aiim.org/pdfa/ns/extension/}schemas")
    assert len(bags) == 1
    uris = [e.text for e in bags[0].iter("{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")]
    assert FX in uris
    namespaces = {
        "rdf": RDF,
        "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
        "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    }
    fx_properties = set(
        bags[0].xpath(
            f"rdf:Bag/rdf:li[pdfaSchema:namespaceURI='{FX}']"
            "/pdfaSchema:property/rdf:Seq/rdf:li/pdfaProperty:name/text()",
            namespaces=namespaces,
        )
    )
    assert fx_properties == {"DocumentType", "DocumentFileName", "Version", "ConformanceLevel"}


def test_output_intent_is_present():
    with _open(_rendered("standard_rate")[0]) as document:
        intents = document.Root.OutputIntents
        assert len(intents) == 1
        assert intents[0].S == pikepdf.Name.GTS_PDFA1
        assert isinstance(intents[0].DestOutputProfile, pikepdf.Stream)


def _fonts(resources: pikepdf.Object, seen: set[tuple[int, int]]) -> Iterator[pikepdf.Object]:
    yield from (resources.get("/Font") or {}).values()
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if xobject.get("/Subtype") == pikepdf.Name.Form and "/Resources" in xobject:
            yield from _fonts(xobject.Resources, seen)


@pytest.mark.parametrize("name", ["standard_rate", "multi_page", "english_customer"])
def test_every_font_is_embedded(name: str):
    with _open(_rendered(name)[0]) as document:
        fonts = [f for page in document.pages for f in _fonts(page.Resources, set())]
        assert fonts
        for font in fonts:
            if font.Subtype == pikepdf.Name.Type3:
                continue  # glyphs are drawn by the font's own content streams
            descendant = font.DescendantFonts[0] if font.Subtype == pikepdf.Name.Type0 else font
            descriptor = descendant.FontDescriptor
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), str(
                descendant.get("/BaseFont")
            )


def test_render_is_reproducible():
    snapshot = _snapshots()["standard_rate"]
    xml = _xml(snapshot)
    assert render_pdf(snapshot, einvoice_xml=xml) == render_pdf(snapshot, einvoice_xml=xml)


def test_pdf_without_xml_is_pdfa_without_attachment():
    pdf = render_pdf(_snapshots()["xrechnung_ubl"], einvoice_xml=None)
    with _open(pdf) as document:
        assert "/AF" not in document.Root
        with document.open_metadata() as meta:
            assert meta.pdfa_status == "3A"


def test_ubl_cannot_be_embedded():
    with pytest.raises(InvalidInput) as error:
        render_pdf(_snapshots()["xrechnung_ubl"], einvoice_xml=b"<Invoice/>")
    assert error.value.code == "einvoice_not_embeddable"


def test_xml_that_is_not_utf8_is_refused():
    latin1 = '<?xml version="1.0" encoding="ISO-8859-1"?><a>Müller</a>'.encode("latin-1")
    with pytest.raises(InvalidInput) as error:
        render_pdf(_snapshots()["standard_rate"], einvoice_xml=latin1)
    assert error.value.code == "invalid_xml"


def test_a_failed_compile_does_not_break_the_next_render():
    with pytest.raises(RuntimeError):
        render_module._compile(
            {"data": "{not json"}, timestamp=render_module._timestamp(_snapshots()["standard_rate"])
        )
    pdf = render_pdf(_snapshots()["credit_note"], einvoice_xml=None)
    assert _contains(_pages(pdf)[0], "Rechnungskorrektur")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_render_in_a_child_forked_after_rendering_fails_instead_of_hanging():
    render_pdf(_snapshots()["credit_note"], einvoice_xml=None)  # this process has rendered
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        signal.alarm(20)  # a hang would be the bug this test guards against
        try:
            render_pdf(_snapshots()["credit_note"], einvoice_xml=None)
        except RuntimeError:
            os._exit(7)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


# --------------------------------------------------------------------------- letterhead


def _png() -> bytes:
    buffer = io.BytesIO()
    epc_qr("BCD\n002\n2\nSCT\n\nLogo\nDE02120300000000202051\nEUR1.00\n\n\nx").save(
        buffer, kind="png", scale=4
    )
    return buffer.getvalue()


def test_letterhead_with_logo_and_backgrounds_renders_pdfa():
    background = render_pdf(_snapshots()["credit_note"], einvoice_xml=None)  # any A4 PDF
    letterhead = Letterhead(
        logo=Asset(_png(), "image/png"),
        first_page_background=Asset(background, "application/pdf"),
        following_pages_background=Asset(_png(), "image/png"),
        accent_colour="#7a2e2e",
        footer=False,
    )
    snapshot = _snapshots()["multi_page"]
    pdf = render_pdf(snapshot, einvoice_xml=_xml(snapshot), letterhead=letterhead)
    pages = _pages(pdf)
    # Without the generated footer the seller's VAT ID moves into the info block.
    assert _contains(pages[0], "Unsere USt-IdNr. DE136695976")
    with _open(pdf) as document:
        with document.open_metadata() as meta:
            assert meta.pdfa_status == "3A"
        for page in document.pages:
            for font in _fonts(page.Resources, set()):
                if font.Subtype == pikepdf.Name.Type0:
                    descriptor = font.DescendantFonts[0].FontDescriptor
                    assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_letterhead_refuses_unknown_file_types_and_colours():
    with pytest.raises(InvalidInput):
        Asset(b"GIF89a", "image/gif")
    with pytest.raises(InvalidInput):
        Letterhead(accent_colour="blue")


# --------------------------------------------------------------------------- formats


def test_money_formats_follow_the_language():
    assert texts.money(Decimal("1234.56"), "EUR", "de") == "1.234,56\u00a0€"
    assert texts.money(Decimal("-0.5"), "EUR", "de") == "-0,50\u00a0€"
    assert texts.money(Decimal("1234.56"), "EUR", "en") == "€1,234.56"
    assert texts.money(Decimal("1234567.8"), "CHF", "en") == "CHF\u00a01,234,567.80"
    assert texts.money(Decimal("0.1234"), "EUR", "de", places=4) == "0,1234\u00a0€"


def test_dates_and_periods_follow_the_language():
    start, end = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    assert texts.date(dt.date(2026, 11, 16), "de") == "16.11.2026"
    assert texts.date(dt.date(2026, 11, 16), "en") == "16 November 2026"
    assert texts.period(start, end, "de") == "01.10.–31.10.2026"
    assert texts.period(start, end, "en") == "1–31 October 2026"
    assert texts.period(start, dt.date(2027, 1, 31), "de") == "01.10.2026–31.01.2027"
    assert texts.period(start, dt.date(2026, 11, 30), "en") == "1 October – 30 November 2026"


def test_quantities_percentages_and_units():
    assert texts.quantity_parts(Decimal("7.50"), "de") == ("7", ",5")
    assert texts.quantity_parts(Decimal("1200"), "de") == ("1.200", "")
    assert texts.quantity_parts(Decimal("0.25"), "en") == ("0", ".25")
    assert texts.percent(Decimal("19.00"), "de") == "19\u00a0%"
    assert texts.percent(Decimal("5.5"), "en") == "5.5%"
    assert texts.unit("C62", Decimal(3), "de") == "Stk."
    assert texts.unit("HUR", Decimal(1), "de") == "Std."
    assert texts.unit("MON", Decimal(2), "de") == "Monate"
    assert texts.unit("DAY", Decimal(1), "en") == "day"
    assert texts.unit("KGM", Decimal("2.5"), "de") == "kg"
    assert texts.unit("ZZZ", Decimal(1), "de") == "ZZZ"


def test_iban_is_grouped_and_masked():
    assert texts.format_iban("DE89370400440532013000") == "DE89 3704 0044 0532 0130 00"
    assert texts.mask_iban("DE89 3704 0044 0532 0130 00") == "DE89 XXXX XXXX XXXX XX30 00"
