"""Net revenue of a period: by month, product, tax rate or customer kind.

Revenue is what finalized documents dated in the period (issue date, § 13 (1) no. 1a
UStG: the VAT arises with the supply; the report follows the documents, as the books do)
say net of VAT: invoices minus credit notes minus cancellations. Corrections carry positive
amounts and count negative here. Every figure is summed in SQL (GROUP BY); the dimensions
only choose which frozen parts are grouped:

* product: the line net amounts (BT-131); the document-level allowances (BG-20) belong to
  no product and appear as a row of their own;
* tax rate: the VAT breakdown's taxable amounts (BT-116), which include them;
* month and customer kind: the documents' tax basis totals (BT-109), one row per document;
  the customer kind as copied into the document at finalization.

All four add up to the same total (BR-CO-13: BT-109 = Σ BT-131 − Σ BT-92).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import CharField, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import (
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
    InvoiceTax,
    Kind,
    Status,
)
from faktura.reporting.tables import Column, Table

Dimension = Literal["month", "product", "tax_rate", "customer_kind"]
DIMENSIONS: tuple[Dimension, ...] = ("month", "product", "tax_rate", "customer_kind")

_MONEY: DecimalField = DecimalField(max_digits=16, decimal_places=2)
# The key of the row that collects document-level allowances in the product view.
DOCUMENT_ALLOWANCES = "document_allowances"


@dataclass(frozen=True)
class RevenueRow:
    key: str  # "2026-11", a product's SKU (or "" / DOCUMENT_ALLOWANCES), "S-19.00", "business"
    label: str
    invoiced: Decimal  # net of the invoices
    corrected: Decimal  # net of the credit notes and cancellations (positive)
    net: Decimal  # invoiced − corrected


def _sums(field: str, *, via: str = "invoice__") -> dict[str, Any]:
    money = Coalesce(
        Sum(F(field), filter=Q(**{f"{via}kind": Kind.INVOICE}), output_field=_MONEY),
        Value(ZERO),
        output_field=_MONEY,
    )
    corrected = Coalesce(
        Sum(F(field), filter=~Q(**{f"{via}kind": Kind.INVOICE}), output_field=_MONEY),
        Value(ZERO),
        output_field=_MONEY,
    )
    return {"invoiced": money, "corrected": corrected}


def finalized_in(start: dt.date, end: dt.date, *, via: str = "invoice__") -> Q:
    """Finalized documents issued from ``start`` to ``end`` (both included)."""
    return Q(
        **{
            f"{via}status": Status.FINALIZED,
            f"{via}issue_date__gte": start,
            f"{via}issue_date__lte": end,
        }
    )


def _lines(start: dt.date, end: dt.date) -> QuerySet[InvoiceLine]:
    return InvoiceLine.objects.filter(finalized_in(start, end)).order_by()


def _allowances(start: dt.date, end: dt.date) -> QuerySet[InvoiceAllowance]:
    return InvoiceAllowance.objects.filter(finalized_in(start, end)).order_by()


def _row(key: str, label: str, invoiced: Decimal, corrected: Decimal) -> RevenueRow:
    invoiced, corrected = round_money(invoiced), round_money(corrected)
    return RevenueRow(key, label, invoiced, corrected, invoiced - corrected)


def _by_month(start: dt.date, end: dt.date) -> list[RevenueRow]:
    rows = (
        Invoice.objects.filter(finalized_in(start, end, via=""))
        .order_by()
        .annotate(month=TruncMonth("issue_date"))
        .values("month")
        .annotate(**_sums("tax_basis_total", via=""))
        .order_by("month")
    )
    result = []
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        result.append(_row(f"{month:%Y-%m}", f"{month:%m/%Y}", row["invoiced"], row["corrected"]))
    return result


def _by_product(start: dt.date, end: dt.date) -> list[RevenueRow]:
    rows = (
        _lines(start, end)
        .values("product_id", "product__sku", "product__name")
        .annotate(**_sums("net_amount"))
        .order_by("product__sku")
    )
    result = [
        _row(
            row["product__sku"] or "",
            row["product__name"] or _("Ohne Artikel"),
            row["invoiced"],
            row["corrected"],
        )
        for row in rows
    ]
    allowances = _allowances(start, end).aggregate(**_sums("amount"))
    if allowances["invoiced"] or allowances["corrected"]:
        result.append(
            _row(
                DOCUMENT_ALLOWANCES,
                _("Nachlass auf den Beleg"),
                -allowances["invoiced"],
                -allowances["corrected"],
            )
        )
    return result


def tax_rate_label(category: str, rate: Decimal) -> str:
    if category == "S":
        return f"{rate:.2f} % USt".replace(".", ",")
    return str(CATEGORY_LABELS.get(category, category))


CATEGORY_LABELS = {
    "Z": gettext_lazy("0 % (Nullsatz)"),
    "E": gettext_lazy("steuerfrei (E)"),
    "AE": gettext_lazy("Steuerschuldnerschaft des Leistungsempfängers (AE)"),
    "K": gettext_lazy("innergemeinschaftliche Lieferung (K)"),
    "G": gettext_lazy("Ausfuhr (G)"),
    "O": gettext_lazy("nicht steuerbar (O)"),
}


def _by_tax_rate(start: dt.date, end: dt.date) -> list[RevenueRow]:
    rows = (
        InvoiceTax.objects.filter(finalized_in(start, end))
        .order_by()
        .values("category", "rate")
        .annotate(**_sums("taxable_amount"))
        .order_by("-rate", "category")
    )
    return [
        _row(
            f"{row['category']}-{row['rate']:.2f}",
            tax_rate_label(row["category"], row["rate"]),
            row["invoiced"],
            row["corrected"],
        )
        for row in rows
    ]


def _by_customer_kind(start: dt.date, end: dt.date) -> list[RevenueRow]:
    from faktura.customers.models import Customer

    labels = dict(Customer.Kind.choices)
    rows = (
        Invoice.objects.filter(finalized_in(start, end, via=""))
        .order_by()
        # The kind copied into the document; documents from before it was copied use the
        # customer's master data.
        .annotate(
            buyer_kind=Coalesce(
                KeyTextTransform("kind", "buyer"), F("customer__kind"), output_field=CharField()
            )
        )
        .values("buyer_kind")
        .annotate(**_sums("tax_basis_total", via=""))
        .order_by("buyer_kind")
    )
    return [
        _row(
            row["buyer_kind"],
            str(labels.get(row["buyer_kind"], row["buyer_kind"])),
            row["invoiced"],
            row["corrected"],
        )
        for row in rows
    ]


_SELECTORS = {
    "month": _by_month,
    "product": _by_product,
    "tax_rate": _by_tax_rate,
    "customer_kind": _by_customer_kind,
}


def revenue(start: dt.date, end: dt.date, by: Dimension = "month") -> list[RevenueRow]:
    """Net revenue from ``start`` to ``end`` (issue dates, both included), grouped ``by``."""
    return _SELECTORS[by](start, end)


def total(rows: list[RevenueRow]) -> Decimal:
    return sum((row.net for row in rows), ZERO)


DIMENSION_LABELS = {
    "month": gettext_lazy("Monat"),
    "product": gettext_lazy("Artikel"),
    "tax_rate": gettext_lazy("Steuersatz"),
    "customer_kind": gettext_lazy("Kundenart"),
}


def revenue_table(start: dt.date, end: dt.date, by: Dimension = "month") -> Table:
    """The revenue report as a table, with a total row."""
    rows = revenue(start, end, by)
    body: list[tuple[Any, ...]] = [
        (row.key, row.label, row.invoiced, row.corrected, row.net) for row in rows
    ]
    body.append(
        (
            "",
            _("Summe"),
            sum((r.invoiced for r in rows), ZERO),
            sum((r.corrected for r in rows), ZERO),
            total(rows),
        )
    )
    return Table(
        name=f"umsatz-{by.replace('_', '-')}-{start.isoformat()}-{end.isoformat()}",
        title=_("Umsatz"),
        columns=(
            Column("key", _("Schlüssel")),
            Column("label", str(DIMENSION_LABELS[by])),
            Column("invoiced", _("Rechnungen netto"), "money"),
            Column("corrected", _("Gutschriften und Stornos netto"), "money"),
            Column("net", _("Umsatz netto"), "money"),
        ),
        rows=body,
    )
