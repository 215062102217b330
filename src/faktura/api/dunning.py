"""/dunning-policy, /dunning-runs, /dunning-notices, /dunning-fees and
/customers/{id}/dunning-block: dunning (Mahnwesen) for scripts and the back office.

Every writing route is one service call (``faktura.dunning``; the dunning block through
``customers.services.update_customer``); the rules live there, not here. Money is a string
with two decimals, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import Amount, InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.core import clock
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.customers import services as customer_services
from faktura.customers.models import Customer
from faktura.dunning import costs, run, services
from faktura.dunning import letter as letters
from faktura.dunning.models import (
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    DunningPolicy,
    DunningRun,
    NoticeLetter,
)

policy_router = Router(tags=["dunning"])
runs_router = Router(tags=["dunning"])
notices_router = Router(tags=["dunning"])
fees_router = Router(tags=["dunning"])
customers_router = Router(tags=["dunning"])
READ_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

AccessEffect = Literal["", "restrict", "block"]
RunStatus = Literal["running", "finished", "failed"]
NoticeStatus = Literal["proposed", "approved", "sent", "cancelled"]
FeeKind = Literal["fee", "flat_40", "interest"]
MailState = Literal["queued", "sending", "sent", "failed"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


# --- policies ------------------------------------------------------------------------------


class LevelOut(Schema):
    number: int = Field(description="0 payment reminder, 1 first, 2 second, 3 final notice")
    name: str
    days: int = Field(description="Level 0: days after the due date; else after the last notice")
    fee_consumer: MoneyOut
    fee_business: MoneyOut
    flat_fee: bool = Field(description="EUR 40 flat fee (§ 288 (5) BGB), not for consumers")
    interest: bool = Field(description="Default interest (§ 288 BGB) from this level on")
    minimum_open_amount: MoneyOut
    review_required: bool = Field(description="Notices wait as proposals for approval")
    access_effect: AccessEffect = Field(description="restrict or block access when sent")
    deadline_days: int
    subject_de: str
    text_de: str
    subject_en: str
    text_en: str


class PolicyOut(Schema):
    id: int
    object: Literal["dunning_policy"] = "dunning_policy"
    name: str
    is_default: bool
    customer_kinds: list[str]
    one_notice_per_invoice: bool
    collect_arrears_by_debit: bool = Field(
        description="Overdue invoices are announced and collected with the next regular debit"
    )
    arrears_debit_limit: int = Field(description="How often one claim is collected that way")
    levels: list[LevelOut]


class PolicyList(_List):
    data: list[PolicyOut]


class LevelPatch(InputSchema):
    days: int | None = Field(None, ge=1, le=365)
    deadline_days: int | None = Field(None, ge=1, le=365)
    fee_consumer: Amount | None = None
    fee_business: Amount | None = None
    review_required: bool | None = None
    access_effect: AccessEffect | None = None
    subject_de: str | None = Field(None, max_length=200)
    text_de: str | None = Field(
        None,
        max_length=20000,
        description="string.Template text: $customer_name, $items, $principal, $fees, "
        "$interest, $return_fees, $total, $deadline, $company, $bank, $reference",
    )
    subject_en: str | None = Field(None, max_length=200)
    text_en: str | None = Field(None, max_length=20000)


def _level(obj: DunningLevel) -> LevelOut:
    return LevelOut(
        number=obj.number,
        name=obj.name,
        days=obj.days,
        fee_consumer=format_amount(obj.fee_consumer),
        fee_business=format_amount(obj.fee_business),
        flat_fee=obj.flat_fee,
        interest=obj.interest,
        minimum_open_amount=format_amount(obj.minimum_open_amount),
        review_required=obj.review_required,
        access_effect=obj.access_effect,  # type: ignore[arg-type]
        deadline_days=obj.deadline_days,
        subject_de=obj.subject_de,
        text_de=obj.text_de,
        subject_en=obj.subject_en,
        text_en=obj.text_en,
    )


def _policies(rows: list[DunningPolicy]) -> list[PolicyOut]:
    return [
        PolicyOut(
            id=p.pk,
            name=p.name,
            is_default=p.is_default,
            customer_kinds=list(p.customer_kinds or []),
            one_notice_per_invoice=p.one_notice_per_invoice,
            collect_arrears_by_debit=p.collect_arrears_by_debit,
            arrears_debit_limit=p.arrears_debit_limit,
            levels=[_level(level) for level in p.levels.all()],
        )
        for p in rows
    ]


@policy_router.get("", response={200: PolicyList, **READ_ERRORS}, auth=read_auth)
def list_policies(request: HttpRequest, params: Query[Page]) -> Any:
    """The dunning policies with their levels: days, fees, interest, review, texts."""
    queryset = DunningPolicy.objects.prefetch_related("levels")
    return presenters.page(queryset, params, _policies)


class PolicyPatch(InputSchema):
    collect_arrears_by_debit: bool | None = None
    arrears_debit_limit: int | None = Field(None, description="1–10")


@policy_router.patch("/{policy_id}", response={200: PolicyOut, **ERRORS}, auth=write_auth)
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyPatch) -> Any:
    """Switch collecting arrears with the next regular direct debit on or off and set its
    limit per claim (audited)."""
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    services.update_policy(policy_id=policy_id, actor=actor_of(request), **changes)
    return _policies([DunningPolicy.objects.prefetch_related("levels").get(pk=policy_id)])[0]


@policy_router.patch(
    "/{policy_id}/levels/{number}", response={200: PolicyOut, **ERRORS}, auth=write_auth
)
def update_level(request: HttpRequest, policy_id: int, number: int, payload: LevelPatch) -> Any:
    """Change a level's days, fees, review, access effect or texts (audited); the next run
    uses them, notices already made keep their figures."""
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    services.update_level(policy_id=policy_id, number=number, actor=actor_of(request), **changes)
    return _policies([DunningPolicy.objects.prefetch_related("levels").get(pk=policy_id)])[0]


# --- runs ----------------------------------------------------------------------------------


class RunCounters(Schema):
    customers_checked: int
    invoices_overdue: int
    invoices_skipped: int
    notices_sent: int
    notices_proposed: int
    fees_charged: int
    interest_periods: int
    errors: int


class RunOut(RunCounters):
    id: int
    object: Literal["dunning_run"] = "dunning_run"
    date: dt.date
    status: RunStatus
    started_at: Timestamp
    finished_at: Timestamp | None
    started_by: str
    error_messages: list[str]


class RunList(_List):
    data: list[RunOut]


class PreviewNoticeOut(Schema):
    customer: int
    level: int
    level_name: str
    status: NoticeStatus = Field(description="sent, or proposed when the level is reviewed")
    deadline: dt.date
    invoices: list[str] = Field(description="Invoice numbers")
    principal_total: MoneyOut
    fees_total: MoneyOut
    interest_total: MoneyOut
    return_fees_total: MoneyOut
    total: MoneyOut


class RunPreviewOut(RunCounters):
    object: Literal["dunning_run_preview"] = "dunning_run_preview"
    date: dt.date
    notices: list[PreviewNoticeOut]


class RunIn(InputSchema):
    date: dt.date | None = Field(None, description="Run date; omitted: today")
    dry_run: bool = Field(False, description="Only show the notices; write nothing (200)")


def _counters(obj: DunningRun) -> dict[str, Any]:
    return {
        "customers_checked": obj.customers_checked,
        "invoices_overdue": obj.invoices_overdue,
        "invoices_skipped": obj.invoices_skipped,
        "notices_sent": obj.notices_sent,
        "notices_proposed": obj.notices_proposed,
        "fees_charged": obj.fees_charged,
        "interest_periods": obj.interest_periods,
        "errors": obj.errors,
    }


def _run(obj: DunningRun) -> RunOut:
    return RunOut(
        id=obj.pk,
        date=obj.run_date,
        status=obj.status,  # type: ignore[arg-type]
        started_at=presenters.timestamp(obj.started_at) or "",
        finished_at=presenters.timestamp(obj.finished_at),
        started_by=obj.started_by,
        error_messages=[str(m) for m in obj.error_messages or []],
        **_counters(obj),
    )


def _preview(obj: DunningRun) -> RunPreviewOut:
    notices = getattr(obj, "preview_notices", [])
    return RunPreviewOut(
        date=obj.run_date,
        notices=[
            PreviewNoticeOut(
                customer=n.customer_id,
                level=n.level,
                level_name=n.level_name,
                status=n.status,
                deadline=n.deadline,
                invoices=[i.number for i in getattr(n, "preview_items", [])],
                principal_total=format_amount(n.principal_total),
                fees_total=format_amount(n.fees_total),
                interest_total=format_amount(n.interest_total),
                return_fees_total=format_amount(n.return_fees_total),
                total=format_amount(n.total),
            )
            for n in notices
        ],
        **_counters(obj),
    )


def _get_run(run_id: int) -> DunningRun:
    found = DunningRun.objects.filter(pk=run_id).first()
    if found is None:
        raise NotFound(f"Dunning run {run_id} does not exist.")
    return found


@runs_router.get("", response={200: RunList, **READ_ERRORS}, auth=read_auth)
def list_runs(
    request: HttpRequest,
    params: Query[Page],
    date: dt.date | None = None,
    status: RunStatus | None = None,
) -> Any:
    """Dunning runs in id order with their counters; filter by run date or status."""
    queryset = DunningRun.objects.all()
    if date is not None:
        queryset = queryset.filter(run_date=date)
    if status is not None:
        queryset = queryset.filter(status=status)
    return presenters.page(queryset, params, lambda rows: [_run(r) for r in rows])


@runs_router.get("/{run_id}", response={200: RunOut, **READ_ERRORS}, auth=read_auth)
def get_run(request: HttpRequest, run_id: int) -> Any:
    """One run: what it found, sent, proposed, charged, and its errors."""
    return _run(_get_run(run_id))


@runs_router.post("", response={201: RunOut, 200: RunPreviewOut, **ERRORS}, auth=write_auth)
def start_run(
    request: HttpRequest, payload: RunIn, idempotency_key: idempotency.KeyHeader = None
) -> Any:
    """Run dunning for ``date`` now, synchronously; answers the finished run (201).

    A run moves each overdue invoice on one level at most, once per date: running again
    sends nothing twice. Large installations use the scheduled job (``faktura
    dunning-run``). With ``dry_run`` the answer (200) lists the notices a run would make
    and nothing is written.
    """
    actor = actor_of(request)
    on = payload.date or clock.today()
    if payload.dry_run:
        return Status(200, _preview(run.run_dunning(on=on, actor=actor, dry_run=True)))

    def create() -> Any:
        finished = run.run_dunning(on=on, actor=actor)
        return _run(_get_run(finished.pk))

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


# --- notices -------------------------------------------------------------------------------


class NoticeItemOut(Schema):
    invoice: int
    number: str
    issue_date: dt.date
    due_date: dt.date
    original_amount: MoneyOut
    paid_amount: MoneyOut = Field(description="Payments, credit notes, write-offs")
    open_amount: MoneyOut
    fees: MoneyOut
    interest: MoneyOut
    active: bool = Field(description="False once the notice is cancelled")


class FeeOut(Schema):
    id: int
    object: Literal["dunning_fee"] = "dunning_fee"
    customer: int
    notice: int | None
    invoice: int | None
    level: int | None
    kind: FeeKind = Field(description="fee, flat_40 (EUR 40 flat fee) or interest")
    amount: MoneyOut = Field(description="No VAT: damages are no taxable supply")
    reason: str
    period_start: dt.date | None = Field(description="Interest: first day (included)")
    period_end: dt.date | None = Field(description="Interest: last day (included)")
    principal: MoneyOut | None = Field(description="Interest: the amount it runs on")
    rate: str | None = Field(description="Interest: yearly rate in percent", examples=["11.27"])
    open: bool
    paid_amount: MoneyOut = Field(description="What payments covered of it (§ 367 BGB)")
    open_amount: MoneyOut = Field(description="What is still owed (0 once paid or waived)")
    created_at: Timestamp
    created_by: str
    paid_at: Timestamp | None
    waived_at: Timestamp | None
    waived_by: str
    waived_reason: str


class FeeList(_List):
    data: list[FeeOut]


class MailOut(Schema):
    message: int
    state: MailState
    to: list[str]
    subject: str
    sent_at: Timestamp | None
    last_error: str


class ReturnFeeOut(Schema):
    invoice: str
    amount: MoneyOut
    reason: str


class NoticeOut(Schema):
    id: int
    object: Literal["dunning_notice"] = "dunning_notice"
    customer: int
    policy: int
    level: int
    level_name: str
    run: int | None
    invoice: int | None = Field(description="The one invoice of a notice per invoice")
    date: dt.date
    deadline: dt.date
    language: str
    consumer: bool
    status: NoticeStatus
    principal_total: MoneyOut
    fees_total: MoneyOut
    interest_total: MoneyOut
    return_fees_total: MoneyOut
    total: MoneyOut
    currency: Literal["EUR"] = "EUR"
    items: list[NoticeItemOut]
    fees: list[FeeOut] = Field(description="Dunning fee and flat fee of this notice")
    interest_periods: list[FeeOut]
    return_fees: list[ReturnFeeOut]
    mail: MailOut | None = Field(description="The queued mail; null until sent")
    letter_ready: bool = Field(description="The letter (PDF) is archived: GET …/pdf")
    created_at: Timestamp
    created_by: str
    approved_at: Timestamp | None
    approved_by: str
    sent_at: Timestamp | None
    cancelled_at: Timestamp | None
    cancelled_by: str
    cancel_reason: str


class NoticeList(_List):
    data: list[NoticeOut]


class CancelIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)


def _fee(obj: DunningFee) -> FeeOut:
    paid = getattr(obj, "paid_amount", None)
    if paid is None:
        paid = costs.allocated_to_fees([obj.pk]).get(obj.pk, Decimal("0.00"))
    return FeeOut(
        id=obj.pk,
        customer=obj.customer_id,
        notice=obj.notice_id,
        invoice=obj.invoice_id,
        level=obj.level,
        kind=obj.kind,  # type: ignore[arg-type]
        amount=format_amount(obj.amount),
        reason=obj.reason,
        period_start=obj.period_start,
        period_end=obj.period_end,
        principal=None if obj.principal is None else format_amount(obj.principal),
        rate=None if obj.rate is None else f"{obj.rate:f}",
        open=obj.is_open,
        paid_amount=format_amount(paid),
        open_amount=format_amount(obj.amount - paid if obj.is_open else Decimal("0.00")),
        created_at=presenters.timestamp(obj.created_at) or "",
        created_by=obj.created_by,
        paid_at=presenters.timestamp(obj.paid_at),
        waived_at=presenters.timestamp(obj.waived_at),
        waived_by=obj.waived_by,
        waived_reason=obj.waived_reason,
    )


def _item(obj: DunningNoticeItem) -> NoticeItemOut:
    return NoticeItemOut(
        invoice=obj.invoice_id,
        number=obj.number,
        issue_date=obj.issue_date,
        due_date=obj.due_date,
        original_amount=format_amount(obj.original_amount),
        paid_amount=format_amount(obj.paid_amount),
        open_amount=format_amount(obj.open_amount),
        fees=format_amount(obj.fees),
        interest=format_amount(obj.interest),
        active=obj.active,
    )


def _notices_query() -> QuerySet[DunningNotice]:
    return DunningNotice.objects.select_related("message").prefetch_related("items", "fees")


def _notice(obj: DunningNotice) -> NoticeOut:
    fees = sorted(obj.fees.all(), key=lambda f: f.pk)
    message = obj.message
    return NoticeOut(
        id=obj.pk,
        customer=obj.customer_id,
        policy=obj.policy_id,
        level=obj.level,
        level_name=obj.level_name,
        run=obj.run_id,
        invoice=obj.invoice_id,
        date=obj.notice_date,
        deadline=obj.deadline,
        language=obj.language,
        consumer=obj.consumer,
        status=obj.status,  # type: ignore[arg-type]
        principal_total=format_amount(obj.principal_total),
        fees_total=format_amount(obj.fees_total),
        interest_total=format_amount(obj.interest_total),
        return_fees_total=format_amount(obj.return_fees_total),
        total=format_amount(obj.total),
        items=[_item(i) for i in obj.items.all()],
        fees=[_fee(f) for f in fees if f.kind != DunningFee.Kind.INTEREST],
        interest_periods=[_fee(f) for f in fees if f.kind == DunningFee.Kind.INTEREST],
        return_fees=[
            ReturnFeeOut(
                invoice=str(r.get("invoice", "")),
                amount=str(r.get("amount", "0.00")),
                reason=str(r.get("reason", "")),
            )
            for r in obj.return_fees or []
        ],
        mail=MailOut(
            message=message.pk,
            state=message.state,  # type: ignore[arg-type]
            to=list(message.to),
            subject=message.subject,
            sent_at=presenters.timestamp(message.sent_at),
            last_error=message.last_error,
        )
        if message is not None
        else None,
        letter_ready=hasattr(obj, "letter"),
        created_at=presenters.timestamp(obj.created_at) or "",
        created_by=obj.created_by,
        approved_at=presenters.timestamp(obj.approved_at),
        approved_by=obj.approved_by,
        sent_at=presenters.timestamp(obj.sent_at),
        cancelled_at=presenters.timestamp(obj.cancelled_at),
        cancelled_by=obj.cancelled_by,
        cancel_reason=obj.cancel_reason,
    )


def _get_notice(notice_id: int) -> DunningNotice:
    found = _notices_query().filter(pk=notice_id).first()
    if found is None:
        raise NotFound(
            f"Dunning notice {notice_id} does not exist.", code="dunning_notice_not_found"
        )
    return found


@notices_router.get("", response={200: NoticeList, **READ_ERRORS}, auth=read_auth)
def list_notices(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    status: NoticeStatus | None = None,
    level: int | None = None,
    date: dt.date | None = None,
) -> Any:
    """Notices in id order; filter by customer, status (``proposed``: waiting for
    approval), level or notice date."""
    queryset = _notices_query()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if status is not None:
        queryset = queryset.filter(status=status)
    if level is not None:
        queryset = queryset.filter(level=level)
    if date is not None:
        queryset = queryset.filter(notice_date=date)
    return presenters.page(queryset, params, lambda rows: [_notice(r) for r in rows])


@notices_router.get("/{notice_id}", response={200: NoticeOut, **READ_ERRORS}, auth=read_auth)
def get_notice(request: HttpRequest, notice_id: int) -> Any:
    """One notice: its invoices, fees, interest periods, totals, deadline and mail."""
    return _notice(_get_notice(notice_id))


@notices_router.post("/{notice_id}/approve", response={200: NoticeOut, **ERRORS}, auth=write_auth)
def approve_notice(request: HttpRequest, notice_id: int) -> Any:
    """Send a proposed notice (its mail is queued); 409 dunning_notice_not_proposed else."""
    services.approve_notice(notice_id=notice_id, actor=actor_of(request))
    return _notice(_get_notice(notice_id))


@notices_router.post("/{notice_id}/cancel", response={200: NoticeOut, **ERRORS}, auth=write_auth)
def cancel_notice(request: HttpRequest, notice_id: int, payload: CancelIn) -> Any:
    """Discard a proposal: its fees and interest go, its invoices fall back a level."""
    services.cancel_notice(notice_id=notice_id, actor=actor_of(request), reason=payload.reason)
    return _notice(_get_notice(notice_id))


@notices_router.get(
    "/{notice_id}/pdf",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The archived letter, byte for byte.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_notice_pdf(request: HttpRequest, notice_id: int) -> HttpResponse:
    """The notice's archived letter; 404 ``letter_not_ready`` until it is archived."""
    notice = DunningNotice.objects.filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(
            f"Dunning notice {notice_id} does not exist.", code="dunning_notice_not_found"
        )
    archived = NoticeLetter.objects.filter(notice=notice).first()
    if archived is None:
        # Not "not_found": the notice exists, its letter comes later; clients retry.
        return Status(  # type: ignore[return-value]
            404,
            {
                "code": "letter_not_ready",
                "message": f"The letter of notice {notice_id} is not archived yet.",
                "field": None,
            },
        )
    found = letters.attachment(f"{letters.ATTACHMENT_PREFIX}{archived.pk}")
    assert found is not None
    filename, content, mime = found
    response = HttpResponse(content, content_type=mime)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = f'"{archived.sha256}"'
    return response


