"""Reads of the dunning state for the back office: open cases by level, proposals waiting
for review, notices sent, blocks, instalment plans, collection cases. Each a fixed number
of queries, whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from faktura.core.money import ZERO, round_money
from faktura.customers.models import Customer
from faktura.dunning.models import (
    CollectionCase,
    CollectionCaseInvoice,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    DunningRun,
    Instalment,
    InstalmentAgreement,
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
