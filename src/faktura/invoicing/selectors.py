"""Derived figures of invoices: open amount, payment status, overdue.

Open amount = payable − finalized credit notes and cancellations − allocated payments
− write-offs (reversed allocations and write-offs no longer count). Never stored, always
derived.

A correction (credit note, cancellation) is not a receivable. It is applied to what its
original still claims (payable − allocated − written off), corrections in the order they
were finalized; what a correction credits beyond that claim was paid already and is owed
back to the customer: its status is ``refund_due`` and its open amount is that surplus,
otherwise ``applied`` with open amount 0. The original's open amount still subtracts every
finalized correction, so a paid and then corrected invoice shows the surplus as a negative
open amount ("overpaid"): the same money, seen from the invoice. Releasing the payment from
the invoice (``payments.services.release_allocation``) turns it into customer credit, and
the correction becomes ``applied``. Nothing is counted twice: for a customer,
Σ positive open amounts of invoices − Σ refund_due − credit = totals − corrections − payments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Round

from faktura.core.grouped_join import join_sums
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice, InvoiceQuerySet, Kind, Status

_MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)


def with_open_amounts(queryset: InvoiceQuerySet) -> QuerySet[Any]:
    """Annotate credited_amount, allocated_amount and open_amount in one query.

    The sums of corrections, active allocations and active write-offs are each grouped
    once and LEFT JOINed (``core.grouped_join``), not computed by a subquery per invoice.
    """
    from faktura.payments.models import Allocation, WriteOff

    queryset = queryset.all()
    sums = join_sums(
        queryset,
        {
            "open_credited": (
                Invoice.objects.filter(status=Status.FINALIZED, original__isnull=False)
                .values("original_id")
                .annotate(total=Sum("grand_total")),
                "original_id",
            ),
            "open_allocated": (
                Allocation.objects.filter(reversed_at__isnull=True)
                .values("invoice_id")
                .annotate(total=Sum("amount")),
                "invoice_id",
            ),
            "open_written_off": (
                WriteOff.objects.filter(reversed_at__isnull=True)
                .values("invoice_id")
                .annotate(total=Sum("amount")),
                "invoice_id",
            ),
        },
    )
    credited, allocated, written_off = (
        sums["open_credited"],
        sums["open_allocated"],
        sums["open_written_off"],
    )
    return queryset.annotate(
        credited_amount=Coalesce(credited, Value(ZERO), output_field=_MONEY),
        allocated_amount=Coalesce(allocated, Value(ZERO), output_field=_MONEY),
        written_off_amount=Coalesce(written_off, Value(ZERO), output_field=_MONEY),
    ).annotate(
        # Round: SQLite evaluates the difference in floating point (3.55e-15 for 0.00).
        open_amount=Round(
            Coalesce("payable_amount", Value(ZERO))
            - Coalesce("credited_amount", Value(ZERO))
            - Coalesce("allocated_amount", Value(ZERO))
            - Coalesce("written_off_amount", Value(ZERO)),
            2,
            output_field=_MONEY,
        )
    )


def open_amount(invoice: Invoice) -> Decimal:
    row = with_open_amounts(Invoice.objects.filter(pk=invoice.pk)).values("open_amount").get()
    return row["open_amount"]


def payment_status(
    *, payable: Decimal, credited: Decimal, allocated: Decimal, cancelled: bool
) -> str:
    """Classify an invoice: cancelled, unpaid, partially_paid, paid, overpaid."""
    if cancelled:
        return "cancelled"
    due = payable - credited
    if allocated > due:
        return "overpaid"
    if allocated == due:
        return "paid"
    if allocated > 0:
        return "partially_paid"
    return "unpaid"


@dataclass(frozen=True)
class CorrectionShare:
    """How much of a correction was set off against its original, and how much is owed back."""

    applied: Decimal
    refund_due: Decimal

    @property
    def status(self) -> str:
        return "refund_due" if self.refund_due > 0 else "applied"


def split_corrections(*, claim: Decimal, corrections: list[Decimal]) -> list[CorrectionShare]:
    """Apply corrections (in finalization order) to the claim left on their original (pure).

    ``claim`` is the original's payable amount − allocated payments − write-offs. Each
    correction takes what is left of the claim; the rest of it is owed back.
    """
    left = max(claim, ZERO)
    shares = []
    for amount in corrections:
        applied = min(amount, left)
        left -= applied
        shares.append(CorrectionShare(applied=applied, refund_due=amount - applied))
    return shares


class Correctable(Protocol):
    """What ``correction_shares`` reads of a document: an Invoice, or a row read for one."""

    @property
    def kind(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def original_id(self) -> int | None: ...


def correction_shares(corrections: Iterable[Correctable]) -> dict[int, CorrectionShare]:
    """The share of each finalized correction in ``corrections`` (by the correction's id;
    other documents are passed over): two queries for any number."""
    original_ids = {
        c.original_id
        for c in corrections
        if c.kind != Kind.INVOICE and c.original_id is not None and c.status == Status.FINALIZED
    }
    if not original_ids:
        return {}
    claims = {
        row["pk"]: row["payable_amount"] - row["allocated_amount"] - row["written_off_amount"]
        for row in with_open_amounts(Invoice.objects.filter(pk__in=original_ids)).values(
            "pk", "payable_amount", "allocated_amount", "written_off_amount"
        )
    }
    siblings: dict[int, list[tuple[int, Decimal]]] = {}
    for pk, original_id, total in (
        Invoice.objects.filter(original_id__in=original_ids, status=Status.FINALIZED)
        .order_by("finalized_at", "pk")
        .values_list("pk", "original_id", "grand_total")
    ):
        siblings.setdefault(original_id, []).append((pk, total))
    result: dict[int, CorrectionShare] = {}
    for original_id, rows in siblings.items():
        shares = split_corrections(
            claim=round_money(claims[original_id]), corrections=[total for _, total in rows]
        )
        result.update({pk: share for (pk, _), share in zip(rows, shares, strict=True)})
    return result


def is_overdue(*, due_date: dt.date | None, open_amount: Decimal, today: dt.date) -> bool:
    return due_date is not None and open_amount > 0 and due_date < today


def settlement(invoice: Invoice, *, today: dt.date) -> dict[str, object]:
    """Return open amount, payment status and overdue flag of one finalized document."""
    if invoice.kind != Kind.INVOICE:
        share = correction_shares([invoice]).get(invoice.pk)
        refund_due = share.refund_due if share else ZERO
        return {
            "open_amount": refund_due,
            "payment_status": share.status if share else "applied",
            "overdue": False,
        }
    row = (
        with_open_amounts(Invoice.objects.filter(pk=invoice.pk))
        .values("credited_amount", "allocated_amount", "written_off_amount", "open_amount")
        .get()
    )
    cancelled = Invoice.objects.filter(
        original=invoice, kind=Kind.CANCELLATION, status=Status.FINALIZED
    ).exists()
    status = payment_status(
        payable=invoice.payable_amount,
        credited=row["credited_amount"],
        # A written-off difference is settled like a payment.
        allocated=row["allocated_amount"] + row["written_off_amount"],
        cancelled=cancelled,
    )
    return {
        "open_amount": row["open_amount"],
        "payment_status": status,
        "overdue": invoice.kind == Kind.INVOICE
        and is_overdue(due_date=invoice.due_date, open_amount=row["open_amount"], today=today),
    }


OPEN_AMOUNT_FIELDS = ("credited_amount", "allocated_amount", "written_off_amount", "open_amount")


def attach_open_amounts(invoices: list[Invoice]) -> list[Invoice]:
    """Set the ``with_open_amounts`` figures on invoices already read (a page of a list):
    the sums are then read for these rows only, not for every row the filters select."""
    figures = {
        row["pk"]: row
        for row in with_open_amounts(
            Invoice.objects.filter(pk__in=[invoice.pk for invoice in invoices])
        ).values("pk", *OPEN_AMOUNT_FIELDS)
    }
    for invoice in invoices:
        for name in OPEN_AMOUNT_FIELDS:
            setattr(invoice, name, figures[invoice.pk][name])
    return invoices


@dataclass(frozen=True)
class OpenItems:
    """The finalized invoices with something open, column by column: dates as day numbers,
    amounts in cents, so that keeping and reading them back costs milliseconds."""

    pks: list[int]
    columns: dict[str, list[Any]]  # issue_date, due_date, number, payable_amount, open_amount

    def ids(
        self, *, overdue_at: dt.date | None = None, sort: str = "", descending: bool = False
    ) -> list[int]:
        """The ids, only those past due at ``overdue_at`` if given, ordered by the column
        ``sort`` (then by id) as PostgreSQL orders: no due date counts as the largest."""
        due = self.columns["due_date"]
        rows: Iterable[int] = range(len(self.pks))
        if overdue_at is not None:
            day = overdue_at.toordinal()
            rows = [row for row in rows if due[row] is not None and due[row] < day]
        if not sort:
            return [self.pks[row] for row in rows]
        values, pks = self.columns[sort], self.pks
        ordered = sorted(
            rows,
            key=lambda row: (values[row] is None, values[row] or 0, pks[row]),
            reverse=descending,
        )
        return [pks[row] for row in ordered]


def open_items() -> OpenItems:
    """The finalized invoices with something open now.

    Kept (cache ``figures``) until the audit log changes, which every change of money
    writes: the back office's "open" and "overdue" lists then sort and page these rows
    instead of summing every invoice's payments on every request."""
    from django.core.cache import caches

    from faktura.core import audit

    key = f"open-items:{audit.version()}"
    cache = caches["figures"]
    found: OpenItems | None = cache.get(key)
    if found is None:
        rows = list(
            with_open_amounts(Invoice.objects.filter(status=Status.FINALIZED, kind=Kind.INVOICE))
            .filter(open_amount__gt=0)
            .values_list("pk", "issue_date", "due_date", "number", "payable_amount", "open_amount")
        )
        found = OpenItems(
            pks=[row[0] for row in rows],
            columns={
                "issue_date": [row[1].toordinal() for row in rows],
                "due_date": [row[2].toordinal() if row[2] else None for row in rows],
                "number": [row[3] for row in rows],
                "payable_amount": [int(row[4] * 100) for row in rows],
                "open_amount": [int(row[5] * 100) for row in rows],
            },
        )
        cache.set(key, found)
    return found


