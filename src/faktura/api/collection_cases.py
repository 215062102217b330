"""/collection-cases and /collection-exports: claims handed to the collection agency.

Every writing route is one service call (``faktura.dunning.collection_handover``); the
rules live there. A case is proposed by the dunning run after the final level, approved by
an approver, exported once (CSV in the agency's layout plus a ZIP of the documents), and
then recalled, paid through the agency or written off. Money is a string with two
decimals, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import Amount, InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.dunning import collection_handover as handover
from faktura.dunning.models import (
    CollectionCase,
    CollectionCaseInvoice,
    CollectionExport,
    CollectionPayment,
    VatCorrection,
)

cases_router = Router(tags=["collection"])
exports_router = Router(tags=["collection"])
READ_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

ZERO = Decimal("0.00")
CaseStatus = Literal["proposed", "approved", "exported", "recalled", "closed"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


class CaseInvoiceOut(Schema):
    invoice: int
    number: str
    open_amount_at_proposal: MoneyOut
    active: bool = Field(description="False once the case was recalled")


class AgencyPaymentOut(Schema):
    id: int
    payment: int | None = Field(description="The payment booked to the case's invoices")
    amount: MoneyOut = Field(description="The debtor's money for the claims")
    costs: MoneyOut = Field(description="The agency's costs")
    date: dt.date
    created_at: Timestamp
    created_by: str


class CaseOut(Schema):
    id: int
    object: Literal["collection_case"] = "collection_case"
    customer: int
    status: CaseStatus
    invoices: list[CaseInvoiceOut]
    open_amount_at_proposal: MoneyOut
    agency_payments: list[AgencyPaymentOut]
    agency_costs: MoneyOut
    export: int | None = Field(description="The export that handed the case over")
    proposed_on: dt.date
    proposed_by: str
    approved_at: Timestamp | None
    approved_by: str
    exported_at: Timestamp | None
    recalled_at: Timestamp | None
    recalled_by: str
    recall_reason: str
    written_off_at: Timestamp | None
    written_off_by: str
    write_off_reason: str
    closed_at: Timestamp | None


class CaseList(_List):
    data: list[CaseOut]


class ReasonIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)


class AgencyPaymentIn(InputSchema):
    amount: Amount = Field(description="What the agency collected for the claims; positive")
    costs: Amount = Field("0.00", description="The agency's costs; 0.00 or more")
    date: dt.date


class VatCorrectionOut(Schema):
    invoice: int
    date: dt.date
    category: str
    rate: str = Field(examples=["19.00"])
    gross: MoneyOut = Field(description="Gross amount written off at this rate")
    net: MoneyOut
    vat: MoneyOut = Field(description="The VAT correction (§ 17 (2) UStG)")


class WriteOffOut(Schema):
    case: CaseOut
    vat_corrections: list[VatCorrectionOut]


class ExportOut(Schema):
    id: int
    object: Literal["collection_export"] = "collection_export"
    layout: int
    cases: list[int]
    case_count: int
    row_count: int
    csv_sha256: str
    zip_sha256: str
    created_at: Timestamp
    created_by: str


class ExportList(_List):
    data: list[ExportOut]


class ExportIn(InputSchema):
    cases: list[int] | None = Field(
        None, description="The approved cases to hand over; all approved ones not yet exported"
    )
    layout: int | None = Field(None, description="The column layout; the default one")


def _cases() -> Any:
    return CollectionCase.objects.prefetch_related(
        Prefetch(
            "items",
            queryset=CollectionCaseInvoice.objects.select_related("invoice").order_by("pk"),
        ),
        Prefetch("payments", queryset=CollectionPayment.objects.order_by("pk")),
    )


def _case(case: CollectionCase) -> CaseOut:
    items = list(case.items.all())
    payments = list(case.payments.all())
    return CaseOut(
        id=case.pk,
        customer=case.customer_id,
        status=case.status,  # type: ignore[arg-type]
        invoices=[
            CaseInvoiceOut(
                invoice=item.invoice_id,
                number=item.invoice.number or "",
                open_amount_at_proposal=format_amount(item.open_amount),
                active=item.active,
            )
            for item in items
        ],
        open_amount_at_proposal=format_amount(sum((i.open_amount for i in items), start=ZERO)),
        agency_payments=[
            AgencyPaymentOut(
                id=p.pk,
                payment=p.payment_id,
                amount=format_amount(p.amount),
                costs=format_amount(p.costs),
                date=p.date,
                created_at=presenters.timestamp(p.created_at) or "",
                created_by=p.created_by,
            )
            for p in payments
        ],
        agency_costs=format_amount(sum((p.costs for p in payments), start=ZERO)),
        export=case.export_id,
        proposed_on=case.proposed_on,
        proposed_by=case.proposed_by,
        approved_at=presenters.timestamp(case.approved_at),
        approved_by=case.approved_by,
        exported_at=presenters.timestamp(case.exported_at),
        recalled_at=presenters.timestamp(case.recalled_at),
        recalled_by=case.recalled_by,
        recall_reason=case.recall_reason,
        written_off_at=presenters.timestamp(case.written_off_at),
        written_off_by=case.written_off_by,
        write_off_reason=case.write_off_reason,
        closed_at=presenters.timestamp(case.closed_at),
    )


def _get_case(case_id: int) -> CaseOut:
    found = _cases().filter(pk=case_id).first()
    if found is None:
        raise NotFound(f"Collection case {case_id} does not exist.")
    return _case(found)


@cases_router.get("", response={200: CaseList, **READ_ERRORS}, auth=read_auth)
def list_cases(
    request: HttpRequest,
    params: Query[Page],
    status: CaseStatus | None = None,
    customer: int | None = None,
) -> Any:
    """Collection cases in id order; ``status=proposed`` are the proposals to review."""
    queryset = _cases()
    if status is not None:
        queryset = queryset.filter(status=status)
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    return presenters.page(queryset, params, lambda rows: [_case(r) for r in rows])


@cases_router.get("/{case_id}", response={200: CaseOut, **READ_ERRORS}, auth=read_auth)
def get_case(request: HttpRequest, case_id: int) -> Any:
    """One case with its invoices, the agency's payments and its history."""
    return _get_case(case_id)


