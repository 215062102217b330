"""Actions on the customer page (360°): apply the customer's credit to an open invoice,
mail the account statement (Kontoauszug). Each one service call; refusals come back in
the back office's words and change nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core.errors import DomainError
from faktura.customers.models import Customer
from faktura.invoicing import selectors as invoicing
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments import services as payments
from faktura.payments.statement_mail import send_account_statement
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.templatetags.faktura_format import euro
from faktura.web.backoffice.views.invoice_actions import credit_applied


def _customer(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


def open_invoices(customer_id: int) -> Any:
    """The customer's finalized invoices with something open, oldest due first."""
    return (
        invoicing.with_open_amounts(
            Invoice.objects.filter(
                customer_id=customer_id, status=Status.FINALIZED, kind=Kind.INVOICE
            )
        )
        .filter(open_amount__gt=0)
        .order_by("due_date", "pk")
    )


# --- customer credit -----------------------------------------------------------------------


class ApplyCreditForm(forms.Form):
    prefix = "credit"

    invoice = forms.TypedChoiceField(label=_("Rechnung"), coerce=int)
    amount = forms.CharField(
        label=_("Betrag (leer: so viel wie möglich)"), max_length=20, required=False
    )

    def __init__(self, *args: Any, invoices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (i.pk, f"{i.number} · {gettext('offen')} {euro(i.open_amount)}") for i in invoices
        ]

    def clean_amount(self) -> str | None:
        text = self.cleaned_data["amount"].strip()
        if not text:
            return None
        amount = invoicing.parse_amount(text)
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 119,00 ein."))
        return f"{amount:.2f}"


@require_POST
@staff_view
def apply_credit(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Settle one of the customer's open invoices from their credit."""
    actor = request.actor  # type: ignore[attr-defined]
    customer = _customer(customer_id)
    form = ApplyCreditForm(request.POST, invoices=open_invoices(customer.pk))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
        return redirect("backoffice:customer", customer.pk)
    invoice_id = form.cleaned_data["invoice"]
    try:
        applied = payments.apply_credit(
            customer_id=customer.pk,
            invoice_id=invoice_id,
            actor=actor,
            amount=form.cleaned_data["amount"],
        )
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(request, credit_applied(applied, Invoice.objects.get(pk=invoice_id)))
    return redirect("backoffice:customer", customer.pk)


# --- account statement ---------------------------------------------------------------------


class StatementForm(forms.Form):
    prefix = "statement"

    date_from = forms.DateField(
        label=_("von"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("bis"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@require_POST
@staff_view
def send_statement(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Mail the account statement as PDF to the customer (through the outbox)."""
    actor = request.actor  # type: ignore[attr-defined]
    customer = _customer(customer_id)
    form = StatementForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Bitte geben Sie ein gültiges Datum ein."))
        return redirect("backoffice:customer", customer.pk)
    try:
        sent = send_account_statement(
            customer_id=customer.pk,
            actor=actor,
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
        )
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(
            request,
            gettext("Der Kontoauszug (PDF) ist zum Versand an %(to)s eingereiht.")
            % {"to": ", ".join(sent.to)},
        )
    return redirect("backoffice:customer", customer.pk)
