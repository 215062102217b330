"""Stammdaten: the company, letterhead, number ranges and settings pages.

Each page parses a form and calls one service (``core.services``); the model's own
validators give the German errors. A role that may not change master data sees the
values without a save button, and the service refuses a forged POST.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.forms import inlineformset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from faktura.core import permissions
from faktura.core import services as core
from faktura.core.models import BankAccount, Company, NumberCounter, NumberRange
from faktura.documents.models import Letterhead
from faktura.documents.samples import letterhead_preview_pdf
from faktura.payments.models import PaymentSettings
from faktura.subscriptions.models import BillingSettings
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt

OPERATION = "master_data.change"
PREVIEW_SECONDS = 600


def tabs(actor: Any) -> list[tuple[str, Any]]:
    """The pages of Stammdaten; the admin-only ones only for those who may use them."""
    shown: list[tuple[str, Any]] = [
        ("backoffice:md_company", _("Firma")),
        ("backoffice:md_letterhead", _("Briefkopf")),
        ("backoffice:md_numbers", _("Nummernkreise")),
        ("backoffice:md_settings", _("Rechnungs- und Zahlungseinstellungen")),
        ("backoffice:md_mails", _("E-Mail-Vorlagen")),
        ("backoffice:md_dunning", _("Mahnrichtlinie")),
        ("backoffice:md_products", _("Artikel")),
    ]
    if permissions.allows(actor, "user.manage"):
        shown.append(("backoffice:md_users", _("Benutzer und Rollen")))
    if permissions.allows(actor, "api_key.manage"):
        shown.append(("backoffice:md_api_keys", _("API-Schlüssel")))
    if permissions.allows(actor, "webhook.manage"):
        shown.append(("backoffice:md_webhooks", _("Webhooks")))
    return [(reverse(name), label) for name, label in shown]


def page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    return render(
        request,
        f"backoffice/masterdata/{template}",
        {"tabs": tabs(actor), "can_change": permissions.allows(actor, OPERATION), **context},
    )


def changed_fields(form: forms.BaseForm) -> list[str] | None:
    """The changed fields of a model form; None for a new row (every field is saved)."""
    instance = getattr(form, "instance", None)
    if instance is not None and instance.pk is None:
        return None
    return list(form.changed_data)


def read_only(*forms_: Any) -> None:
    """Show the values to a role that may not change them: every field disabled."""
    for form in forms_:
        for each in getattr(form, "forms", [form]):
            for field in each.fields.values():
                field.disabled = True


@staff_view
def index(request: HttpRequest) -> HttpResponse:
    return redirect("backoffice:md_company")


# --- Firma ---------------------------------------------------------------------------------


class PartForm(forms.ModelForm):
    """A form for some fields of a row: the row's own checks about other fields (the
    company's tax number, say) show above the form instead of failing."""

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            for name in [n for n in errors.error_dict if n not in self.fields]:
                if name != NON_FIELD_ERRORS:
                    moved = errors.error_dict.pop(name)
                    errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(moved)
        super()._update_errors(errors)  # type: ignore[misc]


class CompanyForm(PartForm):
    class Meta:
        model = Company
        fields = [
            "legal_name",
            "legal_form",
            "street",
            "house_number",
            "postcode",
            "city",
            "country",
            "register_court",
            "register_number",
            "managing_directors",
            "tax_number",
            "vat_id",
            "creditor_id",
            "small_business",
            "email",
            "phone",
            "website",
            "contact_name",
        ]


BankAccountForms: Any = inlineformset_factory(
    Company,
    BankAccount,
    fields=["bank_name", "account_holder", "iban", "bic", "is_default"],
    extra=1,
    can_delete=True,
)


