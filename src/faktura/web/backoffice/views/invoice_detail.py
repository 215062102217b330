"""One document: figures, the archived PDF inline, lines, payments, corrections, dunning,
mails and the timeline from the audit log."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_replace
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from faktura.core import clock, permissions
from faktura.core.errors import NotFound
from faktura.core.models import AuditEntry
from faktura.documents.archive import (
    DocumentNotArchived,
    archived,
    einvoice_of,
    read_archived,
)
from faktura.documents.models import ArchivedDocument, PostalDelivery
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice, Kind
from faktura.notifications.models import OutboxMessage
from faktura.payments.selectors import credit_balance
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.labels import action_label


def _invoice(invoice_id: int) -> Any:
    invoice = (
        selectors.with_open_amounts(Invoice.objects.filter(pk=invoice_id))
        .select_related("customer", "original")
        .first()
    )
    if invoice is None:
        raise Http404
    return invoice


@staff_view
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    from faktura.dunning.models import DunningFee, DunningNoticeItem

    invoice = _invoice(invoice_id)
    timeline = [
        (entry.created_at, action_label(entry.action), entry.actor, entry.data)
        for entry in AuditEntry.objects.filter(
            object_type__in=Kind.values, object_id=str(invoice.pk)
        ).order_by("created_at", "pk")
    ]
    return render(
        request,
        "backoffice/invoices/detail.html",
        {
            "invoice": invoice,
            "today": clock.today(),
            "lines": invoice.lines.order_by("position"),
            "taxes": invoice.taxes.order_by("pk"),
            "allocations": invoice.allocations.select_related("payment").order_by("created_at"),
            "write_offs": invoice.write_offs.order_by("created_at"),
            "postal": PostalDelivery.objects.filter(invoice=invoice)
            .select_related("batch")
            .first(),
            "corrections": invoice.corrections.order_by("pk"),
            "notices": DunningNoticeItem.objects.filter(invoice=invoice)
            .select_related("notice")
            .order_by("notice__notice_date"),
            "fees": DunningFee.objects.filter(invoice=invoice).order_by("pk"),
            "mails": OutboxMessage.objects.filter(invoice=invoice).order_by("created_at"),
            "documents": ArchivedDocument.objects.filter(invoice=invoice).order_by("pk"),
            "timeline": timeline,
            "can": {
                operation.split(".")[1]: permissions.allows(request.actor, operation)  # type: ignore[attr-defined]
                for operation in (
                    "invoice.approve",
                    "invoice.finalize",
                    "invoice.correct",
                    "invoice.send",
                    "payment.record",
                    "payment.write_off",
                    "invoice.discard",
                    "payment.release_allocation",
                    "dunning.fee",
                )
            },
            # What the customer could settle this invoice with (apply_credit).
            "customer_credit": credit_balance(invoice.customer_id)
            if invoice.status == "finalized"
            and invoice.kind == Kind.INVOICE
            and invoice.open_amount > 0
            else None,
            "has_pdf": ArchivedDocument.objects.filter(
                invoice=invoice, kind=ArchivedDocument.Kind.PDF
            ).exists(),
        },
    )


# The detail page shows the PDF in an <iframe> of the same origin; every other page is DENY.
@xframe_options_sameorigin
# The browser's PDF viewer is a plugin: the PDF itself may be shown as an object.
@csp_replace({"object-src": ["'self'"]})
@staff_view
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The archived PDF, byte for byte, shown inline."""
    _invoice(invoice_id)
    try:
        document = archived(invoice_id, ArchivedDocument.Kind.PDF)
    except (NotFound, DocumentNotArchived) as error:  # a draft, or not rendered yet
        raise Http404 from error
    response = HttpResponse(read_archived(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.filename}"'
    return response


@staff_view
def invoice_xml(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The e-invoice XML as validated and sent, as a download."""
    _invoice(invoice_id)
    try:
        xml, filename = einvoice_of(invoice_id)
    except (NotFound, DocumentNotArchived) as error:
        raise Http404 from error
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
