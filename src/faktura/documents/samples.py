"""Realistic German sample documents for renderers, tests and benchmarks.

Every figure comes from ``compute_totals``, so the samples satisfy EN 16931 (BR-CO-*) the same
way finalized invoices do. All identifiers are public example values with valid check digits
(VAT IDs, tax number, creditor ID, IBANs, Leitweg-ID); dates are fixed so output is stable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from faktura.core.money import ZERO
from faktura.documents.snapshot import (
    AllowanceSnapshot,
    BankSnapshot,
    DirectDebitSnapshot,
    DocumentKind,
    DocumentSnapshot,
    LineSnapshot,
    PartySnapshot,
    PaymentMeans,
    TaxCategory,
    TaxSnapshot,
)
from faktura.invoicing import taxation
from faktura.invoicing.calculation import LineInput, compute_totals

ISSUE_DATE = dt.date(2026, 11, 16)
SERVICE_START = dt.date(2026, 10, 1)
SERVICE_END = dt.date(2026, 10, 31)
PAYMENT_TERM_DAYS = 14

STANDARD = Decimal("19.00")
REDUCED = Decimal("7.00")
NO_VAT = Decimal("0.00")

SELLER = PartySnapshot(
    name="Muster Software GmbH",
    street="Musterstraße",
    house_number="12",
    postcode="10115",
    city="Berlin",
    country="DE",
    email="rechnung@muster-software.de",
    phone="+49 30 12345670",
    contact_name="Erika Mustermann",
    vat_id="DE136695976",
    tax_number="30/123/45678",
    legal_form="GmbH",
    register_court="Amtsgericht Charlottenburg",
    register_number="HRB 123456 B",
    managing_directors="Max Mustermann",
    website="https://www.muster-software.de",
)

SELLER_BANK = BankSnapshot(
    iban="DE02120300000000202051",
    bic="BYLADEM1001",
    bank_name="Deutsche Kreditbank Berlin",
    account_holder="Muster Software GmbH",
)

CREDITOR_ID = "DE98ZZZ09999999999"

BUSINESS_BUYER = PartySnapshot(
    name="Beispiel Handel AG",
    street="Hauptstraße",
    house_number="5",
    postcode="80331",
    city="München",
    country="DE",
    email="buchhaltung@beispiel-handel.de",
    contact_name="Jonas Becker",
    vat_id="DE123456788",
    customer_number="K-10042",
)

PUBLIC_BUYER = PartySnapshot(
    name="Senator für Finanzen der Freien Hansestadt Bremen",
    street="Rudolf-Hilferding-Platz",
    house_number="1",
    postcode="28195",
    city="Bremen",
    country="DE",
    email="e-rechnung@finanzen.bremen.example",
    contact_name="Referat 21",
    customer_number="K-20007",
    leitweg_id="04011000-1234512345-06",
)

AUSTRIAN_BUYER = PartySnapshot(
    name="Alpen Elektronik GmbH",
    street="Mariahilfer Straße",
    house_number="88",
    postcode="1070",
    city="Wien",
    country="AT",
    email="office@alpen-elektronik.example",
    vat_id="ATU12345675",
    customer_number="K-30011",
)

SWISS_BUYER = PartySnapshot(
    name="Gletscher Consulting AG",
    street="Bahnhofstrasse",
    house_number="10",
    postcode="8001",
    city="Zürich",
    country="CH",
    email="finance@gletscher-consulting.example",
    contact_name="Lara Keller",
    customer_number="K-60021",
)

CONSUMER = PartySnapshot(
    name="Anna Schmidt",
    street="Lindenweg",
    house_number="3",
    postcode="50667",
    city="Köln",
    country="DE",
    email="anna.schmidt@example.org",
    customer_number="K-40123",
    is_consumer=True,
)

ENGLISH_BUYER = PartySnapshot(
    name="Northwind Analytics GmbH",
    street="Am Sandtorkai",
    house_number="27",
    postcode="20457",
    city="Hamburg",
    country="DE",
    email="accounts@northwind-analytics.example",
    contact_name="Oliver Bennett",
    vat_id="DE265432107",
    customer_number="K-50003",
)

SMALL_BUSINESS_SELLER = PartySnapshot(
    name="Lena Vogel Webdesign",
    street="Kastanienallee",
    house_number="41",
    postcode="10435",
    city="Berlin",
    country="DE",
    email="hallo@lenavogel-webdesign.example",
    phone="+49 30 98765430",
    contact_name="Lena Vogel",
    tax_number="37/456/78901",
    website="https://lenavogel-webdesign.example",
)

SMALL_BUSINESS_BANK = BankSnapshot(
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
    bank_name="Commerzbank",
    account_holder="Lena Vogel",
)

# Exemption reasons (BT-120) and VATEX codes (BT-121) per category.
REVERSE_CHARGE_REASON = "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG)"
INTRA_COMMUNITY_REASON = "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1 b, § 6a UStG)"
SMALL_BUSINESS_REASON = "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."
EXEMPTIONS: dict[str, tuple[str, str]] = {
    "AE": (REVERSE_CHARGE_REASON, "VATEX-EU-AE"),
    "K": (INTRA_COMMUNITY_REASON, "VATEX-EU-IC"),
    "E": (SMALL_BUSINESS_REASON, ""),
}
# Sales to businesses abroad, as invoicing.taxation decides them.
CROSS_BORDER: dict[str, tuple[str, str]] = {
    category: (rate.reason_de, rate.reason_code) for category, rate in taxation.RATES.items()
}


@dataclass(frozen=True)
class SampleLine:
    """One line as a clerk would enter it (price in the document's price mode)."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    unit_code: str = "C62"
    tax_category: TaxCategory = "S"
    tax_rate: Decimal = STANDARD
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO
    description: str = ""
    sku: str = ""


def build_snapshot(
    *,
    number: str,
    buyer: PartySnapshot,
    lines: list[SampleLine],
    kind: DocumentKind = "invoice",
    seller: PartySnapshot = SELLER,
    bank: BankSnapshot | None = SELLER_BANK,
    price_mode: Literal["net", "gross"] = "net",
    document_discount_percent: Decimal = ZERO,
    document_discount_amount: Decimal = ZERO,
    document_discount_reason: str = "Rabatt",
    payment_means: PaymentMeans = "transfer",
    direct_debit: DirectDebitSnapshot | None = None,
    early_payment_discount: tuple[Decimal, int] | None = None,
    language: str = "de",
    notes: tuple[str, ...] = (),
    buyer_reference: str = "",
    order_reference: str = "",
    preceding: tuple[str, dt.date] | None = None,
    small_business: bool = False,
    einvoice_format: Literal["cii", "xrechnung-cii", "xrechnung-ubl"] = "cii",
    issue_date: dt.date = ISSUE_DATE,
    exemptions: dict[str, tuple[str, str]] | None = None,
) -> DocumentSnapshot:
    """Build a consistent snapshot: every amount comes from ``compute_totals``.

    ``exemptions`` overrides the exemption reason and code (BT-120/121) per category.
    """
    reasons = {**EXEMPTIONS, **(exemptions or {})}
    totals = compute_totals(
        [
            LineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_category=line.tax_category,
                tax_rate=line.tax_rate,
                discount_percent=line.discount_percent,
                discount_amount=line.discount_amount,
            )
            for line in lines
        ],
        price_mode=price_mode,
        document_discount_percent=document_discount_percent,
        document_discount_amount=document_discount_amount,
    )
    line_snapshots = tuple(
        LineSnapshot(
            position=index,
            name=line.name,
            description=line.description,
            sku=line.sku,
            quantity=line.quantity,
            unit_code=line.unit_code,
            unit_price=result.net_unit_price,
            gross_unit_price=line.unit_price if price_mode == "gross" else None,
            discount_amount=result.discount_amount,
            discount_percent=line.discount_percent or None,
            net_amount=result.net_amount,
            tax_category=line.tax_category,
            tax_rate=line.tax_rate,
            gross_amount=result.gross_amount,
        )
        for index, (line, result) in enumerate(zip(lines, totals.lines, strict=True), start=1)
    )
    allowances = tuple(
        AllowanceSnapshot(
            amount=a.amount,
            base_amount=a.base_amount,
            percent=a.percent,
            tax_category=a.tax_category,  # type: ignore[arg-type]
            tax_rate=a.tax_rate,
            reason=document_discount_reason,
        )
        for a in totals.allowances
    )
    breakdown = tuple(
        TaxSnapshot(
            category=t.category,  # type: ignore[arg-type]
            rate=t.rate,
            taxable_amount=t.taxable_amount,
            tax_amount=t.tax_amount,
            exemption_reason=reasons.get(t.category, ("", ""))[0],
            exemption_reason_code=reasons.get(t.category, ("", ""))[1],
        )
        for t in totals.tax_breakdown
    )
    type_code = "381" if kind in ("credit_note", "cancellation") else "380"
    return DocumentSnapshot(
        kind=kind,
        type_code=type_code,
        number=number,
        issue_date=issue_date,
        service_date_start=SERVICE_START,
        service_date_end=SERVICE_END,
        due_date=issue_date + dt.timedelta(days=PAYMENT_TERM_DAYS),
        currency="EUR",
        language=language,
        seller=seller,
        buyer=buyer,
        lines=line_snapshots,
        allowances=allowances,
        tax_breakdown=breakdown,
        line_total=totals.line_total,
        allowance_total=totals.allowance_total,
        tax_basis_total=totals.tax_basis_total,
        tax_total=totals.tax_total,
        grand_total=totals.grand_total,
        prepaid_amount=ZERO,
        payable_amount=totals.payable_amount,
        price_mode=price_mode,
        payment_means=payment_means,
        payment_term_days=PAYMENT_TERM_DAYS,
        early_payment_discount_percent=early_payment_discount[0]
        if early_payment_discount
        else None,
        early_payment_discount_days=early_payment_discount[1] if early_payment_discount else None,
        bank=bank,
        direct_debit=direct_debit,
        buyer_reference=buyer_reference,
        order_reference=order_reference,
        preceding_invoice_number=preceding[0] if preceding else "",
        preceding_invoice_date=preceding[1] if preceding else None,
        notes=notes,
        small_business=small_business,
        einvoice_format=einvoice_format,
    )


