"""Stammdaten: the dunning policy (levels, days, fees, interest, the notices' texts),
changed through ``dunning.services``. The customer mails' texts: ``masterdata_mails``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.dunning import services as dunning
from faktura.dunning.models import DunningPolicy
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt
from faktura.web.backoffice.views.masterdata import page

# --- Mahnrichtlinie --------------------------------------------------------------------------


ACCESS_EFFECTS = [("", _("unverändert")), ("restrict", _("einschränken")), ("block", _("sperren"))]


class LevelForm(forms.Form):
    """Parses the fields of one level; the service checks ranges, amounts and texts."""

    days = forms.IntegerField(label=_("Tage"))
    deadline_days = forms.IntegerField(label=_("Frist (Tage)"))
    fee_consumer = forms.DecimalField(label=_("Gebühr Verbraucher"), localize=True)
    fee_business = forms.DecimalField(label=_("Gebühr Unternehmen"), localize=True)
    interest = forms.BooleanField(label=_("Verzugszinsen"), required=False)
    flat_fee = forms.BooleanField(label=_("Pauschale 40 EUR (§ 288 Abs. 5 BGB)"), required=False)
    review_required = forms.BooleanField(label=_("Prüfung vor Versand"), required=False)
    access_effect = forms.ChoiceField(
        label=_("Zugang ab dieser Stufe"),
        choices=ACCESS_EFFECTS,
        required=False,
    )
    subject_de = forms.CharField(label=_("Betreff (de)"))
    text_de = forms.CharField(label=_("Text (de)"), widget=forms.Textarea(attrs={"rows": 6}))
    subject_en = forms.CharField(label=_("Betreff (en)"))
    text_en = forms.CharField(label=_("Text (en)"), widget=forms.Textarea(attrs={"rows": 6}))


class PolicyForm(forms.Form):
    collect_arrears_by_debit = forms.BooleanField(
        label=_("Rückstände mit der nächsten Lastschrift einziehen"), required=False
    )
    arrears_debit_limit = forms.IntegerField(label=_("Höchstens so oft je Forderung"))


@staff_view
def dunning_policy(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    failed: tuple[int, int, LevelForm] | None = None
    failed_policy: tuple[int, PolicyForm] | None = None
    if request.method == "POST" and "level" not in request.POST:
        policy_id = _int(request.POST.get("policy"))
        policy_form = PolicyForm(request.POST, prefix=f"p{policy_id}")
        if policy_form.is_valid():
            data = policy_form.cleaned_data
            if attempt(
                request,
                lambda: dunning.update_policy(
                    policy_id=policy_id,
                    actor=actor,
                    collect_arrears_by_debit=data["collect_arrears_by_debit"],
                    arrears_debit_limit=data["arrears_debit_limit"],
                ),
                gettext("Die Mahnrichtlinie ist gespeichert."),
            ):
                return redirect("backoffice:md_dunning")
        failed_policy = (policy_id, policy_form)
    elif request.method == "POST":
        policy_id = _int(request.POST.get("policy"))
        number = _int(request.POST.get("level"))
        form = LevelForm(request.POST, prefix=_prefix(policy_id, number))
        if form.is_valid():
            values = dict(form.cleaned_data)
            values["fee_consumer"] = f"{values['fee_consumer']}"
            values["fee_business"] = f"{values['fee_business']}"
            if attempt(
                request,
                lambda: dunning.update_level(
                    policy_id=policy_id, number=number, actor=actor, **values
                ),
                gettext("Die Mahnstufe ist gespeichert; der nächste Mahnlauf verwendet sie."),
            ):
                return redirect("backoffice:md_dunning")
        failed = (policy_id, number, form)
    policies = []
    for policy in DunningPolicy.objects.prefetch_related("levels").order_by("-is_default", "name"):
        levels = []
        for level in policy.levels.all():
            if failed and failed[:2] == (policy.pk, level.number):
                form = failed[2]
            else:
                form = LevelForm(
                    initial={name: getattr(level, name) for name in LevelForm.base_fields},
                    prefix=_prefix(policy.pk, level.number),
                )
            levels.append((level, form))
        if failed_policy and failed_policy[0] == policy.pk:
            policy_form = failed_policy[1]
        else:
            policy_form = PolicyForm(
                initial={name: getattr(policy, name) for name in PolicyForm.base_fields},
                prefix=f"p{policy.pk}",
            )
        policies.append((policy, policy_form, levels))
    return page(request, "dunning.html", {"policies": policies})


def _prefix(policy_id: int, number: int) -> str:
    return f"p{policy_id}-{number}"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None
