"""The receivables reports as ``tables.Table`` for the CSV and XLSX downloads."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from faktura.reporting.open_items import Aging, OpenItem
from faktura.reporting.receivables import Dso, Forecast, OverdueRow, PaymentHistory
from faktura.reporting.tables import Column, Table

# Shown in the language of the request, like the column titles (the back office in English).
KIND_LABELS = {
    "invoice": gettext_lazy("Rechnung"),
    "credit_note": gettext_lazy("Gutschrift"),
    "cancellation": gettext_lazy("Storno"),
    "payment": gettext_lazy("Zahlung"),
    "refund": gettext_lazy("Erstattung"),
}
BUCKET_LABELS = {
    "not_due": gettext_lazy("nicht fällig"),
    "days_1_30": gettext_lazy("1–30 Tage"),
    "days_31_60": gettext_lazy("31–60 Tage"),
    "days_61_90": gettext_lazy("61–90 Tage"),
    "over_90": gettext_lazy("über 90 Tage"),
    "credits": gettext_lazy("Guthaben"),
}


def open_items_table(day: dt.date, items: list[OpenItem]) -> Table:
    return Table(
        name=f"offene-posten-{day.isoformat()}",
        title=_("Offene Posten"),
        columns=(
            Column("customer_number", _("Kundennummer")),
            Column("customer_name", _("Kunde")),
            Column("kind", _("Art")),
            Column("reference", _("Beleg")),
            Column("document_date", _("Belegdatum"), "date"),
            Column("due_date", _("Fällig am"), "date"),
            Column("amount", _("Betrag"), "money"),
            Column("open_amount", _("Offen"), "money"),
            Column("days_overdue", _("Tage überfällig"), "int"),
        ),
        rows=[
            (
                i.customer_number,
                i.customer_name,
                str(KIND_LABELS[i.kind]),
                i.reference,
                i.document_date,
                i.due_date,
                i.amount,
                i.open_amount,
                i.days_overdue,
            )
            for i in items
        ],
    )


def aging_table(day: dt.date, rows: list[Aging]) -> Table:
    keys = [bucket.key for bucket in rows[0].buckets] if rows else list(BUCKET_LABELS)
    columns = [Column("customer_number", _("Kundennummer")), Column("customer_name", _("Kunde"))]
    for key in keys:
        columns.append(Column(key, str(BUCKET_LABELS[key]), "money"))
        columns.append(Column(f"{key}_count", _("Anzahl"), "int"))
    columns += [Column("total", _("Summe"), "money"), Column("count", _("Anzahl"), "int")]
    table_rows = []
    for row in rows:
        values: list[object] = [row.customer_number or _("Gesamt"), row.customer_name]
        for bucket in row.buckets:
            values += [bucket.amount, bucket.count]
        values += [row.total, row.count]
        table_rows.append(tuple(values))
    return Table(
        name=f"faelligkeitsstruktur-{day.isoformat()}",
        title=_("Fälligkeitsstruktur"),
        columns=tuple(columns),
        rows=table_rows,
    )


def dso_table(figure: Dso) -> Table:
    return Table(
        name=f"dso-{figure.start.isoformat()}-{figure.end.isoformat()}",
        title="DSO",
        columns=(
            Column("from", _("Von"), "date"),
            Column("to", _("Bis"), "date"),
            Column("days", _("Tage"), "int"),
            Column("receivables", _("Forderungen am Ende"), "money"),
            Column("revenue", _("Umsatz (brutto)"), "money"),
            Column("dso", _("DSO (Tage)"), "percent"),
        ),
        rows=[
            (
                figure.start,
                figure.end,
                figure.days,
                figure.receivables,
                figure.revenue,
                figure.dso,
            )
        ],
    )


def payment_history_table(history: PaymentHistory) -> Table:
    rows: list[tuple[object, ...]] = [
        (p["date"], "Zahlung", p["reference"][:140], p["amount"]) for p in history.payments
    ]
    for r in history.returns:
        label = "Rücklastschrift" if r["kind"] == "returned_debit" else "Rückbelastung"
        day = r["booking_date"] or r["created_at"].date()
        rows.append((day, label, r["invoice__number"] or r["reason_code"], -r["amount"]))
    rows.sort(key=lambda row: row[0])  # type: ignore[arg-type, return-value]
    return Table(
        name=f"zahlungsverhalten-{history.customer.number}",
        title=_("Zahlungsverhalten"),
        columns=(
            Column("date", _("Datum"), "date"),
            Column("kind", _("Art")),
            Column("reference", _("Referenz")),
            Column("amount", _("Betrag"), "money"),
        ),
        rows=rows,
    )


def overdue_table(day: dt.date, rows: list[OverdueRow]) -> Table:
    return Table(
        name=f"ueberfaellig-nach-mahnstufe-{day.isoformat()}",
        title=_("Überfällig nach Mahnstufe"),
        columns=(
            Column("customer_number", _("Kundennummer")),
            Column("customer_name", _("Kunde")),
            Column("level", _("Mahnstufe"), "int"),
            Column("count", _("Anzahl"), "int"),
            Column("open_amount", _("Offen"), "money"),
        ),
        rows=[(r.customer_number, r.customer_name, r.level, r.count, r.open_amount) for r in rows],
    )


def forecast_table(forecast: Forecast) -> Table:
    return Table(
        name=f"zahlungseingangsprognose-{forecast.start.isoformat()}",
        title=_("Zahlungseingangsprognose"),
        columns=(
            Column("start", _("Von"), "date"),
            Column("end", _("Bis"), "date"),
            Column("due_invoices", _("Fällige Rechnungen"), "money"),
            Column("direct_debits", _("Lastschriften"), "money"),
            Column("total", _("Summe"), "money"),
        ),
        rows=[(p.start, p.end, p.due_invoices, p.direct_debits, p.total) for p in forecast.periods],
    )