# --- fees ----------------------------------------------------------------------------------


class FeeIn(InputSchema):
    customer: int
    amount: Amount = Field(description="Positive; no VAT")
    reason: str = Field(min_length=1, max_length=200)
    invoice: int | None = Field(None, description="The invoice it belongs to (optional)")


class WaiveIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)


def _get_fee(fee_id: int) -> DunningFee:
    found = DunningFee.objects.filter(pk=fee_id).first()
    if found is None:
        raise NotFound(f"Dunning fee {fee_id} does not exist.", code="dunning_fee_not_found")
    return found


@fees_router.get("", response={200: FeeList, **READ_ERRORS}, auth=read_auth)
def list_fees(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    kind: FeeKind | None = None,
    open: bool | None = None,
) -> Any:
    """Dunning fees, flat fees and interest periods in id order, with what payments
    covered of each."""
    queryset = costs.with_paid_amounts(DunningFee.objects.all())
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    if open is True:
        queryset = queryset.filter(paid_at__isnull=True, waived_at__isnull=True)
    elif open is False:
        queryset = queryset.exclude(paid_at__isnull=True, waived_at__isnull=True)
    return presenters.page(queryset, params, lambda rows: [_fee(r) for r in rows])


@fees_router.get("/{fee_id}", response={200: FeeOut, **READ_ERRORS}, auth=read_auth)
def get_fee(request: HttpRequest, fee_id: int) -> Any:
    return _fee(_get_fee(fee_id))


