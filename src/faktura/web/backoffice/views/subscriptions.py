"""Abos: the list with search and filters, one subscription with what it billed and its
history, and the actions on it; each action one service call (the services check
permissions and states), refusals come back as a message and change nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.subscriptions import selectors
from faktura.subscriptions import services as subscriptions
from faktura.subscriptions.models import Subscription
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.labels import action_label

PER_PAGE = 50
OPERATION = "subscription.manage"

STATES = [("", _("Alle")), *Subscription.Status.choices]


class SubscriptionFilter(forms.Form):
    q = forms.CharField(label=_("Suche"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), choices=STATES, required=False)


@staff_view
def subscription_list(request: HttpRequest) -> HttpResponse:
    form = SubscriptionFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {"q": "", "status": ""}
    queryset = selectors.subscriptions(text=data["q"], status=data["status"])
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "backoffice/subscriptions/list.html",
        {"form": form, "page": page, "query": params.urlencode()},
    )


@staff_view
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/subscriptions/plans.html", {"plans": selectors.plans()})


def _subscription(subscription_id: int) -> Subscription:
    found = selectors.subscription(subscription_id)
    if found is None:
        raise Http404
    return found


class ChangeForm(forms.Form):
    plan = forms.TypedChoiceField(label=_("Tarif"), coerce=int, choices=())
    quantity = forms.CharField(label=_("Menge"), max_length=20)
    effective = forms.ChoiceField(
        label=_("Wirksam"),
        choices=[("now", _("sofort (anteilig)")), ("next_period", _("ab der nächsten Periode"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [  # type: ignore[attr-defined]
            (plan.pk, plan.name) for plan in selectors.active_plans()
        ]


@staff_view
def subscription_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _subscription(subscription_id)
    return _detail(request, subscription, ChangeForm(initial=_change_initial(subscription)))


def _change_initial(subscription: Subscription) -> dict[str, Any]:
    quantity = f"{subscription.quantity.normalize():f}".replace(".", ",")
    return {"plan": subscription.plan_id, "quantity": quantity, "effective": "now"}


def _detail(
    request: HttpRequest,
    subscription: Subscription,
    change_form: ChangeForm,
    quote: subscriptions.Quote | None = None,
) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    history = [
        (entry.created_at, action_label(entry.action), entry.actor, entry.data)
        for entry in selectors.history(subscription.pk)
    ]
    return render(
        request,
        "backoffice/subscriptions/detail.html",
        {
            "subscription": subscription,
            "periods": selectors.billed_periods(subscription.pk),
            "notices": selectors.notices(subscription.pk),
            "history": history,
            "change_form": change_form,
            "quote": quote,
            "can_manage": permissions.allows(actor, OPERATION)
            and subscription.plan_id is not None
            and subscription.status != Subscription.Status.ENDED,
        },
    )


@require_POST
@staff_view
def change(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Preview (the services' dry run: the proration lines) or carry out a change."""
    subscription = _subscription(subscription_id)
    actor = request.actor  # type: ignore[attr-defined]
    form = ChangeForm(request.POST)
    if not form.is_valid():
        return _detail(request, subscription, form)
    data = form.cleaned_data

    def call(dry_run: bool) -> subscriptions.Quote:
        return subscriptions.change_subscription(
            actor=actor,
            subscription_id=subscription_id,
            plan_id=data["plan"],
            quantity=data["quantity"].strip().replace(",", "."),
            effective=data["effective"],
            dry_run=dry_run,
        )

    if "preview" in request.POST:
        try:
            quote = call(True)
        except DomainError as error:
            messages.error(request, message(error))
            return _detail(request, subscription, form)
        return _detail(request, subscription, form, quote)
    attempt(request, lambda: call(False), gettext("Das Abo ist geändert."))
    return redirect("backoffice:subscription", subscription_id)


@require_POST
@staff_view
def pause(request: HttpRequest, subscription_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: subscriptions.pause_subscription(actor=actor, subscription_id=subscription_id),
        gettext("Das Abo ist pausiert."),
    )
    return redirect("backoffice:subscription", subscription_id)


@require_POST
@staff_view
def resume(request: HttpRequest, subscription_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: subscriptions.resume_subscription(actor=actor, subscription_id=subscription_id),
        gettext("Das Abo läuft wieder."),
    )
    return redirect("backoffice:subscription", subscription_id)


class CancelForm(forms.Form):
    received_on = forms.DateField(
        label=_("Kündigung erhalten am"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_on = forms.DateField(
        label=_("Vertragsende (leer: frühestmöglich)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=_("Grund"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@staff_view
def cancel(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """A confirmation page first: the notice is binding and credits what runs past the end."""
    subscription = _subscription(subscription_id)
    form = CancelForm(request.POST or None, initial={"received_on": clock.today()})
    if request.method == "POST" and form.is_valid():
        actor = request.actor  # type: ignore[attr-defined]
        data = form.cleaned_data
        if attempt(
            request,
            lambda: subscriptions.cancel_subscription(
                actor=actor,
                subscription_id=subscription_id,
                received_on=data["received_on"],
                end_on=data["end_on"],
                reason=data["reason"],
            ),
            gettext("Die Kündigung ist erfasst."),
        ):
            return redirect("backoffice:subscription", subscription_id)
    return render(
        request,
        "backoffice/subscriptions/confirm.html",
        {
            "subscription": subscription,
            "form": form,
            "terminate": False,
            "can_manage": permissions.allows(request.actor, OPERATION),  # type: ignore[attr-defined]
        },
    )


class TerminateForm(forms.Form):
    on = forms.DateField(
        label=_("Beenden zum"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(
        label=_("Grund"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@staff_view
def terminate(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Staff end the contract at once (or on a date), whatever its terms say."""
    subscription = _subscription(subscription_id)
    form = TerminateForm(request.POST or None, initial={"on": clock.today()})
    if request.method == "POST" and form.is_valid():
        actor = request.actor  # type: ignore[attr-defined]
        data = form.cleaned_data
        if attempt(
            request,
            lambda: subscriptions.terminate_subscription(
                actor=actor, subscription_id=subscription_id, reason=data["reason"], on=data["on"]
            ),
            gettext("Das Abo ist beendet."),
        ):
            return redirect("backoffice:subscription", subscription_id)
    return render(
        request,
        "backoffice/subscriptions/confirm.html",
        {
            "subscription": subscription,
            "form": form,
            "terminate": True,
            "can_manage": permissions.allows(request.actor, OPERATION),  # type: ignore[attr-defined]
        },
    )
