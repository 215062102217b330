"""A customer's subscriptions: see them, change plan or quantity, pause, cancel, undo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.subscriptions import cancellation, self_service, services
from faktura.subscriptions.models import Subscription
from faktura.web.backoffice.templatetags.faktura_format import datum
from faktura.web.portal.access import customer_view
from faktura.web.portal.contract_errors import message
from faktura.web.portal.contract_forms import CancelForm, ChangeForm

OPERATION = services.SELF_SERVICE_OPERATION


def _own(request: HttpRequest, subscription_id: int) -> Subscription:
    """The customer's own subscription, or 404 (another customer's is not there)."""
    return get_object_or_404(
        Subscription.objects.select_related("customer", "plan__product__tax_rate", "course"),
        pk=subscription_id,
        customer=request.customer,  # type: ignore[attr-defined]
    )


def _attempt(request: HttpRequest, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except DomainError as error:
        messages.error(request, message(error))
        return None


@customer_view
def subscription_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/subscriptions.html",
        {
            "rows": self_service.customer_subscriptions(request.customer),  # type: ignore[attr-defined]
            "may_act": permissions.allows(request.actor, OPERATION),  # type: ignore[attr-defined]
        },
    )


@customer_view
@require_http_methods(["GET", "POST"])
def change(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """The form, the preview of what the change costs (POST), the change (POST, confirm)."""
    subscription = _own(request, subscription_id)
    plans = self_service.plans_to_choose(subscription.customer, subscription.plan)
    choices = [(p.pk, p.name) for p in plans]
    context: dict[str, Any] = {"row": self_service.row(subscription)}
    if request.method == "GET":
        form = ChangeForm(
            plans=choices,
            initial={"plan": subscription.plan_id, "quantity": subscription.quantity.normalize()},
        )
        return render(request, "portal/subscription_change.html", {**context, "form": form})
    form = ChangeForm(request.POST, plans=choices)
    if form.is_valid():
        data = form.cleaned_data
        confirm = request.POST.get("step") == "confirm"
        try:
            quote = services.change_own_subscription(
                actor=request.actor,  # type: ignore[attr-defined]
                subscription_id=subscription.pk,
                plan_id=data["plan"],
                quantity=data["quantity"],
                effective=data["effective"],
                dry_run=not confirm,
            )
        except DomainError as error:
            form.add_error(None, message(error))
        else:
            if confirm:
                messages.success(
                    request,
                    _("Ihr Abonnement ist geändert. Die Änderung gilt ab dem %(day)s.")
                    % {"day": datum(quote.applies_on)},
                )
                return redirect("portal:subscriptions")
            new_plan = next(p for p in plans if p.pk == data["plan"])
            context |= {"quote": quote, "new_plan": new_plan, "data": data}
    return render(request, "portal/subscription_change.html", {**context, "form": form})


@customer_view
@require_POST
def pause(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _own(request, subscription_id)
    done = _attempt(
        request,
        lambda: services.pause_own_subscription(
            actor=request.actor,  # type: ignore[attr-defined]
            subscription_id=subscription.pk,
        ),
    )
    if done is not None and done.paused_from is not None:
        messages.success(
            request,
            _("Ihr Abonnement ruht ab dem %(day)s.") % {"day": datum(done.paused_from)},
        )
    return redirect("portal:subscriptions")


@customer_view
@require_POST
def resume(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _own(request, subscription_id)
    done = _attempt(
        request,
        lambda: services.resume_own_subscription(
            actor=request.actor,  # type: ignore[attr-defined]
            subscription_id=subscription.pk,
        ),
    )
    if done is not None:
        messages.success(request, _("Ihr Abonnement läuft wieder."))
    return redirect("portal:subscriptions")


@customer_view
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _own(request, subscription_id)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = cancellation.cancel_with_confirmation(
                actor=request.actor,  # type: ignore[attr-defined]
                subscription_id=subscription.pk,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form.add_error(None, message(error))
        else:
            assert done.ends_on is not None
            messages.success(
                request,
                _(
                    "Ihr Abonnement ist gekündigt und endet am %(day)s. "
                    "Die Bestätigung haben wir Ihnen per E-Mail geschickt."
                )
                % {"day": datum(done.ends_on)},
            )
            return redirect("portal:subscriptions")
    return render(
        request,
        "portal/subscription_cancel.html",
        {"row": self_service.row(subscription), "form": form},
    )


@customer_view
@require_POST
def undo_cancellation(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _own(request, subscription_id)
    done = _attempt(
        request,
        lambda: services.undo_own_cancellation(
            actor=request.actor,  # type: ignore[attr-defined]
            subscription_id=subscription.pk,
        ),
    )
    if done is not None:
        messages.success(
            request, _("Ihre Kündigung ist zurückgenommen; das Abonnement läuft weiter.")
        )
    return redirect("portal:subscriptions")
