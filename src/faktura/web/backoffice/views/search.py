"""Suche: the search field of the top bar. One exact hit (an invoice or customer number)
opens it; otherwise the hits grouped by invoices, customers, payments and bank lines."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from faktura.core import clock
from faktura.reporting import search as finder
from faktura.web.backoffice.access import staff_view


@staff_view
def search_page(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    results = finder.search(text)
    if results.exact is not None:
        kind, pk = results.exact
        return redirect("backoffice:invoice" if kind == "invoice" else "backoffice:customer", pk)
    return render(
        request,
        "backoffice/search.html",
        {
            "results": results,
            "q": results.query.text,
            "search_text": results.query.text,
            "today": clock.today(),
        },
    )
