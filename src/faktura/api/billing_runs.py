"""/billing-runs: the record of billing runs, a dry run for a date, and a run on request."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from faktura.api import subscription_presenters as presenters
from faktura.api.auth import actor_of, preview_actor_of, read_auth, write_auth
from faktura.api.presenters import page
from faktura.api.schemas import ErrorOut, Page
from faktura.api.subscription_schemas import (
    BillingPreviewOut,
    BillingPreviewQuery,
    BillingRunIn,
    BillingRunList,
    BillingRunOut,
)
from faktura.core import clock
from faktura.core.errors import NotFound
from faktura.subscriptions import run
from faktura.subscriptions.models import BillingRun

router = Router(tags=["billing runs"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}


def _present(run_id: int) -> BillingRunOut:
    found = presenters.billing_runs(BillingRun.objects.filter(pk=run_id)).first()
    if found is None:
        raise NotFound(f"Billing run {run_id} does not exist.")
    return presenters.billing_run(found)


@router.get("", response={200: BillingRunList, **READ_ERRORS}, auth=read_auth)
def list_billing_runs(
    request: HttpRequest,
    params: Query[Page],
    billing_date: dt.date | None = None,
    status: Literal["running", "finished", "failed"] | None = None,
) -> Any:
    """List billing runs in id order, with counters and the issues each recorded."""
    queryset = BillingRun.objects.all()
    if billing_date is not None:
        queryset = queryset.filter(billing_date=billing_date)
    if status:
        queryset = queryset.filter(status=status)
    return page(presenters.billing_runs(queryset), params, presenters.billing_run_list)


@router.get("/preview", response={200: BillingPreviewOut, **READ_ERRORS}, auth=read_auth)
def preview_billing_run(request: HttpRequest, params: Query[BillingPreviewQuery]) -> Any:
    """What a run for ``billing_date`` would make: the invoices unsaved, with their figures,
    and the customers it could not invoice. Creates nothing (permission billing.preview)."""
    day = params.billing_date or clock.today()
    dry = run.preview_billing(billing_date=day, actor=preview_actor_of(request))
    return presenters.billing_preview(dry)


@router.get("/{run_id}", response={200: BillingRunOut, **READ_ERRORS}, auth=read_auth)
def get_billing_run(request: HttpRequest, run_id: int) -> Any:
    """One run: its counters and the issues (customers it could not invoice)."""
    return _present(run_id)


@router.post(
    "",
    response={201: BillingRunOut, 200: BillingPreviewOut, **ERRORS},
    auth=write_auth,
)
def start_billing_run(request: HttpRequest, payload: BillingRunIn) -> Any:
    """Run billing for ``billing_date`` now, synchronously; answers the finished run (201).

    Runs are idempotent by themselves: a second run for a date bills nothing twice, so a
    retry is safe (no Idempotency-Key needed; each call records a run of its own). This
    suits small installations and tests; large installations bill with the scheduled job
    (``faktura billing_run``), which no HTTP timeout cuts short. With ``dry_run`` the
    answer is the preview of ``GET /billing-runs/preview`` (200) and nothing is written.
    """
    actor = actor_of(request)
    if payload.dry_run:
        dry = run.preview_billing(billing_date=payload.billing_date, actor=actor)
        return Status(200, presenters.billing_preview(dry))
    finished = run.run_billing(billing_date=payload.billing_date, actor=actor)
    return Status(201, _present(finished.pk))