def _d(value: str) -> Decimal:
    return Decimal(value)


LICENSE = SampleLine(
    "Faktura Pro Jahreslizenz",
    _d("1"),
    _d("1200.00"),
    description="Lizenz für 10 Benutzer, Laufzeit 01.10.2026–30.09.2027",
    sku="FP-LIC-10",
)
CONSULTING = SampleLine(
    "Beratung Einführung", _d("7.5"), _d("120.00"), unit_code="HUR", sku="SRV-CONS"
)
HOSTING = SampleLine("Hosting Oktober 2026", _d("1"), _d("49.90"), unit_code="MON", sku="SRV-HOST")
BOOK = SampleLine(
    "Fachbuch „E-Rechnung in der Praxis“",
    _d("3"),
    _d("39.90"),
    tax_rate=REDUCED,
    sku="BOOK-ER-2026",
)


def _standard_rate() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00101",
        buyer=BUSINESS_BUYER,
        lines=[LICENSE, CONSULTING, HOSTING],
        order_reference="PO-4711",
    )


def _reduced_rate() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00102",
        buyer=BUSINESS_BUYER,
        lines=[
            BOOK,
            SampleLine(
                "Zeitschrift „Digitale Buchhaltung“ Jahresabo",
                _d("2"),
                _d("89.00"),
                unit_code="ANN",
                tax_rate=REDUCED,
            ),
        ],
    )


