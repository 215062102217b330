"""A draft invoice by hand: customer, lines from the catalog or free, live totals.

The totals come from the invoicing service's preview (``preview_drafts``), the draft from
the order service (``place_order`` with the back office as source): this module only
reads the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from faktura.catalog.models import Product, TaxRate
from faktura.core import permissions
from faktura.core.errors import DomainError, InvalidInput
from faktura.customers.models import Customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.drafting import LineRequest
from faktura.invoicing.models import Invoice, Status
from faktura.sales.models import Order
from faktura.sales.services import place_order
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.views.invoice_corrections import QUANTITY_HELP, number_text

MAX_ROWS = 100


@dataclass
class Row:
    """One line of the form as typed."""

    index: int
    sku: str = ""
    name: str = ""
    price: str = ""
    tax: str = ""
    quantity: str = ""
    error: str = ""

    @property
    def empty(self) -> bool:
        return not (self.sku or self.name or self.price or self.quantity)


def _rows(request: HttpRequest) -> list[Row]:
    post = request.POST
    try:
        count = min(max(int(post.get("rows", "1")), 1), MAX_ROWS)
    except ValueError:
        count = 1
    rows = [
        Row(
            index=i,
            sku=post.get(f"sku_{i}", "").strip(),
            name=post.get(f"name_{i}", "").strip(),
            price=post.get(f"price_{i}", "").strip(),
            tax=post.get(f"tax_{i}", "").strip(),
            quantity=post.get(f"qty_{i}", "").strip(),
        )
        for i in range(count)
    ]
    if "add" in post and count < MAX_ROWS:
        rows.append(Row(index=count))
    return rows


def _line_requests(rows: list[Row]) -> tuple[list[LineRequest], list[Row]]:
    """The typed rows as line requests (empty rows left out); rows whose number is no
    number get their error and are left out too (the caller then creates nothing)."""
    lines: list[LineRequest] = []
    used: list[Row] = []
    for row in rows:
        if row.empty:
            continue
        quantity = number_text(row.quantity) if row.quantity else None
        if quantity is None:
            row.error = str(QUANTITY_HELP)
            continue
        if row.sku:
            lines.append(LineRequest(quantity=quantity, sku=row.sku))
        else:
            price = number_text(row.price) if row.price else None
            if price is None:
                row.error = gettext("Bitte geben Sie einen Einzelpreis wie 49,90 ein.")
                continue
            lines.append(
                LineRequest(
                    quantity=quantity,
                    name=row.name,
                    unit_price=price,
                    tax_rate=row.tax or None,
                )
            )
        used.append(row)
    return lines, used


def _mark(error: DomainError, used: list[Row]) -> str:
    """The German message; a refusal of one line (``lines[2].sku``) is also shown there."""
    text = message(error)
    field = error.field or ""
    if field.startswith("lines[") and "]" in field:
        index = field[len("lines[") : field.index("]")]
        if index.isdigit() and int(index) < len(used):
            row = used[int(index)]
            row.error = text
            return gettext("Position %(n)s: %(text)s") % {"n": row.index + 1, "text": text}
    return text


def _context(request: HttpRequest, rows: list[Row]) -> dict[str, Any]:
    return {
        "rows": rows,
        "row_count": len(rows),
        "customers": Customer.objects.order_by("name").only("pk", "number", "name"),
        "products": Product.objects.filter(active=True).select_related("tax_rate").order_by("sku"),
        "tax_rates": TaxRate.objects.filter(active=True).order_by("-rate", "code"),
        "customer_id": request.POST.get("customer", ""),
        "can_create": permissions.allows(
            request.actor,  # type: ignore[attr-defined]
            "invoice.create_draft",
        ),
    }


@staff_view
def new_invoice(request: HttpRequest) -> HttpResponse:
    """GET: the empty form. POST: add a line, preview the totals (htmx), or create."""
    actor = request.actor  # type: ignore[attr-defined]
    rows = _rows(request) if request.method == "POST" else [Row(index=0)]
    context = _context(request, rows)
    if request.method != "POST" or "add" in request.POST:
        return render(request, "backoffice/invoices/new.html", context)
    customer = _customer(request.POST.get("customer", ""))
    lines, used = _line_requests(rows)
    error = ""
    preview: Invoice | None = None
    if customer is None:
        error = gettext("Bitte wählen Sie einen Kunden.")
    elif any(row.error for row in rows):
        error = gettext("Bitte prüfen Sie die markierten Positionen.")
    else:
        result = invoicing.preview_drafts(
            requests=[invoicing.DraftRequest(customer=customer, lines=lines, is_manual=True)],
            actor=actor,
        )[0]
        if isinstance(result, InvalidInput):
            error = _mark(result, used)
        else:
            preview = result
    context.update(error=error, preview=preview)
    if "create" in request.POST and preview is not None and customer is not None:
        try:
            draft = place_order(
                customer_id=customer.pk, lines=lines, actor=actor, source=Order.Source.BACKOFFICE
            )
        except DomainError as refused:
            context["error"] = _mark(refused, used)
        else:
            if draft.status == Status.PENDING_APPROVAL:
                done = gettext("Der Entwurf ist angelegt und wartet auf Freigabe.")
            elif draft.status == Status.FINALIZED:
                done = gettext("Die Rechnung ist angelegt und festgeschrieben.")
            else:
                done = gettext("Der Entwurf ist angelegt.")
            messages.success(request, done)
            return redirect("backoffice:invoice", draft.pk)
    if getattr(request, "htmx", False) and "create" not in request.POST:
        return render(request, "backoffice/invoices/new_totals.html", context)
    return render(request, "backoffice/invoices/new.html", context)


def _customer(raw: str) -> Customer | None:
    if not raw.isdigit():
        return None
    return Customer.objects.filter(pk=int(raw)).first()