def filter_by_payment_state(queryset: InvoiceQuerySet, state: str, today: dt.date) -> QuerySet[Any]:
    """Filter invoices for the API's ``status`` parameter (open, paid, overdue …)."""
    annotated = with_open_amounts(queryset)
    if state == "open":
        return annotated.filter(status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__gt=0)
    if state == "paid":
        return annotated.filter(
            status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__lte=0
        ).exclude(corrections__kind=Kind.CANCELLATION, corrections__status=Status.FINALIZED)
    if state == "cancelled":
        return annotated.filter(
            corrections__kind=Kind.CANCELLATION, corrections__status=Status.FINALIZED
        )
    if state == "overdue":
        return annotated.filter(
            Q(status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__gt=0, due_date__lt=today)
        )
    return annotated.filter(status=state)


SETTLEMENTS = ("unpaid", "partially_paid", "paid")


def filter_by_settlement(annotated: QuerySet[Any], settlement: str) -> QuerySet[Any]:
    """Finalized invoices by how far they are paid, on a ``with_open_amounts`` queryset:
    ``unpaid`` (nothing paid or written off), ``partially_paid`` (something, not all),
    ``paid`` (nothing open, not cancelled)."""
    invoices = annotated.filter(status=Status.FINALIZED, kind=Kind.INVOICE)
    settled = Q(allocated_amount__gt=0) | Q(written_off_amount__gt=0)
    if settlement == "unpaid":
        return invoices.filter(open_amount__gt=0).exclude(settled)
    if settlement == "partially_paid":
        return invoices.filter(settled, open_amount__gt=0)
    if settlement == "paid":
        return invoices.filter(open_amount__lte=0).exclude(
            corrections__kind=Kind.CANCELLATION, corrections__status=Status.FINALIZED
        )
    raise ValueError(f"unknown settlement {settlement!r}")


