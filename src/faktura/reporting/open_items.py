"""Open items (OP-Liste) and their aging at the end of a business date D.

As of D counts only what had happened by the end of D (company time zone):

* invoices and corrections issued on or before D (``issue_date``);
* allocations and write-offs made by D (``created_at``) and not reversed by D;
* payments received by D (``date``), returns booked by D (``booking_date``, else
  ``created_at``), allocations to dunning costs made by D and not reversed by D;
* refunds of credit requested by D that hold money (requested … paid).

The items are what makes up the customers' balances apart from fees and dunning costs
(see ``payments.account_statement``):

* an invoice with a positive open amount (payable − corrections − allocations −
  write-offs, DESIGN invariant 8, at D);
* a credit note or cancellation that credits more than its original still claimed
  (``refund_due``, negative; split in finalization order as ``invoicing.selectors``
  does);
* a payment with money not allocated at D (customer credit, negative);
* a refund of credit (positive: the credit it paid out).

So Σ items at D = Σ customer balances at the end of D − fees and dunning costs open.
Aging puts invoices into buckets by days past due at D (not yet due, 1–30, 31–60,
61–90, over 90); the negative items have no due date and form the bucket ``credits``.
All sums are SQL aggregates; Python only walks the rows it lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round

from faktura.core import bulk, snapshot_reads
from faktura.core.grouped_join import join_sums
from faktura.core.models import Company
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import split_corrections
from faktura.payments import claims
from faktura.payments.models import Allocation, Payment, Refund, ReturnEvent, WriteOff

_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)

BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    # key, first day past due, last day past due (None: open-ended)
    ("not_due", None, 0),
    ("days_1_30", 1, 30),
    ("days_31_60", 31, 60),
    ("days_61_90", 61, 90),
    ("over_90", 91, None),
)
CREDITS = "credits"


def end_of(day: dt.date) -> dt.datetime:
    """The first instant after business date ``day`` in the company's time zone."""
    zone = ZoneInfo(Company.time_zone_or_default())
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)


class _Cents(Round):
    """Rounded to cents where the database needs it: SQLite evaluates the difference in
    floating point; PostgreSQL's numeric is exact already (and a million ROUNDs cost)."""

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return compiler.compile(self.get_source_expressions()[0])


def _active_at(end: dt.datetime) -> Q:
    return Q(created_at__lt=end) & (Q(reversed_at__isnull=True) | Q(reversed_at__gte=end))


def _money(expression: Any) -> Coalesce:
    return Coalesce(expression, Value(ZERO), output_field=_MONEY)


def _kept_now() -> bool:
    """PostgreSQL keeps InvoiceOpenNow and PaymentCreditNow (triggers, migration
    reporting 0004); elsewhere a report reads every row."""
    return connection.vendor == "postgresql"


