"""One notice with its fees and interest (each open one waivable with a reason), and one
collection case with the agency's payments (recorded here: allocated to the case's
invoices by the service). Each action one service call; refusals come back as a message
and change nothing."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.dunning import collection_handover, selectors
from faktura.dunning import services as dunning
from faktura.dunning.models import CollectionCase, CollectionPayment, DunningFee
from faktura.invoicing.selectors import parse_amount
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.templatetags.faktura_format import euro

# --- a notice and its fees -------------------------------------------------------------------


@staff_view
def notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    found = selectors.notice(notice_id)
    if found is None:
        raise Http404
    return render(
        request,
        "backoffice/dunning/notice.html",
        {
            "notice": found,
            "has_letter": hasattr(found, "letter"),
            "can_waive": permissions.allows(request.actor, "dunning.fee"),  # type: ignore[attr-defined]
        },
    )


@require_POST
@staff_view
def waive_fee(request: HttpRequest, fee_id: int) -> HttpResponse:
    """Waive an open fee, flat fee or interest period with a reason (the row stays)."""
    actor = request.actor  # type: ignore[attr-defined]
    place = DunningFee.objects.filter(pk=fee_id).values("notice_id", "customer_id").first()
    try:
        fee = dunning.waive_fee(fee_id=fee_id, reason=request.POST.get("reason", ""), actor=actor)
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(
            request,
            gettext("Erlassen: %(kind)s über %(amount)s.")
            % {"kind": fee.get_kind_display(), "amount": euro(fee.amount)},
        )
    if place is None:
        return redirect("backoffice:dunning")
    if place["notice_id"] is not None:
        return redirect("backoffice:dunning_notice", place["notice_id"])
    return redirect("backoffice:customer", place["customer_id"])


# --- a collection case and the agency's payments ---------------------------------------------


class AgencyPaymentForm(forms.Form):
    amount = forms.CharField(
        label=_("Gezahlter Betrag"),
        max_length=20,
        help_text=_("Was der Schuldner über das Inkassobüro auf die Forderungen gezahlt hat."),
    )
    costs = forms.CharField(
        label=_("Kosten des Inkassobüros"),
        max_length=20,
        initial="0,00",
        help_text=_("Was das Inkassobüro für sich einbehält oder berechnet; wird vermerkt."),
    )
    date = forms.DateField(
        label=_("Datum"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def _amount(self, name: str) -> str:
        value = parse_amount(self.cleaned_data[name])
        if value is None:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 119,00 ein."))
        return f"{value:.2f}"

    def clean_amount(self) -> str:
        return self._amount("amount")

    def clean_costs(self) -> str:
        return self._amount("costs")


def _case_page(
    request: HttpRequest, case_id: int, form: AgencyPaymentForm | None = None
) -> HttpResponse:
    found = selectors.collection_case(case_id)
    if found is None:
        raise Http404
    open_for_payments = found.case.status in (
        CollectionCase.Status.APPROVED,
        CollectionCase.Status.EXPORTED,
    )
    return render(
        request,
        "backoffice/dunning/collection_case.html",
        {
            "view": found,
            "case": found.case,
            "form": form or AgencyPaymentForm(initial={"date": clock.today()}),
            "can_record": open_for_payments
            and permissions.allows(request.actor, "collection.export"),  # type: ignore[attr-defined]
        },
    )


@staff_view
def collection_case(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, case_id)


@require_POST
@staff_view
def agency_payment(request: HttpRequest, case_id: int) -> HttpResponse:
    """Book what the agency reports as paid to the case's invoices (oldest due first) and
    note its costs; the message says what went where and what is still open."""
    actor = request.actor  # type: ignore[attr-defined]
    form = AgencyPaymentForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case_id, form)
    data = form.cleaned_data
    try:
        entry = collection_handover.record_agency_payment(
            case_id=case_id,
            amount=data["amount"],
            costs=data["costs"],
            date=data["date"],
            actor=actor,
        )
    except DomainError as error:
        messages.error(request, message(error))
        return _case_page(request, case_id, form)
    messages.success(request, _result(entry))
    return redirect("backoffice:collection_case", case_id)


def _result(entry: CollectionPayment) -> str:
    """What the booking did, in words: the allocations, a rest, the costs, what stays open."""
    booked = selectors.agency_payments([entry])[0]
    found = selectors.collection_case(entry.case_id)
    assert found is not None
    amount = euro(entry.amount)
    parts = [gettext("Zahlung des Inkassobüros über %(amount)s gebucht.") % {"amount": amount}]
    if booked.allocations:
        listed = ", ".join(f"{number} {euro(part)}" for number, part in booked.allocations)
        parts.append(gettext("Zugeordnet: %(list)s.") % {"list": listed})
    if booked.unallocated:
        parts.append(
            gettext("%(amount)s sind mehr als offen und bleiben Guthaben des Kunden.")
            % {"amount": euro(booked.unallocated)}
        )
    if entry.costs:
        parts.append(
            gettext("Kosten des Inkassobüros vermerkt: %(amount)s.") % {"amount": euro(entry.costs)}
        )
    if found.case.status == CollectionCase.Status.CLOSED:
        parts.append(gettext("Alles ist bezahlt; der Inkassofall ist abgeschlossen."))
    else:
        parts.append(gettext("Noch offen: %(amount)s.") % {"amount": euro(found.open)})
    return " ".join(parts)
