"""The frozen figures of one finalized document, as renderers (PDF, CII, UBL) receive them.

Renderers never touch the database: they get a DocumentSnapshot, built once from the
finalized invoice (see ``faktura.invoicing.snapshots``), so the PDF and the XML can never
disagree and rendering is free of locks.
All amounts are Decimal with two places, unit prices up to four, quantities up to four.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

DocumentKind = Literal["invoice", "credit_note", "cancellation"]
PaymentMeans = Literal["transfer", "direct_debit", "provider"]
TaxCategory = Literal["S", "Z", "E", "AE", "K", "G", "O"]


@dataclass(frozen=True)
class PartySnapshot:
    """Seller (company) or buyer (customer) as they were at finalization."""

    name: str
    street: str
    house_number: str
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    email: str = ""
    phone: str = ""
    contact_name: str = ""
    vat_id: str = ""
    tax_number: str = ""
    # Seller only: legal data for the footer (§ 35a GmbHG, § 80 AktG …)
    legal_form: str = ""
    register_court: str = ""
    register_number: str = ""
    managing_directors: str = ""
    website: str = ""
    # Buyer only
    customer_number: str = ""
    is_consumer: bool = False
    leitweg_id: str = ""

    @property
    def street_line(self) -> str:
        return f"{self.street} {self.house_number}".strip()


@dataclass(frozen=True)
class BankSnapshot:
    iban: str
    bic: str
    bank_name: str
    account_holder: str


@dataclass(frozen=True)
class DirectDebitSnapshot:
    """Pre-notification data: printed on the invoice and carried in the e-invoice (BG-19)."""

    mandate_reference: str
    creditor_id: str
    debtor_iban: str
    debit_date: dt.date


@dataclass(frozen=True)
class LineSnapshot:
    position: int
    name: str  # BT-153 item name
    description: str  # BT-154 item description, may be empty
    sku: str  # BT-155 seller's item identifier, may be empty
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130, UN/ECE Rec 20 (C62, HUR, MON …)
    unit_price: Decimal  # BT-146 net price per unit, up to 4 decimals
    gross_unit_price: Decimal | None  # consumer price incl. VAT as entered, if priced gross
    discount_amount: Decimal  # BT-136 line allowance, 0.00 if none
    discount_percent: Decimal | None  # BT-138, when the discount was given as a percentage
    net_amount: Decimal  # BT-131 = quantity × unit price − line allowance, rounded
    tax_category: TaxCategory  # BT-151
    tax_rate: Decimal  # BT-152, e.g. Decimal("19.00")
    gross_amount: Decimal | None = None  # the gross line amount the consumer saw (gross pricing)
    service_date_start: dt.date | None = None  # BT-134 line period (BG-26): both or none
    service_date_end: dt.date | None = None  # BT-135


@dataclass(frozen=True)
class AllowanceSnapshot:
    """A document-level allowance (BG-20), one per VAT category it reduces."""

    amount: Decimal  # BT-92
    base_amount: Decimal | None  # BT-93
    percent: Decimal | None  # BT-94
    tax_category: TaxCategory  # BT-95
    tax_rate: Decimal  # BT-96
    reason: str  # BT-97


@dataclass(frozen=True)
class TaxSnapshot:
    """One line of the VAT breakdown (BG-23)."""

    category: TaxCategory  # BT-118
    rate: Decimal  # BT-119
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str = ""  # BT-120, required for E, AE, K, G, O
    exemption_reason_code: str = ""  # BT-121 (VATEX-EU-…)


@dataclass(frozen=True)
class DocumentSnapshot:
    kind: DocumentKind
    type_code: str  # BT-3: "380" invoice, "381" credit note / cancellation
    number: str  # BT-1
    issue_date: dt.date  # BT-2
    # BT-73 (or BT-72 delivery date when equal to the end); None when every line names its
    # own period (BG-26), which then is the date of supply (§ 14 (4) no. 6 UStG).
    service_date_start: dt.date | None
    service_date_end: dt.date | None  # BT-74
    due_date: dt.date | None  # BT-9
    currency: str  # BT-5
    language: str  # "de" or "en": the customer's language for the PDF
    seller: PartySnapshot
    buyer: PartySnapshot
    lines: tuple[LineSnapshot, ...]
    allowances: tuple[AllowanceSnapshot, ...]
    tax_breakdown: tuple[TaxSnapshot, ...]
    line_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    tax_basis_total: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    prepaid_amount: Decimal  # BT-113
    payable_amount: Decimal  # BT-115
    price_mode: Literal["net", "gross"]
    payment_means: PaymentMeans
    payment_term_days: int
    early_payment_discount_percent: Decimal | None = None
    early_payment_discount_days: int | None = None
    bank: BankSnapshot | None = None  # the seller's account for transfers (BG-17)
    direct_debit: DirectDebitSnapshot | None = None
    buyer_reference: str = ""  # BT-10: Leitweg-ID for public bodies, else order reference
    order_reference: str = ""  # BT-13
    preceding_invoice_number: str = ""  # BT-25, for credit notes and cancellations
    preceding_invoice_date: dt.date | None = None  # BT-26
    notes: tuple[str, ...] = field(default_factory=tuple)  # BT-22 free text notes
    small_business: bool = False  # § 19 UStG: no VAT shown, note required
    # "cii" = ZUGFeRD/Factur-X EN 16931 embedded in the PDF; "xrechnung-cii"/"xrechnung-ubl":
    # XRechnung 3.0 sent as XML to public-sector buyers with a Leitweg-ID.
    einvoice_format: Literal["cii", "xrechnung-cii", "xrechnung-ubl"] = "cii"

    @property
    def is_credit(self) -> bool:
        return self.kind in ("credit_note", "cancellation")