def invoices_at(
    day: dt.date, queryset: QuerySet[Invoice] | None = None, *, unsettled: bool = False
) -> QuerySet[Any]:
    """Finalized invoices issued by ``day`` with ``open_at`` (open amount at its end),
    ``credited_at`` and ``settled_at`` (allocated and written off at its end).

    ``unsettled``: the caller wants only those whose ``open_at`` is not zero (it filters
    them). Then, over all invoices on PostgreSQL, only those open now or changed after
    ``day`` are read (``InvoiceOpenNow``), and the sums at ``day`` only for those changed
    after it (or credited beyond their claim) — for every other one the state at ``day``
    is the state now.
    """
    end = end_of(day)
    base = (queryset if queryset is not None else Invoice.objects.all()).filter(
        status=Status.FINALIZED, kind=Kind.INVOICE, issue_date__lte=day
    )
    recount: Q | None = None
    if unsettled and queryset is None and _kept_now():
        recount = Q(open_now__counted_until__gte=end) | Q(open_now__open_amount__lt=0)
        base = base.filter(recount | Q(open_now__open_amount__gt=0))
    sums = join_sums(
        base,
        restrict=queryset is not None or recount is not None,
        keys_of=base.filter(recount) if recount is not None else None,
        groups={
            "at_credited": (
                Invoice.objects.filter(
                    status=Status.FINALIZED, original__isnull=False, issue_date__lte=day
                )
                .values("original_id")
                .annotate(total=Sum("grand_total")),
                "original_id",
            ),
            "at_allocated": (
                Allocation.objects.filter(_active_at(end))
                .values("invoice_id")
                .annotate(total=Sum("amount")),
                "invoice_id",
            ),
            "at_written_off": (
                WriteOff.objects.filter(_active_at(end))
                .values("invoice_id")
                .annotate(total=Sum("amount")),
                "invoice_id",
            ),
        },
    )
    credited: Any = _money(sums["at_credited"])
    settled: Any = _money(sums["at_allocated"]) + _money(sums["at_written_off"])
    if recount is not None:
        credited = Case(When(recount, then=credited), default=F("open_now__credited"))
        settled = Case(
            When(recount, then=settled),
            default=F("payable_amount") - F("open_now__credited") - F("open_now__open_amount"),
        )
    return base.annotate(
        credited_at=ExpressionWrapper(credited, output_field=_MONEY),
        settled_at=ExpressionWrapper(settled, output_field=_MONEY),
    ).annotate(
        open_at=_Cents(
            _money("payable_amount") - _money("credited_at") - _money("settled_at"),
            2,
            output_field=_MONEY,
        )
    )


def payments_at(day: dt.date, *, unsettled: bool = False) -> QuerySet[Any]:
    """Customers' payments received by ``day`` with ``unallocated_at`` (credit at its end).

    ``unsettled``: the caller wants only those with ``unallocated_at`` not zero; then on
    PostgreSQL only those with money unallocated now or changed after ``day`` are read
    (``PaymentCreditNow``).
    """
    end = end_of(day)
    base = Payment.objects.filter(customer__isnull=False, date__lte=day)
    recount: Q | None = None
    if unsettled and _kept_now():
        recount = Q(credit_now__counted_until__gte=end)
        base = base.filter(
            recount | Q(credit_now__unallocated__gt=0) | Q(credit_now__unallocated__lt=0)
        )
    booked = Q(booking_date__isnull=False, booking_date__lte=day) | Q(
        booking_date__isnull=True, created_at__lt=end
    )
    groups: dict[str, tuple[QuerySet[Any], str]] = {
        "at_pay_allocated": (
            Allocation.objects.filter(_active_at(end))
            .values("payment_id")
            .annotate(total=Sum("amount")),
            "payment_id",
        ),
        "at_pay_returned": (
            ReturnEvent.objects.filter(booked).values("payment_id").annotate(total=Sum("amount")),
            "payment_id",
        ),
    }
    ledger = claims.ledger()
    if ledger is not None:
        groups["at_pay_costs"] = (
            ledger.active_allocations()
            .model.objects.filter(_active_at(end))
            .values("payment_id")
            .annotate(total=Sum("amount")),
            "payment_id",
        )
    sums = join_sums(
        base,
        groups,
        restrict=recount is not None,
        keys_of=base.filter(recount) if recount is not None else None,
    )
    allocated, returned = sums["at_pay_allocated"], sums["at_pay_returned"]
    costs: Any = (
        _money(sums["at_pay_costs"]) if "at_pay_costs" in sums else Value(ZERO, output_field=_MONEY)
    )
    unallocated: Any = _money("amount") - _money(allocated) - _money(returned) - costs
    if recount is not None:
        unallocated = Case(When(recount, then=unallocated), default=F("credit_now__unallocated"))
    return base.annotate(unallocated_at=Round(unallocated, 2, output_field=_MONEY))


def refunds_at(day: dt.date) -> QuerySet[Refund]:
    return Refund.objects.filter(status__in=Refund.RESERVING, requested_at__lt=end_of(day))


