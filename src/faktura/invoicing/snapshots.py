"""Build the DocumentSnapshot that renderers receive from a finalized document.

``snapshot_for`` reads the lines, allowances and taxes of the document: one query each, or
none when the caller loaded them for a whole chunk with ``prefetch_snapshot_parts`` (which
also loads the originals of corrections). Either way they are ordered here, in Python, so a
document gives the same snapshot (and the same bytes) on both paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import prefetch_related_objects

from faktura.documents.snapshot import (
    AllowanceSnapshot,
    BankSnapshot,
    DirectDebitSnapshot,
    DocumentSnapshot,
    LineSnapshot,
    PartySnapshot,
    TaxSnapshot,
)
from faktura.invoicing.models import Invoice, InvoiceAllowance, InvoiceLine, InvoiceTax, Kind

_PARTY_FIELDS = set(PartySnapshot.__dataclass_fields__)


def prefetch_snapshot_parts(invoices: Iterable[Invoice]) -> None:
    """Load the lines, allowances, taxes and originals of many documents: two queries in
    all, one more for the allowances of the documents that have an allowance total and one
    for the originals of corrections, if any."""
    invoices = list(invoices)
    prefetch_related_objects(invoices, "lines", "taxes")
    # No allowance total, no allowances (BR-CO-11): ``_allowances`` reads none for them.
    with_allowances = [invoice for invoice in invoices if invoice.allowance_total]
    if with_allowances:
        prefetch_related_objects(with_allowances, "allowances")
    corrections = [invoice for invoice in invoices if invoice.original_id is not None]
    if corrections:
        prefetch_related_objects(corrections, "original")


def _prefetched(invoice: Invoice, relation: str) -> bool:
    return relation in getattr(invoice, "_prefetched_objects_cache", {})


def _lines(invoice: Invoice) -> list[InvoiceLine]:
    return sorted(invoice.lines.all(), key=lambda line: (line.position, line.pk))


def _allowances(invoice: Invoice) -> list[InvoiceAllowance]:
    if not invoice.allowance_total and not _prefetched(invoice, "allowances"):
        # No allowance total, no allowances (BR-CO-11): spares the query, as the content
        # hash does.
        return []
    return sorted(invoice.allowances.all(), key=lambda a: (-a.tax_rate, a.tax_category, a.pk))


def _taxes(invoice: Invoice) -> list[InvoiceTax]:
    return sorted(invoice.taxes.all(), key=lambda t: (-t.rate, t.category, t.pk))


def _party(data: dict[str, Any]) -> PartySnapshot:
    return PartySnapshot(**{k: v for k, v in data.items() if k in _PARTY_FIELDS and v is not None})


def snapshot_for(
    invoice: Invoice, *, direct_debit: DirectDebitSnapshot | None = None
) -> DocumentSnapshot:
    """Return the frozen figures of a finalized document; no figure is computed here."""
    if not invoice.is_finalized or invoice.issue_date is None or invoice.number is None:
        raise ValueError(f"{invoice} is not finalized")
    seller, buyer = invoice.seller, invoice.buyer
    bank = seller.get("bank")
    original = invoice.original
    einvoice_format = "cii"
    if buyer.get("leitweg_id"):
        einvoice_format = f"xrechnung-{buyer.get('xrechnung_syntax') or 'cii'}"
    notes = tuple(note for note in (invoice.note,) if note)
    lines = _lines(invoice)
    service_start: dt.date | None = invoice.service_date_start
    service_end: dt.date | None = invoice.service_date_end
    if service_start is None and not (
        lines and all(line.service_date_start is not None for line in lines)
    ):
        service_start = service_end = invoice.issue_date
    payment_means = invoice.payment_method
    if payment_means == "direct_debit" and direct_debit is None:
        payment_means = "transfer"  # no usable mandate: the customer pays by transfer
    return DocumentSnapshot(
        kind=invoice.kind,  # type: ignore[arg-type]
        type_code=invoice.type_code,
        number=invoice.number,
        issue_date=invoice.issue_date,
        service_date_start=service_start,
        service_date_end=service_end,
        due_date=invoice.due_date,
        currency=invoice.currency,
        language=invoice.language,
        seller=_party(seller),
        buyer=_party(buyer),
        lines=tuple(
            LineSnapshot(
                position=line.position,
                name=line.name,
                description=line.description,
                sku=line.sku,
                quantity=line.quantity,
                unit_code=line.unit_code,
                unit_price=line.net_unit_price,
                gross_unit_price=line.unit_price if invoice.price_mode == "gross" else None,
                discount_amount=line.net_discount_amount,
                discount_percent=line.discount_percent or None,
                net_amount=line.net_amount,
                tax_category=line.tax_category,  # type: ignore[arg-type]
                tax_rate=line.tax_rate,
                gross_amount=line.gross_amount,
                service_date_start=line.service_date_start,
                service_date_end=line.service_date_end,
            )
            for line in lines
        ),
        allowances=tuple(
            AllowanceSnapshot(
                amount=a.amount,
                base_amount=a.base_amount,
                percent=a.percent,
                tax_category=a.tax_category,  # type: ignore[arg-type]
                tax_rate=a.tax_rate,
                reason=a.reason,
            )
            for a in _allowances(invoice)
        ),
        tax_breakdown=tuple(
            TaxSnapshot(
                category=t.category,  # type: ignore[arg-type]
                rate=t.rate,
                taxable_amount=t.taxable_amount,
                tax_amount=t.tax_amount,
                exemption_reason=t.exemption_reason,
                exemption_reason_code=t.exemption_reason_code,
            )
            for t in _taxes(invoice)
        ),
        line_total=invoice.line_total,
        allowance_total=invoice.allowance_total,
        tax_basis_total=invoice.tax_basis_total,
        tax_total=invoice.tax_total,
        grand_total=invoice.grand_total,
        prepaid_amount=invoice.grand_total - invoice.payable_amount,
        payable_amount=invoice.payable_amount,
        price_mode=invoice.price_mode,  # type: ignore[arg-type]
        payment_means=payment_means,  # type: ignore[arg-type]
        payment_term_days=invoice.payment_term_days,
        early_payment_discount_percent=invoice.early_payment_discount_percent
        if invoice.kind == Kind.INVOICE
        else None,
        early_payment_discount_days=invoice.early_payment_discount_days
        if invoice.kind == Kind.INVOICE
        else None,
        bank=BankSnapshot(**bank) if bank else None,
        direct_debit=direct_debit,
        buyer_reference=invoice.buyer_reference,
        order_reference=invoice.order_reference,
        preceding_invoice_number=original.number or "" if original else "",
        preceding_invoice_date=original.issue_date if original else None,
        notes=notes,
        small_business=bool(seller.get("small_business")),
        einvoice_format=einvoice_format,  # type: ignore[arg-type]
    )
