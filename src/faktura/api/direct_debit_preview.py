"""/direct-debits/preview: what a direct-debit file would collect on a date, making nothing.

The preview asks the very selector ``create_direct_debit_batch`` collects with
(``collection.selectors.collectable_invoices``) and checks the date with the very rule it
checks with (``check_collection_date``): a file made for the date afterwards holds the
same invoices and the same total, unless something changed in between.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api.auth import read_auth
from faktura.api.fields import MoneyOut
from faktura.api.schemas import ErrorOut
from faktura.collection import selectors
from faktura.core.money import ZERO, format_amount
from faktura.payments.models import PaymentSettings

router = Router(tags=["direct debit"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 422: ErrorOut}

Scheme = Literal["CORE", "B2B"]


class PreviewQuery(Schema):
    date: dt.date | None = Field(
        None,
        description="Collection date (YYYY-MM-DD); default: the earliest valid date. A date "
        "no file may have is refused with 422, naming the earliest valid date.",
    )
    scheme: Scheme = "CORE"


class PreviewItemOut(Schema):
    invoice: int
    invoice_number: str = Field(description="Becomes the EndToEndId")
    customer: int
    mandate: int
    mandate_reference: str
    amount: MoneyOut = Field(description="The invoice's open amount")
    currency: str = "EUR"
    sequence_type: Literal["RCUR", "OOFF"]
    due_date: dt.date | None
    planned_debit_date: dt.date = Field(
        description="Due date, not before invoice date + pre-notification days, on a business "
        "day (as pre-notified on the invoice)"
    )


class PreviewOut(Schema):
    object: Literal["direct_debit_preview"] = "direct_debit_preview"
    scheme: Scheme
    collection_date: dt.date
    earliest_collection_date: dt.date = Field(
        description="The earliest date any file may collect on (one TARGET2 business day "
        "after today)"
    )
    next_collection_date: dt.date | None = Field(
        description="The earliest valid date on which a file of this scheme would collect "
        "anything (within three months); null if none"
    )
    pre_notification_days: int
    transaction_count: int
    control_sum: MoneyOut = Field(description="Σ amounts, as the file would carry it")
    currency: str = "EUR"
    blockers: list[str] = Field(
        description="Error codes that would refuse making the file now (e.g. "
        "creditor_id_missing); empty when nothing is in the way"
    )
    items: list[PreviewItemOut]


@router.get("/preview", response={200: PreviewOut, **READ_ERRORS}, auth=read_auth)
def preview_direct_debits(request: HttpRequest, params: Query[PreviewQuery]) -> Any:
    """What ``POST /direct-debit-batches`` would collect on ``date``; creates nothing.

    Without ``date``: the earliest valid collection date. Also answers the earliest
    date any file may have and the first date on which this scheme collects anything.
    """
    earliest = selectors.earliest_collection_date()
    collection_date = params.date or earliest
    selectors.check_collection_date(collection_date)
    days = PaymentSettings.load().pre_notification_days
    collectables = selectors.collectable_invoices(
        collection_date=collection_date, scheme=params.scheme, pre_notification_days=days
    )
    items = [
        PreviewItemOut(
            invoice=c.invoice.pk,
            invoice_number=c.invoice.number or "",
            customer=c.invoice.customer_id,
            mandate=c.mandate.pk,
            mandate_reference=c.mandate.reference,
            amount=format_amount(c.amount),
            sequence_type=c.mandate.sequence_type,  # type: ignore[arg-type]
            due_date=c.invoice.due_date,
            planned_debit_date=selectors.planned_debit_date(c.invoice, pre_notification_days=days),
        )
        for c in collectables
    ]
    return PreviewOut(
        scheme=params.scheme,
        collection_date=collection_date,
        earliest_collection_date=earliest,
        next_collection_date=selectors.next_collection_date(scheme=params.scheme),
        pre_notification_days=days,
        transaction_count=len(items),
        control_sum=format_amount(sum((c.amount for c in collectables), ZERO)),
        blockers=selectors.batch_blockers(),
        items=items,
    )
