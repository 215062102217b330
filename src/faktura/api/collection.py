"""/mandates and /direct-debit-batches: SEPA mandates and pain.008 files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.collection import error_codes, selectors, services, status_reports
from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
from faktura.core.errors import NotFound, StateConflict
from faktura.core.money import format_amount
from faktura.payments.models import Dispute

mandates_router = Router(tags=["direct debit"])
batches_router = Router(tags=["direct debit"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

ERROR_CODES = error_codes.ERROR_CODES  # merged into api.errors.ERROR_CODES

Scheme = Literal["CORE", "B2B"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


class MandateIn(InputSchema):
    customer: int
    iban: str = Field(max_length=42, examples=["DE89 3704 0044 0532 0130 00"])
    bic: str = Field("", max_length=11)
    signature_date: dt.date
    scheme: Scheme = "CORE"
    kind: Literal["recurring", "one_off"] = "recurring"
    reference: str | None = Field(
        None, max_length=35, description="Generated from the customer number when empty"
    )
    debtor_name: str | None = Field(None, description="Default: the customer's name")
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = Field(None, min_length=2, max_length=2)
    use_for_payments: bool = Field(True, description="Switch the customer to direct debit")


class MandateOut(Schema):
    id: int
    object: Literal["mandate"] = "mandate"
    created_at: Timestamp
    customer: int
    reference: str
    signature_date: dt.date
    scheme: str
    kind: str
    status: Literal["active", "revoked", "expired", "unusable"]
    status_reason: str
    iban: str
    bic: str
    debtor_name: str
    street: str
    house_number: str
    postcode: str
    city: str
    country: str
    last_collection_date: dt.date | None
    expires_on: dt.date = Field(description="36 months after the last collection")
    collection_paused: bool = Field(
        description="An open dispute (a debit under this mandate returned with MD06) pauses "
        "every collection with this mandate until staff clear it"
    )
    collection_paused_reason: str = Field(
        examples=["Widerspruch MD06 zu RE-2026-00042"], description="Empty when not paused"
    )
    paused_by_disputes: list[int] = Field(description="Ids of the open disputes that pause it")


class MandateList(_List):
    data: list[MandateOut]


class RevokeIn(InputSchema):
    reason: str = Field("", max_length=200)


class BatchIn(InputSchema):
    collection_date: dt.date
    scheme: Scheme = "CORE"


class BatchItemOut(Schema):
    invoice: int
    invoice_number: str
    customer: int
    mandate: str
    amount: MoneyOut
    sequence_type: str
    state: str


class BatchOut(Schema):
    id: int
    object: Literal["direct_debit_batch"] = "direct_debit_batch"
    created_at: Timestamp
    scheme: str
    collection_date: dt.date
    status: Literal["created", "submitted", "partly_settled", "settled", "returned", "discarded"]
    message_id: str
    transaction_count: int
    control_sum: MoneyOut
    currency: str = "EUR"
    checksum: str = Field(description="SHA-256 of the stored XML file")
    file_name: str
    submitted_at: Timestamp | None
    items: list[BatchItemOut]


class BatchList(_List):
    data: list[BatchOut]


class StatusReportOut(Schema):
    object: Literal["status_report_import"] = "status_report_import"
    batch: int = Field(description="The direct-debit file the report answers")
    message_id: str = Field(description="The report's own MsgId")
    original_message_id: str = Field(description="MsgId of the direct-debit file")
    group_status: str = Field(description="GrpSts of the report (RJCT: the whole file)")
    rejected: int = Field(description="Rejected debits recorded now (as returned debits)")
    already_recorded: int = Field(description="Rejections recorded by an earlier import")
    already_returned: int = Field(description="Debits a statement had returned already")
    accepted: int = Field(description="Debits reported accepted or pending")
    return_events: list[int] = Field(description="The return events recorded now")


def _mandate(obj: Mandate, paused: dict[int, list[Dispute]] | None = None) -> MandateOut:
    if paused is None:
        paused = selectors.paused_mandates([obj.pk])
    disputes = paused.get(obj.pk, [])
    return MandateOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.created_at) or "",
        customer=obj.customer_id,
        reference=obj.reference,
        signature_date=obj.signature_date,
        scheme=obj.scheme,
        kind=obj.kind,
        status=obj.status,  # type: ignore[arg-type]
        status_reason=obj.status_reason,
        iban=obj.iban,
        bic=obj.bic,
        debtor_name=obj.debtor_name,
        street=obj.street,
        house_number=obj.house_number,
        postcode=obj.postcode,
        city=obj.city,
        country=obj.country,
        last_collection_date=obj.last_collection_date,
        expires_on=obj.expires_on,
        collection_paused=bool(disputes),
        collection_paused_reason="; ".join(
            " ".join(("Widerspruch", d.reason_code, "zu", d.invoice.number or "")).replace(
                "  ", " "
            )
            for d in disputes
        ),
        paused_by_disputes=[d.pk for d in disputes],
    )


def _mandate_list(rows: Iterable[Mandate]) -> list[MandateOut]:
    rows = list(rows)
    paused = selectors.paused_mandates([row.pk for row in rows])
    return [_mandate(row, paused) for row in rows]


def _batch(obj: DirectDebitBatch) -> BatchOut:
    items: Iterable[DirectDebitItem] = obj.items.select_related("mandate").order_by("pk")
    return BatchOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.created_at) or "",
        scheme=obj.scheme,
        collection_date=obj.collection_date,
        status=obj.status,  # type: ignore[arg-type]
        message_id=obj.message_id,
        transaction_count=obj.transaction_count,
        control_sum=format_amount(obj.control_sum),
        checksum=obj.checksum,
        file_name=obj.file_name,
        submitted_at=presenters.timestamp(obj.submitted_at),
        items=[
            BatchItemOut(
                invoice=item.invoice_id,
                invoice_number=item.end_to_end_id,
                customer=item.customer_id,
                mandate=item.mandate.reference,
                amount=format_amount(item.amount),
                sequence_type=item.sequence_type,
                state=item.state,
            )
            for item in items
        ],
    )


def _batch_list(rows: Iterable[DirectDebitBatch]) -> list[BatchOut]:
    return [_batch(row) for row in rows]


def _get_batch(batch_id: int) -> DirectDebitBatch:
    batch = DirectDebitBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"Direct-debit file {batch_id} does not exist.")
    return batch


# --- /mandates -----------------------------------------------------------------------------


@mandates_router.get("", response={200: MandateList, **READ_ERRORS}, auth=read_auth)
def list_mandates(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    status: Literal["active", "revoked", "expired", "unusable"] | None = None,
) -> Any:
    """List SEPA mandates in id order."""
    queryset = Mandate.objects.all()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if status:
        queryset = queryset.filter(status=status)
    return presenters.page(queryset, params, _mandate_list)


@mandates_router.get("/{mandate_id}", response={200: MandateOut, **READ_ERRORS}, auth=read_auth)
def get_mandate(request: HttpRequest, mandate_id: int) -> Any:
    mandate = Mandate.objects.filter(pk=mandate_id).first()
    if mandate is None:
        raise NotFound(f"Mandate {mandate_id} does not exist.")
    return _mandate(mandate)


@mandates_router.post("", response={201: MandateOut, **ERRORS}, auth=write_auth)
def create_mandate(
    request: HttpRequest, payload: MandateIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Record a signed mandate (IBAN checked; address defaults to the customer's)."""
    actor = actor_of(request)

    def create() -> Any:
        mandate = services.create_mandate(
            customer_id=payload.customer,
            actor=actor,
            iban=payload.iban,
            bic=payload.bic,
            signature_date=payload.signature_date,
            scheme=payload.scheme,
            kind=payload.kind,
            reference=payload.reference,
            debtor_name=payload.debtor_name,
            street=payload.street,
            house_number=payload.house_number,
            postcode=payload.postcode,
            city=payload.city,
            country=payload.country,
            use_for_payments=payload.use_for_payments,
        )
        return _mandate(mandate)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@mandates_router.post("/{mandate_id}/revoke", response={200: MandateOut, **ERRORS}, auth=write_auth)
