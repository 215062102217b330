"""The statement of a customer's account: every movement in date order with a running balance.

A positive balance is what the customer owes, a negative one what the company owes the
customer. Each entry moves the balance by its ``amount``:

* finalized invoice: + payable amount; credit note or cancellation: − its total;
* payment received: − amount (allocating it to invoices moves nothing: it only decides
  which invoice it pays);
* returned debit or chargeback: + the principal taken back from a payment;
* fee charged (bank fee of a return): + amount, unless cancelled;
* dunning costs charged (dunning fee, EUR 40 flat fee, a period of default interest; once
  their notice went out): + amount; waived: − what was still open of it;
* write-off: − amount; its reversal: + amount;
* refund of credit (requested, approved, batched or paid): + amount.

So the balance after all entries is, by construction of the derived figures in
``payments.selectors`` and ``invoicing.selectors``:
``open_receivables − invoice_credits − customer_credit + open fees`` (open fees: bank fees
and dunning costs not yet paid).

Every sum is SQL ``SUM`` over decimal columns, quantized to the cent; the running
balance adds exact Decimals. Dates are business dates in the company's time zone; a
return counts on its booking date when the statement gave one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum

from faktura.core.errors import InvalidInput, NotFound
from faktura.core.models import Company
from faktura.core.money import ZERO, round_money
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments import claims, selectors
from faktura.payments.models import FeeItem, Payment, Refund, ReturnEvent, WriteOff

# Within a day: documents first, then what happened to them (fees, returns), then money.
_RANK = {
    "invoice": 0,
    "credit_note": 1,
    "cancellation": 1,
    "fee": 2,
    "dunning_cost": 2,
    "returned_debit": 3,
    "chargeback": 3,
    "payment": 4,
    "write_off": 5,
    "write_off_reversal": 6,
    "dunning_cost_waived": 6,
    "refund": 7,
}


_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Entry:
    date: dt.date
    type: str
    amount: Decimal  # signed: + the customer owes more, − less
    reference: str
    description: str
    object_type: str
    object_id: int
    invoice_id: int | None
    at: dt.datetime
    balance: Decimal = ZERO

    @property
    def sort_key(self) -> tuple[dt.date, int, dt.datetime, int]:
        return (self.date, _RANK[self.type], self.at or _EARLIEST, self.object_id)


@dataclass(frozen=True)
class Totals:
    open_receivables: Decimal
    invoice_credits: Decimal
    customer_credit: Decimal
    open_fees: Decimal
    balance: Decimal


@dataclass(frozen=True)
class AccountStatement:
    customer: Customer
    date_from: dt.date | None
    date_to: dt.date | None
    opening_balance: Decimal
    closing_balance: Decimal
    debit_total: Decimal
    credit_total: Decimal
    entries: list[Entry] = field(default_factory=list)
    totals: Totals | None = None


class _Window:
    """A period of business dates (either end open), as filters on date and time columns."""

    def __init__(self, lo: dt.date | None, hi: dt.date | None, zone: ZoneInfo) -> None:
        self.lo, self.hi, self.zone = lo, hi, zone

    def _start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)

    def on(self, column: str) -> Q:
        q = Q()
        if self.lo is not None:
            q &= Q(**{f"{column}__gte": self.lo})
        if self.hi is not None:
            q &= Q(**{f"{column}__lte": self.hi})
        return q

    def at(self, column: str) -> Q:
        q = Q()
        if self.lo is not None:
            q &= Q(**{f"{column}__gte": self._start(self.lo)})
        if self.hi is not None:
            q &= Q(**{f"{column}__lt": self._start(self.hi + dt.timedelta(days=1))})
        return q

    def local(self, value: dt.datetime) -> dt.date:
        return value.astimezone(self.zone).date()


def _sum(queryset: QuerySet[Any], column: str = "amount") -> Decimal:
    return round_money(queryset.aggregate(total=Sum(column))["total"] or ZERO)


# --- the sources: (signed SQL sum over a window, entries of a window) ----------------------


def _invoices(customer_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer_id=customer_id, status=Status.FINALIZED)


def _payments(customer_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(customer_id=customer_id)


def _returns(customer_id: int, window: _Window) -> QuerySet[ReturnEvent]:
    # Only money actually taken back from the customer's payment moves the balance
    # (the same rows as selectors.credit_balance counts).
    dated = (Q(booking_date__isnull=False) & window.on("booking_date")) | (
        Q(booking_date__isnull=True) & window.at("created_at")
    )
    return ReturnEvent.objects.filter(dated, payment__customer_id=customer_id)


def _write_offs(customer_id: int) -> QuerySet[WriteOff]:
    return WriteOff.objects.filter(customer_id=customer_id)


def _refunds(customer_id: int) -> QuerySet[Refund]:
    return Refund.objects.filter(customer_id=customer_id, status__in=Refund.RESERVING)


def _fees(customer_id: int) -> QuerySet[FeeItem]:
    return FeeItem.objects.filter(customer_id=customer_id).exclude(state=FeeItem.State.CANCELLED)


def _dunning_costs(customer_id: int) -> QuerySet[Any] | None:
    ledger = claims.ledger()
    return ledger.charges(customer_id) if ledger is not None else None


def _charged_within(window: _Window) -> Q:
    """Costs of a notice count on the notice's date; those added by hand when added."""
    return (Q(notice__isnull=False) & window.on("notice__notice_date")) | (
        Q(notice__isnull=True) & window.at("created_at")
    )


