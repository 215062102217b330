"""Exact decimal formatting and the derived BT values shared by the CII and UBL writers.

Amounts carry exactly two decimals (EN 16931 semantic data type "Amount"), unit prices two
to four, quantities and percentages as few as needed. Nothing is ever rounded here: a value
with more places than its type allows is a bug upstream and raises ``ValueError``.
"""

from __future__ import annotations

from decimal import Decimal

from faktura.documents.snapshot import DocumentSnapshot, TaxCategory

_CENT = Decimal("0.01")
_UNIT_PRICE_STEP = Decimal("0.0001")


def _exact(value: Decimal, step: Decimal, what: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}")
    quantized = value.quantize(step)
    if quantized != value:
        raise ValueError(f"{what} {value} has more decimals than allowed")
    return quantized


def amount(value: Decimal) -> str:
    """Format a money amount with exactly two decimals."""
    return f"{_exact(value, _CENT, 'amount'):f}"


def unit_price(value: Decimal) -> str:
    """Format a unit price with two to four decimals (BT-146, BT-148)."""
    text = f"{_exact(value, _UNIT_PRICE_STEP, 'unit price'):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction}"


def quantity(value: Decimal) -> str:
    """Format a quantity without trailing zeros (BT-129), at most four decimals."""
    text = f"{_exact(value, _UNIT_PRICE_STEP, 'quantity'):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal) -> str:
    """Format a percentage (VAT rate BT-119/BT-152, allowance percentage) with two decimals."""
    return f"{_exact(value, _CENT, 'percentage'):f}"


def has_rate(category: TaxCategory) -> bool:
    """Tell whether a VAT rate is written for the category (BR-O-05: none for "O")."""
    return category != "O"


def writes_vat_ids(snapshot: DocumentSnapshot) -> bool:
    """Tell whether the seller's and buyer's VAT IDs (BT-31, BT-48) are written.

    BR-O-02: a document with a line "not subject to VAT" (O) carries neither; the seller
    is then identified by the tax number (BT-32, BR-CO-26).
    """
    return not any(t.category == "O" for t in snapshot.tax_breakdown)


GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"
GUIDELINE_XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
BUSINESS_PROCESS_PEPPOL = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
EAS_EMAIL = "EM"
EAS_LEITWEG = "0204"


def is_xrechnung(snapshot: DocumentSnapshot) -> bool:
    return snapshot.einvoice_format in ("xrechnung-cii", "xrechnung-ubl")


def guideline(snapshot: DocumentSnapshot) -> str:
    """BT-24 specification identifier."""
    return GUIDELINE_XRECHNUNG if is_xrechnung(snapshot) else GUIDELINE_EN16931


def buyer_reference(snapshot: DocumentSnapshot) -> str:
    """BT-10: the document's buyer reference, else the buyer's Leitweg-ID."""
    return snapshot.buyer_reference or snapshot.buyer.leitweg_id


def buyer_endpoint(snapshot: DocumentSnapshot) -> tuple[str, str] | None:
    """BT-49 (scheme, address): Leitweg-ID (EAS 0204) for public bodies, else e-mail (EM)."""
    if snapshot.buyer.leitweg_id:
        return EAS_LEITWEG, snapshot.buyer.leitweg_id
    if snapshot.buyer.email:
        return EAS_EMAIL, snapshot.buyer.email
    return None


def seller_legal_info(snapshot: DocumentSnapshot) -> str:
    """BT-33 seller additional legal information (§ 35a GmbHG: court, number, directors)."""
    seller = snapshot.seller
    parts = [f"Sitz {seller.city}"] if seller.legal_form else []
    if seller.register_court or seller.register_number:
        parts.append(f"{seller.register_court} {seller.register_number}".strip())
    if seller.managing_directors:
        # § 80 AktG names the board (Vorstand), § 35a GmbHG the managing directors.
        label = "Vorstand" if seller.legal_form == "AG" else "Geschäftsführung"
        parts.append(f"{label}: {seller.managing_directors}")
    return ", ".join(parts)


def seller_identifier(snapshot: DocumentSnapshot) -> str:
    """BT-29 seller identifier, written only when nothing else identifies the seller.

    BR-CO-26 needs BT-29, BT-30 or BT-31. A small business (§ 19 UStG) has no VAT ID and
    often no register entry; its tax number (BT-32) does not count, so it doubles as BT-29.
    """
    seller = snapshot.seller
    if seller.vat_id or seller.register_number:
        return ""
    return seller.tax_number
