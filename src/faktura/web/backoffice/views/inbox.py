"""Aufgaben: everything waiting for a person, grouped by source (reporting.inbox)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.reporting import inbox
from faktura.web.backoffice.access import staff_view


@staff_view
def inbox_page(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/inbox.html", {"sections": inbox.sections()})
