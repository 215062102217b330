"""Ratenzahlungen: agree a plan for open invoices of one customer (the service's preview
first, then the agreement), one plan with its instalments paid and open, and its
cancellation with a reason. Each action one service call; refusals come back as a message
and change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.customers.models import Customer
from faktura.dunning import instalments, selectors
from faktura.dunning.models import InstalmentAgreement
from faktura.invoicing.selectors import parse_amount
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import datum

OPERATION = "dunning.instalments"


def _date(text: str) -> dt.date | None:
    """A date as people type it: 01.12.2026, 1.12.26 or 2026-12-01."""
    try:
        if "." in text:
            day, month, year = (int(part) for part in text.split("."))
            return dt.date(year + 2000 if year < 100 else year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


class PlanForm(forms.Form):
    invoices = forms.TypedMultipleChoiceField(
        label=_("Rechnungen"),
        coerce=int,
        choices=(),
        required=False,  # none chosen: the service says so
        widget=forms.CheckboxSelectMultiple,
    )
    mode = forms.ChoiceField(
        label=_("Raten"),
        choices=[
            ("count", _("Gleiche monatliche Raten")),
            ("schedule", _("Eigene Termine und Beträge")),
        ],
        initial="count",
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(label=_("Anzahl der Raten"), required=False)
    first_due = forms.DateField(
        label=_("Erste Rate fällig am"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    schedule = forms.CharField(
        label=_("Termine und Beträge"),
        required=False,
        max_length=4000,
        help_text=_("Eine Rate je Zeile: Fälligkeit und Betrag, z. B. 01.12.2026 50,00"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    grace_days = forms.IntegerField(
        label=_("Karenztage"),
        initial=7,
        help_text=_("Tage nach Fälligkeit einer Rate, bis die Vereinbarung als geplatzt gilt."),
    )
    note = forms.CharField(
        label=_("Grund/Notiz"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, candidates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = [  # type: ignore[attr-defined]
            (invoice.pk, invoice.number) for invoice in candidates
        ]

    def clean_schedule(self) -> list[tuple[dt.date, Decimal]]:
        """The lines as (due date, amount); the service checks the plan itself."""
        rows = []
        for number, text in enumerate(self.cleaned_data["schedule"].splitlines(), start=1):
            parts = text.replace(";", " ").split()
            if not parts:
                continue
            due = _date(parts[0])
            amount = parse_amount("".join(parts[1:])) if len(parts) > 1 else None
            if due is None or amount is None:
                raise forms.ValidationError(
                    _("Zeile %(n)d: bitte Fälligkeit und Betrag wie 01.12.2026 50,00 angeben."),
                    params={"n": number},
                )
            rows.append((due, amount))
        return rows

    def terms(self) -> dict[str, Any]:
        """The service's arguments (after is_valid)."""
        data = self.cleaned_data
        counted = data["mode"] == "count"
        return {
            "invoice_ids": data["invoices"],
            "instalments": data["count"] if counted else None,
            "first_due_date": data["first_due"] if counted else None,
            "schedule": None if counted else data["schedule"],
            "grace_days": data["grace_days"],
            "note": data["note"],
        }


@staff_view
def start(request: HttpRequest) -> HttpResponse:
    """From the Mahnwesen page: the customer number typed there leads to the form."""
    number = request.GET.get("kunde", "").strip()[:30]
    found = Customer.objects.filter(number__iexact=number).values_list("pk", flat=True).first()
    if not number or found is None:
        messages.error(
            request,
            gettext("Kein Kunde mit der Nummer %(n)s.") % {"n": number}
            if number
            else gettext("Bitte geben Sie eine Kundennummer an."),
        )
        return redirect("backoffice:dunning")
    return redirect("backoffice:instalment_new", found)


@staff_view
def new(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The plan's form: preview (what the service would agree), then agree it."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    actor = request.actor  # type: ignore[attr-defined]
    allowed = permissions.allows(actor, OPERATION)
    candidates = selectors.instalment_candidates(customer.pk)
    initial = {
        "invoices": [i.pk for i in candidates if not i.agreement and not i.in_collection],
        "first_due": clock.today(),
    }
    form = PlanForm(request.POST or None, candidates=candidates, initial=initial)
    plan: instalments.InstalmentPlan | None = None
    if request.method == "POST" and form.is_valid():
        terms = form.terms()
        try:
            if "create" in request.POST:
                agreement = instalments.create_instalment_agreement(
                    customer_id=customer.pk, actor=actor, **terms
                )
                messages.success(request, _created(agreement))
                return redirect("backoffice:instalment_agreement", agreement.pk)
            plan = instalments.preview_instalment_agreement(
                customer_id=customer.pk, actor=actor, **terms
            )
        except DomainError as error:
            messages.error(request, message(error))
    numbers = {i.pk: i.number for i in candidates}
    plan_invoices = (
        [(numbers.get(pk, ""), amount) for pk, amount in plan.open_amounts.items()] if plan else []
    )
    return render(
        request,
        "backoffice/dunning/instalment_form.html",
        {
            "customer": customer,
            "today": clock.today(),
            "form": form,
            "candidates": candidates,
            "chosen": {str(pk) for pk in (form["invoices"].value() or [])},
            "plan": plan,
            "plan_invoices": plan_invoices,
            "can": allowed,
        },
    )


def _created(agreement: InstalmentAgreement) -> str:
    rows = list(agreement.instalments.order_by("number").values_list("due_date", flat=True))
    return ngettext(
        "Ratenzahlung %(ref)s vereinbart: %(n)d Rate, fällig am %(day)s. Das Mahnwesen ruht "
        "für diese Rechnungen.",
        "Ratenzahlung %(ref)s vereinbart: %(n)d Raten, die erste fällig am %(day)s. Das "
        "Mahnwesen ruht für diese Rechnungen.",
        len(rows),
    ) % {"ref": agreement.reference, "n": len(rows), "day": datum(rows[0])}


@staff_view
def detail(request: HttpRequest, agreement_id: int) -> HttpResponse:
    found = selectors.instalment_agreement(agreement_id)
    if found is None:
        raise Http404
    return render(
        request,
        "backoffice/dunning/instalment.html",
        {
            "view": found,
            "agreement": found.agreement,
            "today": clock.today(),
            "can_cancel": permissions.allows(request.actor, OPERATION)  # type: ignore[attr-defined]
            and found.agreement.status == InstalmentAgreement.Status.ACTIVE,
        },
    )


@require_POST
@staff_view
def cancel(request: HttpRequest, agreement_id: int) -> HttpResponse:
    """End an active plan by hand with a reason: dunning resumes at the level reached."""
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: instalments.cancel_instalment_agreement(
            agreement_id=agreement_id, reason=request.POST.get("reason", ""), actor=actor
        ),
        gettext(
            "Die Ratenzahlung ist aufgehoben; die Rechnungen werden wieder gemahnt, ab der "
            "erreichten Stufe."
        ),
    )
    if not InstalmentAgreement.objects.filter(pk=agreement_id).exists():
        return redirect("backoffice:dunning")
    return redirect("backoffice:instalment_agreement", agreement_id)
