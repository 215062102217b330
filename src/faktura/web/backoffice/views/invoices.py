"""Rechnungen: the list of documents with search, filters, sorting and pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from faktura.core import bulk, clock, permissions
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice, Kind
from faktura.web.backoffice.access import staff_view

PER_PAGE = 50

STATES = [
    ("", _("Alle")),
    ("draft", _("Entwurf")),
    ("pending_approval", _("Wartet auf Freigabe")),
    ("finalized", _("Festgeschrieben")),
    ("open", _("Offen")),
    ("overdue", _("Überfällig")),
    ("paid", _("Bezahlt")),
    ("cancelled", _("Storniert")),
]

PAYMENT_STATES = {"open", "overdue", "paid", "cancelled"}

SETTLEMENTS = [
    ("", _("Alle")),
    ("unpaid", _("Offen (nichts bezahlt)")),
    ("partially_paid", _("Teilweise bezahlt")),
    ("paid", _("Bezahlt")),
]

# What the user may sort by → the ordering (newest first unless chosen otherwise).
SORTS = {
    "-issue_date": ("-issue_date", "-pk"),
    "issue_date": ("issue_date", "pk"),
    "-due_date": ("-due_date", "-pk"),
    "due_date": ("due_date", "pk"),
    "-amount": ("-payable_amount", "-pk"),
    "amount": ("payable_amount", "pk"),
    "-open": ("-open_amount", "-pk"),
    "open": ("open_amount", "pk"),
    "number": ("number", "pk"),
    "-number": ("-number", "-pk"),
}


class InvoiceFilter(forms.Form):
    q = forms.CharField(label=_("Suche"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), choices=STATES, required=False)
    payment = forms.ChoiceField(label=_("Zahlung"), choices=SETTLEMENTS, required=False)
    overdue = forms.BooleanField(label=_("nur überfällige"), required=False)
    kind = forms.ChoiceField(
        label=_("Art"), choices=[("", _("Alle")), *Kind.choices], required=False
    )
    customer = forms.CharField(label=_("Kundennummer"), required=False, max_length=30)
    issued_from = forms.DateField(
        label=_("Datum von"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    issued_to = forms.DateField(
        label=_("bis"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sort = forms.ChoiceField(
        choices=[(key, key) for key in SORTS], required=False, widget=forms.HiddenInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("issued_from"), data.get("issued_to")
        if start and end and start > end:
            raise forms.ValidationError(_("Das Startdatum liegt nach dem Enddatum."))
        return data


# The sort keys of the open and overdue lists, paged from ``selectors.open_items``.
OPEN_ITEM_SORTS = {
    "issue_date": "issue_date",
    "due_date": "due_date",
    "amount": "payable_amount",
    "open": "open_amount",
    "number": "number",
}
NARROWING = ("q", "kind", "customer", "issued_from", "issued_to", "payment", "overdue")


class InvoicesByIds:
    """The invoices of ``ids`` in this order, read one page at a time (for the paginator)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def count(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, page: slice) -> list[Invoice]:
        wanted = self.ids[page]
        found = Invoice.objects.select_related("customer").in_bulk(wanted)
        return selectors.attach_open_amounts([found[pk] for pk in wanted if pk in found])


def open_items_in_order(state: str, sort: str) -> InvoicesByIds:
    """The open (or overdue) invoices sorted in Python from the cached open items: the
    database then reads one page of rows, not every open invoice to sort them."""
    overdue_at = clock.today() if state == "overdue" else None
    return InvoicesByIds(
        selectors.open_items().ids(
            overdue_at=overdue_at,
            sort=OPEN_ITEM_SORTS[sort.lstrip("-")],
            descending=sort.startswith("-"),
        )
    )


def filtered(request: HttpRequest, *, open_amounts: bool = True) -> tuple[InvoiceFilter, Any, str]:
    """The documents the filters of ``request`` select, and the sort; with open amounts
    unless ``open_amounts`` is False and neither a filter nor the sort needs them (then
    ``selectors.attach_open_amounts`` adds them to the rows shown)."""
    form = InvoiceFilter(request.GET or None)
    queryset: Any = Invoice.objects.select_related("customer")
    sort = "-issue_date"
    data = form.cleaned_data if form.is_valid() else {}
    if data:
        sort = data["sort"] or sort
        if (
            not open_amounts
            and data["status"] in ("open", "overdue")
            and not any(data.get(name) for name in NARROWING)
        ):
            return form, open_items_in_order(data["status"], sort), sort
        queryset = selectors.search(queryset, data["q"])
        if data["kind"]:
            queryset = queryset.filter(kind=data["kind"])
        if data["customer"]:
            queryset = queryset.filter(customer__number=data["customer"].strip())
        if data["issued_from"]:
            queryset = queryset.filter(issue_date__gte=data["issued_from"])
        if data["issued_to"]:
            queryset = queryset.filter(issue_date__lte=data["issued_to"])
        if data["status"] in ("open", "overdue"):
            # By the ids of the open invoices (kept until something changes): a page then
            # sums the payments of its own rows only.
            overdue_at = clock.today() if data["status"] == "overdue" else None
            ids = selectors.open_items().ids(overdue_at=overdue_at)
            queryset = queryset.filter(bulk.column_in(Invoice, "id", ids))
        elif data["status"] in PAYMENT_STATES:
            queryset = selectors.filter_by_payment_state(queryset, data["status"], clock.today())
        elif data["status"]:
            queryset = queryset.filter(status=data["status"])
    needed = open_amounts or bool(data.get("payment") or data.get("overdue"))
    needed = needed or sort.lstrip("-") == "open"
    if needed and "open_amount" not in queryset.query.annotations:  # a state annotated it
        queryset = selectors.with_open_amounts(queryset)
    if data.get("payment"):
        queryset = selectors.filter_by_settlement(queryset, data["payment"])
    if data.get("overdue"):
        queryset = selectors.only_overdue(queryset, clock.today())
    return form, queryset.order_by(*SORTS[sort]), sort


@staff_view
def invoice_list(request: HttpRequest) -> HttpResponse:
    form, queryset, sort = filtered(request, open_amounts=False)
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    by_ids = isinstance(queryset, InvoicesByIds)  # its pages carry their open amounts
    if not by_ids and "open_amount" not in queryset.query.annotations:
        page.object_list = selectors.attach_open_amounts(list(page.object_list))
    partial = bool(getattr(request, "htmx", False))  # django-htmx: only the table
    template = "backoffice/invoices/rows.html" if partial else "backoffice/invoices/list.html"
    actor = request.actor  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "sort": sort,
            "today": clock.today(),
            "query": _query(request),
            "can": {
                "approve": permissions.allows(actor, "invoice.approve"),
                "finalize": permissions.allows(actor, "invoice.finalize"),
                "send": permissions.allows(actor, "invoice.send"),
                "create": permissions.allows(actor, "invoice.create_draft"),
            },
        },
    )


def _query(request: HttpRequest) -> str:
    """The filters of this page as a query string without page and sort (for links)."""
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("sort", None)
    return params.urlencode()
