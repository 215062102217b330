"""A dunning fee charged by hand from the dunning section of an invoice's page: one call of
``dunning.services.add_fee`` (a claim without VAT, audited on the customer's chain). The
page shows the form only to roles with ``dunning.fee``; the service refuses a forged POST."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.dunning import services as dunning
from faktura.invoicing import selectors
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt
from faktura.web.backoffice.templatetags.faktura_format import euro
from faktura.web.backoffice.views.invoice_detail import _invoice


class FeeForm(forms.Form):
    """Parses the amount as people type it; whether a reason is given, the service says."""

    amount = forms.CharField(max_length=20)
    # The column holds 200 characters (the API's limit too).
    reason = forms.CharField(
        required=False,
        max_length=200,
        error_messages={"max_length": _("Der Grund hat höchstens 200 Zeichen.")},
    )

    def clean_amount(self) -> str:
        amount = selectors.parse_amount(self.cleaned_data["amount"])
        if amount is None:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 5,00 ein."))
        return f"{amount:.2f}"


@require_POST
@staff_view
def add_fee(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    invoice = _invoice(invoice_id)
    form = FeeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
    else:
        data = form.cleaned_data
        attempt(
            request,
            lambda: dunning.add_fee(
                customer_id=invoice.customer_id,
                invoice_id=invoice.pk,
                amount=data["amount"],
                reason=data["reason"],
                actor=actor,
            ),
            gettext("Die Mahngebühr von %(amount)s ist erhoben.")
            % {"amount": euro(Decimal(data["amount"]))},
        )
    return redirect(reverse("backoffice:invoice", args=[invoice_id]) + "#mahnwesen")
