"""/statements and /bank-transactions: upload bank statements, work the to-do list.

Mounted by api/router.py:

    api.add_router("/statements", statements.router)
    api.add_router("/bank-transactions", statements.transactions_router)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.fields import Amount, InputSchema, MoneyOut, Timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.banking import error_codes, reasons, selectors, services
from faktura.banking.models import BankStatement, BankTransaction, CsvMappingProfile
from faktura.core.errors import InvalidInput, NotFound
from faktura.core.money import format_amount

router = Router(tags=["bank statements"])
transactions_router = Router(tags=["bank statements"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}
# Larger uploads are refused before parsing (a year of camt.053 of a busy shop is ~50 MB).
DEFAULT_MAX_BYTES = 100 * 1024 * 1024

ERROR_CODES = error_codes.ERROR_CODES  # merged into api.errors.ERROR_CODES

TransactionState = Literal["new", "matched", "booked", "unmatched", "ignored", "returned"]


class _List(Schema):
    object: Literal["list"] = "list"
    has_more: bool
    next_cursor: str | None = Field(description="Pass as cursor to get the next page")


class StatementOut(Schema):
    id: int
    object: Literal["bank_statement"] = "bank_statement"
    created_at: Timestamp
    format: str
    version: str
    statement_id: str
    account_iban: str
    account: str
    currency: str
    filename: str
    sha256: str
    opening_balance: MoneyOut | None
    closing_balance: MoneyOut | None
    transactions: int
    new: int
    duplicates: int
    booked: int
    unmatched: int
    returns: int
    ignored: int
    imported_by: str


class StatementList(_List):
    data: list[StatementOut]


class ImportOut(Schema):
    object: Literal["statement_import"] = "statement_import"
    already_imported: bool = Field(description="The same file was imported before")
    statements: list[StatementOut]
    transactions: int = Field(description="Lines in the file")
    new: int = Field(description="Lines not seen before (stored now)")
    duplicates: int = Field(description="Lines known from this or an overlapping file")
    booked: int
    queued: int = Field(description="Matched; the task worker books them (large statements)")
    unmatched: int = Field(description="Waiting on the to-do list")
    returns: int
    ignored: int
    booked_amount: MoneyOut
    rematched: int = Field(description="Waiting lines of earlier imports booked now")


class SuggestedInvoice(Schema):
    id: int
    number: str
    amount: MoneyOut


class SuggestionOut(Schema):
    method: str = Field(examples=["invoice_number", "amount_name", "customer_credit"])
    confidence: str = Field(examples=["0.850"], description="0.000–1.000")
    customer: int | None
    invoices: list[SuggestedInvoice]
    credit: MoneyOut = Field(description="What would stay as the customer's credit")
    reason: str = Field(
        description="Why matching suggests it, in the request's language (Accept-Language)"
    )
    reason_code: str | None = Field(
        None,
        examples=["number_exact", "amount", "paid_number"],
        description="Stable code of the reason; null for lines matched before codes existed",
    )
    reason_params: dict[str, Any] = Field(
        default_factory=dict,
        description="The code's parameters (numbers, amounts as strings, flags such as "
        "other_payer, mixed_customers, conflict)",
    )
    batch: int | None = None
    end_to_end_id: str | None = None


class BankTransactionOut(Schema):
    id: int
    object: Literal["bank_transaction"] = "bank_transaction"
    created_at: Timestamp
    statement: int
    booking_date: dt.date
    value_date: dt.date
    amount: MoneyOut
    currency: str
    direction: Literal["credit", "debit"]
    entry_status: str
    end_to_end_id: str
    mandate_reference: str
    remittance_information: str
    counterparty_name: str
    counterparty_iban: str
    counterparty_bic: str
    is_return: bool
    return_reason_code: str
    return_fee: MoneyOut | None
    original_amount: MoneyOut | None
    batch_reference: str
    state: TransactionState
    match_method: str
    match_confidence: str | None
    suggestions: list[SuggestionOut]
    customer: int | None
    payment: int | None
    return_event: int | None
    note: str = Field(description="Why the line waits or was put aside, in the request's language")
    note_code: str | None = Field(
        None,
        examples=["return_unknown", "outgoing"],
        description="Stable code of matching's note; null for a person's or a booking's text",
    )
    note_params: dict[str, Any] = Field(default_factory=dict)


class BankTransactionList(_List):
    data: list[BankTransactionOut]


class AllocationIn(InputSchema):
    invoice: int
    amount: Amount


class AssignIn(InputSchema):
    allocations: list[AllocationIn] = Field(
        default_factory=list, description="Invoices and amounts; the rest is credit"
    )
    customer: int | None = Field(
        None, description="Without allocations: book the whole amount as this customer's credit"
    )


class AssignManyIn(InputSchema):
    transactions: list[int] = Field(min_length=1, max_length=200)
    invoice: int


class ReasonIn(InputSchema):
    reason: str = Field(max_length=500)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_amount(value)


def _statement(obj: BankStatement) -> StatementOut:
    return StatementOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.imported_at) or "",
        format=obj.format,
        version=obj.version,
        statement_id=obj.statement_id,
        account_iban=obj.account_iban,
        account=obj.account_identification,
        currency=obj.currency,
        filename=obj.filename,
        sha256=obj.file_sha256,
        opening_balance=_money(obj.opening_balance),
        closing_balance=_money(obj.closing_balance),
        transactions=obj.transaction_count,
        new=obj.new_count,
        duplicates=obj.duplicate_count,
        booked=obj.booked_count,
        unmatched=obj.unmatched_count,
        returns=obj.return_count,
        ignored=obj.ignored_count,
        imported_by=obj.imported_by,
    )


def _statements(rows: Iterable[BankStatement]) -> list[StatementOut]:
    return [_statement(row) for row in rows]


def _suggestion(data: dict[str, Any]) -> SuggestionOut:
    return SuggestionOut(
        method=str(data.get("method", "")),
        confidence=str(data.get("confidence", "0.000")),
        customer=data.get("customer"),
        invoices=[SuggestedInvoice(**invoice) for invoice in data.get("invoices", [])],
        credit=str(data.get("credit", "0.00")),
        reason=reasons.of_suggestion(data),
        reason_code=data.get("reason_code") or None,
        reason_params=dict(data.get("reason_params") or {}),
        batch=data.get("batch"),
        end_to_end_id=data.get("end_to_end_id"),
    )


def _transaction(obj: BankTransaction) -> BankTransactionOut:
    return BankTransactionOut(
        id=obj.pk,
        created_at=presenters.timestamp(obj.created_at) or "",
        statement=obj.statement_id,
        booking_date=obj.booking_date,
        value_date=obj.value_date,
        amount=format_amount(obj.amount),
        currency=obj.currency,
        direction=obj.direction,  # type: ignore[arg-type]
        entry_status=obj.entry_status,
        end_to_end_id=obj.end_to_end_id,
        mandate_reference=obj.mandate_reference,
        remittance_information=obj.remittance_information,
        counterparty_name=obj.counterparty_name,
        counterparty_iban=obj.counterparty_iban,
        counterparty_bic=obj.counterparty_bic,
        is_return=obj.is_return,
        return_reason_code=obj.return_reason_code,
        return_fee=_money(obj.return_fee),
        original_amount=_money(obj.original_amount),
        batch_reference=obj.batch_reference,
        state=obj.state,  # type: ignore[arg-type]
        match_method=obj.match_method,
        match_confidence=None if obj.match_confidence is None else f"{obj.match_confidence:.3f}",
        suggestions=[_suggestion(s) for s in obj.suggestions or []],
        customer=obj.customer_id,
        payment=obj.payment_id,
        return_event=obj.return_event_id,
        note=obj.note_text,
        note_code=obj.note_code or None,
        note_params=dict(obj.note_params or {}),
    )


def _transactions(rows: Iterable[BankTransaction]) -> list[BankTransactionOut]:
    return [_transaction(row) for row in rows]


def _present(transaction_id: int) -> BankTransactionOut:
    row = BankTransaction.objects.filter(pk=transaction_id).first()
    if row is None:
        raise NotFound(f"Bank transaction {transaction_id} does not exist.")
    return _transaction(row)


def _mapping_id(value: str | None) -> int | None:
    """A CSV mapping named by its name or id."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    profile = CsvMappingProfile.objects.filter(name=value).first()
    if profile is None and value.isdigit():
        profile = CsvMappingProfile.objects.filter(pk=int(value)).first()
    if profile is None:
        raise NotFound(
            f"No CSV column mapping {value!r}.", code="csv_mapping_not_found", field="csv_mapping"
        )
    return profile.pk


