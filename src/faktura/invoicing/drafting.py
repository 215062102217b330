"""Turn requested lines into draft document rows: prices, tax rates and totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from faktura.catalog.models import Product, TaxRate
from faktura.core import bulk
from faktura.core.errors import InvalidInput
from faktura.core.money import (
    QUANTITY_PLACES,
    UNIT_PRICE_PLACES,
    ZERO,
    parse_amount,
    parse_decimal,
)
from faktura.core.text import check_text
from faktura.invoicing import calculation, taxation
from faktura.invoicing.models import Invoice, InvoiceAllowance, InvoiceLine, InvoiceTax

SMALL_BUSINESS_NOTE = "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineRequest:
    """One requested line: a product by SKU, or free text with price and tax rate."""

    quantity: object
    sku: str | None = None
    name: str | None = None
    description: str | None = None
    unit_price: object | None = None
    unit_code: str | None = None
    tax_rate: str | None = None  # tax rate code, e.g. "de-19"; overrides the decided rate
    discount_percent: object | None = None
    discount_amount: object | None = None
    kind: str | None = None  # "goods" or "service"; product lines take the product's
    # BG-26 line period (BT-134/135), e.g. the month a subscription line bills: both or none.
    service_date_start: dt.date | None = None
    service_date_end: dt.date | None = None
    # A credit on an invoice (the unused part of a subscription period): a negative
    # quantity at a positive unit price, since BR-27 forbids a negative BT-146.
    credit: bool = False


@dataclass(frozen=True)
class Buyer:
    """What the tax decision needs to know about the buyer and the seller."""

    is_business: bool
    country: str
    vat_id: str
    seller_country: str = "DE"
    language: str = "de"

    @classmethod
    def of(cls, buyer: dict[str, Any], *, seller_country: str, language: str) -> Buyer:
        return cls(
            is_business=not buyer.get("is_consumer", False),
            country=buyer.get("country") or "",
            vat_id=buyer.get("vat_id") or "",
            seller_country=seller_country or "DE",
            language=language,
        )


@dataclass(frozen=True)
class Catalog:
    """Products by SKU and active tax rates by code: read once for many drafts (bulk runs)."""

    products: dict[str, Product]
    rates: dict[str, TaxRate]

    @classmethod
    def load(cls, skus: set[str]) -> Catalog:
        return cls(
            products={
                p.sku: p for p in Product.objects.select_related("tax_rate").filter(sku__in=skus)
            },
            rates={t.code: t for t in TaxRate.objects.filter(active=True)},
        )


@dataclass(frozen=True)
class PreparedLine:
    product: Product | None
    sku: str
    name: str
    description: str
    quantity: Decimal
    unit_code: str
    unit_price: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    tax: TaxRate
    supply_kind: str = ""
    service_date_start: dt.date | None = None
    service_date_end: dt.date | None = None


def prepare_lines(
    requests: list[LineRequest],
    *,
    price_mode: str,
    small_business: bool,
    buyer: Buyer | None = None,
    catalog: Catalog | None = None,
) -> list[PreparedLine]:
    """Validate requested lines and resolve products and tax rates, refusing anything unclear.

    Without an explicit ``tax_rate`` a line sold to a business abroad gets the category its
    kind decides (``taxation``: K, AE, G or O); otherwise the product's (or given) rate.
    Raises InvalidInput unknown_product, invalid_quantity, unknown_tax_rate, invalid_amount,
    missing_name, invalid_discount, invalid_supply_kind, supply_kind_required,
    invalid_period.
    """
    if not requests:
        raise InvalidInput("An order needs at least one line.", code="no_lines", field="lines")
    if catalog is None:
        catalog = Catalog.load({r.sku for r in requests if r.sku})
    products, rates = catalog.products, catalog.rates
    exempt = None
    if small_business:
        exempt = next((t for t in rates.values() if t.category == "E"), None)
        if exempt is None:
            raise InvalidInput(
                "Small business (§ 19 UStG) needs an active tax rate of category E.",
                code="unknown_tax_rate",
                field="lines",
            )
    prepared = []
    for index, request in enumerate(requests):
        field = f"lines[{index}]"
        for name in ("sku", "name", "unit_code"):
            check_text(getattr(request, name), field=f"{field}.{name}")
        check_text(request.description, field=f"{field}.description", multiline=True)
        product = None
        if request.sku:
            product = products.get(request.sku)
            if product is None or not product.active:
                raise InvalidInput(
                    f"{field}.sku: no active product {request.sku!r}",
                    code="unknown_product",
                    field=f"{field}.sku",
                )
        quantity = parse_decimal(
            request.quantity,
            places=QUANTITY_PLACES,
            field=f"{field}.quantity",
            allow_negative=request.credit,
        )
        if quantity == 0:
            raise InvalidInput(
                f"{field}.quantity must not be zero",
                code="invalid_quantity",
                field=f"{field}.quantity",
            )
        if request.tax_rate is not None:
            tax = rates.get(request.tax_rate)
            if tax is None:
                raise InvalidInput(
                    f"{field}.tax_rate: unknown tax rate {request.tax_rate!r} "
                    f"(known: {', '.join(sorted(rates))})",
                    code="unknown_tax_rate",
                    field=f"{field}.tax_rate",
                )
        else:
            tax = product.tax_rate if product is not None else None
        if request.unit_price is not None:
            unit_price = parse_decimal(
                request.unit_price, places=UNIT_PRICE_PLACES, field=f"{field}.unit_price"
            )
        elif product is not None:
            unit_price = _product_price(product, price_mode)
        else:
            raise InvalidInput(
                f"{field}.unit_price is required for a line without product",
                code="invalid_amount",
                field=f"{field}.unit_price",
            )
        name = request.name or (product.name if product else "")
        if not name.strip():
            raise InvalidInput(
                f"{field}.name is required", code="missing_name", field=f"{field}.name"
            )
        discount_percent = (
            parse_decimal(request.discount_percent, places=2, field=f"{field}.discount_percent")
            if request.discount_percent is not None
            else ZERO
        )
        if discount_percent > HUNDRED:
            raise InvalidInput(
                f"{field}.discount_percent must be at most 100",
                code="invalid_discount",
                field=f"{field}.discount_percent",
            )
        discount_amount = (
            parse_amount(request.discount_amount, field=f"{field}.discount_amount")
            if request.discount_amount is not None
            else ZERO
        )
        kind = _supply_kind(request, product, field)
        check_period(request.service_date_start, request.service_date_end, field=field)
        if request.tax_rate is None and exempt is None and buyer is not None:
            tax = _decided_tax(tax, kind, buyer, field)
        if tax is None:
            raise InvalidInput(
                f"{field}.tax_rate is required for a line without product",
                code="unknown_tax_rate",
                field=f"{field}.tax_rate",
            )
        prepared.append(
            PreparedLine(
                product=product,
                sku=product.sku if product else (request.sku or ""),
                name=name.strip()[:200],
                description=(request.description or (product.description if product else "")),
                quantity=quantity,
                unit_code=request.unit_code or (product.unit_code if product else "C62"),
                unit_price=unit_price,
                discount_percent=discount_percent,
                discount_amount=discount_amount,
                tax=exempt if exempt is not None else tax,
                supply_kind=kind,
                service_date_start=request.service_date_start,
                service_date_end=request.service_date_end,
            )
        )
    return prepared


def check_period(start: dt.date | None, end: dt.date | None, *, field: str) -> None:
    """Refuse a line period without start or end, or one that ends before it starts."""
    if (start is None) != (end is None):
        raise InvalidInput(
            f"{field}: a service period needs a start and an end.",
            code="invalid_period",
            field=f"{field}.service_date_start",
        )
    if start is not None and end is not None and end < start:
        raise InvalidInput(
            f"{field}: the service period ends before it starts.",
            code="invalid_period",
            field=f"{field}.service_date_start",
        )


def common_period(lines: list[PreparedLine]) -> tuple[dt.date, dt.date] | None:
    """The period every line names, when all name the same one; else None."""
    periods = {(line.service_date_start, line.service_date_end) for line in lines}
    if len(periods) != 1:
        return None
    start, end = periods.pop()
    return (start, end) if start is not None and end is not None else None


def _supply_kind(request: LineRequest, product: Product | None, field: str) -> str:
    if request.kind is not None:
        if request.kind not in (taxation.GOODS, taxation.SERVICE):
            raise InvalidInput(
                f"{field}.kind must be 'goods' or 'service'",
                code="invalid_supply_kind",
                field=f"{field}.kind",
            )
        return request.kind
    return product.kind if product is not None else ""


def _decided_tax(tax: TaxRate | None, kind: str, buyer: Buyer, field: str) -> TaxRate | None:
    """The line's rate, or the zero-rated category of a sale to a business abroad."""
    if not kind:
        if taxation.needs_supply_kind(
            seller_country=buyer.seller_country,
            buyer_is_business=buyer.is_business,
            buyer_country=buyer.country,
            buyer_vat_id=buyer.vat_id,
        ):
            raise InvalidInput(
                f"{field}.kind: goods or service? It decides the VAT of a sale to a business "
                "abroad (or give the tax_rate).",
                code="supply_kind_required",
                field=f"{field}.kind",
            )
        return tax
    rate = taxation.cross_border_rate(
        seller_country=buyer.seller_country,
        buyer_is_business=buyer.is_business,
        buyer_country=buyer.country,
        buyer_vat_id=buyer.vat_id,
        supply_kind=kind,
    )
    if rate is None:
        return tax
    # Unsaved: the reason is in the document's language, whatever the stored rate says.
    return TaxRate(
        code=rate.code,
        name=rate.reason_de,
        category=rate.category,
        rate=ZERO,
        exemption_reason=rate.reason(buyer.language),
        exemption_reason_code=rate.reason_code,
    )


