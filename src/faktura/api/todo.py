"""/to-do-entries: the staff's to-do list of dunning (invoices that became overdue, levels
reached), and marking an entry done.

The entries are written by the dunning run (``faktura.dunning.staff``); marking one done
is one service call (``staff.mark_done``, audited). Money is a string with two decimals.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.core.errors import NotFound
from faktura.core.money import format_amount
from faktura.dunning import staff
from faktura.dunning.models import ToDoEntry

router = Router(tags=["dunning"])
READ_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

EntryKind = Literal["overdue", "level"]


class ToDoEntryOut(Schema):
    id: int
    object: Literal["to_do_entry"] = "to_do_entry"
    kind: EntryKind = Field(description="overdue: an invoice became overdue; level: a notice")
    customer: int
    invoice: int | None = Field(description="The invoice (overdue; a notice per invoice)")
    notice: int | None = Field(description="The dunning notice (level)")
    level: int
    level_name: str
    invoice_numbers: list[str]
    amount: MoneyOut = Field(description="Open amount (overdue) or the notice's total (level)")
    due_date: dt.date | None = Field(description="The (earliest) due date of the invoices")
    date: dt.date = Field(description="The dunning run's date")
    created_at: Timestamp
    done: bool
    done_at: Timestamp | None
    done_by: str


class ToDoEntryList(Schema):
    object: Literal["list"] = "list"
    data: list[ToDoEntryOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


def _entry(obj: ToDoEntry) -> ToDoEntryOut:
    return ToDoEntryOut(
        id=obj.pk,
        kind=obj.kind,  # type: ignore[arg-type]
        customer=obj.customer_id,
        invoice=obj.invoice_id,
        notice=obj.notice_id,
        level=obj.level,
        level_name=obj.level_name,
        invoice_numbers=list(obj.invoice_numbers),
        amount=format_amount(obj.amount),
        due_date=obj.due_date,
        date=obj.date,
        created_at=presenters.timestamp(obj.created_at) or "",
        done=obj.done_at is not None,
        done_at=presenters.timestamp(obj.done_at),
        done_by=obj.done_by,
    )


@router.get("", response={200: ToDoEntryList, **READ_ERRORS}, auth=read_auth)
def list_entries(
    request: HttpRequest,
    params: Query[Page],
    done: bool | None = None,
    customer: int | None = None,
    kind: EntryKind | None = None,
) -> Any:
    """Entries in id order; ``done=false`` is what still needs a person."""
    queryset = ToDoEntry.objects.all()
    if done is True:
        queryset = queryset.filter(done_at__isnull=False)
    elif done is False:
        queryset = queryset.filter(done_at__isnull=True)
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    return presenters.page(queryset, params, lambda rows: [_entry(r) for r in rows])


@router.get("/{entry_id}", response={200: ToDoEntryOut, **READ_ERRORS}, auth=read_auth)
def get_entry(request: HttpRequest, entry_id: int) -> Any:
    found = ToDoEntry.objects.filter(pk=entry_id).first()
    if found is None:
        raise NotFound(f"To-do entry {entry_id} does not exist.", code="todo_entry_not_found")
    return _entry(found)


@router.post("/{entry_id}/done", response={200: ToDoEntryOut, **ERRORS}, auth=write_auth)
def mark_done(request: HttpRequest, entry_id: int) -> Any:
    """Mark the entry done (who and when, audited); 409 ``todo_entry_done`` if it is."""
    return _entry(staff.mark_done(entry_id=entry_id, actor=actor_of(request)))
