"""Briefversand: the print batches of customers who want their documents by post, what
waits for the next one, a batch for today (``documents.print_batch.create_print_batch``),
and the batch's PDF as archived (checked against its SHA-256)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.documents import print_batch
from faktura.documents.models import PrintBatch
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message

PER_PAGE = 30
WAITING_SHOWN = 50


@staff_view
def batch_list(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    invoices = print_batch.waiting_invoices(on=today)
    notices = print_batch.waiting_notices(on=today)
    page = Paginator(PrintBatch.objects.order_by("-pk"), PER_PAGE).get_page(request.GET.get("page"))
    by_date = invoices.select_related("customer").order_by("issue_date", "finalized_at", "pk")
    shown_invoices = list(by_date[:WAITING_SHOWN])
    shown_notices = list(
        notices.select_related("customer").order_by("notice_date", "pk")[:WAITING_SHOWN]
    )
    count = invoices.count() + notices.count()
    return render(
        request,
        "backoffice/invoices/print_batches.html",
        {
            "page": page,
            "today": today,
            "waiting_invoices": shown_invoices,
            "waiting_notices": shown_notices,
            "waiting_count": count,
            "waiting_more": count > len(shown_invoices) + len(shown_notices),
            "can_create": permissions.allows(request.actor, "print_batch.create"),  # type: ignore[attr-defined]
        },
    )


@require_POST
@staff_view
def create(request: HttpRequest) -> HttpResponse:
    """Today's batch of every paper document that waits; nothing when none waits."""
    actor = request.actor  # type: ignore[attr-defined]
    try:
        batch = print_batch.create_print_batch(on=clock.today(), actor=actor)
    except DomainError as error:
        messages.error(request, message(error))
        return redirect("backoffice:print_batches")
    if batch is None:
        messages.info(
            request,
            gettext(
                "Kein Dokument wartet auf den Briefversand; es ist kein Druckstapel entstanden."
            ),
        )
        return redirect("backoffice:print_batches")
    messages.success(
        request,
        ngettext(
            "Der Druckstapel mit %(count)d Dokument ist erstellt (%(sheets)d Blatt).",
            "Der Druckstapel mit %(count)d Dokumenten ist erstellt (%(sheets)d Blatt).",
            batch.document_count,
        )
        % {"count": batch.document_count, "sheets": batch.sheet_count},
    )
    return redirect("backoffice:print_batch", batch.pk)


def _batch(print_batch_id: int) -> PrintBatch:
    batch = PrintBatch.objects.filter(pk=print_batch_id).first()
    if batch is None:
        raise Http404
    return batch


@staff_view
def batch_detail(request: HttpRequest, print_batch_id: int) -> HttpResponse:
    batch = _batch(print_batch_id)
    deliveries = batch.deliveries.select_related("customer", "invoice", "dunning_notice").order_by(
        "position"
    )
    return render(
        request,
        "backoffice/invoices/print_batch.html",
        {"batch": batch, "deliveries": deliveries},
    )


@staff_view
def batch_pdf(request: HttpRequest, print_batch_id: int) -> HttpResponseBase:
    """The batch's PDF byte for byte as archived; a missing or altered file is refused."""
    batch = _batch(print_batch_id)
    try:
        content = print_batch.read_batch(batch)
    except DomainError as error:
        messages.error(request, message(error))
        return redirect("backoffice:print_batch", batch.pk)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
    return response
