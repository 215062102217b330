"""/invoices/{id}/pdf, /xml, /send, /deliveries: the archived documents and their delivery.

Downloads serve the archived bytes after checking their SHA-256, so what a client gets is
exactly what was archived and sent. Registered in ``api/router.py`` under ``/invoices``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from faktura.api import idempotency
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.schemas import ErrorOut
from faktura.core.errors import NotFound
from faktura.documents.archive import archived, einvoice_of, read_archived
from faktura.documents.models import ArchivedDocument
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from faktura.notifications.services import queue_document_mail

router = Router(tags=["documents"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 500: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _binary(media_type: str, description: str) -> dict[str, Any]:
    return {
        "responses": {
            "200": {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


class ArchivedFileOut(Schema):
    kind: Literal["pdf", "xml"]
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime
    retention_until: dt.date


class DeliveryOut(Schema):
    object: Literal["delivery"] = "delivery"
    id: int
    invoice: int | None
    event: str
    resend: bool
    state: Literal["queued", "sending", "sent", "failed"]
    to: list[str]
    cc: list[str]
    subject: str
    language: str
    attachments: list[str]
    attempts: int
    last_error: str
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    created_at: dt.datetime


class DeliveriesOut(Schema):
    object: Literal["deliveries"] = "deliveries"
    invoice: int
    number: str | None
    delivery_status: str
    delivery_error: str
    documents: list[ArchivedFileOut]
    messages: list[DeliveryOut]


def _invoice(invoice_id: int) -> Invoice:
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound(f"Invoice {invoice_id} does not exist.")
    return invoice


def _file_response(data: bytes, content_type: str, filename: str, sha256: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = f'"{sha256}"'
    return response


def _delivery(message: OutboxMessage, filenames: dict[int, str]) -> DeliveryOut:
    return DeliveryOut(
        id=message.pk,
        invoice=message.invoice_id,
        event=message.event,
        resend=message.is_resend,
        state=message.state,  # type: ignore[arg-type]
        to=message.to,
        cc=message.cc,
        subject=message.subject,
        language=message.language,
        attachments=[
            a["filename"] if isinstance(a, dict) else filenames.get(a, str(a))
            for a in message.attachments
        ],
        attempts=message.attempts,
        last_error=message.last_error,
        next_attempt_at=message.next_attempt_at,
        sent_at=message.sent_at,
        created_at=message.created_at,
    )


def _filenames(invoice_id: int) -> dict[int, str]:
    return dict(
        ArchivedDocument.objects.filter(invoice_id=invoice_id).values_list("pk", "filename")
    )


@router.get(
    "/{invoice_id}/pdf",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra=_binary("application/pdf", "The archived PDF/A-3b, byte for byte."),
)
def get_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The archived PDF (PDF/A-3b with the embedded Factur-X XML; for XRechnung a PDF for
    reading without XML). 404 ``document_not_archived`` until it is rendered, or when the
    e-invoice was blocked by validation."""
    _invoice(invoice_id)
    document = archived(invoice_id, ArchivedDocument.Kind.PDF)
    return _file_response(
        read_archived(document), document.content_type, document.filename, document.sha256
    )


@router.get(
    "/{invoice_id}/xml",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra=_binary("application/xml", "The e-invoice XML (CII or UBL)."),
)
def get_xml(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The e-invoice: the archived XRechnung XML, or the Factur-X XML embedded in the
    archived PDF (byte-identical to what was validated and sent)."""
    _invoice(invoice_id)
    xml, filename = einvoice_of(invoice_id)
    return _file_response(xml, "application/xml", filename, hashlib.sha256(xml).hexdigest())


@router.post("/{invoice_id}/send", response={202: DeliveryOut, **WRITE_ERRORS}, auth=write_auth)
def send_document(
    request: HttpRequest, invoice_id: int, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Send the archived document again to the customer's invoice address (202: queued).

    Every call queues a new mail with the archived file; follow it under ``/deliveries``.
    """
    actor = actor_of(request)
    _invoice(invoice_id)

    def create() -> Any:
        message = queue_document_mail(invoice_id=invoice_id, actor=actor, resend=True)
        return _delivery(message, _filenames(invoice_id))

    return idempotency.respond(request, key=idempotency_key, status=202, create=create)


@router.get(
    "/{invoice_id}/deliveries", response={200: DeliveriesOut, **READ_ERRORS}, auth=read_auth
)
def get_deliveries(request: HttpRequest, invoice_id: int) -> Any:
    """Delivery state: the archived files and every mail queued for the document."""
    invoice = _invoice(invoice_id)
    documents = list(ArchivedDocument.objects.filter(invoice_id=invoice_id).order_by("pk"))
    filenames = {d.pk: d.filename for d in documents}
    messages = OutboxMessage.objects.filter(invoice_id=invoice_id).order_by("pk")
    return DeliveriesOut(
        invoice=invoice.pk,
        number=invoice.number,
        delivery_status=invoice.delivery_status,
        delivery_error=invoice.delivery_error,
        documents=[
            ArchivedFileOut(
                kind=d.kind,  # type: ignore[arg-type]
                filename=d.filename,
                content_type=d.content_type,
                size=d.size,
                sha256=d.sha256,
                created_at=d.created_at,
                retention_until=d.retention_until,
            )
            for d in documents
        ],
        messages=[_delivery(m, filenames) for m in messages],
    )