class OpenItem(NamedTuple):
    # A tuple, not a frozen dataclass: a report at a date builds a few hundred thousand.
    kind: str  # invoice, credit_note, cancellation, payment, refund
    customer_id: int
    customer_number: str
    customer_name: str
    reference: str
    document_date: dt.date
    due_date: dt.date | None
    amount: Decimal  # signed: + the customer owes, − the company owes
    open_amount: Decimal
    days_overdue: int
    object_id: int


def credit_note_items(day: dt.date, customer_id: int | None = None) -> list[OpenItem]:
    """Corrections owing money back at ``day``: read for the overcredited originals only."""
    # Only an invoice with a correction can be credited beyond its claim: the sums are
    # read for those alone, by their ids (one array parameter each, the indexes' keys).
    corrections = Invoice.objects.filter(
        original__isnull=False, status=Status.FINALIZED, issue_date__lte=day
    )
    if customer_id is not None:
        corrections = corrections.filter(customer_id=customer_id)
    credited = dict(
        corrections.order_by().values("original_id").annotate(s=Sum("grand_total"))
        .values_list("original_id", "s")
    )  # fmt: skip
    if not credited:
        return []
    ids = list(credited)
    end = end_of(day)
    settled: dict[int, Decimal] = {}
    for model in (Allocation, WriteOff):
        for invoice_id, amount in (
            model.objects.filter(bulk.column_in(model, "invoice_id", ids), _active_at(end))
            .order_by().values("invoice_id").annotate(s=Sum("amount"))
            .values_list("invoice_id", "s")
        ):  # fmt: skip
            settled[invoice_id] = settled.get(invoice_id, ZERO) + amount
    claims_at = {}
    for pk, payable in Invoice.objects.filter(
        bulk.column_in(Invoice, "id", ids),
        status=Status.FINALIZED,
        kind=Kind.INVOICE,
        issue_date__lte=day,
    ).values_list("pk", "payable_amount"):
        claim = round_money(payable - settled.get(pk, ZERO))
        if claim - credited[pk] < 0:
            claims_at[pk] = claim
    return _correction_items(day, claims_at)


def _correction_items(day: dt.date, claims_at: dict[int, Decimal]) -> list[OpenItem]:
    """The corrections of overcredited originals (pk → what the original still claimed
    at ``day``) with the part each owes back, split in finalization order."""
    if not claims_at:
        return []
    rows = list(
        Invoice.objects.filter(
            bulk.column_in(Invoice, "original_id", list(claims_at)),
            status=Status.FINALIZED,
            issue_date__lte=day,
        )
        .order_by("finalized_at", "pk")
        .values(
            "pk", "kind", "number", "issue_date", "grand_total", "original_id", "customer_id",
            "customer__number", "customer__name",
        )
    )  # fmt: skip
    by_original: dict[int, list[Any]] = {}
    for row in rows:
        by_original.setdefault(row["original_id"], []).append(row)
    items = []
    for original_id, claim in claims_at.items():
        mine = by_original.get(original_id, [])
        shares = split_corrections(claim=claim, corrections=[r["grand_total"] for r in mine])
        for row, share in zip(mine, shares, strict=True):
            if share.refund_due > 0:
                items.append(
                    OpenItem(
                        kind=row["kind"],
                        customer_id=row["customer_id"],
                        customer_number=row["customer__number"],
                        customer_name=row["customer__name"],
                        reference=row["number"] or "",
                        document_date=row["issue_date"] or day,
                        due_date=None,
                        amount=-row["grand_total"],
                        open_amount=-share.refund_due,
                        days_overdue=0,
                        object_id=row["pk"],
                    )
                )
    return items


def open_items(day: dt.date, *, customer_id: int | None = None) -> list[OpenItem]:
    """Every item open at the end of ``day``, by customer number, then date."""
    invoice_items, credit_items = snapshot_reads.together(
        lambda: _invoice_items(day, customer_id), lambda: _credit_items(day, customer_id)
    )
    items = invoice_items + credit_items
    items.sort(key=_ORDER)
    return items


def _as_read(value: Decimal) -> Decimal:
    return value


# customer_number, document_date, kind, object_id (OpenItem's fields by position: C, not
# a lambda, for a few hundred thousand items).
_ORDER = itemgetter(2, 5, 0, 10)