def revoke_mandate(request: HttpRequest, mandate_id: int, payload: RevokeIn | None = None) -> Any:
    """The debtor withdrew the mandate; without another one the customer pays by transfer."""
    mandate = services.revoke_mandate(
        mandate_id=mandate_id, actor=actor_of(request), reason=payload.reason if payload else ""
    )
    return _mandate(mandate)


# --- /direct-debit-batches -----------------------------------------------------------------


@batches_router.get("", response={200: BatchList, **READ_ERRORS}, auth=read_auth)
def list_batches(
    request: HttpRequest,
    params: Query[Page],
    status: Literal["created", "submitted", "partly_settled", "settled", "returned", "discarded"]
    | None = None,
    scheme: Scheme | None = None,
) -> Any:
    """List direct-debit files in id order."""
    queryset = DirectDebitBatch.objects.defer("xml")
    if status:
        queryset = queryset.filter(status=status)
    if scheme:
        queryset = queryset.filter(scheme=scheme)
    return presenters.page(queryset, params, _batch_list)


# Before /{batch_id}: ninja would route status-reports there (GET only, 405).
@batches_router.post(
    "/status-reports",
    response={200: StatusReportOut, 201: StatusReportOut, **ERRORS},
    auth=write_auth,
)
def import_status_report(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Upload the bank's pain.002 for a submitted file (multipart, field ``file``).

    Each rejected debit (per debit, per payment block or the whole file) is recorded as a
    returned debit: the invoice is open again, the customer is mailed, AM04/MS03 are
    collected again after a new pre-notification. 201 when something was recorded, 200
    when nothing was new (the same report again changes nothing). A broken file answers
    422 with the parser's code; a report for a file Faktura did not make 404
    status_report_unknown_message.
    """
    result = status_reports.import_payment_status_report(
        data=file.read(), filename=file.name or "", actor=actor_of(request)
    )
    body = StatusReportOut(
        batch=result.batch_id,
        message_id=result.message_id,
        original_message_id=result.original_message_id,
        group_status=result.group_status,
        rejected=result.rejected,
        already_recorded=result.already_recorded,
        already_returned=result.already_returned,
        accepted=result.accepted,
        return_events=result.return_event_ids,
    )
    return Status(200 if result.changed_nothing else 201, body)


@batches_router.get("/{batch_id}", response={200: BatchOut, **READ_ERRORS}, auth=read_auth)
def get_batch(request: HttpRequest, batch_id: int) -> Any:
    return _batch(_get_batch(batch_id))


@batches_router.get(
    "/{batch_id}/xml",
    response={200: None, **READ_ERRORS},
    auth=read_auth,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The stored pain.008.001.08 file, byte for byte",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            }
        }
    },
)
def download_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The pain.008.001.08 file exactly as stored at creation (never regenerated)."""
    batch = _get_batch(batch_id)
    response = HttpResponse(batch.file_bytes(), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
    response["ETag"] = f'"{batch.checksum}"'
    return response


@batches_router.post("", response={201: BatchOut, **ERRORS}, auth=write_auth)
def create_batch(
    request: HttpRequest, payload: BatchIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Make the file collecting every due invoice of the scheme (409 nothing_to_collect)."""
    actor = actor_of(request)

    def create() -> Any:
        batch = services.create_direct_debit_batch(
            collection_date=payload.collection_date, scheme=payload.scheme, actor=actor
        )
        if batch is None:
            raise StateConflict(
                f"No invoice is due for {payload.scheme} collection on {payload.collection_date}.",
                code="nothing_to_collect",
            )
        return _batch(batch)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@batches_router.post("/{batch_id}/submit", response={200: BatchOut, **ERRORS}, auth=write_auth)
def submit_batch(request: HttpRequest, batch_id: int) -> Any:
    """Record that the file went to the bank; its invoices count as submitted."""
    return _batch(services.submit_direct_debit_batch(batch_id=batch_id, actor=actor_of(request)))


@batches_router.post("/{batch_id}/discard", response={200: BatchOut, **ERRORS}, auth=write_auth)
def discard_batch(request: HttpRequest, batch_id: int) -> Any:
    """Cancel a file that did not go to the bank; its invoices are free again."""
    return _batch(services.discard_direct_debit_batch(batch_id=batch_id, actor=actor_of(request)))
