"""The payment reminders and dunning notices sent to the customer, and their letters."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.web.portal import queries
from faktura.web.portal.access import customer_view


@customer_view
def notices(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    return render(request, "portal/notices.html", {"notices": queries.notices(customer.pk)})


@customer_view
def notice_pdf(request: HttpRequest, notice_id: int) -> HttpResponse:
    """The archived letter of the notice, byte for byte."""
    filename, data = queries.notice_letter(request.customer.pk, notice_id)  # type: ignore[attr-defined]
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
