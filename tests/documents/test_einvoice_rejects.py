"""Broken e-invoices are rejected with the rule that names the defect.

Mutations are made here on our own XRechnung output; the corpus part (marked ``corpus``)
checks the curated third-party and mutated files against what its manifest measured.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from faktura.documents import samples as sample_data
from faktura.documents.einvoice import build_cii, build_ubl, validate, validation
from faktura.documents.samples import build_snapshot

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CORPUS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
# BR-CO-15, BR-S-05, BR-DE-18, CII-SR-001, PEPPOL-EN16931-R001, XSD (file names use "_").
RULE_ID = re.compile(
    r"(?<![A-Z0-9])(?:(?:BR|CII|UBL)-(?:[A-Z]{1,3}-)?\d{1,3}|PEPPOL-EN16931-R\d{3}|XSD)(?![0-9])"
)


def _mutate_cii(snapshot, *xpaths_and_actions) -> bytes:
    root = etree.fromstring(build_cii(snapshot))
    for path, action in xpaths_and_actions:
        elements = root.xpath(path, namespaces=NS)
        assert elements, path
        for element in elements:
            action(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _remove(element: etree._Element) -> None:
    element.getparent().remove(element)


def _plus_one_euro(element: etree._Element) -> None:
    element.text = str(Decimal(element.text) + 1)


# -- mutations of our own XRechnung -------------------------------------------------------


def test_valid_xrechnung_is_the_baseline_for_the_mutations(samples):
    assert validate(build_cii(samples["xrechnung_cii"])).rule_ids == frozenset()


def test_wrong_grand_total_is_rejected_by_br_co_15(samples):
    # Grand and payable total both one euro too high: only the sum rule BR-CO-15 breaks.
    xml = _mutate_cii(
        samples["xrechnung_cii"],
        ("//ram:GrandTotalAmount", _plus_one_euro),
        ("//ram:DuePayableAmount", _plus_one_euro),
    )
    assert validate(xml).rule_ids == {"BR-CO-15"}


def test_wrong_grand_total_in_ubl_is_rejected_by_br_co_15(samples):
    root = etree.fromstring(build_ubl(samples["xrechnung_ubl"]))
    for tag in ("TaxInclusiveAmount", "PayableAmount"):
        _plus_one_euro(root.xpath(f"//cac:LegalMonetaryTotal/cbc:{tag}", namespaces=NS)[0])
    assert validate(etree.tostring(root)).rule_ids == {"BR-CO-15"}


def test_xrechnung_without_buyer_reference_is_rejected_by_br_de_15(samples):
    xml = _mutate_cii(samples["xrechnung_cii"], ("//ram:BuyerReference", _remove))
    report = validate(xml)
    assert report.xrechnung
    assert report.rule_ids == {"BR-DE-15"}


def test_xrechnung_ubl_without_buyer_reference_is_rejected_by_br_de_15(samples):
    root = etree.fromstring(build_ubl(samples["xrechnung_ubl"]))
    _remove(root.xpath("/*/cbc:BuyerReference", namespaces=NS)[0])
    assert validate(etree.tostring(root)).rule_ids == {"BR-DE-15"}


def test_zugferd_without_buyer_reference_is_accepted(samples):
    xml = _mutate_cii(samples["standard_rate"], ("//ram:BuyerOrderReferencedDocument", _remove))
    assert validate(xml).ok


def test_standard_rate_of_zero_percent_is_rejected_by_br_s_05():
    zero = Decimal("0.00")
    snapshot = build_snapshot(
        number="RE-2026-00666",
        buyer=sample_data.PUBLIC_BUYER,
        lines=[
            replace(sample_data.LICENSE, tax_rate=zero),
            replace(sample_data.CONSULTING, tax_rate=zero),
        ],
        buyer_reference=sample_data.PUBLIC_BUYER.leitweg_id,
        einvoice_format="xrechnung-cii",
    )
    assert validate(build_cii(snapshot)).rule_ids == {"BR-S-05"}
    ubl = build_ubl(replace(snapshot, einvoice_format="xrechnung-ubl"))
    assert validate(ubl).rule_ids == {"BR-S-05"}


def test_xrechnung_without_seller_contact_is_rejected_by_br_de_2(samples):
    xml = _mutate_cii(
        samples["xrechnung_cii"], ("//ram:SellerTradeParty/ram:DefinedTradeContact", _remove)
    )
    assert validate(xml).rule_ids == {"BR-DE-2"}


def test_xrechnung_seller_without_contact_data_cannot_pass(samples):
    snapshot = samples["xrechnung_cii"]
    seller = replace(snapshot.seller, contact_name="", phone="", email="")
    report = validate(build_cii(replace(snapshot, seller=seller)))
    assert "BR-DE-2" in report.rule_ids


def test_unknown_element_is_rejected_by_the_xsd_and_stops_the_chain(samples):
    def add_unknown(element: etree._Element) -> None:
        etree.SubElement(element, f"{{{NS['ram']}}}Unknown").text = "x"

    xml = _mutate_cii(samples["xrechnung_cii"], ("//rsm:ExchangedDocument", add_unknown))
    report = validate(xml)
    assert report.rule_ids == {"XSD"}
    assert report.steps == ("xml", "xsd")
    assert "Unknown" in report.errors[0].text


def test_broken_skonto_line_is_rejected_by_br_de_18(samples):
    def break_skonto(element: etree._Element) -> None:
        element.text = element.text.replace("#PROZENT=2.00#", "#PROZENT=2#")

    xml = _mutate_cii(
        samples["xrechnung_cii"], ("//ram:SpecifiedTradePaymentTerms/ram:Description", break_skonto)
    )
    assert validate(xml).rule_ids == {"BR-DE-18"}


def test_text_that_is_not_xml_is_refused_as_not_well_formed():
    report = validate(b"%PDF-1.7 this is not XML")
    assert not report.ok
    assert report.rule_ids == {"XML-WELLFORMED"}


def test_xml_with_a_doctype_is_refused_before_any_parser_expands_it(samples):
    xml = build_cii(samples["standard_rate"]).replace(
        b"<rsm:CrossIndustryInvoice",
        b'<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rsm:CrossIndustryInvoice",
        1,
    )
    report = validate(xml)
    assert report.rule_ids == {"XML-WELLFORMED"}
    assert report.steps == ("xml",)


def test_xml_with_a_foreign_root_is_refused_by_the_xsd_step():
    report = validate(b"<?xml version='1.0'?><html><body>Rechnung</body></html>")
    assert report.rule_ids == {"XSD"}
    assert "html" in report.errors[0].text


def test_cii_given_as_ubl_is_refused(samples):
    report = validate(build_cii(samples["standard_rate"]), syntax="ubl")
    assert report.rule_ids == {"XSD"}


def test_zugferd_cii_forced_to_xrechnung_fails_the_kosit_rules(samples):
    report = validate(build_cii(samples["standard_rate"]), xrechnung=True)
    assert report.xrechnung
    # No Leitweg-ID / buyer reference and no business process: XRechnung says no.
    assert {"BR-DE-15", "PEPPOL-EN16931-R001"} <= report.rule_ids


def test_a_crashing_stylesheet_is_reported_as_validator_runtime(samples, monkeypatch):
    class Exploding:
        def transform_to_string(self, **_kwargs: object) -> str:
            raise RuntimeError("XPTY0004: dynamic error")

    def exploding_executable(self, rules):
        return Exploding(), threading.Lock()

    monkeypatch.setattr(validation._Engine, "executable", exploding_executable)
    report = validate(build_cii(samples["standard_rate"]))
    assert not report.ok
    assert report.rule_ids == {"VALIDATOR-RUNTIME"}
    assert "XPTY0004" in report.errors[0].text


# -- processes and threads ----------------------------------------------------------------


def _validate_in_child(xml: bytes, queue) -> None:
    report = validate(xml)
    queue.put((sorted(report.rule_ids), report.steps))


def test_validation_works_in_a_forked_worker(samples):
    xml = build_cii(samples["xrechnung_cii"])
    broken = _mutate_cii(samples["xrechnung_cii"], ("//ram:BuyerReference", _remove))
    assert validate(xml).ok  # the parent has a warm engine before it forks
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    for document in (xml, broken):
        child = context.Process(target=_validate_in_child, args=(document, queue))
        child.start()
        child.join(120)
        assert child.exitcode == 0
    assert queue.get(timeout=10) == ([], ("xml", "xsd", "en16931", "xrechnung"))
    assert queue.get(timeout=10) == (["BR-DE-15"], ("xml", "xsd", "en16931", "xrechnung"))
    assert validate(broken).rule_ids == {"BR-DE-15"}  # the parent is unharmed


def test_validation_is_safe_from_several_threads(samples):
    documents = [build_cii(s) for s in samples.values()]
    results: list[bool] = []

    def work() -> None:
        results.extend(validate(xml).ok for xml in documents)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * (4 * len(documents))


# -- the shared corpus --------------------------------------------------------------------


def _corpus_entries() -> list[dict]:
    manifest = CORPUS_DIR / "manifest.json"
    if not manifest.is_file():
        return []
    return [
        entry
        for entry in json.loads(manifest.read_text(encoding="utf-8"))
        if entry["file"].startswith("einvoice/") and entry["file"].endswith(".xml")
    ]


def _measured_errors(entry: dict) -> set[str]:
    measured = entry["measured"]
    expected = set(measured["en16931_fatal"]) | set(measured["xrechnung_fatal"])
    if measured["xsd_errors"]:
        expected.add("XSD")
    return expected


def _named_rules(entry: dict) -> set[str]:
    """Rule ids named by the file name or the manifest's "expected" text."""
    name = Path(entry["file"]).stem.upper()
    return set(RULE_ID.findall(name)) | set(RULE_ID.findall(entry["expected"]))


CORPUS = _corpus_entries()
INVALID = [e for e in CORPUS if e["file"].startswith("einvoice/invalid/")]
ACCEPTED = [e for e in CORPUS if not e["file"].startswith("einvoice/invalid/")]


@pytest.mark.corpus
@pytest.mark.parametrize("entry", INVALID, ids=[Path(e["file"]).name for e in INVALID])
def test_corpus_invalid_file_is_rejected_with_its_named_rule(corpus_dir, entry):
    report = validate((corpus_dir / entry["file"]).read_bytes())
    assert not report.ok
    named = _named_rules(entry)
    assert named, f"no rule id named for {entry['file']}"
    assert named <= report.rule_ids, report.summary()
    assert report.rule_ids == _measured_errors(entry)


@pytest.mark.corpus
@pytest.mark.parametrize("entry", ACCEPTED, ids=[Path(e["file"]).name for e in ACCEPTED])
def test_corpus_valid_file_gets_the_measured_result(corpus_dir, entry):
    report = validate((corpus_dir / entry["file"]).read_bytes())
    assert report.rule_ids == _measured_errors(entry), report.summary()
    assert report.warning_ids == set(entry["measured"]["warnings_info"])
