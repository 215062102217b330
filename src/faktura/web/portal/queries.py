"""What a customer sees in the portal, always read through their own customer id.

Every function takes the signed-in customer's id and filters by it first: another
customer's document, notice or letter is simply not found (404), by construction.
Drafts never appear: only finalized documents exist for a customer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from faktura.core.money import ZERO
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice, Kind, Status


@dataclass(frozen=True)
class DocumentRow:
    """One document as the customer's list and detail page show it."""

    invoice: Any  # annotated with the open amounts (invoicing.selectors.with_open_amounts)
    amount: Decimal
    open_amount: Decimal
    state: str  # open, partially_paid, overdue, paid, cancelled, applied, refund_due

    @property
    def is_invoice(self) -> bool:
        return bool(self.invoice.kind == Kind.INVOICE)

    @property
    def payable(self) -> bool:
        """Whether the customer can pay something on it now."""
        return self.is_invoice and self.state in ("open", "partially_paid", "overdue")

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def _documents(customer_id: int) -> QuerySet[Any]:
    cancelled = Invoice.objects.filter(
        original=OuterRef("pk"), kind=Kind.CANCELLATION, status=Status.FINALIZED
    )
    return selectors.with_open_amounts(
        Invoice.objects.filter(customer_id=customer_id, status=Status.FINALIZED)
    ).annotate(is_cancelled=Exists(cancelled))


def _rows(invoices: list[Any], today: dt.date) -> list[DocumentRow]:
    shares = selectors.correction_shares([i for i in invoices if i.kind != Kind.INVOICE])
    rows = []
    for invoice in invoices:
        if invoice.kind != Kind.INVOICE:
            share = shares.get(invoice.pk)
            refund_due = share.refund_due if share else ZERO
            rows.append(
                DocumentRow(
                    invoice=invoice,
                    amount=invoice.grand_total,
                    open_amount=refund_due,
                    state="refund_due" if refund_due > 0 else "applied",
                )
            )
            continue
        open_amount = invoice.open_amount
        # The domain's classification (as the API's), with "overdue" on top for the page.
        status = selectors.payment_status(
            payable=invoice.payable_amount,
            credited=invoice.credited_amount,
            # A written-off difference is settled like a payment.
            allocated=invoice.allocated_amount + invoice.written_off_amount,
            cancelled=invoice.is_cancelled,
        )
        if status in ("paid", "overpaid", "cancelled") or open_amount <= 0:
            state = "cancelled" if status == "cancelled" else "paid"
        elif selectors.is_overdue(due_date=invoice.due_date, open_amount=open_amount, today=today):
            state = "overdue"
        else:
            state = "partially_paid" if status == "partially_paid" else "open"
        rows.append(
            DocumentRow(
                invoice=invoice, amount=invoice.payable_amount, open_amount=open_amount, state=state
            )
        )
    return rows


def documents(customer_id: int, *, today: dt.date) -> list[DocumentRow]:
    """The customer's finalized documents, newest first."""
    invoices = list(_documents(customer_id).order_by("-issue_date", "-pk"))
    return _rows(invoices, today)


def document(customer_id: int, invoice_id: int, *, today: dt.date) -> DocumentRow:
    """One of the customer's finalized documents; Http404 for anything else."""
    invoice = _documents(customer_id).filter(pk=invoice_id).select_related("original").first()
    if invoice is None:
        raise Http404
    return _rows([invoice], today)[0]


def own_document_id(customer_id: int, invoice_id: int) -> int:
    """``invoice_id`` if it is one of the customer's finalized documents; Http404 otherwise."""
    if not Invoice.objects.filter(
        pk=invoice_id, customer_id=customer_id, status=Status.FINALIZED
    ).exists():
        raise Http404
    return invoice_id


def totals(rows: list[DocumentRow]) -> dict[str, Decimal]:
    """What the start page sums up: open and overdue of the invoices, refunds owed."""
    return {
        "open": sum((r.open_amount for r in rows if r.payable), ZERO),
        "overdue": sum((r.open_amount for r in rows if r.overdue), ZERO),
        "overdue_count": Decimal(sum(1 for r in rows if r.overdue)),
        "refund_due": sum((r.open_amount for r in rows if r.state == "refund_due"), ZERO),
    }


def notices(customer_id: int) -> QuerySet[Any]:
    """The payment reminders and dunning notices sent to the customer, newest first."""
    from faktura.dunning.models import DunningNotice

    return (
        DunningNotice.objects.filter(customer_id=customer_id, status=DunningNotice.Status.SENT)
        .select_related("letter")
        .prefetch_related("items")
        .order_by("-notice_date", "-pk")
    )


def notice_letter(customer_id: int, notice_id: int) -> tuple[str, bytes]:
    """The archived letter of one of the customer's sent notices: file name and the bytes
    (SHA-256 checked). Http404 for anything else or a notice without a letter."""
    from faktura.dunning.letter import ATTACHMENT_PREFIX, attachment
    from faktura.dunning.models import DunningNotice, NoticeLetter

    letter = NoticeLetter.objects.filter(
        notice_id=notice_id,
        notice__customer_id=customer_id,
        notice__status=DunningNotice.Status.SENT,
    ).first()
    if letter is None:
        raise Http404
    found = attachment(f"{ATTACHMENT_PREFIX}{letter.pk}")
    assert found is not None
    filename, data, _content_type = found
    return filename, data


@dataclass(frozen=True)
class Transfer:
    """How to pay a document by bank transfer: the account on the document, the open
    amount, the document number as reference, and the EPC QR payload (GiroCode)."""

    account_holder: str
    iban: str
    bic: str
    bank_name: str
    amount: Decimal
    reference: str
    epc_payload: str  # "" when the account cannot be put into a GiroCode


def transfer(row: DocumentRow) -> Transfer | None:
    """The transfer details of a payable document (the account frozen into it), or None."""
    from faktura.core.errors import InvalidInput
    from faktura.documents.pdf import texts
    from faktura.documents.pdf.qr import epc_payload

    seller = row.invoice.seller or {}
    bank = seller.get("bank") or {}
    if not row.payable or not bank.get("iban"):
        return None
    holder = bank.get("account_holder") or seller.get("name", "")
    reference = row.invoice.number or ""
    try:
        payload = epc_payload(
            name=holder,
            iban=bank["iban"],
            bic=bank.get("bic", ""),
            amount=row.open_amount,
            remittance=reference,
        )
    except InvalidInput:
        payload = ""
    return Transfer(
        account_holder=holder,
        iban=texts.format_iban(bank["iban"]),
        bic=bank.get("bic", ""),
        bank_name=bank.get("bank_name", ""),
        amount=row.open_amount,
        reference=reference,
        epc_payload=payload,
    )
