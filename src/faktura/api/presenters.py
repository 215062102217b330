"""Turn domain objects into API resources: strings for money, ISO dates, ids and numbers."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import CharField, Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import HttpResponse
from ninja import Schema

from faktura.api import invoice_parts, schemas
from faktura.catalog.models import Product, TaxRate
from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.core.models import AuditEntry
from faktura.core.money import format_amount
from faktura.customers.models import Customer
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice, InvoiceQuerySet, Kind, Status

T = TypeVar("T")


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def price(value: Decimal) -> str:
    """A unit price: at least two and at most four decimals (``"9.99"``, ``"0.1234"``)."""
    text = f"{value.quantize(Decimal('0.0001')):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction}"


def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros (``"2"``, ``"1.5"``)."""
    text = f"{value.quantize(Decimal('0.0001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format_amount(value)


def json_response(resource: Schema) -> HttpResponse:
    """``resource`` as the JSON body of a 200, written by pydantic-core in one pass.

    Returned as a schema, django-ninja would validate it again field by field (through its
    Django attribute getter) and then dump and encode it: for a list of 20 invoices with
    their lines that was most of the request's time. The body is the same JSON."""
    return json_body(resource.model_dump_json().encode())


def json_body(body: bytes) -> HttpResponse:
    """A 200 with a JSON body written already."""
    return HttpResponse(body, content_type="application/json; charset=utf-8")


# --- cursor pagination -------------------------------------------------------------------


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"after:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        label, _, pk = text.partition(":")
        if label != "after" or not pk.isdigit():
            raise ValueError(text)
        return int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "The cursor is not one this list returned.", code="invalid_cursor", field="cursor"
        ) from None


def page(
    queryset: QuerySet[Any],
    params: schemas.Page,
    present: Callable[[list[Any]], list[T]],
) -> dict[str, Any]:
    """One page in id order after the cursor; ``present`` turns the rows into resources."""
    if params.cursor:
        queryset = queryset.filter(pk__gt=decode_cursor(params.cursor))
    rows = list(queryset.order_by("pk")[: params.limit + 1])
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {
        "object": "list",
        "data": present(rows),
        "has_more": has_more,
        "next_cursor": encode_cursor(rows[-1].pk) if has_more else None,
    }


# --- resources ---------------------------------------------------------------------------


def customer(obj: Customer) -> schemas.CustomerOut:
    return schemas.CustomerOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        number=obj.number,
        kind=obj.kind,
        name=obj.name,
        contact_name=obj.contact_name,
        street=obj.street,
        house_number=obj.house_number,
        postcode=obj.postcode,
        city=obj.city,
        country=obj.country,
        email=obj.email,
        additional_emails=obj.additional_emails,
        phone=obj.phone,
        language=obj.language,
        vat_id=obj.vat_id,
        leitweg_id=obj.leitweg_id,
        xrechnung_syntax=obj.xrechnung_syntax,
        payment_term_days=obj.payment_term_days,
        preferred_payment_method=obj.preferred_payment_method,
        dunning_block=obj.dunning_block,
        dunning_block_until=obj.dunning_block_until,
        dunning_block_reason=obj.dunning_block_reason,
        credit_limit=_amount(obj.credit_limit),
        delivery_by_post=obj.delivery_by_post,
        open_disputes=_open_disputes(obj),
    )


def _open_disputes(obj: Customer) -> int:
    counted = getattr(obj, "open_dispute_count", None)
    if counted is not None:
        return int(counted)
    from faktura.payments.models import Dispute

    return Dispute.objects.filter(customer_id=obj.pk, cleared_at__isnull=True).count()


def customer_list(rows: Iterable[Customer]) -> list[schemas.CustomerOut]:
    """Present customers, counting their open disputes in one query."""
    from faktura.payments.models import Dispute

    rows = list(rows)
    counts = dict(
        Dispute.objects.filter(customer_id__in=[c.pk for c in rows], cleared_at__isnull=True)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values_list("customer_id", "n")
    )
    for row in rows:
        row.open_dispute_count = counts.get(row.pk, 0)  # type: ignore[attr-defined]
    return [customer(row) for row in rows]


def products() -> QuerySet[Product]:
    """Products with their creation time, taken from the audit log."""
    created = AuditEntry.objects.filter(
        object_type="product",
        object_id=Cast(OuterRef("pk"), CharField()),
        action="product.created",
    ).values("created_at")[:1]
    return Product.objects.select_related("tax_rate").annotate(api_created_at=Subquery(created))


