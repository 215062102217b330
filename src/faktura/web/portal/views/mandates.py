"""SEPA direct debit in the portal: the mandate text, consent, confirmation; revocation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from faktura.collection import online
from faktura.collection.models import Mandate
from faktura.core import permissions
from faktura.core.errors import DomainError, InvalidInput
from faktura.core.models import Company
from faktura.web.portal.access import customer_view
from faktura.web.portal.contract_errors import message
from faktura.web.portal.contract_forms import MandateForm

FIELDS = {"iban": "iban", "debtor_name": "account_holder", "consent": "consent"}


def _page(request: HttpRequest, form: MandateForm, status: int = 200) -> HttpResponse:
    company = Company.get()
    lang = "en" if (get_language() or "de").startswith("en") else "de"
    return render(
        request,
        "portal/mandates.html",
        {
            "form": form,
            "mandates": Mandate.objects.filter(customer=request.customer),  # type: ignore[attr-defined]
            "creditor": online.creditor(company),
            "mandate_text": online.mandate_text(company, lang),
            "may_act": permissions.allows(request.actor, online.OPERATION),  # type: ignore[attr-defined]
        },
        status=status,
    )


@customer_view
def mandate_page(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    return _page(request, MandateForm(initial={"account_holder": customer.name}))


@customer_view
@require_POST
def grant(request: HttpRequest) -> HttpResponse:
    form = MandateForm(request.POST)
    if form.is_valid():
        try:
            mandate = online.grant_mandate(
                actor=request.actor,  # type: ignore[attr-defined]
                customer_id=request.customer.pk,  # type: ignore[attr-defined]
                iban=form.cleaned_data["iban"],
                account_holder=form.cleaned_data["account_holder"],
                consent=form.cleaned_data["consent"],
            )
        except InvalidInput as error:
            form.add_error(FIELDS.get(error.field or ""), message(error))
        except DomainError as error:
            form.add_error(None, message(error))
        else:
            messages.success(
                request,
                _(
                    "Vielen Dank: Ihr SEPA-Lastschriftmandat ist erteilt (Mandatsreferenz "
                    "%(reference)s). Die Bestätigung haben wir Ihnen per E-Mail geschickt."
                )
                % {"reference": mandate.reference},
            )
            return redirect("portal:mandates")
    return _page(request, form, status=422)


@customer_view
@require_POST
def revoke(request: HttpRequest, mandate_id: int) -> HttpResponse:
    # Another customer's mandate is not there (the service would refuse it, too).
    get_object_or_404(Mandate, pk=mandate_id, customer=request.customer)  # type: ignore[attr-defined]
    try:
        mandate = online.revoke_mandate(actor=request.actor, mandate_id=mandate_id)  # type: ignore[attr-defined]
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(
            request,
            _("Das Mandat %(reference)s ist widerrufen; wir buchen nichts mehr davon ab.")
            % {"reference": mandate.reference},
        )
    return redirect("portal:mandates")
