"""Write a DocumentSnapshot as UN/CEFACT CII D16B (ZUGFeRD/Factur-X EN 16931, XRechnung CII).

drafthorse models the CII tree and keeps the element order of the schema; it does not check
profile rules, so every output is validated by the official rules in the tests
(``faktura.documents.einvoice.validation``). Values are passed as pre-formatted strings so
the decimals are exactly what EN 16931 expects (see ``formatting``).
"""

from __future__ import annotations

from drafthorse.models.accounting import (
    ApplicableTradeTax,
    CategoryTradeTax,
    TradeAllowanceCharge,
)
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration, TradeParty
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from faktura.core.money import round_money
from faktura.documents.einvoice import formatting as fmt
from faktura.documents.einvoice.texts import payment_means_code, payment_means_text, payment_terms
from faktura.documents.snapshot import (
    AllowanceSnapshot,
    DocumentSnapshot,
    LineSnapshot,
    PartySnapshot,
    TaxSnapshot,
)

# UNTDID 5189 allowance reason code 95 = "Discount" (BT-98 / BT-140).
DISCOUNT_REASON_CODE = "95"


def build_cii(snapshot: DocumentSnapshot) -> bytes:
    """Return the CII XML (UTF-8) of a finalized document.

    EN 16931 profile for ZUGFeRD/Factur-X; XRechnung 3.0 CIUS when
    ``snapshot.einvoice_format == "xrechnung-cii"``. Credit notes and cancellations carry
    type code 381 with positive amounts. Raises ``ValueError`` on amounts with too many
    decimals (never rounds).
    """
    doc = Document()
    _context(doc, snapshot)
    _header(doc, snapshot)
    for line in snapshot.lines:
        doc.trade.items.add(_line_item(line, snapshot))
    _agreement(doc, snapshot)
    _delivery(doc, snapshot)
    _settlement(doc, snapshot)
    return bytes(doc.serialize(schema=None))


def _context(doc: Document, snapshot: DocumentSnapshot) -> None:
    if fmt.is_xrechnung(snapshot):
        # XRechnung 3.0 / PEPPOL-EN16931-R001: business process BT-23 is mandatory.
        doc.context.business_parameter.id = fmt.BUSINESS_PROCESS_PEPPOL
    doc.context.guideline_parameter.id = fmt.guideline(snapshot)  # BT-24


def _header(doc: Document, snapshot: DocumentSnapshot) -> None:
    doc.header.id = snapshot.number  # BT-1
    doc.header.type_code = snapshot.type_code  # BT-3: 380 invoice, 381 credit note
    doc.header.issue_date_time = snapshot.issue_date  # BT-2
    for text in snapshot.notes:  # BG-1 / BT-22
        note = IncludedNote()
        note.content = text
        doc.header.notes.add(note)
    legal_info = fmt.seller_legal_info(snapshot)
    if legal_info:
        # BT-22 with subject code REG: the seller's register data (§ 35a GmbHG).
        note = IncludedNote()
        note.content = f"{snapshot.seller.name}, {legal_info}"
        note.subject_code = "REG"
        doc.header.notes.add(note)


def _line_item(line: LineSnapshot, snapshot: DocumentSnapshot) -> LineItem:
    item = LineItem()
    item.document.line_id = str(line.position)  # BT-126
    if line.sku:
        item.product.seller_assigned_id = line.sku  # BT-155
    item.product.name = line.name  # BT-153
    if line.description:
        item.product.description = line.description  # BT-154
    item.agreement.net.amount = fmt.unit_price(line.unit_price)  # BT-146
    item.delivery.billed_quantity = (fmt.quantity(line.quantity), line.unit_code)  # BT-129/130
    item.settlement.trade_tax.type_code = "VAT"
    item.settlement.trade_tax.category_code = line.tax_category  # BT-151
    if fmt.has_rate(line.tax_category):
        item.settlement.trade_tax.rate_applicable_percent = fmt.percent(line.tax_rate)  # BT-152
    if line.discount_amount:
        item.settlement.allowance_charge.add(_line_allowance(line, snapshot))  # BG-27
    item.settlement.monetary_summation.total_amount = fmt.amount(line.net_amount)  # BT-131
    return item


