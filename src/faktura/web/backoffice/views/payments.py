"""Zahlungen: the payments with what is allocated, one payment with its allocations, and
the actions on it (allocate what is left, refund the customer's credit), the returned
debits and chargebacks, and manual payments waiting for a second person. Each action is
one service call; refusals come back as a message and change nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.invoicing import selectors as invoicing
from faktura.invoicing.models import Invoice
from faktura.payments import refunds, selectors
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment, PaymentRequest
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import euro

PER_PAGE = 50


class PaymentFilter(forms.Form):
    q = forms.CharField(label=_("Suche"), required=False, max_length=100)
    source = forms.ChoiceField(
        label=_("Quelle"), choices=[("", _("Alle")), *Payment.Source.choices], required=False
    )
    method = forms.ChoiceField(
        label=_("Zahlungsart"), choices=[("", _("Alle")), *Payment.Method.choices], required=False
    )
    state = forms.ChoiceField(
        label=_("Zuordnung"),
        choices=[
            ("", _("Alle")),
            ("unallocated", _("Nicht (ganz) zugeordnet")),
            ("allocated", _("Zugeordnet")),
        ],
        required=False,
    )
    date_from = forms.DateField(
        label=_("Datum von"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("bis"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


@staff_view
def payment_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = PaymentFilter(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.payment_list(
        text=data.get("q", ""),
        source=data.get("source", ""),
        method=data.get("method", ""),
        state=data.get("state", ""),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "backoffice/payments/list.html",
        {
            "form": form,
            "page": page,
            "query": params.urlencode(),
            "requests": selectors.pending_requests(),
            "can_confirm": permissions.allows(actor, "payment.confirm"),
            "refunds": selectors.pending_refunds(),
            "refunds_waiting": selectors.approved_refunds_sum(),
            "can_approve_refunds": permissions.allows(actor, "refund.approve"),
        },
    )


@staff_view
def return_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.returns_list(), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "backoffice/payments/returns.html", {"page": page, "query": ""})


def _payment(payment_id: int) -> Any:
    found = (
        selectors.with_unallocated(Payment.objects.filter(pk=payment_id))
        .select_related("customer")
        .first()
    )
    if found is None:
        raise Http404
    return found


class AllocateForm(forms.Form):
    invoice = forms.CharField(label=_("Rechnungsnummer"), max_length=30)
    amount = forms.CharField(label=_("Betrag"), max_length=20)

    def clean_invoice(self) -> int:
        number = self.cleaned_data["invoice"].strip()
        found = Invoice.objects.filter(number=number).values_list("pk", flat=True).first()
        if found is None:
            raise forms.ValidationError(
                _("Keine Rechnung mit der Nummer %(n)s."), params={"n": number}
            )
        return found

    def clean_amount(self) -> str:
        amount = invoicing.parse_amount(self.cleaned_data["amount"])
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 119,00 ein."))
        return f"{amount:.2f}"


class RefundForm(forms.Form):
    prefix = "refund"

    amount = forms.CharField(label=_("Betrag"), max_length=20)
    iban = forms.CharField(
        label=_("IBAN (leer: bekanntes Konto des Kunden)"), max_length=42, required=False
    )
    reason = forms.CharField(label=_("Verwendungszweck"), max_length=140, required=False)

    def clean_amount(self) -> str:
        amount = invoicing.parse_amount(self.cleaned_data["amount"])
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 119,00 ein."))
        return f"{amount:.2f}"


def _money(value: Any) -> str:
    return f"{max(value, 0):.2f}".replace(".", ",")


@staff_view
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    return _detail(request, payment_id)


def _detail(
    request: HttpRequest,
    payment_id: int,
    allocate_form: AllocateForm | None = None,
    refund_form: RefundForm | None = None,
) -> HttpResponse:
    payment = _payment(payment_id)
    actor = request.actor  # type: ignore[attr-defined]
    credit = selectors.credit_balance(payment.customer_id) if payment.customer_id else None
    return render(
        request,
        "backoffice/payments/detail.html",
        {
            "payment": payment,
            "rows": payment.allocations.select_related("invoice").order_by("created_at", "pk"),
            "returns": payment.returns.order_by("-created_at"),
            # Where the money came from: the statement line, the provider's event, or the
            # manual entry (and who confirmed it).
            "bank_lines": payment.bank_transactions.order_by("pk"),
            "provider_events": payment.provider_events.order_by("pk"),
            "manual": PaymentRequest.objects.filter(payment=payment).first(),
            "credit": credit,
            "allocate_form": allocate_form
            or AllocateForm(initial={"amount": _money(payment.unallocated_amount)}),
            "refund_form": refund_form or RefundForm(initial={"amount": _money(credit or 0)}),
            "can_allocate": permissions.allows(actor, "payment.record")
            and payment.unallocated_amount > 0,
            "can_release": permissions.allows(actor, "payment.release_allocation"),
            "can_refund": permissions.allows(actor, "refund.request")
            and credit is not None
            and credit > 0,
        },
    )


@require_POST
@staff_view
def allocate(request: HttpRequest, payment_id: int) -> HttpResponse:
    form = AllocateForm(request.POST)
    if not form.is_valid():
        return _detail(request, payment_id, allocate_form=form)
    actor = request.actor  # type: ignore[attr-defined]
    data = form.cleaned_data
    attempt(
        request,
        lambda: payments.allocate_payment(
            payment_id=payment_id, allocations=[(data["invoice"], data["amount"])], actor=actor
        ),
        gettext("Die Zahlung ist der Rechnung zugeordnet."),
    )
    return redirect("backoffice:payment", payment_id)


@require_POST
@staff_view
def refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Request paying back the customer's credit (an approver releases it)."""
    payment = _payment(payment_id)
    form = RefundForm(request.POST)
    if not form.is_valid() or payment.customer_id is None:
        return _detail(request, payment_id, refund_form=form)
    actor = request.actor  # type: ignore[attr-defined]
    data = form.cleaned_data
    attempt(
        request,
        lambda: refunds.refund_credit(
            customer_id=payment.customer_id,
            actor=actor,
            amount=data["amount"],
            iban=data["iban"] or None,
            reason=data["reason"],
        ),
        gettext("Die Erstattung ist beantragt; sie wartet auf die Freigabe."),
    )
    return redirect("backoffice:payment", payment_id)