def _mixed_rates() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00103",
        buyer=BUSINESS_BUYER,
        lines=[LICENSE, BOOK, CONSULTING],
        early_payment_discount=(_d("2.00"), 7),
    )


def _line_and_document_discounts() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00104",
        buyer=BUSINESS_BUYER,
        lines=[
            replace(LICENSE, quantity=_d("3"), discount_percent=_d("10")),
            replace(CONSULTING, discount_amount=_d("60.00")),
            replace(BOOK, quantity=_d("12"), discount_percent=_d("5")),
            HOSTING,
        ],
        document_discount_percent=_d("3"),
        document_discount_reason="Treuerabatt 3 %",
    )


def _zero_priced_line() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00105",
        buyer=BUSINESS_BUYER,
        lines=[
            LICENSE,
            SampleLine("Einrichtung (kostenlos)", _d("1"), _d("0.00"), sku="SRV-SETUP"),
        ],
    )


def _credit_note() -> DocumentSnapshot:
    return build_snapshot(
        number="GS-2026-00012",
        kind="credit_note",
        buyer=BUSINESS_BUYER,
        lines=[replace(CONSULTING, quantity=_d("2.5"))],
        preceding=("RE-2026-00090", dt.date(2026, 11, 2)),
        notes=("Gutschrift für nicht erbrachte Beratungsstunden.",),
    )


def _cancellation() -> DocumentSnapshot:
    return build_snapshot(
        number="ST-2026-00003",
        kind="cancellation",
        buyer=BUSINESS_BUYER,
        lines=[LICENSE, CONSULTING, HOSTING],
        preceding=("RE-2026-00091", dt.date(2026, 11, 3)),
        notes=("Stornorechnung zur Rechnung RE-2026-00091.",),
    )