def _rows(queryset: QuerySet[Any]) -> Iterable[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset. On PostgreSQL straight from the cursor:
    psycopg gives Decimal and date already, and the numeric sums are exact to the cent,
    so Django's converters (a call per value) have nothing to do."""
    if not _kept_now():
        return queryset
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _invoice_items(day: dt.date, customer_id: int | None) -> list[OpenItem]:
    # One pass over the invoices: the positive open amounts are items, the negative ones
    # the originals whose corrections owe money back.
    invoices = invoices_at(day, unsettled=True).exclude(open_at=0)
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    rows = _rows(invoices.order_by().values_list(
        "pk", "customer_id", "customer__number", "customer__name", "number", "issue_date",
        "due_date", "payable_amount", "open_at", "settled_at",
    ))  # fmt: skip
    # Exact to the cent on PostgreSQL; SQLite's sums went through floating point.
    cents = round_money if not _kept_now() else _as_read
    claims_at: dict[int, Decimal] = {}
    items = []
    # A few hundred thousand rows: tuples, positional fields.
    for pk, customer, number, name, reference, issued, due, payable, open_at, settled in rows:
        if open_at < 0:
            claims_at[pk] = round_money(payable - settled)
            continue
        overdue = (day - due).days if due is not None and due < day else 0
        items.append(
            OpenItem("invoice", customer, number, name, reference, issued, due, payable,
                     cents(open_at), overdue, pk)
        )  # fmt: skip
    return items + _correction_items(day, claims_at)


def _credit_items(day: dt.date, customer_id: int | None) -> list[OpenItem]:
    """Payments not allocated at ``day`` (credit, negative) and refunds of credit."""
    payments = payments_at(day, unsettled=True).exclude(unallocated_at=0)
    refunds = refunds_at(day)
    if customer_id is not None:
        payments = payments.filter(customer_id=customer_id)
        refunds = refunds.filter(customer_id=customer_id)
    # The reference is not in the payments' report index: read for the open ones only.
    payment_rows = list(
        payments.order_by().values(
            "pk", "customer_id", "customer__number", "customer__name", "date", "amount",
            "unallocated_at",
        )
    )  # fmt: skip
    references = dict(
        Payment.objects.filter(
            bulk.column_in(Payment, "id", [row["pk"] for row in payment_rows])
        ).values_list("pk", "reference")
    )
    items = [
        OpenItem(
            kind="payment",
            customer_id=row["customer_id"],
            customer_number=row["customer__number"],
            customer_name=row["customer__name"],
            reference=references[row["pk"]][:140],
            document_date=row["date"],
            due_date=None,
            amount=-row["amount"],
            open_amount=-round_money(row["unallocated_at"]),
            days_overdue=0,
            object_id=row["pk"],
        )
        for row in payment_rows
    ]
    zone = ZoneInfo(Company.time_zone_or_default())
    items += [
        OpenItem(
            kind="refund",
            customer_id=row["customer_id"],
            customer_number=row["customer__number"],
            customer_name=row["customer__name"],
            reference=f"ERSTATTUNG-{row['pk']}",
            document_date=row["requested_at"].astimezone(zone).date(),
            due_date=None,
            amount=row["amount"],
            open_amount=row["amount"],
            days_overdue=0,
            object_id=row["pk"],
        )
        for row in refunds.values(
            "pk", "customer_id", "customer__number", "customer__name", "requested_at", "amount"
        )
    ]
    return items


@dataclass(frozen=True)
class Bucket:
    key: str
    amount: Decimal
    count: int


@dataclass(frozen=True)
class Aging:
    day: dt.date
    buckets: tuple[Bucket, ...]  # the five by days past due, then ``credits``
    total: Decimal
    count: int
    customer_id: int | None = None
    customer_number: str = ""
    customer_name: str = ""


def _bucket_filters(day: dt.date) -> dict[str, Q]:
    """Days past due = day − due_date, as date ranges; no due date counts as not yet due."""
    filters = {}
    for key, first, last in BUCKETS:
        q = Q(due_date__isnull=True) | Q(due_date__gte=day) if first is None else Q()
        if first is not None:
            q &= Q(due_date__lte=day - dt.timedelta(days=first))
            if last is not None:
                q &= Q(due_date__gte=day - dt.timedelta(days=last))
        filters[key] = q
    return filters


def _aggregates(day: dt.date) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, q in _bucket_filters(day).items():
        result[f"{key}__sum"] = Sum("open_at", filter=q)
        result[f"{key}__count"] = Count("pk", filter=q)
    return result


def aging(day: dt.date, *, by_customer: bool = False) -> list[Aging]:
    """The open items at ``day`` in buckets of days past due: one total, or one per customer.

    Σ buckets (credits included) = the open items' total; per customer likewise.
    """
    rows, credits = snapshot_reads.together(
        lambda: _invoice_buckets(day, by_customer), lambda: _credits(day, by_customer)
    )
    if not by_customer:
        return [_aging(day, rows[None], credits.get(None, [ZERO, Decimal(0)]))]
    ids = sorted(set(rows) | {c for c in credits if c is not None})
    from faktura.customers.models import Customer

    names = {
        pk: (number, name)
        for pk, number, name in Customer.objects.filter(
            bulk.column_in(Customer, "id", ids)
        ).values_list("pk", "number", "name")
    }
    result = [
        _aging(
            day,
            rows.get(customer_id, {}),
            credits.get(customer_id, [ZERO, Decimal(0)]),
            customer=(customer_id, *names[customer_id]),
        )
        for customer_id in ids
    ]
    result.sort(key=lambda a: a.customer_number)
    return result


def _invoice_buckets(day: dt.date, by_customer: bool) -> dict[int | None, dict[str, Any]]:
    invoices = invoices_at(day, unsettled=True).filter(open_at__gt=0)
    if not by_customer:
        return {None: invoices.aggregate(**_aggregates(day))}
    return {
        r["customer_id"]: r
        for r in invoices.order_by().values("customer_id").annotate(**_aggregates(day))
    }


def _credits(day: dt.date, by_customer: bool) -> dict[int | None, list[Decimal]]:
    """Per customer (or None for all): the credits' sum (negative) and count."""
    payments = payments_at(day, unsettled=True).exclude(unallocated_at=0)
    refunds = refunds_at(day)
    credits: dict[int | None, list[Decimal]] = {}

    def add_credit(customer: int | None, amount: Decimal, count: int) -> None:
        entry = credits.setdefault(customer, [ZERO, Decimal(0)])
        entry[0] += round_money(amount)
        entry[1] += count

    for queryset, column, sign in ((payments, "unallocated_at", -1), (refunds, "amount", 1)):
        if by_customer:
            grouped = list(
                queryset.order_by().values("customer_id").annotate(s=Sum(column), n=Count("pk"))
            )
        else:
            grouped = [queryset.aggregate(s=Sum(column), n=Count("pk"))]
        for row in grouped:
            add_credit(row.get("customer_id"), sign * (row["s"] or ZERO), row["n"])
    for item in credit_note_items(day):
        add_credit(item.customer_id if by_customer else None, item.open_amount, 1)
    return credits


def _aging(
    day: dt.date,
    row: dict[str, Any],
    credit: list[Decimal],
    customer: tuple[int, str, str] | None = None,
) -> Aging:
    buckets = [
        Bucket(key, round_money(row.get(f"{key}__sum") or ZERO), row.get(f"{key}__count") or 0)
        for key, _, _ in BUCKETS
    ]
    buckets.append(Bucket(CREDITS, round_money(credit[0]), int(credit[1])))
    return Aging(
        day=day,
        buckets=tuple(buckets),
        total=sum((b.amount for b in buckets), ZERO),
        count=sum(b.count for b in buckets),
        customer_id=customer[0] if customer is not None else None,
        customer_number=customer[1] if customer is not None else "",
        customer_name=customer[2] if customer is not None else "",
    )
