"""Every sample document becomes an e-invoice that the official rules accept.

CII (ZUGFeRD/Factur-X EN 16931, or XRechnung CII) for every sample, UBL for every sample
(XRechnung UBL for ``xrechnung_ubl``); validated by XSD + CEN EN 16931 schematron (+ KoSIT
XRechnung 3.0.2), then the figures a user notices are read back with XPath.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from schwifty import IBAN
from stdnum.de import leitweg, stnr
from stdnum.eu import at_02
from stdnum.eu import vat as eu_vat

from faktura.documents import samples as sample_data
from faktura.documents.einvoice import build_cii, build_ubl, validate
from faktura.documents.samples import SampleLine, build_snapshot, sample_snapshots
from faktura.documents.snapshot import DocumentSnapshot

SAMPLE_NAMES = sorted(sample_snapshots())
XRECHNUNG_GUIDELINE = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
TRANSACTION = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
SETTLEMENT = f"{TRANSACTION}/ram:ApplicableHeaderTradeSettlement"
AGREEMENT = f"{TRANSACTION}/ram:ApplicableHeaderTradeAgreement"
MEANS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
TERMS = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"


def _xpath(root: etree._Element, path: str) -> list[str]:
    return [str(value).strip() for value in root.xpath(path, namespaces=NS)]


def _one(root: etree._Element, path: str) -> str:
    values = _xpath(root, path)
    assert len(values) == 1, f"{path}: {values}"
    return values[0]


def _cii(snapshot: DocumentSnapshot) -> etree._Element:
    return etree.fromstring(build_cii(snapshot))


def _ubl_snapshot(snapshot: DocumentSnapshot) -> DocumentSnapshot:
    """The UBL flavour of a sample: XRechnung UBL for public buyers, plain EN 16931 else."""
    if snapshot.einvoice_format == "cii":
        return snapshot
    return replace(snapshot, einvoice_format="xrechnung-ubl")


# -- the matrix: every sample passes the official rules -----------------------------------


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_as_cii_passes_xsd_and_official_schematron(samples, name):
    snapshot = samples[name]
    report = validate(build_cii(snapshot))
    assert report.ok, report.summary()
    assert report.syntax == "cii"
    expected_steps = ["xml", "xsd", "en16931"]
    if snapshot.einvoice_format != "cii":
        expected_steps.append("xrechnung")
    assert list(report.steps) == expected_steps


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_as_ubl_passes_xsd_and_official_schematron(samples, name):
    snapshot = _ubl_snapshot(samples[name])
    report = validate(build_ubl(snapshot))
    assert report.ok, report.summary()
    assert report.syntax == "ubl"
    assert report.xrechnung == (snapshot.einvoice_format == "xrechnung-ubl")


@pytest.mark.parametrize("name", ["xrechnung_cii", "xrechnung_ubl"])
def test_xrechnung_samples_have_neither_errors_nor_warnings(samples, name):
    snapshot = samples[name]
    build = build_ubl if snapshot.einvoice_format == "xrechnung-ubl" else build_cii
    report = validate(build(snapshot))
    assert report.xrechnung
    assert report.ok, report.summary()
    assert report.warnings == ()


def _variants() -> dict[str, DocumentSnapshot]:
    """Edge cases beyond the named samples: other payment means, prepayment, XRechnung credits."""
    base = sample_snapshots()
    xrechnung = base["xrechnung_cii"]
    return {
        "provider_payment": replace(base["standard_rate"], payment_means="provider", bank=None),
        "prepaid_half": replace(
            base["standard_rate"],
            prepaid_amount=Decimal("1279.19"),
            payable_amount=base["standard_rate"].grand_total - Decimal("1279.19"),
        ),
        "no_due_date": replace(base["standard_rate"], due_date=None),
        "english_with_skonto": replace(
            base["english_customer"],
            early_payment_discount_percent=Decimal("3.00"),
            early_payment_discount_days=10,
        ),
        "xrechnung_credit_note": replace(
            base["credit_note"],
            buyer=xrechnung.buyer,
            buyer_reference=xrechnung.buyer_reference,
            einvoice_format="xrechnung-cii",
        ),
        "xrechnung_direct_debit": replace(
            base["direct_debit"],
            buyer=xrechnung.buyer,
            buyer_reference=xrechnung.buyer_reference,
            einvoice_format="xrechnung-cii",
        ),
        "xrechnung_discounts": replace(
            base["line_and_document_discounts"],
            buyer=xrechnung.buyer,
            buyer_reference=xrechnung.buyer_reference,
            einvoice_format="xrechnung-cii",
        ),
        "same_day_delivery": replace(
            base["intra_community_supply"],
            service_date_start=base["intra_community_supply"].service_date_end,
        ),
    }


VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("syntax", ["cii", "ubl"])
def test_variant_passes_the_official_rules(name, syntax):
    snapshot = VARIANTS[name]
    if syntax == "ubl":
        snapshot = _ubl_snapshot(snapshot)
    report = validate(build_ubl(snapshot) if syntax == "ubl" else build_cii(snapshot))
    assert report.ok, report.summary()
    assert report.xrechnung == (snapshot.einvoice_format != "cii")


# -- what users notice, read back from the CII --------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_cii_carries_number_type_and_totals_of_the_snapshot(samples, name):
    snapshot = samples[name]
    root = _cii(snapshot)
    assert _one(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID/text()") == (
        snapshot.number
    )
    assert _one(root, "//rsm:ExchangedDocument/ram:TypeCode/text()") == snapshot.type_code
    totals = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert _one(root, f"{totals}/ram:GrandTotalAmount/text()") == str(snapshot.grand_total)
    assert _one(root, f"{totals}/ram:DuePayableAmount/text()") == str(snapshot.payable_amount)
    assert _one(root, f"{totals}/ram:TaxTotalAmount/text()") == str(snapshot.tax_total)
    assert _one(root, f"{totals}/ram:LineTotalAmount/text()") == str(snapshot.line_total)
    assert len(root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)) == len(
        snapshot.lines
    )


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_cii_vat_breakdown_matches_the_snapshot(samples, name):
    snapshot = samples[name]
    root = _cii(snapshot)
    rows = root.xpath(f"{SETTLEMENT}/ram:ApplicableTradeTax", namespaces=NS)
    written = [
        (
            _one(row, "ram:CategoryCode/text()"),
            # BR-O-05: no rate for category O.
            "".join(_xpath(row, "ram:RateApplicablePercent/text()")),
            _one(row, "ram:BasisAmount/text()"),
            _one(row, "ram:CalculatedAmount/text()"),
            "".join(_xpath(row, "ram:ExemptionReason/text()")),
        )
        for row in rows
    ]
    assert written == [
        (
            t.category,
            str(t.rate) if t.category != "O" else "",
            str(t.taxable_amount),
            str(t.tax_amount),
            t.exemption_reason,
        )
        for t in snapshot.tax_breakdown
    ]


def test_mixed_rates_breakdown_has_19_and_7_percent(samples):
    root = _cii(samples["mixed_rates"])
    rows = root.xpath(f"{SETTLEMENT}/ram:ApplicableTradeTax", namespaces=NS)
    assert [
        (
            _one(r, "ram:RateApplicablePercent/text()"),
            _one(r, "ram:BasisAmount/text()"),
            _one(r, "ram:CalculatedAmount/text()"),
        )
        for r in rows
    ] == [
        ("19.00", "2100.00", "399.00"),
        ("7.00", "119.70", "8.38"),
    ]


def test_every_amount_has_two_decimals_and_unit_prices_at_most_four(samples):
    amount_tags = (
        "LineTotalAmount",
        "TaxBasisTotalAmount",
        "TaxTotalAmount",
        "GrandTotalAmount",
        "DuePayableAmount",
        "CalculatedAmount",
        "BasisAmount",
        "ActualAmount",
        "AllowanceTotalAmount",
    )
    for snapshot in samples.values():
        root = _cii(snapshot)
        for tag in amount_tags:
            for value in _xpath(root, f"//ram:{tag}/text()"):
                assert re.fullmatch(r"\d+\.\d{2}", value), (snapshot.number, tag, value)
        for value in _xpath(root, "//ram:ChargeAmount/text()"):
            assert re.fullmatch(r"\d+\.\d{2,4}", value), (snapshot.number, value)


def test_xrechnung_cii_declares_guideline_process_and_leitweg_id(samples):
    root = _cii(samples["xrechnung_cii"])
    context = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
    guideline = f"{context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()"
    process = f"{context}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID/text()"
    assert _one(root, guideline) == XRECHNUNG_GUIDELINE
    assert _one(root, process) == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert _one(root, f"{AGREEMENT}/ram:BuyerReference/text()") == "04011000-1234512345-06"
    endpoint = root.xpath(
        f"{AGREEMENT}/ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID", namespaces=NS
    )[0]
    assert (endpoint.get("schemeID"), endpoint.text) == ("0204", "04011000-1234512345-06")
    contact = f"{AGREEMENT}/ram:SellerTradeParty/ram:DefinedTradeContact"
    assert _one(root, f"{contact}/ram:PersonName/text()") == "Erika Mustermann"
    assert _one(root, f"{contact}/ram:TelephoneUniversalCommunication/ram:CompleteNumber/text()")
    seller_endpoint = root.xpath(
        f"{AGREEMENT}/ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID", namespaces=NS
    )[0]
    assert (seller_endpoint.get("schemeID"), seller_endpoint.text) == (
        "EM",
        "rechnung@muster-software.de",
    )


def test_zugferd_cii_uses_the_en16931_profile_without_business_process(samples):
    root = _cii(samples["standard_rate"])
    assert _xpath(root, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") == [
        "urn:cen.eu:en16931:2017"
    ]
    assert _xpath(root, "//ram:BusinessProcessSpecifiedDocumentContextParameter") == []


def test_skonto_is_written_in_the_xrechnung_syntax(samples):
    root = _cii(samples["xrechnung_cii"])
    description = root.xpath(f"{TERMS}/ram:Description", namespaces=NS)[0].text
    # BR-DE-18: its own line, upper case, two decimals, closed by a line break.
    assert description.startswith("Zahlbar ohne Abzug bis zum 30.11.2026.\n")
    assert description.endswith("\n#SKONTO#TAGE=14#PROZENT=2.00#\n")


def test_transfer_names_the_sellers_iban_bic_and_due_date(samples):
    root = _cii(samples["standard_rate"])
    account = f"{MEANS}/ram:PayeePartyCreditorFinancialAccount"
    institution = f"{MEANS}/ram:PayeeSpecifiedCreditorFinancialInstitution"
    assert _one(root, f"{MEANS}/ram:TypeCode/text()") == "58"
    assert _one(root, f"{account}/ram:IBANID/text()") == "DE02120300000000202051"
    assert _one(root, f"{institution}/ram:BICID/text()") == "BYLADEM1001"
    assert _one(root, f"{TERMS}/ram:DueDateDateTime/udt:DateTimeString/text()") == "20261130"
    assert _one(root, f"{SETTLEMENT}/ram:PaymentReference/text()") == "RE-2026-00101"


def test_direct_debit_carries_mandate_creditor_id_and_debited_account(samples):
    root = _cii(samples["direct_debit"])
    debtor = f"{MEANS}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID/text()"
    assert _one(root, f"{MEANS}/ram:TypeCode/text()") == "59"
    assert _one(root, f"{SETTLEMENT}/ram:CreditorReferenceID/text()") == "DE98ZZZ09999999999"
    assert _one(root, f"{TERMS}/ram:DirectDebitMandateID/text()") == "MREF-K10042-01"
    assert _one(root, debtor) == "DE89370400440532013000"
    assert _xpath(root, "//ram:PayeePartyCreditorFinancialAccount") == []


@pytest.mark.parametrize(
    ("name", "preceding_number", "preceding_date"),
    [("credit_note", "RE-2026-00090", "20261102"), ("cancellation", "RE-2026-00091", "20261103")],
)
def test_credits_are_381_with_positive_amounts_and_preceding_invoice(
    samples, name, preceding_number, preceding_date
):
    snapshot = samples[name]
    root = _cii(snapshot)
    assert _one(root, "//rsm:ExchangedDocument/ram:TypeCode/text()") == "381"
    reference = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
    assert _one(root, f"{reference}/ram:IssuerAssignedID/text()") == preceding_number
    assert _one(root, f"{reference}/ram:FormattedIssueDateTime/*/text()") == preceding_date
    grand_total = _one(root, "//ram:GrandTotalAmount/text()")
    assert Decimal(grand_total) > 0
    assert grand_total == str(snapshot.grand_total)


def test_credit_note_ubl_is_a_creditnote_document_with_billing_reference(samples):
    root = etree.fromstring(build_ubl(samples["credit_note"]))
    assert root.tag == f"{{{NS['cn']}}}CreditNote"
    assert _one(root, "/cn:CreditNote/cbc:CreditNoteTypeCode/text()") == "381"
    assert _one(root, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()") == (
        "RE-2026-00090"
    )
    assert _one(root, "//cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == "357.00"


def test_reverse_charge_names_category_ae_and_the_legal_note(samples):
    root = _cii(samples["reverse_charge"])
    assert _xpath(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CategoryCode/text()") == ["AE"]
    reason = _one(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReason/text()")
    assert "Steuerschuldnerschaft des Leistungsempfängers" in reason
    assert _one(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReasonCode/text()") == (
        "VATEX-EU-AE"
    )
    buyer_vat = f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()"
    assert _xpath(root, buyer_vat) == ["DE123456788"]


def test_intra_community_supply_names_both_vat_ids_and_the_deliver_to_country(samples):
    root = _cii(samples["intra_community_supply"])
    assert _xpath(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CategoryCode/text()") == ["K"]
    assert _one(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReasonCode/text()") == (
        "VATEX-EU-IC"
    )
    assert "DE136695976" in _xpath(
        root, f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()"
    )
    assert _xpath(
        root, f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()"
    ) == ["ATU12345675"]
    assert _xpath(root, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID/text()") == [
        "AT"
    ]


def test_eu_service_to_a_business_is_reverse_charge_with_both_vat_ids(samples):
    root = _cii(samples["reverse_charge_eu_service"])
    assert _xpath(root, "//ram:SpecifiedLineTradeSettlement//ram:CategoryCode/text()") == ["AE"]
    tax = f"{SETTLEMENT}/ram:ApplicableTradeTax"
    assert _xpath(root, f"{tax}/ram:CategoryCode/text()") == ["AE"]
    assert _one(root, f"{tax}/ram:ExemptionReason/text()") == (
        "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG / Art. 196 MwStSystRL)"
    )
    assert _one(root, f"{tax}/ram:ExemptionReasonCode/text()") == "VATEX-EU-AE"
    assert "DE136695976" in _xpath(
        root, f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()"
    )
    assert _xpath(
        root, f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()"
    ) == ["ATU12345675"]
    # Not an intra-community supply of goods: no deliver-to party.
    assert _xpath(root, "//ram:ShipToTradeParty") == []


def test_goods_and_service_to_an_eu_business_are_k_and_ae(samples):
    root = _cii(samples["mixed_goods_and_service_eu"])
    rows = root.xpath(f"{SETTLEMENT}/ram:ApplicableTradeTax", namespaces=NS)
    assert sorted(
        (_one(r, "ram:CategoryCode/text()"), _one(r, "ram:ExemptionReasonCode/text()"))
        for r in rows
    ) == [("AE", "VATEX-EU-AE"), ("K", "VATEX-EU-IC")]


def test_service_outside_the_eu_is_not_taxable_and_names_no_vat_id(samples):
    root = _cii(samples["not_taxable_service_non_eu"])
    tax = f"{SETTLEMENT}/ram:ApplicableTradeTax"
    assert _xpath(root, f"{tax}/ram:CategoryCode/text()") == ["O"]
    assert _one(root, f"{tax}/ram:ExemptionReasonCode/text()") == "VATEX-EU-O"
    assert _xpath(root, f"{tax}/ram:RateApplicablePercent") == []
    # BR-O-02: neither VAT ID; the seller is identified by the tax number (BR-CO-26).
    seller_ids = root.xpath(
        f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS
    )
    assert [(e.get("schemeID"), e.text) for e in seller_ids] == [("FC", "30/123/45678")]
    assert _xpath(root, f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration") == []


def test_small_business_shows_no_vat_and_the_section_19_reason(samples):
    root = _cii(samples["small_business"])
    assert _xpath(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CategoryCode/text()") == ["E"]
    assert _one(root, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:ExemptionReason/text()") == (
        "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."
    )
    assert _one(root, "//ram:TaxTotalAmount/text()") == "0.00"
    seller_ids = root.xpath(
        f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS
    )
    assert [(e.get("schemeID"), e.text) for e in seller_ids] == [("FC", "37/456/78901")]


def test_discounts_appear_as_line_and_document_allowances(samples):
    snapshot = samples["line_and_document_discounts"]
    root = _cii(snapshot)
    line_allowance = "//ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge"
    line_allowances = _xpath(root, f"{line_allowance}/ram:ActualAmount/text()")
    discounted = [line for line in snapshot.lines if line.discount_amount]
    assert line_allowances == [str(line.discount_amount) for line in discounted]
    document_allowances = root.xpath(
        f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge", namespaces=NS
    )
    assert [
        (
            _one(a, "ram:ActualAmount/text()"),
            _one(a, "ram:CategoryTradeTax/ram:CategoryCode/text()"),
            _one(a, "ram:CategoryTradeTax/ram:RateApplicablePercent/text()"),
        )
        for a in document_allowances
    ] == [(str(a.amount), a.tax_category, str(a.tax_rate)) for a in snapshot.allowances]
    assert _one(root, "//ram:AllowanceTotalAmount/text()") == str(snapshot.allowance_total)


def test_xrechnung_ubl_carries_number_total_breakdown_and_leitweg_id(samples):
    snapshot = samples["xrechnung_ubl"]
    root = etree.fromstring(build_ubl(snapshot))
    assert root.tag == f"{{{NS['inv']}}}Invoice"
    assert _one(root, "/inv:Invoice/cbc:ID/text()") == snapshot.number
    assert _one(root, "/inv:Invoice/cbc:CustomizationID/text()") == XRECHNUNG_GUIDELINE
    assert _one(root, "/inv:Invoice/cbc:BuyerReference/text()") == "04011000-1234512345-06"
    endpoint = root.xpath("//cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", namespaces=NS)
    assert (endpoint[0].get("schemeID"), endpoint[0].text) == ("0204", "04011000-1234512345-06")
    assert _one(root, "//cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == "2627.08"
    subtotals = root.xpath("/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    assert [
        (
            _one(s, "cac:TaxCategory/cbc:ID/text()"),
            _one(s, "cac:TaxCategory/cbc:Percent/text()"),
            _one(s, "cbc:TaxableAmount/text()"),
            _one(s, "cbc:TaxAmount/text()"),
        )
        for s in subtotals
    ] == [("S", "19.00", "2100.00", "399.00"), ("S", "7.00", "119.70", "8.38")]


def test_amounts_with_three_decimals_are_refused_not_rounded(samples):
    snapshot = replace(samples["standard_rate"], grand_total=Decimal("2558.385"))
    with pytest.raises(ValueError, match="more decimals"):
        build_cii(snapshot)
    with pytest.raises(ValueError, match="more decimals"):
        build_ubl(snapshot)


def test_sample_identifiers_are_valid_example_values(samples):
    for snapshot in samples.values():
        for party in (snapshot.seller, snapshot.buyer):
            if party.vat_id:
                assert eu_vat.is_valid(party.vat_id), party.vat_id
            if party.tax_number:
                assert stnr.is_valid(party.tax_number), party.tax_number
            if party.leitweg_id:
                assert leitweg.is_valid(party.leitweg_id), party.leitweg_id
        if snapshot.bank is not None:
            assert IBAN(snapshot.bank.iban).bic == snapshot.bank.bic
        if snapshot.direct_debit is not None:
            assert at_02.is_valid(snapshot.direct_debit.creditor_id)
            IBAN(snapshot.direct_debit.debtor_iban)  # raises when the check digits are wrong


# -- property: any calculated document passes the CEN rules -------------------------------

RATES = [("S", Decimal("19.00")), ("S", Decimal("7.00")), ("Z", Decimal("0.00"))]

line_strategy = st.builds(
    lambda quantity, price, rate, discount: SampleLine(
        name="Position",
        quantity=quantity,
        unit_price=price,
        tax_category=rate[0],
        tax_rate=rate[1],
        discount_percent=discount,
    ),
    quantity=st.decimals(min_value="0.0001", max_value="500", places=4),
    price=st.decimals(min_value="0", max_value="9999.9999", places=4),
    rate=st.sampled_from(RATES),
    discount=st.sampled_from([Decimal(0), Decimal("2.5"), Decimal(10), Decimal("33.33")]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(line_strategy, min_size=1, max_size=6),
    document_discount=st.sampled_from([Decimal(0), Decimal(3), Decimal("12.5")]),
    price_mode=st.sampled_from(["net", "gross"]),
)
def test_any_calculated_document_passes_the_cen_rules(lines, document_discount, price_mode):
    snapshot = build_snapshot(
        number="RE-2026-99999",
        buyer=sample_data.BUSINESS_BUYER,
        lines=lines,
        price_mode=price_mode,
        document_discount_percent=document_discount,
    )
    report = validate(build_cii(snapshot))
    assert report.ok, report.summary()
