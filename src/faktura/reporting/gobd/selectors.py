"""The rows of each GoBD table for one year, streamed in chunks, one query per table.

Each selector returns the queryset (for counting) and streams tuples in the column order of
``layout``; nothing is read row by row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet

from faktura.core.models import AuditEntry, Company
from faktura.customers.models import Customer
from faktura.dunning.models import DunningNotice
from faktura.invoicing.models import Invoice, InvoiceLine, InvoiceTax
from faktura.payments.models import Allocation, Payment

CHUNK = 2000


@dataclass(frozen=True)
class Year:
    year: int
    time_zone: str

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, 12, 31)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Start of the year and of the next one, in the company's time zone."""
        zone = ZoneInfo(self.time_zone)
        return (
            dt.datetime(self.year, 1, 1, tzinfo=zone),
            dt.datetime(self.year + 1, 1, 1, tzinfo=zone),
        )

    def local(self, moment: dt.datetime | None) -> dt.datetime | None:
        return None if moment is None else moment.astimezone(ZoneInfo(self.time_zone))


def year_of(year: int) -> Year:
    return Year(year=year, time_zone=Company.time_zone_or_default())


def invoices(year: Year) -> QuerySet[Invoice]:
    return Invoice.objects.finalized().filter(issue_date__year=year.year)


def payments(year: Year) -> QuerySet[Payment]:
    return Payment.objects.filter(date__year=year.year)


def allocations(year: Year) -> QuerySet[Allocation]:
    return Allocation.objects.filter(payment__date__year=year.year)


def dunning_notices(year: Year) -> QuerySet[DunningNotice]:
    return DunningNotice.objects.filter(notice_date__year=year.year).exclude(
        status=DunningNotice.Status.CANCELLED
    )


def customers(year: Year) -> QuerySet[Customer]:
    """Every customer a document, payment or notice of the year refers to."""
    return Customer.objects.filter(
        Q(pk__in=invoices(year).values("customer_id"))
        | Q(pk__in=payments(year).filter(customer__isnull=False).values("customer_id"))
        | Q(pk__in=dunning_notices(year).values("customer_id"))
    )


def lines(year: Year) -> QuerySet[InvoiceLine]:
    return InvoiceLine.objects.filter(invoice__in=invoices(year).values("pk"))


def taxes(year: Year) -> QuerySet[InvoiceTax]:
    return InvoiceTax.objects.filter(invoice__in=invoices(year).values("pk"))


def audit_log(year: Year) -> QuerySet[AuditEntry]:
    start, end = year.bounds()
    return AuditEntry.objects.filter(created_at__gte=start, created_at__lt=end)


def _stream(queryset: QuerySet[Any], *fields: str) -> Iterator[tuple[Any, ...]]:
    return queryset.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK)


def customer_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    for row in _stream(
        customers(year),
        "pk",
        "number",
        "kind",
        "name",
        "street",
        "house_number",
        "postcode",
        "city",
        "country",
        "vat_id",
        "leitweg_id",
        "email",
        "created_at",
    ):
        yield (*row[:-1], year.local(row[-1]))


def invoice_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    for row in _stream(
        invoices(year),
        "pk",
        "kind",
        "number",
        "customer_id",
        "original_id",
        "issue_date",
        "service_date_start",
        "service_date_end",
        "due_date",
        "currency",
        "line_total",
        "allowance_total",
        "tax_basis_total",
        "tax_total",
        "grand_total",
        "payable_amount",
        "finalized_by",
        "finalized_at",
        "content_hash",
    ):
        yield (*row[:-2], year.local(row[-2]), row[-1])


def line_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    return _stream(
        lines(year),
        "pk",
        "invoice_id",
        "position",
        "sku",
        "name",
        "quantity",
        "unit_code",
        "net_unit_price",
        "net_discount_amount",
        "net_amount",
        "tax_category",
        "tax_rate",
    )


def tax_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    return _stream(
        taxes(year),
        "pk",
        "invoice_id",
        "category",
        "rate",
        "taxable_amount",
        "tax_amount",
        "exemption_reason",
    )


def payment_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    return _stream(
        payments(year),
        "pk",
        "customer_id",
        "date",
        "amount",
        "currency",
        "method",
        "source",
        "reference",
        "payer_name",
        "payer_iban",
        "external_id",
        "created_by",
    )


def allocation_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    for (
        pk,
        payment_id,
        invoice_id,
        amount,
        created_at,
        created_by,
        reversed_at,
        reversed_by,
        reason,
    ) in _stream(
        allocations(year),
        "pk",
        "payment_id",
        "invoice_id",
        "amount",
        "created_at",
        "created_by",
        "reversed_at",
        "reversed_by",
        "reversal_reason",
    ):
        yield (
            pk,
            payment_id,
            invoice_id,
            amount,
            year.local(created_at),
            created_by,
            year.local(reversed_at),
            reversed_by,
            reason,
        )


def dunning_notice_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    return _stream(
        dunning_notices(year),
        "pk",
        "customer_id",
        "invoice_id",
        "level",
        "level_name",
        "notice_date",
        "deadline",
        "status",
        "principal_total",
        "fees_total",
        "interest_total",
        "return_fees_total",
        "total",
    )


def audit_rows(year: Year) -> Iterator[tuple[Any, ...]]:
    for (
        pk,
        chain,
        sequence,
        created_at,
        actor,
        action,
        object_type,
        object_id,
        data,
        previous_hash,
        entry_hash,
    ) in _stream(
        audit_log(year),
        "pk",
        "chain__key",
        "sequence",
        "created_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "data",
        "previous_hash",
        "entry_hash",
    ):
        moment = year.local(created_at)
        assert moment is not None
        yield (
            pk,
            chain,
            sequence,
            moment.date(),
            moment.strftime("%H:%M:%S"),
            actor,
            action,
            object_type,
            object_id,
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True),
            previous_hash,
            entry_hash,
        )


# table key → its rows, and the queryset whose count is its row count
ROWS: dict[str, Callable[[Year], Iterator[tuple[Any, ...]]]] = {
    "customers": customer_rows,
    "invoices": invoice_rows,
    "lines": line_rows,
    "taxes": tax_rows,
    "payments": payment_rows,
    "allocations": allocation_rows,
    "dunning_notices": dunning_notice_rows,
    "audit_log": audit_rows,
}

QUERYSETS: dict[str, Callable[[Year], QuerySet[Any]]] = {
    "customers": customers,
    "invoices": invoices,
    "lines": lines,
    "taxes": taxes,
    "payments": payments,
    "allocations": allocations,
    "dunning_notices": dunning_notices,
    "audit_log": audit_log,
}
