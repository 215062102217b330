"""Write a DocumentSnapshot as UBL 2.1 Invoice or CreditNote (XRechnung UBL) with lxml.

Same content as the CII writer (``cii.py``); the element order follows the UBL 2.1 maindoc
schemas, which differ between Invoice and CreditNote (due date, line tax, allowances).
"""

from __future__ import annotations

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
)

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
DISCOUNT_REASON_CODE = "95"  # UNTDID 5189 "Discount" (BT-98 / BT-140)


class _Writer:
    """Append cac/cbc elements with the document currency on every amount."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    @staticmethod
    def cac(parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{NS_CAC}}}{tag}")

    @staticmethod
    def cbc(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NS_CBC}}}{tag}", attrs)
        element.text = text
        return element

    def money(self, parent: etree._Element, tag: str, text: str) -> etree._Element:
        return self.cbc(parent, tag, text, currencyID=self.currency)


def build_ubl(snapshot: DocumentSnapshot) -> bytes:
    """Return the UBL 2.1 XML (UTF-8): Invoice for type 380, CreditNote for 381.

    XRechnung 3.0 CIUS when ``snapshot.einvoice_format == "xrechnung-ubl"``, else plain
    EN 16931. Amounts of credit notes and cancellations stay positive.
    """
    credit = snapshot.type_code == "381"
    namespace = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(
        f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: namespace, "cac": NS_CAC, "cbc": NS_CBC},
    )
    w = _Writer(snapshot.currency)
    w.cbc(root, "CustomizationID", fmt.guideline(snapshot))  # BT-24
    if fmt.is_xrechnung(snapshot):
        w.cbc(root, "ProfileID", fmt.BUSINESS_PROCESS_PEPPOL)  # BT-23
    w.cbc(root, "ID", snapshot.number)  # BT-1
    w.cbc(root, "IssueDate", snapshot.issue_date.isoformat())  # BT-2
    if not credit and snapshot.due_date is not None:
        w.cbc(root, "DueDate", snapshot.due_date.isoformat())  # BT-9
    w.cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", snapshot.type_code)
    for text in _notes(snapshot):
        w.cbc(root, "Note", text)  # BT-22
    w.cbc(root, "DocumentCurrencyCode", snapshot.currency)  # BT-5
    reference = fmt.buyer_reference(snapshot)
    if reference:
        w.cbc(root, "BuyerReference", reference)  # BT-10 (BR-DE-15)
    start, end = snapshot.service_date_start, snapshot.service_date_end
    # Neither BG-14 nor BT-72 when every line names its period (BG-26, BR-DE-TMP-32).
    if start is not None and end is not None and start != end:
        period = w.cac(root, "InvoicePeriod")  # BG-14
        w.cbc(period, "StartDate", start.isoformat())  # BT-73
        w.cbc(period, "EndDate", end.isoformat())  # BT-74
    if snapshot.order_reference:
        w.cbc(w.cac(root, "OrderReference"), "ID", snapshot.order_reference)  # BT-13
    if snapshot.preceding_invoice_number:
        # BG-3: the invoice this credit note or cancellation corrects.
        preceding = w.cac(w.cac(root, "BillingReference"), "InvoiceDocumentReference")
        w.cbc(preceding, "ID", snapshot.preceding_invoice_number)  # BT-25
        if snapshot.preceding_invoice_date is not None:
            w.cbc(preceding, "IssueDate", snapshot.preceding_invoice_date.isoformat())  # BT-26
    _seller(w, root, snapshot)
    _buyer(w, root, snapshot)
    _delivery(w, root, snapshot)
    _payment(w, root, snapshot)
    # Both Invoice and CreditNote place document allowances after PaymentTerms (the
    # exchange rates, which CreditNote puts in between, are never written).
    for allowance in snapshot.allowances:
        _document_allowance(w, root, allowance)  # BG-20
    _tax_total(w, root, snapshot)
    _monetary_total(w, root, snapshot)
    for line in snapshot.lines:
        _line(w, root, line, snapshot, credit=credit)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _notes(snapshot: DocumentSnapshot) -> list[str]:
    notes = list(snapshot.notes)
    legal_info = fmt.seller_legal_info(snapshot)
    if legal_info:
        # BT-21/BT-22 as in UBL: "#REG#" subject prefix (XRechnung note convention).
        notes.append(f"#REG#{snapshot.seller.name}, {legal_info}")
    return notes


def _address(w: _Writer, parent: etree._Element, tag: str, data: PartySnapshot) -> None:
    address = w.cac(parent, tag)
    w.cbc(address, "StreetName", data.street_line)
    w.cbc(address, "CityName", data.city)
    w.cbc(address, "PostalZone", data.postcode)
    w.cbc(w.cac(address, "Country"), "IdentificationCode", data.country)


def _tax_scheme(w: _Writer, parent: etree._Element, company_id: str, scheme: str) -> None:
    tax_scheme = w.cac(parent, "PartyTaxScheme")
    w.cbc(tax_scheme, "CompanyID", company_id)
    w.cbc(w.cac(tax_scheme, "TaxScheme"), "ID", scheme)


def _seller(w: _Writer, root: etree._Element, snapshot: DocumentSnapshot) -> None:
    data = snapshot.seller
    party = w.cac(w.cac(root, "AccountingSupplierParty"), "Party")
    if data.email:
        w.cbc(party, "EndpointID", data.email, schemeID=fmt.EAS_EMAIL)  # BT-34
    identifier = fmt.seller_identifier(snapshot)
    if identifier:
        w.cbc(w.cac(party, "PartyIdentification"), "ID", identifier)  # BT-29
    debit = snapshot.direct_debit
    if debit is not None and payment_means_code(snapshot) == "59":
        # BT-90 bank assigned creditor identifier.
        w.cbc(w.cac(party, "PartyIdentification"), "ID", debit.creditor_id, schemeID="SEPA")
    _address(w, party, "PostalAddress", data)
    if data.vat_id and fmt.writes_vat_ids(snapshot):
        _tax_scheme(w, party, data.vat_id, "VAT")  # BT-31
    if data.tax_number:
        _tax_scheme(w, party, data.tax_number, "FC")  # BT-32
    legal = w.cac(party, "PartyLegalEntity")
    w.cbc(legal, "RegistrationName", data.name)  # BT-27
    if data.register_number:
        w.cbc(legal, "CompanyID", data.register_number)  # BT-30
    legal_info = fmt.seller_legal_info(snapshot)
    if legal_info:
        w.cbc(legal, "CompanyLegalForm", legal_info)  # BT-33
    if data.contact_name or data.phone or data.email:
        contact = w.cac(party, "Contact")  # BG-6 (BR-DE-2)
        w.cbc(contact, "Name", data.contact_name or data.name)
        if data.phone:
            w.cbc(contact, "Telephone", data.phone)
        if data.email:
            w.cbc(contact, "ElectronicMail", data.email)


def _buyer(w: _Writer, root: etree._Element, snapshot: DocumentSnapshot) -> None:
    data = snapshot.buyer
    party = w.cac(w.cac(root, "AccountingCustomerParty"), "Party")
    endpoint = fmt.buyer_endpoint(snapshot)
    if endpoint is not None:
        w.cbc(party, "EndpointID", endpoint[1], schemeID=endpoint[0])  # BT-49
    if data.customer_number:
        w.cbc(w.cac(party, "PartyIdentification"), "ID", data.customer_number)  # BT-46
    _address(w, party, "PostalAddress", data)
    if data.vat_id and fmt.writes_vat_ids(snapshot):
        _tax_scheme(w, party, data.vat_id, "VAT")  # BT-48
    w.cbc(w.cac(party, "PartyLegalEntity"), "RegistrationName", data.name)  # BT-44
    if data.contact_name:
        w.cbc(w.cac(party, "Contact"), "Name", data.contact_name)  # BT-56


def _delivery(w: _Writer, root: etree._Element, snapshot: DocumentSnapshot) -> None:
    end = snapshot.service_date_end
    same_day = end is not None and snapshot.service_date_start == end
    intra_community = any(t.category == "K" for t in snapshot.tax_breakdown)
    if not same_day and not intra_community:
        return
    delivery = w.cac(root, "Delivery")
    if same_day and end is not None:
        w.cbc(delivery, "ActualDeliveryDate", end.isoformat())  # BT-72
    if intra_community:
        # BR-IC-12: an intra-community supply names the deliver-to country (BT-80).
        _address(w, w.cac(delivery, "DeliveryLocation"), "Address", snapshot.buyer)
        w.cbc(w.cac(w.cac(delivery, "DeliveryParty"), "PartyName"), "Name", snapshot.buyer.name)


def _payment(w: _Writer, root: etree._Element, snapshot: DocumentSnapshot) -> None:
    means = w.cac(root, "PaymentMeans")  # BG-16 (BR-DE-1)
    code = payment_means_code(snapshot)
    w.cbc(means, "PaymentMeansCode", code, name=payment_means_text(snapshot))  # BT-81/82
    if not snapshot.is_credit:
        w.cbc(means, "PaymentID", snapshot.number)  # BT-83
    if code == "58" and snapshot.bank is not None:
        account = w.cac(means, "PayeeFinancialAccount")  # BG-17 (BR-DE-23-a)
        w.cbc(account, "ID", snapshot.bank.iban)  # BT-84
        w.cbc(account, "Name", snapshot.bank.account_holder)  # BT-85
        if snapshot.bank.bic:
            w.cbc(w.cac(account, "FinancialInstitutionBranch"), "ID", snapshot.bank.bic)
    elif code == "59" and snapshot.direct_debit is not None:
        mandate = w.cac(means, "PaymentMandate")  # BG-19 (BR-DE-25-a)
        w.cbc(mandate, "ID", snapshot.direct_debit.mandate_reference)  # BT-89
        w.cbc(w.cac(mandate, "PayerFinancialAccount"), "ID", snapshot.direct_debit.debtor_iban)
    w.cbc(w.cac(root, "PaymentTerms"), "Note", payment_terms(snapshot))  # BT-20 (BR-DE-18)


def _tax_category(
    w: _Writer,
    parent: etree._Element,
    tag: str,
    category: TaxCategory,
    rate: str | None,
    reason: tuple[str, str] = ("", ""),
) -> None:
    element = w.cac(parent, tag)
    w.cbc(element, "ID", category)
    if rate is not None and fmt.has_rate(category):
        w.cbc(element, "Percent", rate)
    if reason[1]:
        w.cbc(element, "TaxExemptionReasonCode", reason[1])  # BT-121
    if reason[0]:
        w.cbc(element, "TaxExemptionReason", reason[0])  # BT-120
    w.cbc(w.cac(element, "TaxScheme"), "ID", "VAT")


def _document_allowance(w: _Writer, root: etree._Element, allowance: AllowanceSnapshot) -> None:
    element = w.cac(root, "AllowanceCharge")
    w.cbc(element, "ChargeIndicator", "false")
    w.cbc(element, "AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)  # BT-98
    w.cbc(element, "AllowanceChargeReason", allowance.reason)  # BT-97
    with_percent = allowance.percent is not None and allowance.base_amount is not None
    if with_percent and allowance.percent is not None:
        w.cbc(element, "MultiplierFactorNumeric", fmt.percent(allowance.percent))  # BT-94
    w.money(element, "Amount", fmt.amount(allowance.amount))  # BT-92
    if with_percent and allowance.base_amount is not None:
        w.money(element, "BaseAmount", fmt.amount(allowance.base_amount))  # BT-93
    rate = fmt.percent(allowance.tax_rate)
    _tax_category(w, element, "TaxCategory", allowance.tax_category, rate)  # BT-95/96


def _tax_total(w: _Writer, root: etree._Element, snapshot: DocumentSnapshot) -> None:
    total = w.cac(root, "TaxTotal")
    w.money(total, "TaxAmount", fmt.amount(snapshot.tax_total))  # BT-110
    for tax in snapshot.tax_breakdown:  # BG-23
        subtotal = w.cac(total, "TaxSubtotal")
        w.money(subtotal, "TaxableAmount", fmt.amount(tax.taxable_amount))  # BT-116
        w.money(subtotal, "TaxAmount", fmt.amount(tax.tax_amount))  # BT-117
        reason = (tax.exemption_reason, tax.exemption_reason_code)
        rate = fmt.percent(tax.rate)
        _tax_category(w, subtotal, "TaxCategory", tax.category, rate, reason)


def _monetary_total(w: _Writer, root: etree._Element, snapshot: DocumentSnapshot) -> None:
    total = w.cac(root, "LegalMonetaryTotal")  # BG-22
    w.money(total, "LineExtensionAmount", fmt.amount(snapshot.line_total))  # BT-106
    w.money(total, "TaxExclusiveAmount", fmt.amount(snapshot.tax_basis_total))  # BT-109
    w.money(total, "TaxInclusiveAmount", fmt.amount(snapshot.grand_total))  # BT-112
    if snapshot.allowances:
        w.money(total, "AllowanceTotalAmount", fmt.amount(snapshot.allowance_total))  # BT-107
    if snapshot.prepaid_amount:
        w.money(total, "PrepaidAmount", fmt.amount(snapshot.prepaid_amount))  # BT-113
    w.money(total, "PayableAmount", fmt.amount(snapshot.payable_amount))  # BT-115


def _line(
    w: _Writer,
    root: etree._Element,
    line: LineSnapshot,
    snapshot: DocumentSnapshot,
    *,
    credit: bool,
) -> None:
    element = w.cac(root, "CreditNoteLine" if credit else "InvoiceLine")  # BG-25
    w.cbc(element, "ID", str(line.position))  # BT-126
    w.cbc(
        element,
        "CreditedQuantity" if credit else "InvoicedQuantity",
        fmt.quantity(line.quantity),
        unitCode=line.unit_code,
    )  # BT-129/130
    w.money(element, "LineExtensionAmount", fmt.amount(line.net_amount))  # BT-131
    if line.service_date_start is not None and line.service_date_end is not None:
        period = w.cac(element, "InvoicePeriod")  # BG-26
        w.cbc(period, "StartDate", line.service_date_start.isoformat())  # BT-134
        w.cbc(period, "EndDate", line.service_date_end.isoformat())  # BT-135
    if line.discount_amount:
        _line_allowance(w, element, line, snapshot)  # BG-27
    item = w.cac(element, "Item")
    if line.description:
        w.cbc(item, "Description", line.description)  # BT-154
    w.cbc(item, "Name", line.name)  # BT-153
    if line.sku:
        w.cbc(w.cac(item, "SellersItemIdentification"), "ID", line.sku)  # BT-155
    rate = fmt.percent(line.tax_rate)
    _tax_category(w, item, "ClassifiedTaxCategory", line.tax_category, rate)  # BT-151/152
    price = w.cac(element, "Price")
    w.money(price, "PriceAmount", fmt.unit_price(line.unit_price))  # BT-146


def _line_allowance(
    w: _Writer, parent: etree._Element, line: LineSnapshot, snapshot: DocumentSnapshot
) -> None:
    element = w.cac(parent, "AllowanceCharge")
    w.cbc(element, "ChargeIndicator", "false")
    w.cbc(element, "AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)  # BT-140
    w.cbc(element, "AllowanceChargeReason", "Rabatt" if snapshot.language == "de" else "Discount")
    base = round_money(line.quantity * line.unit_price)
    with_percent = (
        snapshot.price_mode == "net"
        and line.discount_percent is not None
        and round_money(base * line.discount_percent / 100) == line.discount_amount
    )
    if with_percent and line.discount_percent is not None:
        w.cbc(element, "MultiplierFactorNumeric", fmt.percent(line.discount_percent))  # BT-138
    w.money(element, "Amount", fmt.amount(line.discount_amount))  # BT-136
    if with_percent:
        w.money(element, "BaseAmount", fmt.amount(base))  # BT-137