def _reverse_charge() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00106",
        buyer=BUSINESS_BUYER,
        lines=[
            SampleLine(
                "Bauleistung: Verkabelung Serverraum",
                _d("16"),
                _d("85.00"),
                unit_code="HUR",
                tax_category="AE",
                tax_rate=NO_VAT,
            )
        ],
        notes=(f"{REVERSE_CHARGE_REASON}.",),
    )


def _intra_community_supply() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00107",
        buyer=AUSTRIAN_BUYER,
        lines=[
            SampleLine(
                "Kassenterminal KT-200",
                _d("4"),
                _d("349.00"),
                tax_category="K",
                tax_rate=NO_VAT,
                sku="HW-KT200",
            )
        ],
        notes=(f"{INTRA_COMMUNITY_REASON}.",),
    )


WORKSHOP = SampleLine(
    "Inhouse-Workshop E-Rechnung",
    _d("2"),
    _d("1450.00"),
    unit_code="DAY",
    tax_category="AE",
    tax_rate=NO_VAT,
    sku="SRV-WS",
)


def _reverse_charge_eu_service() -> DocumentSnapshot:
    """A workshop (a service) for a business in Vienna: reverse charge, not K."""
    return build_snapshot(
        number="RE-2026-00114",
        buyer=AUSTRIAN_BUYER,
        lines=[WORKSHOP],
        exemptions=CROSS_BORDER,
    )


def _mixed_goods_and_service_eu() -> DocumentSnapshot:
    """Goods and a service to the same EU business: K and AE side by side."""
    return build_snapshot(
        number="RE-2026-00115",
        buyer=AUSTRIAN_BUYER,
        lines=[
            SampleLine(
                "Kassenterminal KT-200",
                _d("2"),
                _d("349.00"),
                tax_category="K",
                tax_rate=NO_VAT,
                sku="HW-KT200",
            ),
            replace(WORKSHOP, quantity=_d("1"), name="Einrichtung und Schulung vor Ort"),
        ],
        exemptions=CROSS_BORDER,
    )


def _not_taxable_service_non_eu() -> DocumentSnapshot:
    """Consulting for a business in Switzerland: not taxable in Germany (O), no VAT IDs."""
    return build_snapshot(
        number="RE-2026-00116",
        buyer=SWISS_BUYER,
        lines=[replace(CONSULTING, tax_category="O", tax_rate=NO_VAT)],
        language="en",
        exemptions={"O": (taxation.NOT_TAXABLE.reason_en, taxation.NOT_TAXABLE.reason_code)},
    )


def _export_goods_non_eu() -> DocumentSnapshot:
    """Goods for a business in Switzerland: a tax-exempt export (G)."""
    return build_snapshot(
        number="RE-2026-00117",
        buyer=SWISS_BUYER,
        lines=[
            SampleLine(
                "Kassenterminal KT-200",
                _d("3"),
                _d("349.00"),
                tax_category="G",
                tax_rate=NO_VAT,
                sku="HW-KT200",
            )
        ],
        exemptions=CROSS_BORDER,
    )


def _small_business() -> DocumentSnapshot:
    return build_snapshot(
        number="2026-017",
        seller=SMALL_BUSINESS_SELLER,
        bank=SMALL_BUSINESS_BANK,
        buyer=BUSINESS_BUYER,
        lines=[
            SampleLine(
                "Gestaltung Landingpage",
                _d("1"),
                _d("850.00"),
                tax_category="E",
                tax_rate=NO_VAT,
            ),
            SampleLine(
                "Anpassungen nach Abnahme",
                _d("3"),
                _d("65.00"),
                unit_code="HUR",
                tax_category="E",
                tax_rate=NO_VAT,
            ),
        ],
        notes=(SMALL_BUSINESS_REASON,),
        small_business=True,
    )


def _consumer_gross_prices() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00108",
        buyer=CONSUMER,
        price_mode="gross",
        lines=[
            SampleLine("Online-Kurs „E-Rechnung kompakt“", _d("1"), _d("149.00"), sku="KURS-ER"),
            SampleLine("Arbeitsheft zum Kurs", _d("2"), _d("19.99"), tax_rate=REDUCED),
            SampleLine("Mitgliedschaft Oktober 2026", _d("1"), _d("9.99"), unit_code="MON"),
        ],
    )