@fees_router.post("", response={201: FeeOut, **ERRORS}, auth=write_auth)
def add_fee(
    request: HttpRequest, payload: FeeIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Charge a dunning fee by hand (a claim without VAT), with the reason."""
    actor = actor_of(request)

    def create() -> Any:
        fee = services.add_fee(
            customer_id=payload.customer,
            amount=payload.amount,
            reason=payload.reason,
            invoice_id=payload.invoice,
            actor=actor,
        )
        return _fee(fee)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@fees_router.post("/{fee_id}/waive", response={200: FeeOut, **ERRORS}, auth=write_auth)
def waive_fee(request: HttpRequest, fee_id: int, payload: WaiveIn) -> Any:
    """Waive an open fee, flat fee or interest period (audited; the row stays)."""
    return _fee(services.waive_fee(fee_id=fee_id, reason=payload.reason, actor=actor_of(request)))


# --- the customer's dunning block ----------------------------------------------------------


class DunningBlockOut(Schema):
    object: Literal["dunning_block"] = "dunning_block"
    customer: int
    blocked: bool
    until: dt.date | None = Field(description="Inclusive; null: until lifted")
    reason: str
    in_force: bool = Field(description="Whether a dunning run today skips the customer")


class DunningBlockIn(InputSchema):
    blocked: bool
    until: dt.date | None = Field(None, description="Inclusive; only with blocked")
    reason: str = Field("", max_length=200)


def _block(customer: Customer) -> DunningBlockOut:
    return DunningBlockOut(
        customer=customer.pk,
        blocked=customer.dunning_block,
        until=customer.dunning_block_until,
        reason=customer.dunning_block_reason,
        in_force=run.block_in_force(customer, clock.today()),
    )


def _customer(customer_id: int) -> Customer:
    found = Customer.objects.filter(pk=customer_id).first()
    if found is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return found


@customers_router.get(
    "/{customer_id}/dunning-block", response={200: DunningBlockOut, **READ_ERRORS}, auth=read_auth
)
def get_dunning_block(request: HttpRequest, customer_id: int) -> Any:
    """Whether the customer is left out of dunning, until when, and why."""
    return _block(_customer(customer_id))


@customers_router.put(
    "/{customer_id}/dunning-block", response={200: DunningBlockOut, **ERRORS}, auth=write_auth
)
def set_dunning_block(request: HttpRequest, customer_id: int, payload: DunningBlockIn) -> Any:
    """Set or lift the dunning block (customer master data, audited)."""
    customer = customer_services.update_customer(
        customer_id=customer_id,
        actor=actor_of(request),
        dunning_block=payload.blocked,
        dunning_block_until=payload.until,
        dunning_block_reason=payload.reason,
    )
    return _block(customer)