def _product_price(product: Product, price_mode: str) -> Decimal:
    if product.price_mode == price_mode:
        return product.unit_price
    factor = 1 + product.tax_rate.rate / HUNDRED
    converted = product.unit_price / factor if price_mode == "net" else product.unit_price * factor
    return converted.quantize(Decimal("0.0001"))


def check_buyer_for_taxes(
    lines: list[PreparedLine], buyer: dict[str, Any], seller: dict[str, Any] | None = None
) -> None:
    """Refuse categories the e-invoice rules forbid for these parties (nothing is written).

    BR-AE-02 / BR-IC-02: reverse charge and intra-community supply need the buyer's VAT ID.
    BR-O-11: a supply not taxable in Germany (O) is invoiced on its own, no other category.
    BR-O-02 / BR-CO-26: such an invoice carries no VAT IDs, so the seller needs a tax number.
    """
    categories = {line.tax.category for line in lines}
    if categories & {"AE", "K"} and not buyer.get("vat_id"):
        raise InvalidInput(
            "Reverse charge and intra-community supplies need the customer's VAT ID.",
            code="buyer_vat_id_required",
            field="customer",
        )
    if "O" in categories and len(categories) > 1:
        raise InvalidInput(
            "A supply not taxable in Germany (category O) must be invoiced on its own: "
            "invoice the other lines separately.",
            code="not_taxable_mixed",
            field="lines",
        )
    if "O" in categories and seller is not None and not seller.get("tax_number"):
        raise InvalidInput(
            "An invoice not taxable in Germany carries no VAT IDs (BR-O-02): the company "
            "needs its tax number (Steuernummer).",
            code="seller_tax_number_required",
            field="lines",
        )