def _line_allowance(line: LineSnapshot, snapshot: DocumentSnapshot) -> TradeAllowanceCharge:
    allowance = TradeAllowanceCharge()
    allowance.indicator = False
    base = line.quantity * line.unit_price
    if (
        snapshot.price_mode == "net"
        and line.discount_percent
        and round_money(base * line.discount_percent / 100) == line.discount_amount
    ):
        # BT-138/BT-137 only when the percentage alone explains the amount.
        allowance.calculation_percent = fmt.percent(line.discount_percent)
        allowance.basis_amount = fmt.amount(round_money(base))
    allowance.actual_amount = fmt.amount(line.discount_amount)  # BT-136
    allowance.reason_code = DISCOUNT_REASON_CODE  # BT-140
    allowance.reason = "Rabatt" if snapshot.language == "de" else "Discount"  # BT-139
    return allowance


def _party(party: TradeParty, data: PartySnapshot) -> None:
    party.name = data.name
    party.address.postcode = data.postcode
    party.address.line_one = data.street_line
    party.address.city_name = data.city
    party.address.country_id = data.country


def _tax_registration(scheme: str, value: str) -> TaxRegistration:
    registration = TaxRegistration()
    registration.id = (scheme, value)
    return registration


def _agreement(doc: Document, snapshot: DocumentSnapshot) -> None:
    agreement = doc.trade.agreement
    reference = fmt.buyer_reference(snapshot)
    if reference:
        agreement.buyer_reference = reference  # BT-10 (BR-DE-15: Leitweg-ID for XRechnung)

    seller, data = agreement.seller, snapshot.seller
    identifier = fmt.seller_identifier(snapshot)
    if identifier:
        seller.id = identifier  # BT-29
    _party(seller, data)
    legal_info = fmt.seller_legal_info(snapshot)
    if legal_info:
        seller.description = legal_info  # BT-33
    if data.register_number:
        seller.legal_organization.id = data.register_number  # BT-30
    if data.contact_name or data.phone or data.email:
        # BG-6 seller contact (BR-DE-2 with BR-DE-5/6/7 in XRechnung).
        seller.contact.person_name = data.contact_name or data.name
        if data.phone:
            seller.contact.telephone.number = data.phone
        if data.email:
            seller.contact.email.address = data.email
    if data.email:
        seller.electronic_address.uri_ID = (fmt.EAS_EMAIL, data.email)  # BT-34
    if data.tax_number:
        seller.tax_registrations.add(_tax_registration("FC", data.tax_number))  # BT-32
    if data.vat_id:
        seller.tax_registrations.add(_tax_registration("VA", data.vat_id))  # BT-31

    buyer, data = agreement.buyer, snapshot.buyer
    if data.customer_number:
        buyer.id = data.customer_number  # BT-46
    _party(buyer, data)
    if data.contact_name:
        buyer.contact.person_name = data.contact_name  # BT-56
    endpoint = fmt.buyer_endpoint(snapshot)
    if endpoint is not None:
        buyer.electronic_address.uri_ID = endpoint  # BT-49
    if data.vat_id:
        buyer.tax_registrations.add(_tax_registration("VA", data.vat_id))  # BT-48

    if snapshot.order_reference:
        agreement.buyer_order.issuer_assigned_id = snapshot.order_reference  # BT-13


def _delivery(doc: Document, snapshot: DocumentSnapshot) -> None:
    delivery = doc.trade.delivery
    if any(t.category == "K" for t in snapshot.tax_breakdown):
        # BR-IC-12: an intra-community supply names the deliver-to country (BT-80).
        ship_to, buyer = delivery.ship_to, snapshot.buyer
        _party(ship_to, buyer)
    if snapshot.service_date_start == snapshot.service_date_end:
        delivery.event.occurrence = snapshot.service_date_end  # BT-72


def _settlement(doc: Document, snapshot: DocumentSnapshot) -> None:
    settlement = doc.trade.settlement
    debit = snapshot.direct_debit if snapshot.payment_means == "direct_debit" else None
    if debit is not None and not snapshot.is_credit:
        settlement.creditor_reference_id = debit.creditor_id  # BT-90
    if not snapshot.is_credit:
        settlement.payment_reference = snapshot.number  # BT-83 remittance information
    settlement.currency_code = snapshot.currency  # BT-5
    settlement.payment_means.add(_payment_means(snapshot))  # BG-16 (BR-DE-1)
    for tax in snapshot.tax_breakdown:
        settlement.trade_tax.add(_tax(tax))  # BG-23
    if snapshot.service_date_start != snapshot.service_date_end:
        settlement.period.start = snapshot.service_date_start  # BT-73
        settlement.period.end = snapshot.service_date_end  # BT-74
    for allowance in snapshot.allowances:
        settlement.allowance_charge.add(_document_allowance(allowance))  # BG-20
    settlement.terms.add(_terms(snapshot))
    _totals(doc, snapshot)
    if snapshot.preceding_invoice_number:
        # BG-3: the invoice this credit note or cancellation corrects.
        preceding = settlement.invoice_referenced_document
        preceding.issuer_assigned_id = snapshot.preceding_invoice_number  # BT-25
        if snapshot.preceding_invoice_date is not None:
            preceding.issue_date_time = snapshot.preceding_invoice_date  # BT-26