@cases_router.post("/{case_id}/approve", response={200: CaseOut, **ERRORS}, auth=write_auth)
def approve_case(request: HttpRequest, case_id: int) -> Any:
    """Approve a proposal: dunning freezes, access stays blocked, the next export hands
    it over."""
    handover.approve_case(case_id=case_id, actor=actor_of(request))
    return _get_case(case_id)


@cases_router.post("/{case_id}/recall", response={200: CaseOut, **ERRORS}, auth=write_auth)
def recall_case(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    """Take a case back (or drop a proposal): dunning resumes, the collection block ends."""
    handover.recall_case(case_id=case_id, actor=actor_of(request), why=payload.reason)
    return _get_case(case_id)


@cases_router.post(
    "/{case_id}/agency-payments", response={201: AgencyPaymentOut, **ERRORS}, auth=write_auth
)
def record_agency_payment(
    request: HttpRequest,
    case_id: int,
    payload: AgencyPaymentIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Book money the agency collected to the case's invoices (oldest first), with the
    agency's costs."""
    actor = actor_of(request)

    def create() -> Any:
        entry = handover.record_agency_payment(
            case_id=case_id,
            amount=payload.amount,
            costs=payload.costs,
            date=payload.date,
            actor=actor,
        )
        return AgencyPaymentOut(
            id=entry.pk,
            payment=entry.payment_id,
            amount=format_amount(entry.amount),
            costs=format_amount(entry.costs),
            date=entry.date,
            created_at=presenters.timestamp(entry.created_at) or "",
            created_by=entry.created_by,
        )

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@cases_router.post("/{case_id}/write-off", response={200: WriteOffOut, **ERRORS}, auth=write_auth)
def write_off_case(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    """Write an uncollectible case off; answers the VAT corrections per rate."""
    corrections: list[VatCorrection] = handover.write_off_case(
        case_id=case_id, actor=actor_of(request), why=payload.reason
    )
    return WriteOffOut(
        case=_get_case(case_id),
        vat_corrections=[
            VatCorrectionOut(
                invoice=c.invoice_id,
                date=c.date,
                category=c.category,
                rate=f"{c.rate:.2f}",
                gross=format_amount(c.gross),
                net=format_amount(c.net),
                vat=format_amount(c.vat),
            )
            for c in corrections
        ],
    )


# --- exports -------------------------------------------------------------------------------


def _exports() -> Any:
    return CollectionExport.objects.defer("csv", "zip").prefetch_related(
        Prefetch("cases", queryset=CollectionCase.objects.only("pk", "export_id").order_by("pk"))
    )


def _export(export: CollectionExport) -> ExportOut:
    return ExportOut(
        id=export.pk,
        layout=export.layout_id,
        cases=[case.pk for case in export.cases.all()],
        case_count=export.case_count,
        row_count=export.row_count,
        csv_sha256=export.csv_sha256,
        zip_sha256=export.zip_sha256,
        created_at=presenters.timestamp(export.created_at) or "",
        created_by=export.created_by,
    )


def _get_export(export_id: int) -> CollectionExport:
    found = _exports().filter(pk=export_id).first()
    if found is None:
        raise NotFound(f"Collection export {export_id} does not exist.")
    return found


@exports_router.get("", response={200: ExportList, **READ_ERRORS}, auth=read_auth)
def list_exports(request: HttpRequest, params: Query[Page]) -> Any:
    """The handovers to the agency in id order."""
    return presenters.page(_exports(), params, lambda rows: [_export(r) for r in rows])


@exports_router.post("", response={201: ExportOut, 204: None, **ERRORS}, auth=write_auth)
def create_export(request: HttpRequest, payload: ExportIn) -> Any:
    """Hand the approved cases over: one CSV in the layout and one ZIP of the documents,
    archived. A case is handed over once; with nothing new the answer is 204 and nothing
    is written (so a retry never hands over twice)."""
    export = handover.export_cases(
        actor=actor_of(request), case_ids=payload.cases, layout_id=payload.layout
    )
    if export is None:
        return Status(204, None)
    return Status(201, _export(_get_export(export.pk)))


@exports_router.get("/{export_id}", response={200: ExportOut, **READ_ERRORS}, auth=read_auth)
def get_export(request: HttpRequest, export_id: int) -> Any:
    return _export(_get_export(export_id))


def _download(export_id: int, kind: Literal["csv", "zip"]) -> HttpResponse:
    _get_export(export_id)
    export = CollectionExport.objects.only(kind, f"{kind}_sha256", "created_at").get(pk=export_id)
    content = bytes(getattr(export, kind))
    mime = "text/csv; charset=utf-8" if kind == "csv" else "application/zip"
    response = HttpResponse(content, content_type=mime)
    name = f"inkasso-{export.created_at:%Y%m%d}-{export_id}.{kind}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["ETag"] = f'"{getattr(export, f"{kind}_sha256")}"'
    return response


@exports_router.get(
    "/{export_id}/csv",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The CSV exactly as handed over.",
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_csv(request: HttpRequest, export_id: int) -> HttpResponse:
    """The CSV exactly as handed over (its SHA-256 in the ETag)."""
    return _download(export_id, "csv")


@exports_router.get(
    "/{export_id}/zip",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The ZIP exactly as handed over.",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_zip(request: HttpRequest, export_id: int) -> HttpResponse:
    """The ZIP of invoices and notices exactly as handed over."""
    return _download(export_id, "zip")
