"""Which drafts need a second person (four-eyes principle) before finalization."""

from __future__ import annotations

from faktura.core.models import Company
from faktura.invoicing.models import Invoice, Kind, Status


def reasons_for(
    invoice: Invoice, company: Company, *, has_paid_invoice: bool | None = None
) -> list[str]:
    """Return the approval rules that apply to ``invoice`` (empty: no approval needed).

    ``has_paid_invoice``: whether the customer paid an invoice before, when the caller
    knows it already (``customers_with_paid_invoice`` for a batch).
    """
    if invoice.kind != Kind.INVOICE or invoice.status == Status.APPROVED:
        return []
    reasons = []
    if company.approval_threshold is not None and invoice.grand_total > company.approval_threshold:
        reasons.append("amount_above_threshold")
    if company.approval_for_manual_invoices and invoice.is_manual:
        reasons.append("manual_invoice")
    if company.approval_for_new_customers and not (
        has_paid_invoice if has_paid_invoice is not None else _has_paid_invoice(invoice.customer_id)
    ):
        reasons.append("new_customer")
    return reasons


def _has_paid_invoice(customer_id: int) -> bool:
    from faktura.invoicing.selectors import with_open_amounts

    return (
        with_open_amounts(
            Invoice.objects.filter(customer_id=customer_id, kind=Kind.INVOICE).finalized()
        )
        .filter(open_amount__lte=0, payable_amount__gt=0)
        .exists()
    )


def customers_with_paid_invoice(customer_ids: set[int]) -> set[int]:
    """Of ``customer_ids``, those who paid an invoice before: one query for a batch."""
    from faktura.invoicing.selectors import with_open_amounts

    if not customer_ids:
        return set()
    return set(
        with_open_amounts(
            Invoice.objects.filter(customer_id__in=customer_ids, kind=Kind.INVOICE).finalized()
        )
        .filter(open_amount__lte=0, payable_amount__gt=0)
        .values_list("customer_id", flat=True)
        .distinct()
    )
