"""The frozen parts of invoices as the API shows them (lines, allowances, VAT breakdown).

A finalized document never changes (DESIGN invariant 2; the model layer refuses it), so each
web process keeps the presented parts of the finalized documents it served, keyed by id and
content hash: a detail or list read then needs no query for them. Drafts are read every time.
What changes after finalization (open amount, payment status, dispute, delivery) is never
kept here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faktura.api import schemas
from faktura.invoicing.models import (
    FINALIZED_STATES,
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
    InvoiceTax,
)

# About 2 KB a document: at most a few dozen MB a process.
MAX_DOCUMENTS = 20_000


@dataclass(frozen=True)
class Parts:
    lines: list[schemas.InvoiceLineOut]
    allowances: list[schemas.InvoiceAllowanceOut]
    taxes: list[schemas.InvoiceTaxOut]


class _Cache:
    """A least-recently-used map, safe for the threads of one process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, str], Parts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str]) -> Parts | None:
        with self._lock:
            parts = self._items.get(key)
            if parts is not None:
                self._items.move_to_end(key)
            return parts

    def put(self, key: tuple[int, str], parts: Parts) -> None:
        with self._lock:
            self._items[key] = parts
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_frozen = _Cache(MAX_DOCUMENTS)


def clear() -> None:
    _frozen.clear()


def _key(invoice: Invoice) -> tuple[int, str] | None:
    # The content hash covers every frozen figure and part: an id used again after a
    # restore from an older backup never finds another document's parts.
    if invoice.status in FINALIZED_STATES and invoice.content_hash:
        return (invoice.pk, invoice.content_hash)
    return None


def attach(invoices: Iterable[Invoice]) -> None:
    """Set ``api_parts`` on each invoice: kept ones from memory, the rest in three queries."""
    from faktura.api import presenters

    missing: dict[int, Invoice] = {}
    for invoice in invoices:
        key = _key(invoice)
        parts = _frozen.get(key) if key else None
        if parts is None:
            missing[invoice.pk] = invoice
        else:
            invoice.api_parts = parts  # type: ignore[attr-defined]
    if not missing:
        return
    grouped: dict[int, dict[str, list[Any]]] = {
        pk: {"lines": [], "allowances": [], "taxes": []} for pk in missing
    }
    lines = (
        InvoiceLine.objects.filter(invoice_id__in=list(missing))
        .select_related("credited_line")
        .order_by("invoice_id", "position")
    )
    for line in lines:
        grouped[line.invoice_id]["lines"].append(presenters.line(line))
    with_allowances = [pk for pk, invoice in missing.items() if invoice.allowance_total]
    # No allowance total, no allowances (BR-CO-11).
    if with_allowances:
        for allowance in InvoiceAllowance.objects.filter(invoice_id__in=with_allowances).order_by(
            "invoice_id", "pk"
        ):
            grouped[allowance.invoice_id]["allowances"].append(presenters.allowance(allowance))
    for tax in InvoiceTax.objects.filter(invoice_id__in=list(missing)).order_by("invoice_id", "pk"):
        grouped[tax.invoice_id]["taxes"].append(presenters.tax(tax))
    for pk, invoice in missing.items():
        parts = Parts(**grouped[pk])
        invoice.api_parts = parts  # type: ignore[attr-defined]
        key = _key(invoice)
        if key:
            _frozen.put(key, parts)
