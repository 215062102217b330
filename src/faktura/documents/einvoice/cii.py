"""Write a DocumentSnapshot as UN/CEFACT CII D16B (ZUGFeRD/Factur-X EN 16931, XRechnung CII).

The tree is built directly with lxml, every group in the element order of the CII schema.
(drafthorse built it before; its model objects and its three serialization passes cost
about seven times as much per invoice.) The output follows the rules drafthorse applied,
so it did not change with the switch: an element with an empty value is not written, and
neither is an optional group left without children, while the groups the schema requires
(e.g. ``ApplicableHeaderTradeDelivery``) are always written. Nothing here checks profile
rules, so every output is validated by the official rules in the tests
(``faktura.documents.einvoice.validation``). Values are passed as pre-formatted strings so
the decimals are exactly what EN 16931 expects (see ``formatting``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from faktura.core.money import round_money
from faktura.documents.einvoice import formatting as fmt
from faktura.documents.einvoice.texts import payment_means_code, payment_means_text, payment_terms
from faktura.documents.snapshot import (
    AllowanceSnapshot,
    DocumentSnapshot,
    LineSnapshot,
    PartySnapshot,
    TaxCategory,
    TaxSnapshot,
)

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
# Declared on the root whether used or not, as in every CII file written so far.
NAMESPACES = {
    "ram": NS_RAM,
    "rsm": NS_RSM,
    "udt": NS_UDT,
    "qdt": NS_QDT,
    "xs": "http://www.w3.org/2001/XMLSchema",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_RSM = f"{{{NS_RSM}}}"
_RAM = f"{{{NS_RAM}}}"

# UNTDID 5189 allowance reason code 95 = "Discount" (BT-98 / BT-140).
DISCOUNT_REASON_CODE = "95"
# UNTDID 2379 date format 102 = CCYYMMDD.
DATE_FORMAT_CODE = "102"


def build_cii(snapshot: DocumentSnapshot) -> bytes:
    """Return the CII XML (UTF-8) of a finalized document.

    EN 16931 profile for ZUGFeRD/Factur-X; XRechnung 3.0 CIUS when
    ``snapshot.einvoice_format == "xrechnung-cii"``. Credit notes and cancellations carry
    type code 381 with positive amounts. Raises ``ValueError`` on amounts with too many
    decimals (never rounds) and on text that XML cannot carry (control characters).
    """
    root = etree.Element(f"{_RSM}CrossIndustryInvoice", nsmap=NAMESPACES)
    _context(root, snapshot)
    _header(root, snapshot)
    transaction = etree.SubElement(root, f"{_RSM}SupplyChainTradeTransaction")
    for line in snapshot.lines:
        _line_item(transaction, line, snapshot)
    _agreement(transaction, snapshot)
    _delivery(transaction, snapshot)
    _settlement(transaction, snapshot)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


# -- element helpers ----------------------------------------------------------------------


def _group(parent: etree._Element, tag: str) -> etree._Element:
    """Append the ram:<tag> group element and return it."""
    return etree.SubElement(parent, f"{_RAM}{tag}")


def _value(parent: etree._Element, tag: str, text: str | None, **attributes: str) -> None:
    """Append ram:<tag> holding ``text``; nothing at all when the value is empty."""
    if text:
        element = etree.SubElement(parent, f"{_RAM}{tag}", attributes)
        # A CR would be written as "&#13;"; files so far were re-parsed before they were
        # written, which turns CR LF and a lone CR into LF (e.g. notes typed on Windows).
        element.text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _date(parent: etree._Element, tag: str, value: dt.date, namespace: str = NS_UDT) -> None:
    """Append ram:<tag> with a CCYYMMDD DateTimeString (udt, or qdt in referenced documents)."""
    string = etree.SubElement(
        _group(parent, tag), f"{{{namespace}}}DateTimeString", format=DATE_FORMAT_CODE
    )
    string.text = f"{value:%Y%m%d}"


def _drop_if_empty(group: etree._Element) -> None:
    """Remove an optional group that got no children because all its values were empty."""
    if len(group) == 0:
        parent = group.getparent()
        if parent is not None:
            parent.remove(group)


# -- document -----------------------------------------------------------------------------


def _context(root: etree._Element, snapshot: DocumentSnapshot) -> None:
    context = etree.SubElement(root, f"{_RSM}ExchangedDocumentContext")
    if fmt.is_xrechnung(snapshot):
        # XRechnung 3.0 / PEPPOL-EN16931-R001: business process BT-23 is mandatory.
        process = _group(context, "BusinessProcessSpecifiedDocumentContextParameter")
        _value(process, "ID", fmt.BUSINESS_PROCESS_PEPPOL)
    guideline = _group(context, "GuidelineSpecifiedDocumentContextParameter")
    _value(guideline, "ID", fmt.guideline(snapshot))  # BT-24


def _header(root: etree._Element, snapshot: DocumentSnapshot) -> None:
    header = etree.SubElement(root, f"{_RSM}ExchangedDocument")
    _value(header, "ID", snapshot.number)  # BT-1
    _value(header, "TypeCode", snapshot.type_code)  # BT-3: 380 invoice, 381 credit note
    _date(header, "IssueDateTime", snapshot.issue_date)  # BT-2
    for text in snapshot.notes:  # BG-1 / BT-22
        if text:
            _value(_group(header, "IncludedNote"), "Content", text)
    legal_info = fmt.seller_legal_info(snapshot)
    if legal_info:
        # BT-22 with subject code REG: the seller's register data (§ 35a GmbHG).
        note = _group(header, "IncludedNote")
        _value(note, "Content", f"{snapshot.seller.name}, {legal_info}")
        _value(note, "SubjectCode", "REG")


# -- lines --------------------------------------------------------------------------------


def _line_item(transaction: etree._Element, line: LineSnapshot, snapshot: DocumentSnapshot) -> None:
    item = _group(transaction, "IncludedSupplyChainTradeLineItem")
    _value(_group(item, "AssociatedDocumentLineDocument"), "LineID", str(line.position))  # BT-126

    product = _group(item, "SpecifiedTradeProduct")
    _value(product, "SellerAssignedID", line.sku)  # BT-155
    _value(product, "Name", line.name)  # BT-153
    _value(product, "Description", line.description)  # BT-154
    _drop_if_empty(product)

    price = _group(_group(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
    _value(price, "ChargeAmount", fmt.unit_price(line.unit_price))  # BT-146
    delivery = _group(item, "SpecifiedLineTradeDelivery")
    quantity = fmt.quantity(line.quantity)
    _value(delivery, "BilledQuantity", quantity, unitCode=line.unit_code)  # BT-129/130

    settlement = _group(item, "SpecifiedLineTradeSettlement")
    _vat(settlement, "ApplicableTradeTax", line.tax_category, line.tax_rate)  # BT-151/152
    if line.service_date_start is not None and line.service_date_end is not None:
        period = _group(settlement, "BillingSpecifiedPeriod")  # BG-26
        _date(period, "StartDateTime", line.service_date_start)  # BT-134
        _date(period, "EndDateTime", line.service_date_end)  # BT-135
    if line.discount_amount:
        _line_allowance(settlement, line, snapshot)  # BG-27
    summation = _group(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _value(summation, "LineTotalAmount", fmt.amount(line.net_amount))  # BT-131


def _vat(parent: etree._Element, tag: str, category: TaxCategory, rate: Decimal) -> None:
    """Append a VAT category group: type, category code and (unless "O") the rate."""
    tax = _group(parent, tag)
    _value(tax, "TypeCode", "VAT")
    _value(tax, "CategoryCode", category)
    if fmt.has_rate(category):
        _value(tax, "RateApplicablePercent", fmt.percent(rate))


def _allowance_indicator(allowance: etree._Element) -> None:
    """ChargeIndicator false: every allowance or charge written here is an allowance."""
    indicator = etree.SubElement(_group(allowance, "ChargeIndicator"), f"{{{NS_UDT}}}Indicator")
    indicator.text = "false"


def _line_allowance(
    settlement: etree._Element, line: LineSnapshot, snapshot: DocumentSnapshot
) -> None:
    allowance = _group(settlement, "SpecifiedTradeAllowanceCharge")
    _allowance_indicator(allowance)
    base = line.quantity * line.unit_price
    if (
        snapshot.price_mode == "net"
        and line.discount_percent
        and round_money(base * line.discount_percent / 100) == line.discount_amount
    ):
        # BT-138/BT-137 only when the percentage alone explains the amount.
        _value(allowance, "CalculationPercent", fmt.percent(line.discount_percent))
        _value(allowance, "BasisAmount", fmt.amount(round_money(base)))
    _value(allowance, "ActualAmount", fmt.amount(line.discount_amount))  # BT-136
    _value(allowance, "ReasonCode", DISCOUNT_REASON_CODE)  # BT-140
    _value(allowance, "Reason", "Rabatt" if snapshot.language == "de" else "Discount")  # BT-139


# -- agreement and delivery ---------------------------------------------------------------


def _address(party: etree._Element, data: PartySnapshot) -> None:
    address = _group(party, "PostalTradeAddress")
    _value(address, "PostcodeCode", data.postcode)
    _value(address, "LineOne", data.street_line)
    _value(address, "CityName", data.city)
    _value(address, "CountryID", data.country)
    _drop_if_empty(address)


def _tax_registration(party: etree._Element, scheme: str, value: str) -> None:
    _value(_group(party, "SpecifiedTaxRegistration"), "ID", value, schemeID=scheme)


def _agreement(transaction: etree._Element, snapshot: DocumentSnapshot) -> None:
    agreement = _group(transaction, "ApplicableHeaderTradeAgreement")
    # BT-10 (BR-DE-15: Leitweg-ID for XRechnung)
    _value(agreement, "BuyerReference", fmt.buyer_reference(snapshot))
    _seller(agreement, snapshot)
    _buyer(agreement, snapshot)
    if snapshot.order_reference:
        order = _group(agreement, "BuyerOrderReferencedDocument")
        _value(order, "IssuerAssignedID", snapshot.order_reference)  # BT-13


def _seller(agreement: etree._Element, snapshot: DocumentSnapshot) -> None:
    seller, data = _group(agreement, "SellerTradeParty"), snapshot.seller
    _value(seller, "ID", fmt.seller_identifier(snapshot))  # BT-29
    _value(seller, "Name", data.name)
    _value(seller, "Description", fmt.seller_legal_info(snapshot))  # BT-33
    if data.register_number:
        legal = _group(seller, "SpecifiedLegalOrganization")
        _value(legal, "ID", data.register_number)  # BT-30
    if data.contact_name or data.phone or data.email:
        # BG-6 seller contact (BR-DE-2 with BR-DE-5/6/7 in XRechnung).
        contact = _group(seller, "DefinedTradeContact")
        _value(contact, "PersonName", data.contact_name or data.name)
        if data.phone:
            phone = _group(contact, "TelephoneUniversalCommunication")
            _value(phone, "CompleteNumber", data.phone)
        if data.email:
            _value(_group(contact, "EmailURIUniversalCommunication"), "URIID", data.email)
    _address(seller, data)
    if data.email:
        endpoint = _group(seller, "URIUniversalCommunication")
        _value(endpoint, "URIID", data.email, schemeID=fmt.EAS_EMAIL)  # BT-34
    if data.tax_number:
        _tax_registration(seller, "FC", data.tax_number)  # BT-32
    if data.vat_id and fmt.writes_vat_ids(snapshot):
        _tax_registration(seller, "VA", data.vat_id)  # BT-31


def _buyer(agreement: etree._Element, snapshot: DocumentSnapshot) -> None:
    buyer, data = _group(agreement, "BuyerTradeParty"), snapshot.buyer
    _value(buyer, "ID", data.customer_number)  # BT-46
    _value(buyer, "Name", data.name)
    if data.contact_name:
        _value(_group(buyer, "DefinedTradeContact"), "PersonName", data.contact_name)  # BT-56
    _address(buyer, data)
    endpoint = fmt.buyer_endpoint(snapshot)
    if endpoint is not None:
        scheme, address = endpoint
        uri = _group(buyer, "URIUniversalCommunication")
        _value(uri, "URIID", address, schemeID=scheme)  # BT-49
    if data.vat_id and fmt.writes_vat_ids(snapshot):
        _tax_registration(buyer, "VA", data.vat_id)  # BT-48


def _delivery(transaction: etree._Element, snapshot: DocumentSnapshot) -> None:
    delivery = _group(transaction, "ApplicableHeaderTradeDelivery")  # required, may be empty
    if any(t.category == "K" for t in snapshot.tax_breakdown):
        # BR-IC-12: an intra-community supply names the deliver-to country (BT-80).
        ship_to, buyer = _group(delivery, "ShipToTradeParty"), snapshot.buyer
        _value(ship_to, "Name", buyer.name)
        _address(ship_to, buyer)
        _drop_if_empty(ship_to)
    start, end = snapshot.service_date_start, snapshot.service_date_end
    if start is not None and end is not None and start == end:
        event = _group(delivery, "ActualDeliverySupplyChainEvent")
        _date(event, "OccurrenceDateTime", end)  # BT-72


# -- settlement ---------------------------------------------------------------------------


def _settlement(transaction: etree._Element, snapshot: DocumentSnapshot) -> None:
    settlement = _group(transaction, "ApplicableHeaderTradeSettlement")
    debit = snapshot.direct_debit if snapshot.payment_means == "direct_debit" else None
    if debit is not None and not snapshot.is_credit:
        _value(settlement, "CreditorReferenceID", debit.creditor_id)  # BT-90
    if not snapshot.is_credit:
        _value(settlement, "PaymentReference", snapshot.number)  # BT-83 remittance information
    _value(settlement, "InvoiceCurrencyCode", snapshot.currency)  # BT-5
    _payment_means(settlement, snapshot)  # BG-16 (BR-DE-1)
    for tax in snapshot.tax_breakdown:
        _tax(settlement, tax)  # BG-23
    start, end = snapshot.service_date_start, snapshot.service_date_end
    # Neither BT-72 nor BG-14 when every line names its period (BG-26, BR-DE-TMP-32).
    if start is not None and end is not None and start != end:
        period = _group(settlement, "BillingSpecifiedPeriod")
        _date(period, "StartDateTime", start)  # BT-73
        _date(period, "EndDateTime", end)  # BT-74
    for allowance in snapshot.allowances:
        _document_allowance(settlement, allowance)  # BG-20
    _terms(settlement, snapshot)
    _totals(settlement, snapshot)
    if snapshot.preceding_invoice_number:
        # BG-3: the invoice this credit note or cancellation corrects.
        preceding = _group(settlement, "InvoiceReferencedDocument")
        _value(preceding, "IssuerAssignedID", snapshot.preceding_invoice_number)  # BT-25
        if snapshot.preceding_invoice_date is not None:
            date = snapshot.preceding_invoice_date
            _date(preceding, "FormattedIssueDateTime", date, namespace=NS_QDT)  # BT-26


def _payment_means(settlement: etree._Element, snapshot: DocumentSnapshot) -> None:
    means = _group(settlement, "SpecifiedTradeSettlementPaymentMeans")
    code = payment_means_code(snapshot)
    _value(means, "TypeCode", code)  # BT-81
    _value(means, "Information", payment_means_text(snapshot))  # BT-82
    if code == "58" and snapshot.bank is not None:
        # BR-61 / BR-DE-23-a: a SEPA transfer names the payee account (BG-17).
        account = _group(means, "PayeePartyCreditorFinancialAccount")
        _value(account, "IBANID", snapshot.bank.iban)  # BT-84
        _value(account, "AccountName", snapshot.bank.account_holder)  # BT-85
        _drop_if_empty(account)
        if snapshot.bank.bic:
            institution = _group(means, "PayeeSpecifiedCreditorFinancialInstitution")
            _value(institution, "BICID", snapshot.bank.bic)  # BT-86
    elif code == "59" and snapshot.direct_debit is not None:
        # BR-DE-25-a: a SEPA direct debit names the debited account (BT-91).
        account = _group(means, "PayerPartyDebtorFinancialAccount")
        _value(account, "IBANID", snapshot.direct_debit.debtor_iban)
        _drop_if_empty(account)


def _tax(settlement: etree._Element, tax: TaxSnapshot) -> None:
    trade_tax = _group(settlement, "ApplicableTradeTax")
    _value(trade_tax, "CalculatedAmount", fmt.amount(tax.tax_amount))  # BT-117
    _value(trade_tax, "TypeCode", "VAT")
    _value(trade_tax, "ExemptionReason", tax.exemption_reason)  # BT-120
    _value(trade_tax, "BasisAmount", fmt.amount(tax.taxable_amount))  # BT-116
    _value(trade_tax, "CategoryCode", tax.category)  # BT-118
    _value(trade_tax, "ExemptionReasonCode", tax.exemption_reason_code)  # BT-121
    if fmt.has_rate(tax.category):
        _value(trade_tax, "RateApplicablePercent", fmt.percent(tax.rate))  # BT-119


def _document_allowance(settlement: etree._Element, allowance: AllowanceSnapshot) -> None:
    charge = _group(settlement, "SpecifiedTradeAllowanceCharge")
    _allowance_indicator(charge)
    if allowance.percent is not None and allowance.base_amount is not None:
        _value(charge, "CalculationPercent", fmt.percent(allowance.percent))  # BT-94
        _value(charge, "BasisAmount", fmt.amount(allowance.base_amount))  # BT-93
    _value(charge, "ActualAmount", fmt.amount(allowance.amount))  # BT-92
    _value(charge, "ReasonCode", DISCOUNT_REASON_CODE)  # BT-98
    _value(charge, "Reason", allowance.reason)  # BT-97
    _vat(charge, "CategoryTradeTax", allowance.tax_category, allowance.tax_rate)  # BT-95/96


def _terms(settlement: etree._Element, snapshot: DocumentSnapshot) -> None:
    terms = _group(settlement, "SpecifiedTradePaymentTerms")
    _value(terms, "Description", payment_terms(snapshot))  # BT-20 (BR-DE-18 Skonto line)
    if snapshot.due_date is not None and not snapshot.is_credit:
        _date(terms, "DueDateDateTime", snapshot.due_date)  # BT-9
    if snapshot.direct_debit is not None and payment_means_code(snapshot) == "59":
        _value(terms, "DirectDebitMandateID", snapshot.direct_debit.mandate_reference)  # BT-89
    _drop_if_empty(terms)


def _totals(settlement: etree._Element, snapshot: DocumentSnapshot) -> None:
    totals = _group(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")  # BG-22
    _value(totals, "LineTotalAmount", fmt.amount(snapshot.line_total))  # BT-106
    if snapshot.allowances:
        _value(totals, "AllowanceTotalAmount", fmt.amount(snapshot.allowance_total))  # BT-107
    _value(totals, "TaxBasisTotalAmount", fmt.amount(snapshot.tax_basis_total))  # BT-109
    # BT-110 is the only amount that carries a currency (CII-DT-031).
    tax_total = fmt.amount(snapshot.tax_total)
    _value(totals, "TaxTotalAmount", tax_total, currencyID=snapshot.currency)
    _value(totals, "GrandTotalAmount", fmt.amount(snapshot.grand_total))  # BT-112
    if snapshot.prepaid_amount:
        _value(totals, "TotalPrepaidAmount", fmt.amount(snapshot.prepaid_amount))  # BT-113
    _value(totals, "DuePayableAmount", fmt.amount(snapshot.payable_amount))  # BT-115
