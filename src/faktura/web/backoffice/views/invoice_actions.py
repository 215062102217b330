"""Actions on one document: each one service call; refusals come back as a message and
change nothing (the services check permissions and states, not this module)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.invoicing import selectors
from faktura.invoicing import services as invoicing
from faktura.notifications.services import queue_document_mail
from faktura.payments import selectors as payment_selectors
from faktura.payments import services as payments
from faktura.payments.models import Payment
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import euro
from faktura.web.backoffice.views.invoice_detail import _invoice


@require_POST
@staff_view
def approve(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: invoicing.approve_invoice(invoice_id=invoice_id, actor=actor),
        gettext("Die Rechnung ist freigegeben."),
    )
    return redirect("backoffice:invoice", invoice_id)


@require_POST
@staff_view
def reject(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    reason = request.POST.get("reason", "")
    attempt(
        request,
        lambda: invoicing.reject_invoice(invoice_id=invoice_id, actor=actor, reason=reason),
        gettext("Die Rechnung ist abgelehnt."),
    )
    return redirect("backoffice:invoice", invoice_id)


@require_POST
@staff_view
def finalize(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: invoicing.finalize_invoice(invoice_id=invoice_id, actor=actor),
        gettext("Die Rechnung ist festgeschrieben; PDF und E-Mail folgen."),
    )
    return redirect("backoffice:invoice", invoice_id)


@require_POST
@staff_view
def resend(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: queue_document_mail(invoice_id=invoice_id, actor=actor, resend=True),
        gettext("Die E-Mail mit dem Dokument ist eingereiht."),
    )
    return redirect("backoffice:invoice", invoice_id)


def _offered_only_to_who_may(request: HttpRequest, operation: str) -> None:
    """A page that is one action is not shown to a role that may not do it (403); the
    service refuses it anyway."""
    if not permissions.allows(request.actor, operation):  # type: ignore[attr-defined]
        raise PermissionDenied


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Grund der Stornierung"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@staff_view
def cancel(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """A confirmation page first: the cancellation is final and is mailed to the customer."""
    _offered_only_to_who_may(request, "invoice.correct")
    invoice = _invoice(invoice_id)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = request.actor  # type: ignore[attr-defined]
        reason = form.cleaned_data["reason"]
        if attempt(
            request,
            lambda: invoicing.cancel_invoice(invoice_id=invoice_id, actor=actor, reason=reason),
            gettext("Die Stornorechnung ist festgeschrieben und wird dem Kunden gesendet."),
        ):
            return redirect("backoffice:invoice", invoice_id)
    return render(request, "backoffice/invoices/cancel.html", {"invoice": invoice, "form": form})


class PaymentForm(forms.Form):
    # <input type="date"> takes ISO dates only: in German format the browser showed it empty.
    amount = forms.CharField(label=_("Betrag"), max_length=20)
    date = forms.DateField(
        label=_("Datum"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    method = forms.ChoiceField(label=_("Zahlungsart"), choices=Payment.Method.choices)
    reference = forms.CharField(label=_("Verwendungszweck"), max_length=500, required=False)

    def clean_amount(self) -> str:
        amount = selectors.parse_amount(self.cleaned_data["amount"])
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 119,00 ein."))
        return f"{amount:.2f}"


@staff_view
def record_payment(request: HttpRequest, invoice_id: int) -> HttpResponse:
    _offered_only_to_who_may(request, "payment.record")
    invoice = _invoice(invoice_id)
    initial = {
        "amount": f"{max(invoice.open_amount, 0):.2f}".replace(".", ","),
        "date": clock.today(),
        "method": Payment.Method.TRANSFER,
        "reference": invoice.number or "",
    }
    form = PaymentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = request.actor  # type: ignore[attr-defined]
        data = form.cleaned_data
        if attempt(
            request,
            lambda: payments.request_manual_payment(
                actor=actor,
                amount=data["amount"],
                date=data["date"],
                method=data["method"],
                reference=data["reference"],
                customer_id=invoice.customer_id,
                invoice_id=invoice_id,
            ),
            gettext("Die Zahlung ist erfasst."),
        ):
            return redirect("backoffice:invoice", invoice_id)
    return render(request, "backoffice/invoices/payment.html", {"invoice": invoice, "form": form})


@staff_view
def discard(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """A confirmation page first: the draft (it has no number yet) is deleted for good."""
    _offered_only_to_who_may(request, "invoice.discard")
    invoice = _invoice(invoice_id)
    if request.method == "POST":
        actor = request.actor  # type: ignore[attr-defined]
        done = gettext("Der Entwurf für %(customer)s über %(total)s ist verworfen.") % {
            "customer": invoice.customer.name,
            "total": euro(invoice.grand_total),
        }
        if attempt(
            request, lambda: invoicing.discard_draft(invoice_id=invoice_id, actor=actor), done
        ):
            return redirect("backoffice:invoices")
        return redirect("backoffice:invoice", invoice_id)
    return render(request, "backoffice/invoices/discard.html", {"invoice": invoice})


@require_POST
@staff_view
def apply_credit(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Settle the invoice from the customer's credit, as much as both allow."""
    actor = request.actor  # type: ignore[attr-defined]
    invoice = _invoice(invoice_id)
    applied: list[Any] = []
    try:
        applied = payments.apply_credit(
            customer_id=invoice.customer_id, invoice_id=invoice_id, actor=actor
        )
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(request, credit_applied(applied, invoice))
    return redirect("backoffice:invoice", invoice_id)


def credit_applied(allocations: list[Any], invoice: Any) -> str:
    """What a successful apply_credit did, in words: the amount and what stays open."""
    amount = sum((a.amount for a in allocations), Decimal(0))
    left = payment_selectors.open_amounts([invoice.pk])[invoice.pk]
    return gettext(
        "%(amount)s Guthaben sind mit Rechnung %(number)s verrechnet; offen bleiben %(left)s."
    ) % {"amount": euro(amount), "number": invoice.number, "left": euro(left)}
