"""What a period holds for the accountant: documents, money in, fees, write-offs.

One query per kind of record for the whole period (payments split by invoice in SQL),
never one per document. Timestamps count by the business day in the company's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Q, Sum

from faktura.core.models import Company
from faktura.dunning.models import DunningFee
from faktura.invoicing.models import FINALIZED_STATES, InvoiceTax
from faktura.payments.models import Allocation, FeeItem, Payment, ReturnEvent, WriteOff


def _rows(queryset: Any) -> list[dict[str, Any]]:
    return list(queryset)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    time_zone: str

    @classmethod
    def of(cls, start: dt.date, end: dt.date) -> Period:
        return cls(start, end, Company.time_zone_or_default())

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The aware timestamps [start 00:00, day after end 00:00) in the company's zone."""
        zone = ZoneInfo(self.time_zone)
        return (
            dt.datetime.combine(self.start, dt.time(), tzinfo=zone),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
        )

    def day(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(ZoneInfo(self.time_zone)).date()

    def stamped(self, field: str) -> Q:
        low, high = self.bounds()
        return Q(**{f"{field}__gte": low, f"{field}__lt": high})


def document_taxes(period: Period) -> list[dict[str, Any]]:
    """The VAT breakdown lines (BG-23) of the documents finalized with an issue date in
    the period, each with its gross amount (basis + VAT)."""
    return _rows(
        InvoiceTax.objects.filter(
            invoice__status__in=FINALIZED_STATES,
            invoice__issue_date__gte=period.start,
            invoice__issue_date__lte=period.end,
        )
        .annotate(gross=F("taxable_amount") + F("tax_amount"))
        .values(
            "invoice_id",
            "category",
            "rate",
            "gross",
            number=F("invoice__number"),
            kind=F("invoice__kind"),
            issue_date=F("invoice__issue_date"),
            buyer=F("invoice__buyer"),
            customer_id=F("invoice__customer_id"),
            customer_number=F("invoice__customer__number"),
            original_number=F("invoice__original__number"),
        )
        .order_by("invoice__issue_date", "invoice__number", "category", "rate")
    )


def payments(period: Period) -> list[dict[str, Any]]:
    return _rows(
        Payment.objects.filter(date__gte=period.start, date__lte=period.end)
        .values(
            "id",
            "date",
            "amount",
            "customer_id",
            "payer_name",
            customer_number=F("customer__number"),
            customer_name=F("customer__name"),
        )
        .order_by("date", "id")
    )


def payment_allocations(period: Period) -> list[dict[str, Any]]:
    """Per payment of the period and invoice: the amount the payment settled there.

    Allocations reversed by a returned debit or chargeback count (the return is a booking
    of its own); ones released as a mistake do not (the money went elsewhere).
    """
    return _rows(
        Allocation.objects.filter(payment__date__gte=period.start, payment__date__lte=period.end)
        .filter(Q(reversed_at__isnull=True) | Q(return_event__isnull=False))
        .values("payment_id", number=F("invoice__number"))
        .annotate(total=Sum("amount"))
        .order_by("payment_id", "number")
    )


def returns(period: Period) -> list[dict[str, Any]]:
    """Returned debits and chargebacks: by the bank's booking date, else when recorded."""
    in_period = Q(booking_date__gte=period.start, booking_date__lte=period.end) | (
        Q(booking_date__isnull=True) & period.stamped("created_at")
    )
    return _rows(
        ReturnEvent.objects.filter(in_period, amount__gt=0)
        .values(
            "id",
            "kind",
            "amount",
            "booking_date",
            "created_at",
            "customer_id",
            customer_number=F("customer__number"),
            customer_name=F("customer__name"),
            number=F("invoice__number"),
        )
        .order_by("id")
    )


def fee_items(period: Period) -> list[dict[str, Any]]:
    """Fees charged on to customers (returned-debit fees); cancelled ones are not claims."""
    return _rows(
        FeeItem.objects.filter(period.stamped("created_at"))
        .exclude(state=FeeItem.State.CANCELLED)
        .values(
            "id",
            "amount",
            "reason",
            "created_at",
            "customer_id",
            customer_number=F("customer__number"),
            customer_name=F("customer__name"),
            number=F("invoice__number"),
        )
        .order_by("id")
    )


def dunning_fees(period: Period, *, waived: bool) -> list[dict[str, Any]]:
    """Dunning fees, flat fees and interest charged (or, ``waived``, waived) in the period."""
    field = "waived_at" if waived else "created_at"
    return _rows(
        DunningFee.objects.filter(period.stamped(field))
        .values(
            "id",
            "kind",
            "amount",
            "level",
            "customer_id",
            moment=F(field),
            customer_number=F("customer__number"),
            customer_name=F("customer__name"),
            number=F("invoice__number"),
        )
        .order_by("id")
    )


def write_offs(period: Period, *, reversed_: bool) -> list[dict[str, Any]]:
    field = "reversed_at" if reversed_ else "created_at"
    return _rows(
        WriteOff.objects.filter(period.stamped(field))
        .values(
            "id",
            "amount",
            "reason",
            "invoice_id",
            "customer_id",
            moment=F(field),
            customer_number=F("customer__number"),
            customer_name=F("customer__name"),
            number=F("invoice__number"),
        )
        .order_by("id")
    )


def tax_breakdowns(invoice_ids: set[int]) -> dict[int, list[tuple[str, Decimal, Decimal, Decimal]]]:
    """The VAT breakdown ``(category, rate, taxable, tax)`` of each invoice."""
    breakdowns: dict[int, list[tuple[str, Decimal, Decimal, Decimal]]] = {}
    rows = InvoiceTax.objects.filter(invoice_id__in=invoice_ids).values_list(
        "invoice_id", "category", "rate", "taxable_amount", "tax_amount"
    )
    for invoice_id, category, rate, taxable, tax in rows:
        breakdowns.setdefault(invoice_id, []).append((category, rate, taxable, tax))
    return breakdowns


def customers(customer_ids: set[int]) -> list[dict[str, Any]]:
    from faktura.customers.models import Customer

    return _rows(
        Customer.objects.filter(pk__in=customer_ids)
        .values(
            "id",
            "number",
            "kind",
            "name",
            "contact_name",
            "street",
            "house_number",
            "postcode",
            "city",
            "country",
            "email",
            "phone",
            "vat_id",
            "payment_term_days",
        )
        .order_by("number")
    )
