"""/customers/{id}/balance: the statement of a customer's account, as JSON or PDF, and
/balance/send to mail the PDF to the customer."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from faktura.api import idempotency
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.documents import DeliveryOut
from faktura.api.fields import InputSchema, MoneyOut
from faktura.api.schemas import ErrorOut
from faktura.core.money import ZERO, format_amount
from faktura.payments.account_statement import AccountStatement, Entry, account_statement
from faktura.payments.statement_mail import send_account_statement
from faktura.payments.statement_pdf import render_account_statement

router = Router(tags=["customers"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

EntryType = Literal[
    "invoice",
    "credit_note",
    "cancellation",
    "payment",
    "returned_debit",
    "chargeback",
    "fee",
    "dunning_cost",
    "dunning_cost_waived",
    "write_off",
    "write_off_reversal",
    "refund",
]


class BalanceEntryOut(Schema):
    date: dt.date
    type: EntryType
    description: str = Field(examples=["Invoice RE-2026-00001"])
    reference: str = Field(description="Document number, remittance text or end-to-end id")
    object_type: Literal[
        "invoice",
        "payment",
        "returned_debit",
        "chargeback",
        "fee_item",
        "dunning_fee",
        "write_off",
        "refund",
    ] = Field(description="The resource the entry comes from; with object_id")
    object_id: int
    invoice: int | None = Field(description="The invoice the entry concerns, if any")
    debit: MoneyOut = Field(description="Increases what the customer owes")
    credit: MoneyOut = Field(description="Decreases what the customer owes")
    amount: MoneyOut = Field(description="debit − credit (signed)", examples=["-50.00"])
    balance: MoneyOut = Field(description="The balance after this entry")


class BalanceTotalsOut(Schema):
    open_receivables: MoneyOut = Field(
        description="Σ open amounts of the customer's unpaid invoices (what /invoices "
        "?status=open shows)"
    )
    invoice_credits: MoneyOut = Field(
        description="Owed back on invoices credited after they were paid (negative open amounts)"
    )
    customer_credit: MoneyOut = Field(
        description="Money received and not allocated, less refunds holding it"
    )
    open_fees: MoneyOut = Field(
        description="Bank fees of returns and dunning costs (fees, flat fee, interest) "
        "charged and not yet paid"
    )
    balance: MoneyOut = Field(
        description="What the customer owes now (negative: what the company owes). "
        "= open_receivables − invoice_credits − customer_credit + open_fees"
    )


class BalanceOut(Schema):
    object: Literal["customer_balance"] = "customer_balance"
    customer: int
    customer_number: str = Field(examples=["K-00001"])
    currency: str = "EUR"
    date_from: dt.date | None = Field(alias="from", description="Start of the period (or none)")
    date_to: dt.date | None = Field(alias="to", description="End of the period (or none)")
    opening_balance: MoneyOut = Field(description="Balance before the period")
    debit_total: MoneyOut
    credit_total: MoneyOut
    closing_balance: MoneyOut = Field(description="Balance at the end of the period")
    entries: list[BalanceEntryOut] = Field(description="In date order")
    totals: BalanceTotalsOut = Field(description="The account as of today, whatever the period")

    model_config = {"populate_by_name": True}


class BalanceQuery(Schema):
    date_from: dt.date | None = Field(None, alias="from", description="YYYY-MM-DD")
    date_to: dt.date | None = Field(None, alias="to", description="YYYY-MM-DD")


def _entry(entry: Entry) -> BalanceEntryOut:
    return BalanceEntryOut(
        date=entry.date,
        type=entry.type,  # type: ignore[arg-type]
        description=entry.description,
        reference=entry.reference,
        object_type=entry.object_type,  # type: ignore[arg-type]
        object_id=entry.object_id,
        invoice=entry.invoice_id,
        debit=format_amount(max(entry.amount, ZERO)),
        credit=format_amount(max(-entry.amount, ZERO)),
        amount=format_amount(entry.amount),
        balance=format_amount(entry.balance),
    )


def present(statement: AccountStatement) -> BalanceOut:
    totals = statement.totals
    assert totals is not None
    return BalanceOut.model_validate(
        {
            "customer": statement.customer.pk,
            "customer_number": statement.customer.number,
            "from": statement.date_from,
            "to": statement.date_to,
            "opening_balance": format_amount(statement.opening_balance),
            "debit_total": format_amount(statement.debit_total),
            "credit_total": format_amount(statement.credit_total),
            "closing_balance": format_amount(statement.closing_balance),
            "entries": [_entry(e) for e in statement.entries],
            "totals": BalanceTotalsOut(
                open_receivables=format_amount(totals.open_receivables),
                invoice_credits=format_amount(totals.invoice_credits),
                customer_credit=format_amount(totals.customer_credit),
                open_fees=format_amount(totals.open_fees),
                balance=format_amount(totals.balance),
            ),
        }
    )


@router.get(
    "/{customer_id}/balance",
    response={200: BalanceOut, **READ_ERRORS},
    auth=read_auth,
    by_alias=True,
)
def get_balance(request: HttpRequest, customer_id: int, params: Query[BalanceQuery]) -> Any:
    """The customer's account statement: every invoice, credit note, payment, return, fee,
    write-off and refund in date order with the running balance, and today's totals.

    ``from``/``to`` limit the entries to a period; the opening balance then sums what came
    before. A positive balance is what the customer owes.
    """
    return present(
        account_statement(customer_id, date_from=params.date_from, date_to=params.date_to)
    )


@router.get(
    "/{customer_id}/balance.pdf",
    response=READ_ERRORS,
    auth=read_auth,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The account statement as PDF/A-3b on the letterhead",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_balance_pdf(
    request: HttpRequest,
    customer_id: int,
    params: Query[BalanceQuery],
    lang: Literal["de", "en"] | None = None,
) -> Any:
    """The account statement as a letter (PDF/A) in the customer's language (or ``lang``):
    the same entries and figures as ``/balance``, with the running balance."""
    _statement, filename, pdf = render_account_statement(
        customer_id, date_from=params.date_from, date_to=params.date_to, lang=lang
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class SendStatementIn(InputSchema):
    date_from: dt.date | None = Field(None, alias="from", description="YYYY-MM-DD")
    date_to: dt.date | None = Field(None, alias="to", description="YYYY-MM-DD")


@router.post(
    "/{customer_id}/balance/send",
    response={202: DeliveryOut, **WRITE_ERRORS},
    auth=write_auth,
)
def send_balance(
    request: HttpRequest,
    customer_id: int,
    body: SendStatementIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Mail the account statement (PDF) to the customer's address (202: queued); audited as
    ``account_statement.sent``. 409 ``customer_without_email`` without an address."""
    actor = actor_of(request)

    def create() -> Any:
        message = send_account_statement(
            customer_id=customer_id,
            actor=actor,
            date_from=body.date_from,
            date_to=body.date_to,
        )
        return DeliveryOut(
            id=message.pk,
            invoice=None,
            event=message.event,
            resend=False,
            state=message.state,  # type: ignore[arg-type]
            to=message.to,
            cc=message.cc,
            subject=message.subject,
            language=message.language,
            attachments=[a["filename"] for a in message.attachments],
            attempts=message.attempts,
            last_error=message.last_error,
            next_attempt_at=message.next_attempt_at,
            sent_at=message.sent_at,
            created_at=message.created_at,
        )

    return idempotency.respond(request, key=idempotency_key, status=202, create=create)
