"""One document of the customer: its figures, payments, the archived PDF and XML."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.core import clock
from faktura.core.errors import NotFound
from faktura.documents.archive import DocumentNotArchived, archived, einvoice_of, read_archived
from faktura.documents.models import ArchivedDocument
from faktura.payments.providers import online_payment_available
from faktura.web.portal import queries
from faktura.web.portal.access import customer_view


@customer_view
def document(request: HttpRequest, invoice_id: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    row = queries.document(customer.pk, invoice_id, today=clock.today())
    invoice = row.invoice
    return render(
        request,
        "portal/document.html",
        {
            "row": row,
            "invoice": invoice,
            "lines": invoice.lines.order_by("position"),
            "allocations": invoice.allocations.filter(reversed_at__isnull=True)
            .select_related("payment")
            .order_by("payment__date", "pk"),
            "corrections": invoice.corrections.filter(status="finalized").order_by("pk"),
            "files": set(
                ArchivedDocument.objects.filter(invoice=invoice).values_list("kind", flat=True)
            ),
            "online": online_payment_available(),
        },
    )


@customer_view
def document_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The archived PDF, byte for byte."""
    queries.own_document_id(request.customer.pk, invoice_id)  # type: ignore[attr-defined]
    try:
        document = archived(invoice_id, ArchivedDocument.Kind.PDF)
        content = read_archived(document)
    except (DocumentNotArchived, NotFound) as error:  # not rendered yet
        raise Http404 from error
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@customer_view
def document_xml(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The e-invoice XML as validated and sent, as a download."""
    queries.own_document_id(request.customer.pk, invoice_id)  # type: ignore[attr-defined]
    try:
        xml, filename = einvoice_of(invoice_id)
    except (DocumentNotArchived, NotFound) as error:  # not rendered yet
        raise Http404 from error
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