@staff_view
def company(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    instance = Company.objects.order_by("pk").first() or Company()
    data = request.POST if request.method == "POST" else None
    form = CompanyForm(data, instance=instance)
    accounts = BankAccountForms(data, instance=instance, prefix="bank")
    if data is not None and form.is_valid() and accounts.is_valid():
        saved = accounts.save(commit=False)
        rows: list[tuple[models.Model, list[str] | None]] = [(form.instance, changed_fields(form))]
        rows += [
            (account, None if account.pk is None else _changed(accounts, account))
            for account in saved
        ]
        if attempt(
            request,
            lambda: core.save_master_data_rows(
                actor=actor, rows=rows, removed=list(accounts.deleted_objects)
            ),
            gettext("Die Firmendaten sind gespeichert."),
        ):
            return redirect("backoffice:md_company")
    elif data is None and not permissions.allows(actor, OPERATION):
        read_only(form, accounts)
    return page(request, "company.html", {"form": form, "accounts": accounts})


def _changed(formset: Any, instance: models.Model) -> list[str]:
    for each in formset.forms:
        if each.instance is instance:
            return list(each.changed_data)
    return []


# --- Briefkopf -----------------------------------------------------------------------------


class LetterheadForm(PartForm):
    class Meta:
        model = Letterhead
        fields = [
            "logo",
            "first_page_background",
            "following_pages_background",
            "accent_colour",
            "show_footer",
        ]
        widgets = {"accent_colour": forms.TextInput(attrs={"type": "color"})}


@staff_view
def letterhead(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    instance = Letterhead.current() or Letterhead()
    form = LetterheadForm(request.POST or None, request.FILES or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        if attempt(
            request,
            lambda: core.save_master_data(
                actor=actor,
                instance=form.instance,
                changed=changed_fields(form),
                operation=OPERATION,
            ),
            gettext("Der Briefkopf ist gespeichert."),
        ):
            return redirect("backoffice:md_letterhead")
    elif request.method != "POST" and not permissions.allows(actor, OPERATION):
        read_only(form)
    return page(
        request,
        "letterhead.html",
        {"form": form, "preview_url": reverse("backoffice:md_letterhead_preview")},
    )


@xframe_options_sameorigin  # shown in a frame of the Briefkopf page
@staff_view
def letterhead_preview(request: HttpRequest) -> HttpResponse:
    """The sample invoice as PDF with the saved letterhead (GET), or with the pending one
    of the form (POST): as the PDF itself, or for htmx as a frame showing it."""
    if request.method == "GET":
        token = request.GET.get("pending", "")
        if token:
            pdf = cache.get(_preview_key(request, token))
            if pdf is None:
                raise Http404
            return _pdf(pdf)
        saved = Letterhead.current()
        return _pdf(letterhead_preview_pdf(saved.to_pdf_letterhead() if saved else None))
    if request.method != "POST":
        return HttpResponse(status=405)
    instance = Letterhead.current() or Letterhead()
    form = LetterheadForm(request.POST, request.FILES, instance=instance)
    if not form.is_valid():
        return render(
            request, "backoffice/masterdata/_preview.html", {"form": form, "src": None}, status=422
        )
    pdf = letterhead_preview_pdf(form.instance.to_pdf_letterhead())
    if not request.headers.get("HX-Request"):
        return _pdf(pdf)
    token = secrets.token_urlsafe(16)
    cache.set(_preview_key(request, token), pdf, PREVIEW_SECONDS)
    src = f"{reverse('backoffice:md_letterhead_preview')}?pending={token}"
    return render(request, "backoffice/masterdata/_preview.html", {"form": form, "src": src})


def _preview_key(request: HttpRequest, token: str) -> str:
    return f"letterhead-preview:{request.user.pk}:{token}"


def _pdf(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="briefkopf-vorschau.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# --- Nummernkreise -------------------------------------------------------------------------


class NumberRangeForm(forms.Form):
    pattern = forms.CharField(label=_("Muster"), max_length=60)
    yearly_reset = forms.BooleanField(label=_("Jährlich neu beginnen"), required=False)
    # Set when the page offered the reset (only before a range's first number).
    reset_offered = forms.BooleanField(required=False, widget=forms.HiddenInput)


@staff_view
def number_ranges(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    failed: dict[str, forms.Form] = {}
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        form = NumberRangeForm(request.POST)
        if form.is_valid() and attempt(
            request,
            lambda: core.change_number_range(
                actor=actor,
                kind=kind,
                pattern=form.cleaned_data["pattern"],
                yearly_reset=form.cleaned_data["yearly_reset"]
                if form.cleaned_data["reset_offered"]
                else None,
            ),
            gettext("Der Nummernkreis ist geändert; die Zählung läuft lückenlos weiter."),
        ):
            return redirect("backoffice:md_numbers")
        failed[kind] = form
    year = _year()
    rows = []
    for number_range in NumberRange.objects.order_by("kind"):
        counters = dict(
            NumberCounter.objects.filter(number_range=number_range).values_list(
                "period", "last_value"
            )
        )
        period = year if number_range.yearly_reset else 0
        last = counters.get(period, 0)
        rows.append(
            {
                "range": number_range,
                "last": last,
                "next": number_range.format(year=year, seq=last + 1),
                "taken": sum(counters.values()),
                "form": failed.get(number_range.kind)
                or NumberRangeForm(
                    initial={
                        "pattern": number_range.pattern,
                        "yearly_reset": number_range.yearly_reset,
                    }
                ),
            }
        )
    return page(request, "numbers.html", {"rows": rows, "year": year})


def _year() -> int:
    from faktura.core import clock

    return clock.today().year


# --- Rechnungs- und Zahlungseinstellungen ----------------------------------------------------


class InvoicingSettingsForm(PartForm):
    class Meta:
        model = Company
        fields = [
            "payment_term_days",
            "early_payment_discount_days",
            "early_payment_discount_percent",
            "approval_threshold",
            "approval_for_new_customers",
            "approval_for_manual_invoices",
            "auto_finalize",
            "four_eyes_required",
        ]
        localized_fields = "__all__"


class BillingSettingsForm(PartForm):
    class Meta:
        model = BillingSettings
        fields = ["review_days", "negative_proration", "trial_notice_days"]


class PaymentSettingsForm(PartForm):
    class Meta:
        model = PaymentSettings
        fields = [
            "require_payment_confirmation",
            "write_off_tolerance",
            "return_fee_default",
            "charge_fee_on_rejected_debit",
            "pre_notification_days",
            "default_credit_limit",
            "risk_score_threshold",
            "risk_action",
        ]
        localized_fields = "__all__"


@staff_view
def settings_page(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    company_row = Company.objects.order_by("pk").first()
    if company_row is None:
        return redirect("backoffice:md_company")
    data = request.POST if request.method == "POST" else None
    invoicing = InvoicingSettingsForm(data, instance=company_row, prefix="invoicing")
    if not permissions.allows(actor, "settings.four_eyes"):
        # Only an admin switches the four-eyes principle; the service refuses it anyway.
        invoicing.fields["four_eyes_required"].disabled = True
    billing = BillingSettingsForm(data, instance=BillingSettings.load(), prefix="billing")
    payment = PaymentSettingsForm(data, instance=PaymentSettings.load(), prefix="payment")
    forms_ = (invoicing, billing, payment)
    if data is not None and all(form.is_valid() for form in forms_):
        rows = [(form.instance, changed_fields(form)) for form in forms_]
        if attempt(
            request,
            lambda: core.save_master_data_rows(actor=actor, rows=rows),
            gettext("Die Einstellungen sind gespeichert."),
        ):
            return redirect("backoffice:md_settings")
    elif data is None and not permissions.allows(actor, OPERATION):
        read_only(*forms_)
    return page(
        request,
        "settings.html",
        {"invoicing": invoicing, "billing": billing, "payment": payment},
    )
