"""Kunden anlegen und bearbeiten: the form shows every field's error at once (the model's
own validators: VAT ID, Leitweg-ID, e-mail …), the service decides and saves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.customers import services
from faktura.customers.models import Customer
from faktura.invoicing.selectors import parse_amount
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message

FIELDS = [
    "kind",
    "name",
    "contact_name",
    "street",
    "house_number",
    "postcode",
    "city",
    "country",
    "email",
    "additional_emails",
    "phone",
    "language",
    "vat_id",
    "leitweg_id",
    "xrechnung_syntax",
    "payment_term_days",
    "preferred_payment_method",
    "credit_limit",
    "dunning_block",
    "dunning_block_until",
    "dunning_block_reason",
    "delivery_by_post",
]


class CustomerForm(forms.ModelForm):
    """Parses the input; the model's validation (run by the ModelForm on an unsaved copy)
    names every wrong field, the service checks again and saves."""

    credit_limit = forms.CharField(
        label=_("Kreditlimit"),
        required=False,
        max_length=20,
        help_text=_("Leer: Standard der Zahlungseinstellungen."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    class Meta:
        model = Customer
        fields = FIELDS
        widgets = {
            "dunning_block_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = self.instance.credit_limit
        if not self.is_bound and limit is not None:
            self.initial["credit_limit"] = f"{limit:.2f}".replace(".", ",")

    def clean_credit_limit(self) -> Decimal | None:
        text = self.cleaned_data["credit_limit"].strip()
        if not text:
            return None
        amount = parse_amount(text)
        if amount is None or amount < 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 5.000,00 ein."))
        return amount


def _values(form: CustomerForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in FIELDS}


def _refused(form: CustomerForm, request: HttpRequest, error: DomainError) -> None:
    """The service's refusal next to the field it names, else above the form."""
    if error.field in form.fields:
        text = error.message
        prefix = f"{error.field}: "
        form.add_error(error.field, text[len(prefix) :] if text.startswith(prefix) else text)
    else:
        messages.error(request, message(error))


def _customer(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


@staff_view
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.create_customer(actor=actor, **_values(form))
        except DomainError as error:
            _refused(form, request, error)
        else:
            messages.success(
                request,
                gettext("Kunde %(number)s ist angelegt.") % {"number": customer.number},
            )
            return redirect("backoffice:customer", customer.pk)
    return render(
        request,
        "backoffice/customers/form.html",
        {
            "form": form,
            "customer": None,
            "can_save": permissions.allows(actor, "customer.create"),
        },
    )


@staff_view
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    customer = _customer(customer_id)
    # The form works on its own unsaved copy; only the service writes.
    form = CustomerForm(request.POST or None, instance=_customer(customer_id))
    if request.method == "POST" and form.is_valid():
        changed = set(form.changed_data)
        changes = {name: value for name, value in _values(form).items() if name in changed}
        try:
            services.update_customer(customer_id=customer_id, actor=actor, **changes)
        except DomainError as error:
            _refused(form, request, error)
        else:
            messages.success(request, gettext("Die Stammdaten sind gespeichert."))
            return redirect("backoffice:customer", customer_id)
    return render(
        request,
        "backoffice/customers/form.html",
        {
            "form": form,
            "customer": customer,
            "can_save": permissions.allows(actor, "customer.change"),
        },
    )
