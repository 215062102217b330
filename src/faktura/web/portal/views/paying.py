"""Paying a document: by transfer (account, amount, reference, GiroCode) or online."""

from __future__ import annotations

import io

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from faktura.core import clock
from faktura.core.errors import DomainError
from faktura.documents.pdf.qr import epc_qr
from faktura.payments import providers
from faktura.web.portal import errors, queries
from faktura.web.portal.access import customer_view


@customer_view
def pay(request: HttpRequest, invoice_id: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    row = queries.document(customer.pk, invoice_id, today=clock.today())
    if not row.payable:
        messages.info(request, errors.MESSAGES["invoice_already_paid"])
        return redirect("portal:document", invoice_id)
    return render(
        request,
        "portal/pay.html",
        {
            "row": row,
            "invoice": row.invoice,
            "transfer": queries.transfer(row),
            "online": providers.online_payment_available(),
            "returned": request.GET.get("abgebrochen") is not None,
        },
    )


@customer_view
def girocode(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The EPC QR code (GiroCode) of the open amount as SVG, with its quiet zone."""
    customer = request.customer  # type: ignore[attr-defined]
    row = queries.document(customer.pk, invoice_id, today=clock.today())
    transfer = queries.transfer(row)
    if transfer is None or not transfer.epc_payload:
        raise Http404
    svg = io.BytesIO()
    # EPC069-12: a quiet zone of four modules; scaled by the page's stylesheet (viewBox).
    epc_qr(transfer.epc_payload).save(svg, kind="svg", border=4, omitsize=True, xmldecl=False)
    response = HttpResponse(svg.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@customer_view
def pay_online(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Start the provider's checkout for the open amount and send the customer there."""
    back = request.build_absolute_uri(reverse("portal:document", args=[invoice_id]))
    try:
        session = providers.start_checkout(
            invoice_id=invoice_id,
            actor=request.actor,  # type: ignore[attr-defined]
            success_url=f"{back}?bezahlt=1",
            cancel_url=request.build_absolute_uri(
                reverse("portal:pay", args=[invoice_id]) + "?abgebrochen=1"
            ),
        )
    except DomainError as error:
        if error.code == "invoice_not_found":
            raise Http404 from error
        messages.error(request, errors.message(error))
        return redirect("portal:document", invoice_id)
    return redirect(session.url)