# --- /statements ---------------------------------------------------------------------------


@router.post("", response={200: ImportOut, 201: ImportOut, **ERRORS}, auth=write_auth)
def import_statement(
    request: HttpRequest,
    file: File[UploadedFile],
    csv_mapping: Form[str | None] = None,
) -> Any:
    """Upload a camt.052/053/054, MT940 or CSV file (multipart, field ``file``).

    The file is read completely first: a broken file is refused with its parser code
    (truncated_xml, wrong_namespace, unknown_version, wrong_currency, too_many_decimals,
    csv_mapping_mismatch, …) and nothing is stored. New lines are matched and booked;
    what cannot be matched safely waits in ``GET /bank-transactions?state=unmatched``.
    The same file again answers 200 with ``already_imported`` and changes nothing, so
    no Idempotency-Key is needed. CSV exports need ``csv_mapping`` (name or id).
    """
    limit = int(getattr(settings, "FAKTURA_STATEMENT_MAX_BYTES", DEFAULT_MAX_BYTES))
    if file.size is not None and file.size > limit:
        raise InvalidInput(
            f"The file has {file.size} bytes; at most {limit} are accepted.",
            code="file_too_large",
            field="file",
        )
    result = services.import_statement(
        data=file.read(),
        filename=file.name or "",
        actor=actor_of(request),
        csv_mapping_id=_mapping_id(csv_mapping),
    )
    statements = BankStatement.objects.filter(pk__in=result.statement_ids).order_by("pk")
    body = ImportOut(
        already_imported=result.already_imported,
        statements=_statements(statements),
        transactions=result.transactions,
        new=result.new,
        duplicates=result.duplicates,
        booked=result.booked,
        queued=result.queued,
        unmatched=result.unmatched,
        returns=result.returns,
        ignored=result.ignored,
        booked_amount=format_amount(result.booked_amount),
        rematched=result.rematched,
    )
    return Status(200 if result.already_imported else 201, body)