@dataclass
class Figures:
    """The unsaved rows and totals of one draft (``write_figures`` stores them)."""

    lines: list[InvoiceLine]
    allowances: list[InvoiceAllowance]
    taxes: list[InvoiceTax]


def write_figures(
    invoice: Invoice,
    lines: list[PreparedLine],
    *,
    credited_lines: list[InvoiceLine | None] | None = None,
) -> None:
    """Compute totals for ``lines`` and store lines, allowances and VAT breakdown of a draft."""
    save_figures(build_figures(invoice, lines, credited_lines=credited_lines))


def save_figures(*many: Figures) -> None:
    """Insert the rows of saved invoices: three inserts for any number of drafts."""
    bulk.insert([line for f in many for line in f.lines])
    InvoiceAllowance.objects.bulk_create([a for f in many for a in f.allowances])
    bulk.insert([t for f in many for t in f.taxes])


def build_figures(
    invoice: Invoice,
    lines: list[PreparedLine],
    *,
    credited_lines: list[InvoiceLine | None] | None = None,
) -> Figures:
    """Compute the totals of ``lines`` into ``invoice`` and return its unsaved rows.

    The rows point to ``invoice``; a bulk caller saves the invoices first, then all rows.
    """
    try:
        totals = calculation.compute_totals(
            [
                calculation.LineInput(
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    tax_category=line.tax.category,
                    tax_rate=line.tax.rate,
                    discount_percent=line.discount_percent,
                    discount_amount=line.discount_amount,
                )
                for line in lines
            ],
            price_mode=invoice.price_mode,  # type: ignore[arg-type]
            document_discount_percent=invoice.document_discount_percent,
            document_discount_amount=invoice.document_discount_amount,
        )
    except calculation.CalculationError as error:
        raise InvalidInput(str(error), code="invalid_discount") from None
    if totals.grand_total < 0:
        raise InvalidInput("The document total must not be negative.", code="negative_total")
    taxes_by_key = {(line.tax.category, line.tax.rate): line.tax for line in lines}
    figures = Figures(
        lines=[
            InvoiceLine(
                invoice=invoice,
                position=position,
                product=line.product,
                credited_line=credited_lines[position - 1] if credited_lines else None,
                sku=line.sku,
                name=line.name,
                description=line.description,
                quantity=line.quantity,
                unit_code=line.unit_code,
                unit_price=line.unit_price,
                net_unit_price=result.net_unit_price,
                discount_percent=line.discount_percent,
                discount_amount=line.discount_amount,
                net_discount_amount=result.discount_amount,
                net_amount=result.net_amount,
                gross_amount=result.gross_amount,
                tax_rate_code=line.tax.code,
                tax_category=line.tax.category,
                tax_rate=line.tax.rate,
                tax_exemption_reason=_exemption_reason(line.tax),
                tax_exemption_reason_code=line.tax.exemption_reason_code,
                supply_kind=line.supply_kind,
                service_date_start=line.service_date_start,
                service_date_end=line.service_date_end,
            )
            for position, (line, result) in enumerate(zip(lines, totals.lines, strict=True), 1)
        ],
        allowances=[
            InvoiceAllowance(
                invoice=invoice,
                tax_category=a.tax_category,
                tax_rate=a.tax_rate,
                amount=a.amount,
                base_amount=a.base_amount,
                percent=a.percent,
            )
            for a in totals.allowances
        ],
        taxes=[
            InvoiceTax(
                invoice=invoice,
                category=t.category,
                rate=t.rate,
                taxable_amount=t.taxable_amount,
                tax_amount=t.tax_amount,
                exemption_reason=_exemption_reason(taxes_by_key[(t.category, t.rate)]),
                exemption_reason_code=taxes_by_key[(t.category, t.rate)].exemption_reason_code,
            )
            for t in totals.tax_breakdown
        ],
    )
    invoice.line_total = totals.line_total
    invoice.allowance_total = totals.allowance_total
    invoice.tax_basis_total = totals.tax_basis_total
    invoice.tax_total = totals.tax_total
    invoice.grand_total = totals.grand_total
    invoice.payable_amount = totals.payable_amount
    return figures


def _exemption_reason(tax: TaxRate) -> str:
    if tax.category == "E" and not tax.exemption_reason:
        return SMALL_BUSINESS_NOTE
    return tax.exemption_reason
