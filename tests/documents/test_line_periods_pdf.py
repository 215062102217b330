"""Line service periods on the PDF (§ 14 (4) no. 6 UStG) and in the XML of the samples."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader

from faktura.documents.einvoice import build_cii, build_ubl, validate
from faktura.documents.pdf import render_pdf
from faktura.documents.samples import sample_snapshots
from faktura.documents.snapshot import DocumentSnapshot

DEC = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def _with_line_periods(name: str) -> DocumentSnapshot:
    snapshot = sample_snapshots()[name]
    periods = [DEC, NOV]
    lines = tuple(
        replace(li, service_date_start=periods[i % 2][0], service_date_end=periods[i % 2][1])
        for i, li in enumerate(snapshot.lines)
    )
    return replace(snapshot, lines=lines, service_date_start=None, service_date_end=None)


def _text(snapshot: DocumentSnapshot) -> str:
    pdf = render_pdf(snapshot, einvoice_xml=build_cii(snapshot))
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", "", text)


def test_each_line_prints_its_period_and_the_header_points_to_the_items():
    snapshot = _with_line_periods("mixed_rates")
    assert len(snapshot.lines) >= 2
    text = _text(snapshot)
    assert "Leistungszeitraum:01.12.–31.12.2026" in text
    assert "Leistungszeitraum:01.11.–30.11.2026" in text
    assert "Leistungszeitraumsiehe Positionen".replace(" ", "") in text
    assert "Leistungsdatum" not in text


def test_english_lines_print_the_service_period():
    text = _text(_with_line_periods("english_customer"))
    assert "Serviceperiod:1–31December2026" in text
    assert "Serviceperiodseeitems" in text


def test_a_one_day_line_period_prints_as_date_of_supply():
    snapshot = sample_snapshots()["standard_rate"]
    day = dt.date(2026, 11, 3)
    lines = tuple(
        replace(li, service_date_start=day, service_date_end=day) for li in snapshot.lines
    )
    text = _text(replace(snapshot, lines=lines))
    assert "Leistungsdatum:03.11.2026" in text


@pytest.mark.parametrize("name", ["mixed_rates", "credit_note", "xrechnung_cii", "xrechnung_ubl"])
@pytest.mark.parametrize("syntax", ["cii", "ubl"])
def test_line_periods_pass_the_official_rules(name, syntax):
    snapshot = _with_line_periods(name)
    if syntax == "ubl" and snapshot.einvoice_format == "xrechnung-cii":
        snapshot = replace(snapshot, einvoice_format="xrechnung-ubl")
    if syntax == "cii" and snapshot.einvoice_format == "xrechnung-ubl":
        snapshot = replace(snapshot, einvoice_format="xrechnung-cii")
    xml = build_ubl(snapshot) if syntax == "ubl" else build_cii(snapshot)
    report = validate(xml)
    assert report.ok, report.summary()
    assert b"2026-12-31" in xml if syntax == "ubl" else b"20261231" in xml
    if snapshot.einvoice_format != "cii":
        assert report.warnings == (), report.summary()


@pytest.mark.parametrize("syntax", ["cii", "ubl"])
def test_line_periods_within_an_invoice_period_pass_xrechnung(syntax):
    snapshot = _with_line_periods("xrechnung_cii")
    snapshot = replace(
        snapshot,
        service_date_start=NOV[0],
        service_date_end=DEC[1],
        einvoice_format=f"xrechnung-{syntax}",
    )
    report = validate(build_ubl(snapshot) if syntax == "ubl" else build_cii(snapshot))
    assert report.ok, report.summary()
    # A line period outside it breaks PEPPOL-EN16931-R111, which drafting refuses.
    outside = replace(snapshot, service_date_end=dt.date(2026, 12, 15))
    bad = validate(build_ubl(outside) if syntax == "ubl" else build_cii(outside))
    assert "PEPPOL-EN16931-R111" in bad.rule_ids