@router.get("", response={200: StatementList, **READ_ERRORS}, auth=read_auth)
def list_statements(request: HttpRequest, params: Query[Page]) -> Any:
    """Imported statements in id order."""
    return presenters.page(BankStatement.objects.all(), params, _statements)


@router.get("/{statement_id}", response={200: StatementOut, **READ_ERRORS}, auth=read_auth)
def get_statement(request: HttpRequest, statement_id: int) -> Any:
    statement = BankStatement.objects.filter(pk=statement_id).first()
    if statement is None:
        raise NotFound(f"Bank statement {statement_id} does not exist.")
    return _statement(statement)


# --- /bank-transactions --------------------------------------------------------------------


@transactions_router.get("", response={200: BankTransactionList, **READ_ERRORS}, auth=read_auth)
def list_transactions(
    request: HttpRequest,
    params: Query[Page],
    state: TransactionState | None = None,
    statement: int | None = None,
) -> Any:
    """Statement lines in id order; ``state=unmatched`` is the to-do list with suggestions."""
    queryset = selectors.bank_transactions(state=state, statement_id=statement)
    return presenters.page(queryset, params, _transactions)


@transactions_router.post(
    "/assign-to-invoice", response={200: BankTransactionList, **ERRORS}, auth=write_auth
)
def assign_to_invoice(request: HttpRequest, payload: AssignManyIn) -> Any:
    """Book several incoming lines (instalments) to one invoice.

    Declared before the ``/{transaction_id}`` routes, so that its path is not taken for an id.
    """
    rows = services.assign_transactions_to_invoice(
        transaction_ids=payload.transactions, invoice_id=payload.invoice, actor=actor_of(request)
    )
    return {"data": _transactions(rows), "has_more": False, "next_cursor": None}


@transactions_router.get(
    "/{transaction_id}", response={200: BankTransactionOut, **READ_ERRORS}, auth=read_auth
)
def get_transaction(request: HttpRequest, transaction_id: int) -> Any:
    return _present(transaction_id)


@transactions_router.post(
    "/{transaction_id}/assign", response={200: BankTransactionOut, **ERRORS}, auth=write_auth
)
def assign_transaction(request: HttpRequest, transaction_id: int, payload: AssignIn) -> Any:
    """Book an incoming line to invoices of one customer (the rest is their credit)."""
    services.assign_transaction(
        transaction_id=transaction_id,
        allocations=[(a.invoice, a.amount) for a in payload.allocations],
        actor=actor_of(request),
        customer_id=payload.customer,
    )
    return _present(transaction_id)


@transactions_router.post(
    "/{transaction_id}/ignore", response={200: BankTransactionOut, **ERRORS}, auth=write_auth
)
def ignore_transaction(request: HttpRequest, transaction_id: int, payload: ReasonIn) -> Any:
    """Put a line aside (not for Faktura to book); it can still be assigned later."""
    services.ignore_transaction(
        transaction_id=transaction_id, actor=actor_of(request), reason=payload.reason
    )
    return _present(transaction_id)