@require_POST
@staff_view
def confirm_request(request: HttpRequest, request_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: payments.confirm_payment_request(request_id=request_id, actor=actor),
        gettext("Die Zahlung ist bestätigt und gebucht."),
    )
    return redirect("backoffice:payments")


@require_POST
@staff_view
def reject_request(request: HttpRequest, request_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    reason = request.POST.get("reason", "")
    attempt(
        request,
        lambda: payments.reject_payment_request(request_id=request_id, actor=actor, reason=reason),
        gettext("Die Zahlung ist abgelehnt; nichts wurde gebucht."),
    )
    return redirect("backoffice:payments")


@require_POST
@staff_view
def approve_refund(request: HttpRequest, refund_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: refunds.approve_refund(refund_id=refund_id, actor=actor),
        gettext("Die Erstattung ist freigegeben; sie geht mit der nächsten Überweisungsdatei."),
    )
    return redirect("backoffice:payments")


@require_POST
@staff_view
def reject_refund(request: HttpRequest, refund_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    reason = request.POST.get("reason", "")
    attempt(
        request,
        lambda: refunds.reject_refund(refund_id=refund_id, actor=actor, reason=reason),
        gettext("Die Erstattung ist abgelehnt; der Betrag ist wieder Guthaben des Kunden."),
    )
    return redirect("backoffice:payments")


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("Grund"), max_length=200)
    back = forms.ChoiceField(
        choices=[("payment", "payment"), ("invoice", "invoice")],
        required=False,
        widget=forms.HiddenInput,
    )


@staff_view
def release_allocation(request: HttpRequest, allocation_id: int) -> HttpResponse:
    """Undo a wrong allocation after a confirmation with the reason: the invoice is open
    again by the amount, which becomes the customer's credit."""
    actor = request.actor  # type: ignore[attr-defined]
    if not permissions.allows(actor, "payment.release_allocation"):
        raise PermissionDenied
    allocation = (
        Allocation.objects.select_related("invoice", "payment", "payment__customer")
        .filter(pk=allocation_id)
        .first()
    )
    if allocation is None:
        raise Http404
    back = "invoice" if request.GET.get("back") == "invoice" else "payment"
    form = ReleaseForm(request.POST or None, initial={"back": back})
    if request.method == "POST" and form.is_valid():
        try:
            payments.release_allocation(
                allocation_id=allocation_id, actor=actor, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            messages.error(request, message(error))
        else:
            messages.success(request, _released(allocation))
            if form.cleaned_data["back"] == "invoice":
                return redirect("backoffice:invoice", allocation.invoice_id)
            return redirect("backoffice:payment", allocation.payment_id)
    customer_id = allocation.payment.customer_id or allocation.invoice.customer_id
    return render(
        request,
        "backoffice/payments/release.html",
        {
            "allocation": allocation,
            "form": form,
            "credit": selectors.credit_balance(customer_id),
            "open_amount": selectors.open_amounts([allocation.invoice_id])[allocation.invoice_id],
            "back": back,
        },
    )


def _released(allocation: Allocation) -> str:
    customer_id = allocation.payment.customer_id or allocation.invoice.customer_id
    return gettext(
        "Die Zuordnung ist gelöst: Rechnung %(number)s ist wieder um %(amount)s offen, "
        "der Betrag ist Guthaben des Kunden (jetzt %(credit)s)."
    ) % {
        "number": allocation.invoice.number,
        "amount": euro(allocation.amount),
        "credit": euro(selectors.credit_balance(customer_id)),
    }
