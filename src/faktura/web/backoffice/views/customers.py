"""Kunden: the list with search and receivables, and the page of one customer (360°)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from faktura.access import selectors as access
from faktura.core import clock, permissions
from faktura.customers.models import Customer
from faktura.dunning import selectors as dunning
from faktura.invoicing import selectors as invoicing
from faktura.invoicing.models import Invoice
from faktura.payments.models import Payment
from faktura.reporting import risk
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.views import customer_actions

PER_PAGE = 50


@staff_view
def customer_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:100]
    queryset = Customer.objects.order_by("name", "pk")
    if text:
        queryset = queryset.filter(
            Q(number__iexact=text)
            | Q(name__icontains=text)
            | Q(email__icontains=text)
            | Q(mandates__iban=text.replace(" ", "").upper())
        ).distinct()
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    today = clock.today()
    balances = invoicing.receivables_by_customer([c.pk for c in page], today)
    rows = [(customer, *balances.get(customer.pk, (None, None))) for customer in page]
    return render(
        request,
        "backoffice/customers/list.html",
        {
            "page": page,
            "rows": rows,
            "q": text,
            "can_create": permissions.allows(request.actor, "customer.create"),  # type: ignore[attr-defined]
        },
    )


@staff_view
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    from faktura.payments.account_statement import account_statement

    customer = Customer.objects.select_related("account_manager").filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    today = clock.today()
    statement = account_statement(customer.pk)
    assessed, limit = risk.credit_limit(customer.pk, today=today)
    context: dict[str, Any] = {
        "customer": customer,
        "today": today,
        "totals": statement.totals,
        "entries": statement.entries[-15:][::-1],
        "access_status": access.status(customer.pk, today),
        "access_reasons": access.reasons(customer.pk),
        "access_override": access.active_override(customer.pk, today),
        "can_manage_access": permissions.allows(request.actor, "access.manage"),  # type: ignore[attr-defined]
        "invoices": invoicing.with_open_amounts(
            Invoice.objects.filter(customer=customer).order_by("-issue_date", "-pk")
        )[:20],
        "mandates": customer.mandates.order_by("-signature_date"),
        "subscriptions": customer.subscriptions.select_related("plan").order_by("-pk"),
        "notices": customer.dunning_notices.order_by("-notice_date", "-pk")[:10],
        "payments": Payment.objects.filter(customer=customer).order_by("-date", "-pk")[:15],
        "risk": assessed,
        "credit": limit,
        "agreements": dunning.customer_agreements(customer.pk),
        "can_edit": permissions.allows(request.actor, "customer.change"),  # type: ignore[attr-defined]
        **_actions(request, customer, statement.totals),
        "can_instalments": permissions.allows(request.actor, "dunning.instalments"),  # type: ignore[attr-defined]
        "dunning_block_active": customer.dunning_block
        and (customer.dunning_block_until is None or customer.dunning_block_until >= today),
    }
    return render(request, "backoffice/customers/detail.html", context)


def _actions(request: HttpRequest, customer: Customer, totals: Any) -> dict[str, Any]:
    """The customer page's actions the role may use, with their forms."""
    actor = request.actor  # type: ignore[attr-defined]
    shown: dict[str, Any] = {
        "can_send_statement": permissions.allows(actor, "account_statement.send"),
        "can_mandate": permissions.allows(actor, "mandate.change"),
        "statement_form": customer_actions.StatementForm(),
        "credit_form": None,
    }
    if totals.customer_credit > 0 and permissions.allows(actor, "payment.record"):
        payable = list(customer_actions.open_invoices(customer.pk))
        if payable:
            shown["credit_form"] = customer_actions.ApplyCreditForm(invoices=payable)
    return shown
