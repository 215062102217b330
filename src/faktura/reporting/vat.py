"""The output side of the VAT advance return (Umsatzsteuer-Voranmeldung) of a period.

Summed in SQL from the VAT breakdown (BG-23) of the finalized documents issued in the
period (invoices positive, credit notes and cancellations negative), grouped by the EN 16931
category and rate stored on each breakdown line, and put on the Kennzahlen of the form
USt 1 A (2026):

=========  ==========================================================================
Kz 81      steuerpflichtige Umsätze zum Steuersatz von 19 %        (S 19 %)
Kz 86      steuerpflichtige Umsätze zum Steuersatz von 7 %         (S 7 %)
Kz 87      Umsätze zum Nullsteuersatz, § 12 Abs. 3 UStG            (Z)
Kz 35/36   Umsätze zu anderen Steuersätzen: Bemessungsgrundlage / Steuer (S, other rate)
Kz 41      innergemeinschaftliche Lieferungen (§ 4 Nr. 1b UStG) an Abnehmer mit USt-IdNr. (K)
Kz 43      weitere steuerfreie Umsätze mit Vorsteuerabzug, e.g. Ausfuhr (§ 4 Nr. 1a)  (G)
Kz 48      steuerfreie Umsätze ohne Vorsteuerabzug (§ 4 Nr. 8–29 UStG)  (E)
Kz 60      steuerpflichtige Umsätze, für die der Leistungsempfänger die Steuer nach § 13b
           Abs. 5 UStG schuldet (AE, buyer in Germany: the place of supply is here)
Kz 21      nicht steuerbare sonstige Leistungen nach § 18b Satz 1 Nr. 2 UStG (AE, buyer in
           another EU state: § 3a (2) UStG puts the service there, the recipient owes the
           tax under Art. 196 VAT Directive; also goes into the Zusammenfassende Meldung)
Kz 45      übrige nicht steuerbare Umsätze (Leistungsort nicht im Inland)   (O)
=========  ==========================================================================

Whether a reverse-charge line (AE) is domestic is decided by the buyer's country as copied
into the document, compared with the seller's. The form takes the bases in full euros
(cents dropped); ``form_amount`` is that figure. For Kz 81 and 86 the form computes the
tax itself from the base; ``tax_amount`` is the VAT the documents charged, which may differ
from base × rate by the rounding cents of each document (BR-CO-17).
Category E is also used by small businesses (§ 19 UStG), who file no advance return.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import Case, CharField, DecimalField, F, Q, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import InvoiceTax, Kind
from faktura.reporting.revenue import finalized_in
from faktura.reporting.tables import Column, Table

_MONEY: DecimalField = DecimalField(max_digits=16, decimal_places=2)
STANDARD = Decimal("19.00")
REDUCED = Decimal("7.00")

KENNZAHLEN: dict[str, Any] = {
    "81": gettext_lazy("Steuerpflichtige Umsätze zum Steuersatz von 19 %"),
    "86": gettext_lazy("Steuerpflichtige Umsätze zum Steuersatz von 7 %"),
    "87": gettext_lazy("Umsätze zum Nullsteuersatz (§ 12 Abs. 3 UStG)"),
    "35": gettext_lazy("Steuerpflichtige Umsätze zu anderen Steuersätzen (Steuer: Kz 36)"),
    "41": gettext_lazy(
        "Innergemeinschaftliche Lieferungen (§ 4 Nr. 1 Buchst. b UStG) an Abnehmer mit USt-IdNr."
    ),
    "43": gettext_lazy("Weitere steuerfreie Umsätze mit Vorsteuerabzug (z. B. Ausfuhr)"),
    "48": gettext_lazy("Steuerfreie Umsätze ohne Vorsteuerabzug"),
    "60": gettext_lazy(
        "Steuerpflichtige Umsätze, für die der Leistungsempfänger die Steuer nach § 13b "
        "Abs. 5 UStG schuldet"
    ),
    "21": gettext_lazy("Nicht steuerbare sonstige Leistungen (§ 18b Satz 1 Nr. 2 UStG)"),
    "45": gettext_lazy("Übrige nicht steuerbare Umsätze (Leistungsort nicht im Inland)"),
}
# The order of the form.
FORM_ORDER = ("81", "86", "87", "35", "41", "43", "48", "60", "21", "45")


def kennzahl(category: str, rate: Decimal, *, domestic_buyer: bool) -> str:
    """The Kennzahl of the advance return for one VAT category and rate (pure)."""
    if category == "S":
        if rate == STANDARD:
            return "81"
        if rate == REDUCED:
            return "86"
        return "35"
    if category == "AE":
        return "60" if domestic_buyer else "21"
    return {"Z": "87", "K": "41", "G": "43", "E": "48", "O": "45"}[category]


@dataclass(frozen=True)
class VatRow:
    kennzahl: str
    label: str
    category: str
    rate: Decimal
    taxable_amount: Decimal  # net, signed: corrections reduce it
    tax_amount: Decimal  # the VAT the documents charged (0 outside category S)

    @property
    def form_amount(self) -> Decimal:
        """The base as the form takes it: full euros, cents dropped."""
        return self.taxable_amount.quantize(Decimal(1), rounding=ROUND_DOWN)


@dataclass(frozen=True)
class VatSummary:
    start: dt.date
    end: dt.date
    rows: list[VatRow]

    @property
    def taxable_total(self) -> Decimal:
        return sum((row.taxable_amount for row in self.rows), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((row.tax_amount for row in self.rows), ZERO)

    def by_kennzahl(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(taxable amount, tax) per Kennzahl, rates of one Kennzahl added up."""
        result: dict[str, tuple[Decimal, Decimal]] = {}
        for row in self.rows:
            base, tax = result.get(row.kennzahl, (ZERO, ZERO))
            result[row.kennzahl] = (base + row.taxable_amount, tax + row.tax_amount)
        return result