def _dunning_movement(customer_id: int, window: _Window) -> Decimal:
    costs = _dunning_costs(customer_id)
    if costs is None:
        return ZERO
    waived = costs.filter(waived_at__isnull=False).filter(window.at("waived_at"))
    return _sum(costs.filter(_charged_within(window))) - (
        _sum(waived) - _sum(waived, "paid_amount")
    )


_COST_NAMES = {
    "fee": "Dunning fee",
    "flat_40": "Flat fee (§ 288 (5) BGB)",
    "interest": "Default interest",
}


def _dunning_entries(customer_id: int, window: _Window) -> list[Entry]:
    costs = _dunning_costs(customer_id)
    if costs is None:
        return []
    fields = (
        "pk", "created_at", "waived_at", "amount", "paid_amount", "kind", "period_start",
        "period_end", "invoice_id", "invoice__number", "notice__notice_date",
    )  # fmt: skip
    entries = []
    for row in _rows(costs.filter(_charged_within(window)), *fields):
        period = (
            f" {row['period_start']:%d.%m.%Y}–{row['period_end']:%d.%m.%Y}"
            if row["period_start"] and row["period_end"]
            else ""
        )
        entries.append(
            Entry(
                date=row["notice__notice_date"] or window.local(row["created_at"]),
                type="dunning_cost",
                amount=row["amount"],
                reference=row["invoice__number"] or "",
                description=f"{_COST_NAMES[row['kind']]}{period}",
                object_type="dunning_fee",
                object_id=row["pk"],
                invoice_id=row["invoice_id"],
                at=row["created_at"],
            )
        )
    waived = costs.filter(waived_at__isnull=False).filter(window.at("waived_at"))
    for row in _rows(waived, *fields):
        entries.append(
            Entry(
                date=window.local(row["waived_at"]),
                type="dunning_cost_waived",
                amount=-(row["amount"] - row["paid_amount"]),
                reference=row["invoice__number"] or "",
                description=f"{_COST_NAMES[row['kind']]} waived",
                object_type="dunning_fee",
                object_id=row["pk"],
                invoice_id=row["invoice_id"],
                at=row["waived_at"],
            )
        )
    return entries


