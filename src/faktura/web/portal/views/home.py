"""The portal's start page: what is open, and every document of the customer."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.core import clock
from faktura.payments import selectors as payment_selectors
from faktura.web.portal import queries
from faktura.web.portal.access import customer_view


@customer_view
def home(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    rows = queries.documents(customer.pk, today=clock.today())
    return render(
        request,
        "portal/home.html",
        {
            "customer": customer,
            "rows": rows,
            "totals": queries.totals(rows),
            "credit": payment_selectors.credit_balance(customer.pk),
            "today": clock.today(),
        },
    )