def _payment_means(snapshot: DocumentSnapshot) -> PaymentMeans:
    means = PaymentMeans()
    code = payment_means_code(snapshot)
    means.type_code = code  # BT-81
    means.information.add(payment_means_text(snapshot))  # BT-82
    if code == "58" and snapshot.bank is not None:
        # BR-61 / BR-DE-23-a: a SEPA transfer names the payee account (BG-17).
        means.payee_account.iban = snapshot.bank.iban  # BT-84
        means.payee_account.account_name = snapshot.bank.account_holder  # BT-85
        if snapshot.bank.bic:
            means.payee_institution.bic = snapshot.bank.bic  # BT-86
    elif code == "59" and snapshot.direct_debit is not None:
        # BR-DE-25-a: a SEPA direct debit names the debited account (BT-91).
        means.payer_account.iban = snapshot.direct_debit.debtor_iban
    return means


def _tax(tax: TaxSnapshot) -> ApplicableTradeTax:
    trade_tax = ApplicableTradeTax()
    trade_tax.calculated_amount = fmt.amount(tax.tax_amount)  # BT-117
    trade_tax.type_code = "VAT"
    if tax.exemption_reason:
        trade_tax.exemption_reason = tax.exemption_reason  # BT-120
    trade_tax.basis_amount = fmt.amount(tax.taxable_amount)  # BT-116
    trade_tax.category_code = tax.category  # BT-118
    if tax.exemption_reason_code:
        trade_tax.exemption_reason_code = tax.exemption_reason_code  # BT-121
    if fmt.has_rate(tax.category):
        trade_tax.rate_applicable_percent = fmt.percent(tax.rate)  # BT-119
    return trade_tax


def _document_allowance(allowance: AllowanceSnapshot) -> TradeAllowanceCharge:
    charge = TradeAllowanceCharge()
    charge.indicator = False
    if allowance.percent is not None and allowance.base_amount is not None:
        charge.calculation_percent = fmt.percent(allowance.percent)  # BT-94
        charge.basis_amount = fmt.amount(allowance.base_amount)  # BT-93
    charge.actual_amount = fmt.amount(allowance.amount)  # BT-92
    charge.reason_code = DISCOUNT_REASON_CODE  # BT-98
    charge.reason = allowance.reason  # BT-97
    charge.trade_tax.add(_category_tax(allowance))
    return charge


def _category_tax(allowance: AllowanceSnapshot) -> CategoryTradeTax:
    tax = CategoryTradeTax()
    tax.type_code = "VAT"
    tax.category_code = allowance.tax_category  # BT-95
    if fmt.has_rate(allowance.tax_category):
        tax.rate_applicable_percent = fmt.percent(allowance.tax_rate)  # BT-96
    return tax


def _terms(snapshot: DocumentSnapshot) -> PaymentTerms:
    terms = PaymentTerms()
    terms.description = payment_terms(snapshot)  # BT-20 (BR-DE-18 Skonto line)
    if snapshot.due_date is not None and not snapshot.is_credit:
        terms.due = snapshot.due_date  # BT-9
    if snapshot.direct_debit is not None and payment_means_code(snapshot) == "59":
        terms.debit_mandate_id = snapshot.direct_debit.mandate_reference  # BT-89
    return terms


def _totals(doc: Document, snapshot: DocumentSnapshot) -> None:
    totals = doc.trade.settlement.monetary_summation  # BG-22
    totals.line_total = fmt.amount(snapshot.line_total)  # BT-106
    if snapshot.allowances:
        totals.allowance_total = fmt.amount(snapshot.allowance_total)  # BT-107
    totals.tax_basis_total = (fmt.amount(snapshot.tax_basis_total), None)  # BT-109
    # BT-110 is the only amount that carries a currency (CII-DT-031).
    totals.tax_total = (fmt.amount(snapshot.tax_total), snapshot.currency)
    totals.grand_total = (fmt.amount(snapshot.grand_total), None)  # BT-112
    if snapshot.prepaid_amount:
        totals.prepaid_total = fmt.amount(snapshot.prepaid_amount)  # BT-113
    totals.due_amount = fmt.amount(snapshot.payable_amount)  # BT-115