def _movement(customer_id: int, window: _Window) -> Decimal:
    """The net change of the balance within ``window`` (SQL sums)."""
    invoices = _invoices(customer_id).filter(window.on("issue_date"))
    write_offs = _write_offs(customer_id)
    return _dunning_movement(customer_id, window) + (
        _sum(invoices.filter(kind=Kind.INVOICE), "payable_amount")
        - _sum(invoices.exclude(kind=Kind.INVOICE), "grand_total")
        - _sum(_payments(customer_id).filter(window.on("date")))
        + _sum(_returns(customer_id, window))
        + _sum(_fees(customer_id).filter(window.at("created_at")))
        - _sum(write_offs.filter(window.at("created_at")))
        + _sum(write_offs.filter(reversed_at__isnull=False).filter(window.at("reversed_at")))
        + _sum(_refunds(customer_id).filter(window.at("requested_at")))
    )


def _rows(queryset: QuerySet[Any], *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields).order_by("pk"))


def _entries(customer_id: int, window: _Window) -> list[Entry]:
    entries: list[Entry] = []
    add = entries.append
    for row in _rows(
        _invoices(customer_id).filter(window.on("issue_date")),
        "pk", "kind", "number", "issue_date", "payable_amount", "grand_total", "finalized_at",
        "original_id", "original__number",
    ):  # fmt: skip
        is_invoice = row["kind"] == Kind.INVOICE
        names = {"invoice": "Invoice", "credit_note": "Credit note", "cancellation": "Cancellation"}
        add(
            Entry(
                date=row["issue_date"],
                type=row["kind"],
                amount=row["payable_amount"] if is_invoice else -row["grand_total"],
                reference=row["number"] or "",
                description=f"{names[row['kind']]} {row['number']}"
                + ("" if is_invoice else f" for {row['original__number']}"),
                object_type="invoice",
                object_id=row["pk"],
                invoice_id=row["pk"] if is_invoice else row["original_id"],
                at=row["finalized_at"],
            )
        )
    for row in _rows(
        _payments(customer_id).filter(window.on("date")),
        "pk", "date", "amount", "method", "reference", "created_at"
    ):  # fmt: skip
        add(
            Entry(
                date=row["date"],
                type="payment",
                amount=-row["amount"],
                reference=row["reference"][:140],
                description=f"Payment ({row['method']})",
                object_type="payment",
                object_id=row["pk"],
                invoice_id=None,
                at=row["created_at"],
            )
        )
    for row in _rows(
        _returns(customer_id, window),
        "pk", "kind", "booking_date", "created_at", "amount", "reason_code", "invoice_id",
        "invoice__number", "end_to_end_id",
    ):  # fmt: skip
        label = "Returned debit" if row["kind"] == ReturnEvent.Kind.RETURNED_DEBIT else "Chargeback"
        add(
            Entry(
                date=row["booking_date"] or window.local(row["created_at"]),
                type=row["kind"],
                amount=row["amount"],
                reference=row["end_to_end_id"] or (row["invoice__number"] or ""),
                description=f"{label} {row['reason_code']}".strip()
                + (f" of {row['invoice__number']}" if row["invoice__number"] else ""),
                object_type=row["kind"],
                object_id=row["pk"],
                invoice_id=row["invoice_id"],
                at=row["created_at"],
            )
        )
    for row in _rows(
        _fees(customer_id).filter(window.at("created_at")),
        "pk", "created_at", "amount", "reason", "invoice_id", "invoice__number"
    ):  # fmt: skip
        add(
            Entry(
                date=window.local(row["created_at"]),
                type="fee",
                amount=row["amount"],
                reference=row["invoice__number"] or "",
                description=row["reason"],
                object_type="fee_item",
                object_id=row["pk"],
                invoice_id=row["invoice_id"],
                at=row["created_at"],
            )
        )
    write_off_fields = (
        "pk", "created_at", "reversed_at", "amount", "reason", "invoice_id", "invoice__number"
    )  # fmt: skip
    write_offs = _write_offs(customer_id)
    for row in _rows(write_offs.filter(window.at("created_at")), *write_off_fields):
        add(
            Entry(
                date=window.local(row["created_at"]),
                type="write_off",
                amount=-row["amount"],
                reference=row["invoice__number"] or "",
                description=f"Write-off: {row['reason']}",
                object_type="write_off",
                object_id=row["pk"],
                invoice_id=row["invoice_id"],
                at=row["created_at"],
            )
        )
    reversed_write_offs = write_offs.filter(reversed_at__isnull=False)
    for row in _rows(reversed_write_offs.filter(window.at("reversed_at")), *write_off_fields):
        add(
            Entry(
                date=window.local(row["reversed_at"]),
                type="write_off_reversal",
                amount=row["amount"],
                reference=row["invoice__number"] or "",
                description=f"Write-off reversed: {row['reason']}",
                object_type="write_off",
                object_id=row["pk"],
                invoice_id=row["invoice_id"],
                at=row["reversed_at"],
            )
        )
    for row in _rows(
        _refunds(customer_id).filter(window.at("requested_at")),
        "pk", "requested_at", "amount", "status", "reason"
    ):  # fmt: skip
        add(
            Entry(
                date=window.local(row["requested_at"]),
                type="refund",
                amount=row["amount"],
                reference=f"ERSTATTUNG-{row['pk']}",
                description=f"Refund of credit ({row['status']})",
                object_type="refund",
                object_id=row["pk"],
                invoice_id=None,
                at=row["requested_at"],
            )
        )
    entries += _dunning_entries(customer_id, window)
    entries.sort(key=lambda entry: entry.sort_key)
    return entries


