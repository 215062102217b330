"""Which VAT category a line gets when the buyer is a business abroad: pure, no database.

A German seller charges German VAT unless the place of supply is abroad or the supply is
tax-exempt. For a sale to a *business* (customer kind business or public body) in another
country the kind of the line decides (``catalog.SupplyKind``):

* business in another EU state, with VAT ID: goods → K, tax-exempt intra-community supply
  (§ 4 Nr. 1b, § 6a UStG; Art. 138 VAT Directive); services → AE, reverse charge, the
  place of supply is the recipient's (§ 3a (2), § 13b UStG; Art. 44, 196 VAT Directive);
* business outside the EU: goods → G, tax-exempt export (§ 4 Nr. 1a, § 6 UStG; Art. 146
  VAT Directive); services → O, not taxable in Germany (§ 3a (2) UStG).

Everything else keeps the line's own rate (the product's, e.g. 19 %): sales in Germany,
sales to consumers (services to consumers are supplied where the seller is, § 3a (1)
UStG; distance sales of goods to EU consumers above the EUR 10,000 threshold fall under
the One-Stop-Shop, which Faktura does not handle: such a line needs an explicit rate), and
EU businesses without a VAT ID — without it neither K nor AE may be used (§ 6a (1) no. 4,
§ 14a (1), (3) UStG: the buyer's VAT ID is on the invoice; BR-IC-02, BR-AE-02), so German
VAT is charged, the safe side for the seller. Small businesses (§ 19 UStG) charge no VAT
anyway (category E) and are not affected. An explicit tax rate on an order line wins.

The texts are the exemption reasons (BT-120) of the e-invoice and the notes of the PDF,
in the document's language; the VATEX codes (BT-121) satisfy BR-AE-10, BR-IC-10, BR-G-10,
BR-O-10.
"""

from __future__ import annotations

from dataclasses import dataclass

GOODS = "goods"
SERVICE = "service"

# EU member states (ISO 3166-1 alpha-2; Greece is GR here, EL only in VAT IDs).
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip


@dataclass(frozen=True)
class CrossBorderRate:
    """A zero-rated category for sales abroad: the rate code, the reasons, the VATEX code."""

    code: str  # the TaxRate code (created by catalog migrations 0002 and 0003)
    category: str  # EN 16931 BT-151 / BT-118
    reason_de: str
    reason_en: str
    reason_code: str  # BT-121

    def reason(self, language: str) -> str:
        return self.reason_en if language == "en" else self.reason_de


INTRA_COMMUNITY = CrossBorderRate(
    code="eu-intra-community",
    category="K",
    reason_de="Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG)",
    reason_en="Tax-exempt intra-Community supply of goods (Art. 138 VAT Directive; "
    "§ 4 No. 1b, § 6a UStG)",
    reason_code="VATEX-EU-IC",
)
REVERSE_CHARGE = CrossBorderRate(
    code="eu-reverse-charge",
    category="AE",
    reason_de="Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG / Art. 196 MwStSystRL)",
    # Art. 226 no. 11a VAT Directive: the words "Reverse charge".
    reason_en="Reverse charge: the recipient is liable for the VAT (Art. 196 VAT Directive; "
    "Steuerschuldnerschaft des Leistungsempfängers, § 13b UStG)",
    reason_code="VATEX-EU-AE",
)
EXPORT = CrossBorderRate(
    code="export",
    category="G",
    reason_de="Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a, § 6 UStG)",
    reason_en="Tax-exempt export of goods (Art. 146 VAT Directive; § 4 No. 1a, § 6 UStG)",
    reason_code="VATEX-EU-G",
)
NOT_TAXABLE = CrossBorderRate(
    code="not-taxable-3a",
    category="O",
    reason_de="Nicht im Inland steuerbare Leistung (§ 3a Abs. 2 UStG)",
    reason_en="Not taxable in Germany: the place of supply is where the recipient is "
    "established (§ 3a (2) UStG, Art. 44 VAT Directive)",
    reason_code="VATEX-EU-O",
)
RATES = {rate.category: rate for rate in (INTRA_COMMUNITY, REVERSE_CHARGE, EXPORT, NOT_TAXABLE)}


def cross_border_rate(
    *,
    seller_country: str,
    buyer_is_business: bool,
    buyer_country: str,
    buyer_vat_id: str,
    supply_kind: str,
) -> CrossBorderRate | None:
    """Return the zero-rated category of a sale to a business abroad, or None (own rate).

    See the module docstring for the table. ``supply_kind`` is "goods" or "service".
    """
    buyer_country = (buyer_country or "").upper()
    if not buyer_is_business or not buyer_country or buyer_country == seller_country.upper():
        return None
    if buyer_country in EU_MEMBER_STATES:
        if not buyer_vat_id.strip():
            return None
        return INTRA_COMMUNITY if supply_kind == GOODS else REVERSE_CHARGE
    return EXPORT if supply_kind == GOODS else NOT_TAXABLE


def needs_supply_kind(
    *, seller_country: str, buyer_is_business: bool, buyer_country: str, buyer_vat_id: str
) -> bool:
    """Does the category depend on goods or service for this buyer?"""
    goods = cross_border_rate(
        seller_country=seller_country,
        buyer_is_business=buyer_is_business,
        buyer_country=buyer_country,
        buyer_vat_id=buyer_vat_id,
        supply_kind=GOODS,
    )
    return goods is not None
