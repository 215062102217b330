"""/print-batches: the daily letters for the post (list, get, the PDF); read-only."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import read_auth
from faktura.api.schemas import ErrorOut, Page, _List
from faktura.core.errors import NotFound
from faktura.documents.models import PostalDelivery, PrintBatch
from faktura.documents.print_batch import read_batch

router = Router(tags=["print-batches"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 500: ErrorOut}


class PostalDeliveryOut(Schema):
    position: int
    document_type: Literal["invoice", "dunning_notice"]
    document_id: int
    number: str = Field(examples=["RE-2026-00042"])
    customer: int
    recipient: str
    pages: int = Field(description="Pages in the batch, with the blank page of odd documents")


class PrintBatchOut(Schema):
    id: int
    object: Literal["print_batch"] = "print_batch"
    created_at: str
    date: dt.date
    document_count: int
    sheet_count: int = Field(description="Sheets printed on both sides, the cover included")
    filename: str
    size: int
    sha256: str
    documents: list[PostalDeliveryOut]


class PrintBatchList(_List):
    data: list[PrintBatchOut]


def _delivery(row: PostalDelivery) -> PostalDeliveryOut:
    is_invoice = row.invoice_id is not None
    return PostalDeliveryOut(
        position=row.position,
        document_type="invoice" if is_invoice else "dunning_notice",
        document_id=row.invoice_id if is_invoice else row.dunning_notice_id,  # type: ignore[arg-type]
        number=row.document_number,
        customer=row.customer_id,
        recipient=row.recipient,
        pages=row.pages,
    )


def _present(batches: list[PrintBatch]) -> list[PrintBatchOut]:
    rows: dict[int, list[PostalDeliveryOut]] = {batch.pk: [] for batch in batches}
    for row in PostalDelivery.objects.filter(batch__in=batches).order_by("batch", "position"):
        rows[row.batch_id].append(_delivery(row))
    return [
        PrintBatchOut(
            id=batch.pk,
            created_at=presenters.timestamp(batch.created_at) or "",
            date=batch.batch_date,
            document_count=batch.document_count,
            sheet_count=batch.sheet_count,
            filename=batch.filename,
            size=batch.size,
            sha256=batch.sha256,
            documents=rows[batch.pk],
        )
        for batch in batches
    ]


def _get(batch_id: int) -> PrintBatch:
    batch = PrintBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"Print batch {batch_id} does not exist.")
    return batch


@router.get("", response={200: PrintBatchList, **READ_ERRORS}, auth=read_auth)
def list_print_batches(
    request: HttpRequest, params: Query[Page], date: dt.date | None = None
) -> Any:
    """The print batches in id order; filter by ``date``."""
    queryset = PrintBatch.objects.all()
    if date is not None:
        queryset = queryset.filter(batch_date=date)
    return presenters.page(queryset, params, _present)


@router.get("/{batch_id}", response={200: PrintBatchOut, **READ_ERRORS}, auth=read_auth)
def get_print_batch(request: HttpRequest, batch_id: int) -> Any:
    return _present([_get(batch_id)])[0]


@router.get(
    "/{batch_id}/pdf",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The batch PDF: cover list, then each letter padded to an "
                "even page count for duplex printing.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_print_batch_pdf(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _get(batch_id)
    response = HttpResponse(read_batch(batch), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
    response["ETag"] = f'"{batch.sha256}"'
    return response