def _with_balances(entries: Iterable[Entry], opening: Decimal) -> list[Entry]:
    balance = opening
    result = []
    for entry in entries:
        balance += entry.amount
        result.append(_replace_balance(entry, balance))
    return result


def _replace_balance(entry: Entry, balance: Decimal) -> Entry:
    return replace(entry, amount=round_money(entry.amount), balance=round_money(balance))


def account_totals(customer_id: int) -> Totals:
    """The account as of now: open receivables, credit on invoices, customer credit, fees."""
    invoices = with_open_amounts(_invoices(customer_id).filter(kind=Kind.INVOICE))  # type: ignore[arg-type]
    open_receivables = _sum(invoices.filter(open_amount__gt=0), "open_amount")
    # Credited after payment: the invoice owes the customer money (negative open amount).
    invoice_credits = -_sum(invoices.filter(open_amount__lt=0), "open_amount")
    credit = round_money(selectors.credit_balance(customer_id))
    ledger = claims.ledger()
    open_fees = (
        ledger.open_total(customer_id)
        if ledger is not None
        else _sum(_fees(customer_id).filter(state=FeeItem.State.OPEN))
    )
    zone = ZoneInfo(Company.time_zone_or_default())
    balance = _movement(customer_id, _Window(None, None, zone))
    return Totals(
        open_receivables=open_receivables,
        invoice_credits=invoice_credits,
        customer_credit=credit,
        open_fees=open_fees,
        balance=balance,
    )


def account_statement(
    customer_id: int, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> AccountStatement:
    """The customer's statement for a period (either end open) with the current totals.

    The opening balance sums every movement before ``date_from``; each entry carries the
    balance after it; the closing balance is the balance at the end of ``date_to``.
    Raises NotFound (unknown customer), InvalidInput invalid_period (from after to).
    """
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(
            f"The period starts ({date_from}) after it ends ({date_to}).",
            code="invalid_period",
            field="from",
        )
    zone = ZoneInfo(Company.time_zone_or_default())
    opening = (
        _movement(customer_id, _Window(None, date_from - dt.timedelta(days=1), zone))
        if date_from is not None
        else ZERO
    )
    entries = _with_balances(_entries(customer_id, _Window(date_from, date_to, zone)), opening)
    debit = sum((e.amount for e in entries if e.amount > 0), ZERO)
    credit = -sum((e.amount for e in entries if e.amount < 0), ZERO)
    closing = entries[-1].balance if entries else opening
    return AccountStatement(
        customer=customer,
        date_from=date_from,
        date_to=date_to,
        opening_balance=round_money(opening),
        closing_balance=round_money(closing),
        debit_total=round_money(debit),
        credit_total=round_money(credit),
        entries=entries,
        totals=account_totals(customer_id),
    )