def only_overdue(annotated: QuerySet[Any], today: dt.date) -> QuerySet[Any]:
    """Invoices past their due date with something open, on a ``with_open_amounts`` queryset."""
    return annotated.filter(
        status=Status.FINALIZED, kind=Kind.INVOICE, open_amount__gt=0, due_date__lt=today
    )


def search(queryset: QuerySet[Any], text: str) -> QuerySet[Any]:
    """Documents a person looks for by what they know: the document or customer number,
    part of the customer's name or e-mail address, or the amount ("1.234,56", "1234.56")."""
    from faktura.core import bulk
    from faktura.customers.models import Customer

    text = text.strip()
    if not text:
        return queryset
    # The customers first, on their own table: the invoices' condition is then one on
    # their own columns, which PostgreSQL answers from indexes (trigram, customer).
    customers = list(
        Customer.objects.filter(
            Q(number__iexact=text) | Q(name__icontains=text) | Q(email__icontains=text)
        ).values_list("pk", flat=True)
    )
    found = Q(number__icontains=text)
    if customers:
        found |= bulk.column_in(Invoice, "customer_id", customers)
    amount = parse_amount(text)
    if amount is not None:
        found |= Q(payable_amount=amount) | Q(grand_total=amount)
    return queryset.filter(found)


def parse_amount(text: str) -> Decimal | None:
    """An amount as people type it: 1.234,56 / 1234,56 / 1,234.56 / 1234.56 / 1234 (€)."""
    compact = text.replace("€", "").replace("EUR", "").replace(" ", "").replace("\xa0", "")
    if not compact or not all(c.isdigit() or c in ".,-" for c in compact):
        return None
    if "," in compact and (compact.rfind(",") > compact.rfind(".")):
        compact = compact.replace(".", "").replace(",", ".")  # German: 1.234,56
    else:
        compact = compact.replace(",", "")  # English: 1,234.56
    try:
        value = Decimal(compact)
    except InvalidOperation:
        return None
    return value if value == value.quantize(Decimal("0.01")) else None


def receivables_by_customer(
    customer_ids: Iterable[int], on: dt.date
) -> dict[int, tuple[Decimal, Decimal]]:
    """Per customer what their finalized invoices still claim, and the part past due."""
    rows = (
        with_open_amounts(
            Invoice.objects.filter(
                customer_id__in=list(customer_ids), status=Status.FINALIZED, kind=Kind.INVOICE
            )
        )
        .filter(open_amount__gt=0)
        .values("customer_id")
        .annotate(
            open_total=Sum("open_amount"),
            overdue_total=Coalesce(Sum("open_amount", filter=Q(due_date__lt=on)), Value(ZERO)),
        )
        .order_by()
    )
    return {row["customer_id"]: (row["open_total"], row["overdue_total"]) for row in rows}
