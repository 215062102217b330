"""Start: the state of the receivables at a glance (figures from reporting.dashboard)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.core import clock
from faktura.reporting import dashboard
from faktura.web.backoffice.access import staff_view


@staff_view
def start_page(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    month = dt.timedelta(days=30)
    received = dashboard.received(today - month + dt.timedelta(days=1), today)
    received_before = dashboard.received(today - 2 * month + dt.timedelta(days=1), today - month)
    months = dashboard.revenue_by_month(today)
    return render(
        request,
        "backoffice/start.html",
        {
            "today": today,
            "receivables": dashboard.receivables(today),
            "received": received,
            "received_change": (
                (received - received_before) / received_before * 100 if received_before else None
            ),
            "dso": dashboard.days_sales_outstanding(today),
            "chart": {
                "labels": [f"{m.month:%m/%Y}" for m in months],
                "values": [str(m.net) for m in months],
            },
            "months": months,
            "most_overdue": [
                (row, (today - row.oldest_due).days) for row in dashboard.most_overdue(today)
            ],
            "debits": dashboard.upcoming_debits(today),
        },
    )
