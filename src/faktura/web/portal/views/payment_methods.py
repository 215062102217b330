"""How the customer pays: the current way, transfer, direct debit, or a card at Stripe."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from faktura.collection import selectors as collection_selectors
from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.payments.models import SavedPaymentMethod
from faktura.subscriptions import payment_choice
from faktura.web.portal.access import customer_view
from faktura.web.portal.contract_errors import message


@customer_view
def payment_methods(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    today = clock.today()
    card = SavedPaymentMethod.objects.filter(customer=customer, active=True).order_by("-pk").first()
    return render(
        request,
        "portal/payment_methods.html",
        {
            "customer": customer,
            "mandate": collection_selectors.usable_mandate(customer.pk, on=today),
            "card": card,
            "card_expired": card is not None and card.card_expired(today),
            "may_act": permissions.allows(request.actor, payment_choice.OPERATION),  # type: ignore[attr-defined]
        },
    )


@customer_view
@require_POST
def choose(request: HttpRequest) -> HttpResponse:
    try:
        payment_choice.choose_payment_method(
            actor=request.actor,  # type: ignore[attr-defined]
            customer_id=request.customer.pk,  # type: ignore[attr-defined]
            method=str(request.POST.get("method", "")),
        )
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(request, _("Ihre Zahlungsart ist geändert."))
    return redirect("portal:payment_methods")


@customer_view
@require_POST
def add_card(request: HttpRequest) -> HttpResponse:
    """Off to Stripe's page to save a card; Stripe sends the customer back to ``card_added``."""
    done = request.build_absolute_uri(reverse("portal:payment_card_added"))
    back = request.build_absolute_uri(reverse("portal:payment_methods"))
    try:
        url = payment_choice.start_card_setup(
            actor=request.actor,  # type: ignore[attr-defined]
            customer_id=request.customer.pk,  # type: ignore[attr-defined]
            success_url=f"{done}?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=back,
        )
    except DomainError as error:
        messages.error(request, message(error))
        return redirect("portal:payment_methods")
    return redirect(url)


@customer_view
def card_added(request: HttpRequest) -> HttpResponse:
    try:
        method = payment_choice.complete_card_setup(
            actor=request.actor,  # type: ignore[attr-defined]
            customer_id=request.customer.pk,  # type: ignore[attr-defined]
            session_id=str(request.GET.get("session_id", "")),
        )
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(
            request,
            _("Ihre Karte %(card)s ist hinterlegt; wir buchen künftige Rechnungen davon ab.")
            % {"card": method},
        )
    return redirect("portal:payment_methods")
