"""Actions on the customer page (360°): apply the customer's credit to an open invoice,
mail the account statement (Kontoauszug), record a SEPA mandate the customer signed on
paper, revoke one or mark it unusable. Each one service call; refusals come back in the
back office's words and change nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.collection import services as collection
from faktura.collection.models import Mandate, Scheme
from faktura.core import clock, permissions
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


def _only_who_may(request: HttpRequest, operation: str) -> None:
    """A page that is one action is not shown to a role that may not do it (403); the
    service refuses it anyway."""
    if not permissions.allows(request.actor, operation):  # type: ignore[attr-defined]
        raise PermissionDenied


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
        label=_("von"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("bis"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
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


# --- SEPA mandates -------------------------------------------------------------------------


class MandateForm(forms.Form):
    iban = forms.CharField(label=_("IBAN"), max_length=42)
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
    signature_date = forms.DateField(
        label=_("Unterschrieben am"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    scheme = forms.ChoiceField(label=_("Verfahren"), choices=Scheme.choices)
    kind = forms.ChoiceField(label=_("Art"), choices=Mandate.Kind.choices)
    reference = forms.CharField(
        label=_("Mandatsreferenz"),
        max_length=35,
        required=False,
        help_text=_("Leer: Faktura vergibt die nächste (Kundennummer-M01 …)."),
    )
    debtor_name = forms.CharField(
        label=_("Kontoinhaber"),
        max_length=70,
        required=False,
        help_text=_("Leer: Name und Anschrift des Kunden."),
    )
    street = forms.CharField(label=_("Straße"), max_length=70, required=False)
    house_number = forms.CharField(label=_("Hausnummer"), max_length=16, required=False)
    postcode = forms.CharField(label=_("PLZ"), max_length=16, required=False)
    city = forms.CharField(label=_("Ort"), max_length=35, required=False)
    use_for_payments = forms.BooleanField(
        label=_("Kunde zahlt ab jetzt per Lastschrift"), required=False, initial=True
    )

    def values(self) -> dict[str, Any]:
        """The service's arguments; an empty address field means the customer's own."""
        data = dict(self.cleaned_data)
        for name in ("debtor_name", "street", "house_number", "postcode", "city"):
            data[name] = data[name].strip() or None
        data["reference"] = data["reference"].strip() or None
        return data


@staff_view
def new_mandate(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Record a mandate the customer signed (on paper): the service checks IBAN, BIC,
    reference and address as the direct-debit file will need them."""
    _only_who_may(request, "mandate.change")
    customer = _customer(customer_id)
    form = MandateForm(
        request.POST or None,
        initial={"signature_date": clock.today()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            mandate = collection.create_mandate(
                customer_id=customer.pk,
                actor=request.actor,  # type: ignore[attr-defined]
                **form.values(),
            )
        except DomainError as error:
            _refused(form, request, error)
        else:
            done = gettext("Das Mandat %(reference)s ist angelegt.")
            messages.success(request, _with_method(done, mandate))
            return redirect("backoffice:customer", customer.pk)
    return render(
        request, "backoffice/customers/mandate.html", {"customer": customer, "form": form}
    )


def _refused(form: MandateForm, request: HttpRequest, error: DomainError) -> None:
    """The refusal next to the field it names. IBAN and BIC keep the validator's own
    words (what is wrong with them); the rest speaks the back office's."""
    field = error.field if error.field in form.fields else None
    if field is None:
        messages.error(request, message(error))
    elif error.code in ("invalid_iban", "invalid_bic"):
        form.add_error(field, error.message.removeprefix(f"{field}: "))
    else:
        form.add_error(field, message(error))


def _with_method(done: str, mandate: Mandate) -> str:
    """``done`` (naming the mandate) and how the customer pays from now on."""
    customer = Customer.objects.get(pk=mandate.customer_id)
    return " ".join(
        (
            done % {"reference": mandate.reference},
            gettext("Zahlungsart des Kunden: %(method)s.")
            % {"method": customer.get_preferred_payment_method_display()},
        )
    )


class MandateReasonForm(forms.Form):
    reason = forms.CharField(label=_("Grund"), max_length=200)


def _mandate(mandate_id: int) -> Mandate:
    mandate = Mandate.objects.select_related("customer").filter(pk=mandate_id).first()
    if mandate is None:
        raise Http404
    return mandate


def _mandate_action(request: HttpRequest, mandate_id: int, *, unusable: bool) -> HttpResponse:
    _only_who_may(request, "mandate.change")
    mandate = _mandate(mandate_id)
    form = MandateReasonForm(request.POST or None)
    if not unusable:
        form.fields["reason"].required = False
    if request.method == "POST" and form.is_valid():
        actor = request.actor  # type: ignore[attr-defined]
        reason = form.cleaned_data["reason"]
        try:
            if unusable:
                collection.make_mandate_unusable(mandate_id=mandate.pk, actor=actor, reason=reason)
            else:
                collection.revoke_mandate(mandate_id=mandate.pk, actor=actor, reason=reason)
        except DomainError as error:
            messages.error(request, message(error))
        else:
            done = (
                gettext("Das Mandat %(reference)s ist als unbrauchbar markiert.")
                if unusable
                else gettext("Das Mandat %(reference)s ist widerrufen.")
            )
            messages.success(request, _with_method(done, mandate))
            return redirect("backoffice:customer", mandate.customer_id)
    return render(
        request,
        "backoffice/customers/mandate_status.html",
        {"mandate": mandate, "form": form, "unusable": unusable},
    )


@staff_view
def mandate_unusable(request: HttpRequest, mandate_id: int) -> HttpResponse:
    """Mark a mandate unusable (account closed, no mandate …), with the reason."""
    return _mandate_action(request, mandate_id, unusable=True)


@staff_view
def mandate_revoke(request: HttpRequest, mandate_id: int) -> HttpResponse:
    """The customer withdrew the mandate; it is never used again."""
    return _mandate_action(request, mandate_id, unusable=False)