def product(obj: Product) -> schemas.ProductOut:
    return schemas.ProductOut(
        id=obj.pk,
        created_at=timestamp(getattr(obj, "api_created_at", None)),
        sku=obj.sku,
        name=obj.name,
        description=obj.description,
        unit_code=obj.unit_code,
        price_mode=obj.price_mode,
        unit_price=price(obj.unit_price),
        tax_rate=obj.tax_rate.code,
        kind=obj.kind,  # type: ignore[arg-type]
        track_stock=obj.track_stock,
        stock_level=quantity(obj.stock_level),
        low_stock_threshold=quantity(obj.low_stock_threshold)
        if obj.low_stock_threshold is not None
        else None,
        active=obj.active,
    )


def tax_rate(obj: TaxRate) -> schemas.TaxRateOut:
    return schemas.TaxRateOut(
        id=obj.code,
        code=obj.code,
        name=obj.name,
        category=obj.category,
        rate=format_amount(obj.rate),
        exemption_reason=obj.exemption_reason,
        exemption_reason_code=obj.exemption_reason_code,
        active=obj.active,
    )


def invoices(queryset: InvoiceQuerySet | QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Invoices with what a resource shows: original, open amount, cancellation, dispute.

    The parts (lines, allowances, taxes) and open disputes are read by :func:`invoice_list`
    and :func:`invoice` for the rows that need them (``invoice_parts``).
    """
    from faktura.payments.models import Dispute

    if "open_amount" not in queryset.query.annotations:
        queryset = selectors.with_open_amounts(queryset)  # type: ignore[arg-type]
    cancelled = Invoice.objects.filter(
        original=OuterRef("pk"), kind=Kind.CANCELLATION, status=Status.FINALIZED
    )
    disputed = Dispute.objects.filter(invoice=OuterRef("pk"), cleared_at__isnull=True)
    return queryset.select_related("original", "order").annotate(
        is_cancelled=Exists(cancelled), has_open_dispute=Exists(disputed)
    )


def _attach_disputes(rows: list[Invoice]) -> None:
    """Set ``open_disputes`` on each row: one query for the rows that have any."""
    disputed = [row.pk for row in rows if getattr(row, "has_open_dispute", True)]
    found: dict[int, list[Any]] = {pk: [] for pk in disputed}
    if disputed:
        for dispute in _open_disputes_query().filter(invoice_id__in=disputed):
            found[dispute.invoice_id].append(dispute)
    for row in rows:
        row.open_disputes = found.get(row.pk, [])  # type: ignore[attr-defined]


def _open_disputes_query() -> QuerySet[Any]:
    """Open disputes with the mandate of the returned debit that opened them, if any."""
    from faktura.collection.models import DirectDebitItem
    from faktura.payments.models import Dispute

    mandate = DirectDebitItem.objects.filter(return_event=OuterRef("return_event")).values(
        "mandate_id"
    )[:1]
    return (
        Dispute.objects.filter(cleared_at__isnull=True)
        .annotate(mandate_id=Subquery(mandate))
        .order_by("opened_at", "pk")
    )


def _dispute(obj: Invoice) -> schemas.InvoiceDisputeOut | None:
    disputes = getattr(obj, "open_disputes", None)
    if disputes is None:
        disputes = list(_open_disputes_query().filter(invoice_id=obj.pk))
    if not disputes:
        return None
    first = disputes[0]
    return schemas.InvoiceDisputeOut(
        id=first.pk,
        reason_code=first.reason_code,
        opened_at=timestamp(first.opened_at) or "",
        mandate=first.mandate_id,
    )


def invoice(
    obj: Invoice,
    *,
    today: dt.date | None = None,
    shares: dict[int, selectors.CorrectionShare] | None = None,
) -> schemas.InvoiceOut:
    """Present one invoice; ``obj`` comes from :func:`invoices` or is re-read through it.

    ``shares``: the corrections' shares (``selectors.correction_shares``) when a list
    computed them for the whole page.
    """
    if not hasattr(obj, "open_amount"):
        obj = invoices(Invoice.objects.filter(pk=obj.pk)).get()
    if not hasattr(obj, "api_parts"):
        invoice_parts.attach([obj])
    if not hasattr(obj, "open_disputes"):
        _attach_disputes([obj])
    parts: invoice_parts.Parts = obj.api_parts  # type: ignore[attr-defined]
    finalized = obj.status == Status.FINALIZED
    open_amount: Decimal | None = obj.open_amount if finalized else None  # type: ignore[attr-defined]
    status = (
        selectors.payment_status(
            payable=obj.payable_amount,
            credited=obj.credited_amount,  # type: ignore[attr-defined]
            allocated=obj.allocated_amount,  # type: ignore[attr-defined]
            cancelled=obj.is_cancelled,  # type: ignore[attr-defined]
        )
        if finalized
        else None
    )
    if finalized and obj.kind != Kind.INVOICE:
        # A correction is not a receivable: applied to its original, or owed back.
        if shares is None:
            shares = selectors.correction_shares([obj])
        share = shares.get(obj.pk, selectors.CorrectionShare(obj.grand_total, Decimal("0.00")))
        open_amount, status = share.refund_due, share.status
    dispute = _dispute(obj)
    overdue = (
        finalized
        and obj.kind == Kind.INVOICE
        and selectors.is_overdue(
            due_date=obj.due_date,
            open_amount=obj.open_amount,  # type: ignore[attr-defined]
            today=today or clock.today(),
        )
    )
    return schemas.InvoiceOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        kind=obj.kind,  # type: ignore[arg-type]
        status=obj.status,  # type: ignore[arg-type]
        number=obj.number,
        customer=obj.customer_id,
        original_invoice=obj.original_id,
        original_invoice_number=obj.original.number if obj.original else None,
        order_reference=obj.order_reference,
        buyer_reference=obj.buyer_reference,
        currency=obj.currency,
        price_mode=obj.price_mode,  # type: ignore[arg-type]
        language=obj.language,
        issue_date=obj.issue_date,
        due_date=obj.due_date,
        service_period=schemas.ServicePeriodOut(
            start=obj.service_date_start, end=obj.service_date_end
        ),
        payment_term_days=obj.payment_term_days,
        payment_method=obj.payment_method,
        note=obj.note,
        buyer=obj.buyer,
        lines=parts.lines,
        allowances=parts.allowances,
        taxes=parts.taxes,
        line_total=format_amount(obj.line_total),
        allowance_total=format_amount(obj.allowance_total),
        tax_basis_total=format_amount(obj.tax_basis_total),
        tax_total=format_amount(obj.tax_total),
        grand_total=format_amount(obj.grand_total),
        payable_amount=format_amount(obj.payable_amount),
        open_amount=_amount(open_amount),
        payment_status=status,  # type: ignore[arg-type]
        overdue=bool(overdue),
        disputed=dispute is not None,
        dispute=dispute,
        approval_reasons=list(obj.approval_reasons or []),
        credit_check=_credit_check(obj),
        approved_by=obj.approved_by,
        rejection_reason=obj.rejection_reason,
        finalized_at=timestamp(obj.finalized_at),
        delivery_status=obj.delivery_status,  # type: ignore[arg-type]
        delivery_error=obj.delivery_error,
    )


def _credit_check(obj: Invoice) -> schemas.CreditCheckOut | None:
    """The credit check of the order the invoice was made from (sales.credit_check)."""
    if obj.order_id is None:
        return None
    order = obj.order
    assert order is not None
    return schemas.CreditCheckOut(
        decision=order.risk_decision,  # type: ignore[arg-type]
        score=order.risk_score,
        reasons=list(order.risk_reasons or []),
    )


def invoice_list(rows: Iterable[Invoice]) -> list[schemas.InvoiceOut]:
    today = clock.today()
    rows = list(rows)
    shares = selectors.correction_shares(rows)
    invoice_parts.attach(rows)
    _attach_disputes(rows)
    return [invoice(row, today=today, shares=shares) for row in rows]


def allowance(a: Any) -> schemas.InvoiceAllowanceOut:
    return schemas.InvoiceAllowanceOut(
        tax_category=a.tax_category,
        tax_rate=format_amount(a.tax_rate),
        amount=format_amount(a.amount),
        base_amount=format_amount(a.base_amount),
        percent=_amount(a.percent),
        reason=a.reason,
    )


def tax(t: Any) -> schemas.InvoiceTaxOut:
    return schemas.InvoiceTaxOut(
        category=t.category,
        rate=format_amount(t.rate),
        taxable_amount=format_amount(t.taxable_amount),
        tax_amount=format_amount(t.tax_amount),
        exemption_reason=t.exemption_reason,
        exemption_reason_code=t.exemption_reason_code,
    )


def line(line: Any) -> schemas.InvoiceLineOut:
    return schemas.InvoiceLineOut(
        position=line.position,
        product=line.product_id,
        credited_position=line.credited_line.position if line.credited_line else None,
        sku=line.sku,
        name=line.name,
        description=line.description,
        quantity=quantity(line.quantity),
        unit_code=line.unit_code,
        unit_price=price(line.unit_price),
        net_unit_price=price(line.net_unit_price),
        discount_percent=format_amount(line.discount_percent),
        discount_amount=format_amount(line.discount_amount),
        net_amount=format_amount(line.net_amount),
        gross_amount=_amount(line.gross_amount),
        tax_rate=line.tax_rate_code,
        tax_category=line.tax_category,
        tax_percent=format_amount(line.tax_rate),
        tax_exemption_reason=line.tax_exemption_reason,
        supply_kind=line.supply_kind,
        service_date_start=line.service_date_start,
        service_date_end=line.service_date_end,
    )
