"""Berichte: the reports of a period as tables on the page and as CSV/XLSX downloads.

Each report is a ``reporting`` selector that returns a ``Table``; this module only picks
the period and the format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from faktura.api.report_files import file_response
from faktura.core import clock
from faktura.reporting import (
    dunning_figures,
    open_items,
    receivables,
    revenue,
    subscription_figures,
    vat,
)
from faktura.reporting import receivables_tables as receivables_tables
from faktura.reporting.tables import Table
from faktura.web.backoffice.access import staff_view

REPORTS: dict[str, tuple[Any, Callable[[dt.date, dt.date], Table]]] = {
    # Receivables at the end of the period.
    "offene-posten": (
        _("Offene Posten"),
        lambda s, e: receivables_tables.open_items_table(e, open_items.open_items(e)),
    ),
    "faelligkeit": (
        _("Fälligkeitsstruktur"),
        lambda s, e: receivables_tables.aging_table(e, open_items.aging(e)),
    ),
    "ueberfaellig": (
        _("Überfällig nach Mahnstufe"),
        lambda s, e: receivables_tables.overdue_table(e, receivables.overdue_by_level(e)),
    ),
    "dso": (_("DSO"), lambda s, e: receivables_tables.dso_table(receivables.dso(s, e))),
    "umsatzsteuer": (_("Umsatzsteuer-Voranmeldung"), vat.vat_summary_table),
    "umsatz-monat": (_("Umsatz je Monat"), lambda s, e: revenue.revenue_table(s, e, "month")),
    "umsatz-artikel": (
        _("Umsatz je Artikel"),
        lambda s, e: revenue.revenue_table(s, e, "product"),
    ),
    "umsatz-steuersatz": (
        _("Umsatz je Steuersatz"),
        lambda s, e: revenue.revenue_table(s, e, "tax_rate"),
    ),
    "abos": (_("Abo-Kennzahlen"), subscription_figures.subscription_figures_table),
    "mahnwesen": (_("Mahnwesen und Inkasso"), dunning_figures.dunning_figures_table),
}


class PeriodForm(forms.Form):
    # <input type="date"> takes ISO dates only: in German format the browser showed it empty.
    start = forms.DateField(
        label=_("Von"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("Bis"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("Das Startdatum liegt nach dem Enddatum."))
        return data


def _period(request: HttpRequest) -> tuple[PeriodForm, dt.date, dt.date]:
    today = clock.today()
    first = today.replace(day=1)
    form = PeriodForm(request.GET or None, initial={"start": first, "end": today})
    if request.GET and form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    return form, first, today


@staff_view
def reports_page(request: HttpRequest, report: str = "umsatzsteuer") -> HttpResponse:
    if report not in REPORTS:
        raise Http404
    form, start, end = _period(request)
    title, make = REPORTS[report]
    table = make(start, end) if not form.errors else None
    return render(
        request,
        "backoffice/reports.html",
        {
            "form": form,
            "report": report,
            "title": title,
            "reports": [(key, label) for key, (label, _make) in REPORTS.items()],
            "table": table,
            "rows": [list(zip(table.columns, row, strict=True)) for row in table.rows]
            if table
            else [],
            "query": request.GET.urlencode(),
        },
    )


@staff_view
def report_file(request: HttpRequest, report: str, file_format: str) -> HttpResponse:
    if report not in REPORTS or file_format not in ("csv", "xlsx"):
        raise Http404
    form, start, end = _period(request)
    if form.errors:
        raise Http404
    return file_response(REPORTS[report][1](start, end), file_format)  # type: ignore[arg-type]