def vat_summary(start: dt.date, end: dt.date) -> VatSummary:
    """Taxable amounts and VAT per Kennzahl, category and rate of documents issued in
    ``start``–``end`` (both included)."""
    sign = Case(
        When(invoice__kind=Kind.INVOICE, then=Value(1)),
        default=Value(-1),
    )
    # The buyer abroad or at home, for reverse charge only (Kz 60 or Kz 21).
    domestic = Case(
        When(
            Q(category="AE")
            & Q(
                **{
                    "buyer_country": Coalesce(
                        KeyTextTransform("country", "invoice__seller"),
                        Value("DE"),
                        output_field=CharField(),
                    )
                }
            ),
            then=Value("1"),
        ),
        default=Value("0"),
        output_field=CharField(),
    )
    rows = (
        InvoiceTax.objects.filter(finalized_in(start, end))
        .order_by()
        .annotate(
            buyer_country=Coalesce(
                KeyTextTransform("country", "invoice__buyer"), Value("DE"), output_field=CharField()
            )
        )
        .annotate(domestic=domestic)
        .values("category", "rate", "domestic")
        .annotate(
            taxable=Sum(F("taxable_amount") * sign, output_field=_MONEY),
            tax=Sum(F("tax_amount") * sign, output_field=_MONEY),
        )
    )
    grouped: dict[tuple[str, str, Decimal], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        number = kennzahl(row["category"], row["rate"], domestic_buyer=row["domestic"] == "1")
        key = (number, row["category"], row["rate"])
        grouped[key][0] += round_money(row["taxable"] or ZERO)
        grouped[key][1] += round_money(row["tax"] or ZERO)
    ordered = sorted(grouped.items(), key=lambda item: (FORM_ORDER.index(item[0][0]), item[0]))
    return VatSummary(
        start=start,
        end=end,
        rows=[
            VatRow(number, str(KENNZAHLEN[number]), category, rate, taxable, tax)
            for (number, category, rate), (taxable, tax) in ordered
        ],
    )


def vat_summary_table(start: dt.date, end: dt.date) -> Table:
    summary = vat_summary(start, end)
    body: list[tuple[Any, ...]] = [
        (
            row.kennzahl,
            row.label,
            row.category,
            row.rate,
            row.taxable_amount,
            int(row.form_amount),
            row.tax_amount,
        )
        for row in summary.rows
    ]
    body.append(("", _("Summe"), "", None, summary.taxable_total, None, summary.tax_total))
    return Table(
        name=f"umsatzsteuer-{start.isoformat()}-{end.isoformat()}",
        title=_("Umsatzsteuer-Voranmeldung"),
        columns=(
            Column("kennzahl", _("Kennzahl")),
            Column("label", _("Bezeichnung")),
            Column("category", _("Kategorie")),
            Column("rate", _("Satz (%)"), "percent"),
            Column("taxable_amount", _("Bemessungsgrundlage"), "money"),
            Column("form_amount", _("Bemessungsgrundlage (volle Euro)"), "int"),
            Column("tax_amount", _("Umsatzsteuer"), "money"),
        ),
        rows=body,
    )
