"""The portal's start page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.web.portal.access import customer_view


@customer_view
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"customer": request.customer})  # type: ignore[attr-defined]