def _multi_page() -> DocumentSnapshot:
    lines = [
        SampleLine(
            f"Support-Ticket #{4100 + i}: {topic}",
            _d(("0.25", "0.5", "1", "1.75", "2")[i % 5]),
            _d("95.00"),
            unit_code="HUR",
            description=f"Bearbeitet am {(SERVICE_START + dt.timedelta(days=i % 31)):%d.%m.%Y}",
            sku="SRV-SUP",
        )
        for i, topic in enumerate(
            ["Einrichtung", "Import", "Export", "Mahnlauf", "Lastschrift", "Benutzer"] * 10
        )
    ]
    return build_snapshot(number="RE-2026-00109", buyer=BUSINESS_BUYER, lines=lines)


def _xrechnung(einvoice_format: Literal["xrechnung-cii", "xrechnung-ubl"]) -> DocumentSnapshot:
    suffix = "110" if einvoice_format == "xrechnung-cii" else "111"
    return build_snapshot(
        number=f"RE-2026-00{suffix}",
        buyer=PUBLIC_BUYER,
        lines=[LICENSE, CONSULTING, BOOK],
        buyer_reference=PUBLIC_BUYER.leitweg_id,
        order_reference="BE-2026-0815",
        early_payment_discount=(_d("2.00"), 14),
        einvoice_format=einvoice_format,
    )


def _direct_debit() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00112",
        buyer=BUSINESS_BUYER,
        lines=[HOSTING, replace(LICENSE, name="Faktura Pro Monatslizenz", unit_price=_d("100.00"))],
        payment_means="direct_debit",
        direct_debit=DirectDebitSnapshot(
            mandate_reference="MREF-K10042-01",
            creditor_id=CREDITOR_ID,
            debtor_iban="DE89370400440532013000",
            debit_date=dt.date(2026, 11, 23),
        ),
    )


def _english_customer() -> DocumentSnapshot:
    return build_snapshot(
        number="RE-2026-00113",
        buyer=ENGLISH_BUYER,
        lines=[
            replace(LICENSE, name="Faktura Pro annual licence", description="10 users"),
            replace(CONSULTING, name="Onboarding workshop"),
        ],
        language="en",
        order_reference="NW-PO-2026-117",
    )


def sample_snapshots() -> dict[str, DocumentSnapshot]:
    """Return the named sample documents, freshly built (they are immutable anyway)."""
    return {
        "standard_rate": _standard_rate(),
        "reduced_rate": _reduced_rate(),
        "mixed_rates": _mixed_rates(),
        "line_and_document_discounts": _line_and_document_discounts(),
        "zero_priced_line": _zero_priced_line(),
        "credit_note": _credit_note(),
        "cancellation": _cancellation(),
        "reverse_charge": _reverse_charge(),
        "intra_community_supply": _intra_community_supply(),
        "reverse_charge_eu_service": _reverse_charge_eu_service(),
        "mixed_goods_and_service_eu": _mixed_goods_and_service_eu(),
        "not_taxable_service_non_eu": _not_taxable_service_non_eu(),
        "export_goods_non_eu": _export_goods_non_eu(),
        "small_business": _small_business(),
        "consumer_gross_prices": _consumer_gross_prices(),
        "multi_page": _multi_page(),
        "xrechnung_cii": _xrechnung("xrechnung-cii"),
        "xrechnung_ubl": _xrechnung("xrechnung-ubl"),
        "direct_debit": _direct_debit(),
        "english_customer": _english_customer(),
    }


def company_sample(name: str = "standard_rate") -> DocumentSnapshot:
    """A sample document with the company's own seller block and bank, for previews.

    Reads the master data (never writes); without a company the sample's seller stays.
    """
    from faktura.core.models import Company
    from faktura.invoicing.parties import seller_data

    sample = sample_snapshots()[name]
    company = Company.objects.order_by("pk").first()
    if company is None:
        return sample
    data = seller_data(company)
    fields = set(PartySnapshot.__dataclass_fields__)
    seller = PartySnapshot(**{k: v for k, v in data.items() if k in fields and v is not None})
    bank = BankSnapshot(**data["bank"]) if data.get("bank") else sample.bank
    return replace(sample, seller=seller, bank=bank)


def letterhead_preview_pdf(letterhead: Any) -> bytes:
    """Render the sample invoice with ``letterhead`` (a ``documents.pdf.Letterhead``, saved
    or pending), exactly as the document pipeline would; nothing is archived."""
    from faktura.documents.pdf.render import render_pdf

    return render_pdf(company_sample(), einvoice_xml=None, letterhead=letterhead)
