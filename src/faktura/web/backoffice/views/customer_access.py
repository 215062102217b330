"""Zugang on the customer's page: let a customer in despite its blocks until a date (or until
revoked), and end that override early. Each is one service call (``access.services``) that
decides, audits and tells the customer's product; the page hides the forms from roles the
matrix refuses, and the service refuses a forged POST anyway."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from faktura.access import services as access
from faktura.access.models import AccessOverride
from faktura.customers.models import Customer
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt
from faktura.web.backoffice.templatetags.faktura_format import datum


class OverrideForm(forms.Form):
    """Only parses: whether a reason is given and the date is not past, the service says."""

    until = forms.DateField(required=False)
    why = forms.CharField(required=False)


def _back(customer_id: int) -> HttpResponse:
    return redirect(reverse("backoffice:customer", args=[customer_id]) + "#zugang")


@require_POST
@staff_view
def override(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    if not Customer.objects.filter(pk=customer_id).exists():
        raise Http404
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Bitte geben Sie ein Datum wie 31.12.2026 ein."))
        return _back(customer_id)
    until = form.cleaned_data["until"]
    if until is None:
        done = gettext("Der Zugang ist trotz Sperre freigegeben, bis auf Widerruf.")
    else:
        done = gettext("Der Zugang ist trotz Sperre freigegeben, bis einschließlich %(date)s.") % {
            "date": datum(until)
        }
    attempt(
        request,
        lambda: access.override(
            customer_id=customer_id, until=until, why=form.cleaned_data["why"], actor=actor
        ),
        done,
    )
    return _back(customer_id)


@require_POST
@staff_view
def end_override(request: HttpRequest, customer_id: int, override_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    if not AccessOverride.objects.filter(pk=override_id, customer_id=customer_id).exists():
        raise Http404
    attempt(
        request,
        lambda: access.revoke_override(
            override_id=override_id, actor=actor, why=request.POST.get("why", "")
        ),
        gettext("Die Freigabe ist beendet; bestehende Sperren gelten wieder."),
    )
    return _back(customer_id)
