"""Reads of the dunning state for the back office: open cases by level, proposals waiting
for review, notices sent, blocks, instalment plans, collection cases, and one agreement,
notice or collection case with what belongs to it. Each a fixed number of queries,
whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from faktura.core.money import ZERO, round_money
from faktura.customers.models import Customer
from faktura.dunning.models import (
    CollectionCase,
    CollectionCaseInvoice,
    CollectionPayment,
    DunningCase,
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    DunningRun,
    Instalment,
    InstalmentAgreement,
    InstalmentAgreementInvoice,
)


@dataclass(frozen=True)
class LevelFigure:
    level: int
    name: str
    cases: int
    open_amount: Decimal


def open_cases_by_level() -> list[LevelFigure]:
    """Invoices in dunning still open and not handed to collection, per level reached."""
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts

    rows = (
        with_open_amounts(
            Invoice.objects.filter(
                dunning_case__isnull=False, dunning_case__handed_to_collection=False
            )
        )
        .filter(open_amount__gt=0)
        .values_list("dunning_case__level", "open_amount")
    )
    counts: dict[int, int] = {}
    sums: dict[int, Decimal] = {}
    for level, amount in rows:
        counts[level] = counts.get(level, 0) + 1
        sums[level] = sums.get(level, ZERO) + round_money(amount)
    names = level_names()
    return [
        LevelFigure(level, names.get(level, ""), counts[level], sums[level])
        for level in sorted(counts)
    ]


def level_names() -> dict[int, str]:
    """The level names of the default policy (the others name them alike)."""
    return dict(DunningLevel.objects.filter(policy__is_default=True).values_list("number", "name"))


def proposals() -> QuerySet[DunningNotice]:
    """Notices the run proposed and a person has to approve or discard, oldest first."""
    return (
        DunningNotice.objects.filter(status=DunningNotice.Status.PROPOSED)
        .select_related("customer")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=DunningNoticeItem.objects.filter(active=True).order_by("number"),
                to_attr="active_items",
            )
        )
        .order_by("notice_date", "pk")
    )


def sent_notices(*, text: str = "", level: int | None = None) -> QuerySet[DunningNotice]:
    """Notices sent (or approved and on their way), newest first, with their letter."""
    queryset = (
        DunningNotice.objects.filter(
            status__in=(DunningNotice.Status.SENT, DunningNotice.Status.APPROVED)
        )
        .select_related("customer", "letter")
        .order_by("-notice_date", "-pk")
    )
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(customer__number__iexact=text)
            | Q(customer__name__icontains=text)
            | Q(items__number__iexact=text)
        ).distinct()
    if level is not None:
        queryset = queryset.filter(level=level)
    return queryset


def blocked_customers(on: dt.date) -> QuerySet[Customer]:
    """Customers with a dunning block in force on ``on``."""
    return (
        Customer.objects.filter(dunning_block=True)
        .filter(Q(dunning_block_until__isnull=True) | Q(dunning_block_until__gte=on))
        .order_by("name", "pk")
    )


def instalment_agreements() -> QuerySet[InstalmentAgreement]:
    """Active agreements with their instalments, newest first."""
    return (
        InstalmentAgreement.objects.filter(status=InstalmentAgreement.Status.ACTIVE)
        .select_related("customer")
        .prefetch_related(Prefetch("instalments", queryset=Instalment.objects.order_by("number")))
        .order_by("-pk")
    )


def collection_cases() -> QuerySet[CollectionCase]:
    """Open collection cases (proposed, approved, handed over) with their claimed total."""
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
    return (
        CollectionCase.objects.filter(status__in=CollectionCase.OPEN_STATUSES)
        .select_related("customer", "export")
        .annotate(
            claimed=Coalesce(
                Sum("items__open_amount", filter=Q(items__active=True)),
                Value(ZERO),
                output_field=money,
            )
        )
        .prefetch_related(
            Prefetch(
                "items",
                queryset=CollectionCaseInvoice.objects.filter(active=True).select_related(
                    "invoice"
                ),
                to_attr="active_items",
            )
        )
        .order_by("status", "pk")
    )


def last_run() -> DunningRun | None:
    return DunningRun.objects.order_by("-started_at", "-pk").first()


def exports_ready() -> Any:
    """Approved cases not handed over yet (what an export would take)."""
    return CollectionCase.objects.filter(
        status=CollectionCase.Status.APPROVED, export__isnull=True
    ).count()


# --- one instalment agreement, one notice, one collection case --------------------------------


def instalment_candidates(customer_id: int) -> list[Any]:
    """The customer's finalized invoices with something open, oldest due first, each with
    ``open_amount``, ``agreement`` (the reference of an active agreement covering it, or
    None) and ``in_collection``: what the form of a new agreement offers (the service
    decides)."""
    from faktura.invoicing.models import Invoice, Kind, Status
    from faktura.invoicing.selectors import with_open_amounts

    covered = InstalmentAgreementInvoice.objects.filter(invoice=OuterRef("pk"), active=True)
    with_agency = CollectionCaseInvoice.objects.filter(invoice=OuterRef("pk"), active=True)
    return list(
        with_open_amounts(
            Invoice.objects.filter(
                customer_id=customer_id, status=Status.FINALIZED, kind=Kind.INVOICE
            )
        )
        .filter(open_amount__gt=0)
        .annotate(
            agreement=Subquery(covered.values("agreement__reference")[:1]),
            in_collection=Exists(with_agency)
            | Exists(DunningCase.objects.filter(invoice=OuterRef("pk"), handed_to_collection=True)),
        )
        .order_by("due_date", "pk")
    )


def customer_agreements(customer_id: int) -> QuerySet[InstalmentAgreement]:
    """All agreements of a customer, newest first."""
    return InstalmentAgreement.objects.filter(customer_id=customer_id).order_by("-pk")


@dataclass(frozen=True)
class AgreementView:
    agreement: InstalmentAgreement
    instalments: list[Instalment]
    invoices: list[Any]  # the covered invoices, each with open_amount (now) and agreed_amount
    paid: Decimal
    open: Decimal


def instalment_agreement(agreement_id: int) -> AgreementView | None:
    """An agreement with its instalments (paid and open as last brought up to date) and
    its invoices with what was open when it was agreed and what is open now."""
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts

    agreement = (
        InstalmentAgreement.objects.select_related("customer").filter(pk=agreement_id).first()
    )
    if agreement is None:
        return None
    instalments = list(agreement.instalments.order_by("number"))
    agreed = dict(agreement.items.values_list("invoice_id", "open_amount"))
    invoices = list(
        with_open_amounts(Invoice.objects.filter(pk__in=list(agreed))).order_by("due_date", "pk")
    )
    for invoice in invoices:
        invoice.agreed_amount = agreed[invoice.pk]
    paid = sum((i.paid_amount for i in instalments), ZERO)
    return AgreementView(
        agreement=agreement,
        instalments=instalments,
        invoices=invoices,
        paid=paid,
        open=sum((i.open_amount for i in instalments), ZERO),
    )


def notice(notice_id: int) -> DunningNotice | None:
    """One notice with its customer, letter, invoices (``all_items``) and its fees and
    interest (``all_fees``, each with its invoice)."""
    return (
        DunningNotice.objects.select_related("customer", "letter")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=DunningNoticeItem.objects.order_by("number", "pk"),
                to_attr="all_items",
            ),
            Prefetch(
                "fees",
                queryset=DunningFee.objects.select_related("invoice").order_by("pk"),
                to_attr="all_fees",
            ),
        )
        .filter(pk=notice_id)
        .first()
    )


@dataclass(frozen=True)
class AgencyPayment:
    entry: CollectionPayment
    allocations: list[tuple[str, Decimal]]  # (invoice number, amount), oldest due first
    unallocated: Decimal  # more than the case's invoices had open: the customer's credit


@dataclass(frozen=True)
class CaseView:
    case: CollectionCase
    invoices: list[Any]  # each with claimed (open when proposed) and open_amount (now)
    payments: list[AgencyPayment]
    claimed: Decimal
    collected: Decimal
    costs: Decimal
    open: Decimal


def agency_payments(entries: list[CollectionPayment]) -> list[AgencyPayment]:
    """What each payment of the agency was allocated to, and what was left over."""
    from faktura.payments.models import Allocation

    by_payment: dict[int, list[tuple[str, Decimal]]] = {}
    for payment_id, number, amount in (
        Allocation.objects.filter(
            payment_id__in=[e.payment_id for e in entries if e.payment_id],
            reversed_at__isnull=True,
        )
        .order_by("invoice__due_date", "invoice_id")
        .values_list("payment_id", "invoice__number", "amount")
    ):
        by_payment.setdefault(payment_id, []).append((number or "", amount))
    result = []
    for entry in entries:
        allocations = by_payment.get(entry.payment_id or 0, [])
        allocated = sum((amount for _number, amount in allocations), ZERO)
        result.append(AgencyPayment(entry, allocations, max(entry.amount - allocated, ZERO)))
    return result


def collection_case(case_id: int) -> CaseView | None:
    """A collection case with all its invoices (open when proposed and now), the agency's
    payments with their allocations, and the totals."""
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts

    case = CollectionCase.objects.select_related("customer", "export").filter(pk=case_id).first()
    if case is None:
        return None
    claimed = dict(case.items.values_list("invoice_id", "open_amount"))
    invoices = list(
        with_open_amounts(Invoice.objects.filter(pk__in=list(claimed))).order_by("due_date", "pk")
    )
    for invoice in invoices:
        invoice.claimed = claimed[invoice.pk]
    payments = agency_payments(list(case.payments.order_by("date", "pk")))
    return CaseView(
        case=case,
        invoices=invoices,
        payments=payments,
        claimed=sum(claimed.values(), ZERO),
        collected=sum((p.entry.amount for p in payments), ZERO),
        costs=sum((p.entry.costs for p in payments), ZERO),
        open=sum((max(round_money(i.open_amount), ZERO) for i in invoices), ZERO),
    )
