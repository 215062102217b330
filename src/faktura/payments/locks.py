"""Locks and input parsing shared by the payment and collection services.

Lock order (shared with invoicing and dunning, see invoicing/services.py): the customer's
account first (several customers: in id order), then invoices in id order, then
payments in id order, then other rows (mandates, items, refunds, batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError

from faktura.core import audit, validators
from faktura.core.errors import InvalidInput, NotFound
from faktura.core.money import parse_amount
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice
from faktura.payments.models import Payment


def lock_customer(customer_id: int, *, field: str | None = None) -> Customer:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(
            f"Customer {customer_id} does not exist.", code="customer_not_found", field=field
        )
    return customer


def lock_customers(customer_ids: Iterable[int]) -> dict[int, Customer]:
    ids = sorted(set(customer_ids))
    return {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_customer_ids(customer_ids: Iterable[int]) -> set[int]:
    """Lock the customers' accounts (id order) without reading them; the ids that exist."""
    ids = sorted(set(customer_ids))
    return set(
        Customer.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_invoices(
    invoice_ids: Iterable[int], *, fields: Sequence[str] | None = None
) -> dict[int, Invoice]:
    """Lock the invoices (id order); ``fields``: only these are read (bulk bookings)."""
    ids = sorted(set(invoice_ids))
    queryset = Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    if fields is not None:
        queryset = queryset.only(*fields)
    return {i.pk: i for i in queryset}


def lock_payments(payment_ids: Iterable[int]) -> dict[int, Payment]:
    ids = sorted(set(payment_ids))
    return {p.pk: p for p in Payment.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def chain_of(customer_id: int | None) -> str:
    return audit.customer_chain(customer_id) if customer_id else audit.COMPANY_CHAIN


def positive_amount(value: object, *, field: str = "amount") -> Decimal:
    """Parse a money amount that must be above zero (two decimals, no float)."""
    amount = parse_amount(value, field=field)
    if amount <= 0:
        raise InvalidInput(
            f"{field}: {amount} must be above zero", code="invalid_amount", field=field
        )
    return amount


def iban(value: str, *, field: str = "iban") -> str:
    try:
        return validators.normalize_iban(value)
    except ValidationError as error:
        raise InvalidInput(
            f"{field}: {' '.join(error.messages)}", code="invalid_iban", field=field
        ) from None


def bic(value: str, *, field: str = "bic") -> str:
    if not value:
        return ""
    try:
        return validators.normalize_bic(value)
    except ValidationError as error:
        raise InvalidInput(
            f"{field}: {' '.join(error.messages)}", code="invalid_bic", field=field
        ) from None


def business_date(value: object, *, field: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(
                f"{field}: {value!r} is not a date (YYYY-MM-DD)", code="invalid_date", field=field
            ) from None
    return value


def required_text(value: str | None, *, field: str, code: str, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required.", code=code, field=field)
    if len(text) > max_length:
        raise InvalidInput(
            f"{field} has {len(text)} characters; at most {max_length} are allowed.",
            code=f"invalid_{field}",
            field=field,
        )
    check_text(text, field=field, multiline=True)  # shown in statements, mails, the portal
    return text
