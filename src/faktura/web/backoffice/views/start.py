"""Start: the state of the receivables at a glance (figures from reporting.dashboard)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.core import clock
from faktura.reporting import dashboard
from faktura.web.backoffice.access import staff_view


@staff_view
def start_page(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    figures = dashboard.overview(today)
    return render(
        request,
        "backoffice/start.html",
        {
            "today": today,
            "receivables": figures.receivables,
            "received": figures.received,
            "received_change": (
                (figures.received - figures.received_before) / figures.received_before * 100
                if figures.received_before
                else None
            ),
            "dso": figures.dso,
            "chart": {
                "labels": [f"{m.month:%m/%Y}" for m in figures.months],
                "values": [str(m.net) for m in figures.months],
            },
            "months": figures.months,
            "most_overdue": [(row, (today - row.oldest_due).days) for row in figures.most_overdue],
            "debits": figures.debits,
        },
    )
