"""Dunning and collection figures of a period, each summed in SQL.

* notices sent per level (notice date in the period): count and the amounts they claimed;
* dunning costs (fees, the EUR 40 flat fee, default interest) by kind: charged (created in
  the period), paid and waived (paid or waived in the period) — each dated by its own event;
* collection: cases handed to the agency (exported) in the period and the open amount they
  carried; what the agency collected in the period and its costs;
* recovery after each level: of the invoices whose dunning reached a level in the period
  (their highest so far), how many are settled now (open amount 0 or less) without a
  hand-over to collection, and their total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from faktura.core.money import ZERO, round_money
from faktura.reporting.tables import Column, Table

_MONEY: DecimalField = DecimalField(max_digits=16, decimal_places=2)
HUNDRED = Decimal(100)


def _sum(field: str, **filters: Any) -> Coalesce:
    return Coalesce(
        Sum(field, filter=Q(**filters) if filters else None, output_field=_MONEY),
        Value(ZERO),
        output_field=_MONEY,
    )


def _day_span(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC),
    )


@dataclass(frozen=True)
class LevelNotices:
    level: int
    notices: int
    principal: Decimal
    fees: Decimal
    interest: Decimal


@dataclass(frozen=True)
class CostFigures:
    kind: str
    charged: Decimal
    paid: Decimal
    waived: Decimal


@dataclass(frozen=True)
class CollectionFigures:
    cases_handed_over: int
    amount_handed_over: Decimal
    collected: Decimal
    agency_costs: Decimal


@dataclass(frozen=True)
class LevelRecovery:
    level: int
    invoices: int
    recovered: int
    recovered_amount: Decimal

    @property
    def rate(self) -> Decimal | None:
        return (
            round_money(Decimal(self.recovered) * HUNDRED / self.invoices)
            if self.invoices
            else None
        )


@dataclass(frozen=True)
class DunningFigures:
    start: dt.date
    end: dt.date
    notices: list[LevelNotices]
    costs: list[CostFigures]
    collection: CollectionFigures
    recovery: list[LevelRecovery]


def notices_per_level(start: dt.date, end: dt.date) -> list[LevelNotices]:
    from faktura.dunning.models import DunningNotice

    rows = (
        DunningNotice.objects.filter(
            status=DunningNotice.Status.SENT, notice_date__gte=start, notice_date__lte=end
        )
        .order_by()
        .values("level")
        .annotate(
            notices=Count("pk"),
            principal_sum=_sum("principal_total"),
            fees_sum=_sum("fees_total"),
            interest_sum=_sum("interest_total"),
        )
        .order_by("level")
    )
    return [
        LevelNotices(
            r["level"],
            r["notices"],
            round_money(r["principal_sum"]),
            round_money(r["fees_sum"]),
            round_money(r["interest_sum"]),
        )
        for r in rows
    ]


def dunning_costs(start: dt.date, end: dt.date) -> list[CostFigures]:
    from faktura.dunning.models import DunningFee

    first, last = _day_span(start, end)
    rows = {
        r["kind"]: r
        for r in DunningFee.objects.filter(
            Q(created_at__gte=first, created_at__lt=last)
            | Q(paid_at__gte=first, paid_at__lt=last)
            | Q(waived_at__gte=first, waived_at__lt=last)
        )
        .order_by()
        .values("kind")
        .annotate(
            charged=_sum("amount", created_at__gte=first, created_at__lt=last),
            paid=_sum("amount", paid_at__gte=first, paid_at__lt=last),
            waived=_sum("amount", waived_at__gte=first, waived_at__lt=last),
        )
    }
    return [
        CostFigures(
            kind,
            round_money(rows[kind]["charged"]),
            round_money(rows[kind]["paid"]),
            round_money(rows[kind]["waived"]),
        )
        if kind in rows
        else CostFigures(kind, ZERO, ZERO, ZERO)
        for kind in DunningFee.Kind.values
    ]


def collection_figures(start: dt.date, end: dt.date) -> CollectionFigures:
    from faktura.dunning.models import CollectionCase, CollectionCaseInvoice, CollectionPayment

    first, last = _day_span(start, end)
    cases = CollectionCase.objects.filter(exported_at__gte=first, exported_at__lt=last)
    handed = CollectionCaseInvoice.objects.filter(case__in=cases, active=True).aggregate(
        amount=_sum("open_amount")
    )
    collected = CollectionPayment.objects.filter(date__gte=start, date__lte=end).aggregate(
        amount=_sum("amount"), costs=_sum("costs")
    )
    return CollectionFigures(
        cases_handed_over=cases.count(),
        amount_handed_over=round_money(handed["amount"]),
        collected=round_money(collected["amount"]),
        agency_costs=round_money(collected["costs"]),
    )


def recovery_per_level(start: dt.date, end: dt.date) -> list[LevelRecovery]:
    from faktura.dunning.models import DunningCase
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts

    settled = with_open_amounts(Invoice.objects.filter(pk=OuterRef("invoice_id"))).filter(
        open_amount__lte=0
    )
    rows = (
        DunningCase.objects.filter(level_reached_on__gte=start, level_reached_on__lte=end)
        .order_by()
        .annotate(settled=Exists(settled))
        .values("level")
        .annotate(
            invoices=Count("pk"),
            recovered=Count("pk", filter=Q(settled=True, handed_to_collection=False)),
            recovered_amount=_sum(
                "invoice__payable_amount", settled=True, handed_to_collection=False
            ),
        )
        .order_by("level")
    )
    return [
        LevelRecovery(r["level"], r["invoices"], r["recovered"], round_money(r["recovered_amount"]))
        for r in rows
    ]


def dunning_figures(start: dt.date, end: dt.date) -> DunningFigures:
    """All dunning and collection figures from ``start`` to ``end`` (both included)."""
    return DunningFigures(
        start=start,
        end=end,
        notices=notices_per_level(start, end),
        costs=dunning_costs(start, end),
        collection=collection_figures(start, end),
        recovery=recovery_per_level(start, end),
    )


COST_LABELS = {
    "fee": gettext_lazy("Mahngebühren"),
    "flat_40": gettext_lazy("Verzugspauschale"),
    "interest": gettext_lazy("Verzugszinsen"),
}


def dunning_figures_table(start: dt.date, end: dt.date) -> Table:
    """The figures as one table: figure, level, count, amount, second amount, percent."""
    figures = dunning_figures(start, end)
    rows: list[tuple[Any, ...]] = []
    for n in figures.notices:
        rows.append(("notices", _("Versendete Mahnungen"), n.level, n.notices, n.principal, None))
    for c in figures.costs:
        label = str(COST_LABELS.get(c.kind, c.kind))
        charged, paid, waived = _("berechnet"), _("bezahlt"), _("erlassen")
        rows.append((f"{c.kind}_charged", f"{label}: {charged}", None, None, c.charged, None))
        rows.append((f"{c.kind}_paid", f"{label}: {paid}", None, None, c.paid, None))
        rows.append((f"{c.kind}_waived", f"{label}: {waived}", None, None, c.waived, None))
    col = figures.collection
    rows.append(
        (
            "collection_handed_over",
            _("An Inkasso übergeben"),
            None,
            col.cases_handed_over,
            col.amount_handed_over,
            None,
        )
    )
    rows.append(
        ("collection_collected", _("Vom Inkasso eingezogen"), None, None, col.collected, None)
    )
    rows.append(
        ("collection_costs", _("Kosten des Inkassobüros"), None, None, col.agency_costs, None)
    )
    for r in figures.recovery:
        rows.append(("reached", _("Stufe erreicht"), r.level, r.invoices, None, None))
        rows.append(
            (
                "recovered",
                _("Nach dieser Stufe bezahlt"),
                r.level,
                r.recovered,
                r.recovered_amount,
                r.rate,
            )
        )
    return Table(
        name=f"mahnwesen-{start.isoformat()}-{end.isoformat()}",
        title=_("Mahnwesen"),
        columns=(
            Column("key", _("Schlüssel")),
            Column("label", _("Kennzahl")),
            Column("level", _("Stufe"), "int"),
            Column("count", _("Anzahl"), "int"),
            Column("amount", _("Betrag"), "money"),
            Column("percent", _("Anteil (%)"), "percent"),
        ),
        rows=rows,
    )
