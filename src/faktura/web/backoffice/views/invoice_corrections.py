"""Corrections of a finalized invoice: a credit note for chosen lines and quantities or for
a gross amount (its totals previewed by the invoicing service), and the write-off of a
small rest."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.invoicing import selectors
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.payments import services as payments
from faktura.payments.models import PaymentSettings
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import euro, normalize
from faktura.web.backoffice.views.invoice_detail import _invoice

QUANTITY_HELP = _("Bitte geben Sie eine Menge wie 1 oder 2,5 ein.")


def number_text(text: str) -> str | None:
    """A number as people type it (``2,5``, ``1.234,5``, ``2.5``) as ``2.5``; None if none."""
    compact = text.strip().replace(" ", "").replace("\xa0", "")
    if "," in compact:
        compact = compact.replace(".", "").replace(",", ".")
    try:
        Decimal(compact)
    except InvalidOperation:
        return None
    return compact


# --- credit note ---------------------------------------------------------------------------


class CreditForm(forms.Form):
    reason = forms.CharField(
        label=_("Grund der Gutschrift"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    restock = forms.BooleanField(label=_("Bestand zurückbuchen"), required=False)


def _requested(
    request: HttpRequest, rows: list[tuple[Any, Decimal]]
) -> tuple[list[tuple[int, str]], dict[int, str], dict[int, str]]:
    """The quantities typed per line: (position, quantity) to credit, the raw inputs, and
    a German error per position whose input is no number."""
    lines: list[tuple[int, str]] = []
    raw: dict[int, str] = {}
    errors: dict[int, str] = {}
    for line, _left in rows:
        text = request.POST.get(f"qty_{line.position}", "").strip()
        raw[line.position] = text
        if not text:
            continue
        value = number_text(text)
        if value is None:
            errors[line.position] = str(QUANTITY_HELP)
        elif Decimal(value) != 0:
            lines.append((line.position, value))
    return lines, raw, errors


# The choice on the credit-note page: ``?art=betrag`` (a hidden field when posting).
AMOUNT_MODE = "betrag"


@staff_view
def credit_note(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Credit chosen lines and quantities, or a gross amount: preview, then draft it."""
    data = request.POST if request.method == "POST" else request.GET
    if data.get("art") == AMOUNT_MODE:
        return _credit_amount(request, invoice_id)
    return _credit_lines(request, invoice_id)


def _credit_lines(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Choose lines and quantities, see the credit note's totals, then draft it."""
    invoice = _invoice(invoice_id)
    actor = request.actor  # type: ignore[attr-defined]
    rows = invoicing.creditable_lines(invoice)
    form = CreditForm(request.POST or None)
    lines, raw, line_errors = (
        _requested(request, rows) if request.method == "POST" else ([], {}, {})
    )
    preview: Invoice | None = None
    error = ""
    if request.method == "POST" and not line_errors:
        if not lines:
            error = gettext("Bitte geben Sie bei mindestens einer Position eine Menge an.")
        else:
            try:
                preview = invoicing.preview_credit_note(
                    invoice_id=invoice_id, actor=actor, lines=list(lines)
                )
            except DomainError as refused:
                error = message(refused)
    creating = request.method == "POST" and "create" in request.POST
    if creating and preview is not None and form.is_valid():
        data = form.cleaned_data
        made: list[Invoice] = []
        if attempt(
            request,
            lambda: made.append(
                invoicing.create_credit_note(
                    invoice_id=invoice_id,
                    actor=actor,
                    lines=list(lines),
                    reason=data["reason"],
                    restock=data["restock"],
                )
            ),
            gettext(
                "Die Gutschrift ist als Entwurf angelegt; prüfen Sie sie und schreiben "
                "Sie sie fest."
            ),
        ):
            return redirect("backoffice:invoice", made[0].pk)
    context = {
        "invoice": invoice,
        "form": form,
        "rows": [
            (line, left, raw.get(line.position, ""), line_errors.get(line.position, ""))
            for line, left in rows
        ],
        "preview": preview,
        "error": error,
        "can_correct": permissions.allows(actor, "invoice.correct"),
        "has_stock": any(line.product_id for line, _left in rows),
    }
    if getattr(request, "htmx", False) and not creating:
        return render(request, "backoffice/invoices/credit_preview.html", context)
    return render(request, "backoffice/invoices/credit_note.html", context)


class CreditAmountForm(forms.Form):
    amount = forms.CharField(
        label=_("Betrag (brutto)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    tax_rate = forms.ChoiceField(label=_("Steuersatz des Betrags"))
    # The reason names the credit note's only line (at most 200 characters).
    reason = forms.CharField(label=_("Grund der Gutschrift"), max_length=200)

    def __init__(self, *args: Any, rates: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if len(rates) > 1:
            field = self.fields["tax_rate"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", _("Bitte wählen")), *rates]
        else:
            del self.fields["tax_rate"]  # the invoice's only rate

    def clean_amount(self) -> str:
        amount = selectors.parse_amount(self.cleaned_data["amount"])
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 119,00 ein."))
        return f"{amount:.2f}"


def _rates(invoice: Invoice) -> list[tuple[str, str]]:
    """The VAT rates on the invoice (code, label), in the order of its lines."""
    rates: dict[str, str] = {}
    for code, rate in invoice.lines.order_by("position").values_list("tax_rate_code", "tax_rate"):
        rates.setdefault(code, gettext("USt. %(rate)s %%") % {"rate": normalize(rate)})
    return list(rates.items())


def _credit_amount(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Credit a gross amount with a reason: see the credit note's totals, then draft it."""
    invoice = _invoice(invoice_id)
    actor = request.actor  # type: ignore[attr-defined]
    posted = request.method == "POST"
    form = CreditAmountForm(request.POST if posted else None, rates=_rates(invoice))
    remaining = invoicing.creditable_amount(invoice)
    valid = posted and form.is_valid()
    data = form.cleaned_data if posted else {}
    preview: Invoice | None = None
    error = ""
    # The preview needs the amount (and the rate, if there is a choice), not the reason.
    if "amount" in data and ("tax_rate" in data or "tax_rate" not in form.fields):
        try:
            preview = invoicing.preview_credit_note(
                invoice_id=invoice_id,
                actor=actor,
                amount=data["amount"],
                tax_rate=data.get("tax_rate"),
                reason=data.get("reason", ""),
            )
        except DomainError as refused:
            error = message(refused)
            if refused.code == "credit_exceeds_remaining":
                error += " " + gettext("Noch gutschreibbar sind %(amount)s.") % {
                    "amount": euro(remaining)
                }
    creating = posted and "create" in request.POST
    if creating and preview is not None and valid:
        made: list[Invoice] = []
        if attempt(
            request,
            lambda: made.append(
                invoicing.create_credit_note(
                    invoice_id=invoice_id,
                    actor=actor,
                    amount=data["amount"],
                    tax_rate=data.get("tax_rate"),
                    reason=data["reason"],
                )
            ),
            gettext(
                "Die Gutschrift ist als Entwurf angelegt; prüfen Sie sie und schreiben "
                "Sie sie fest."
            ),
        ):
            return redirect("backoffice:invoice", made[0].pk)
    context = {
        "invoice": invoice,
        "form": form,
        "remaining": remaining,
        "preview": preview,
        "error": error,
        "can_correct": permissions.allows(actor, "invoice.correct"),
        "mode": AMOUNT_MODE,
    }
    if getattr(request, "htmx", False) and not creating:
        return render(request, "backoffice/invoices/credit_preview.html", context)
    return render(request, "backoffice/invoices/credit_amount.html", context)


# --- write-off -----------------------------------------------------------------------------


class WriteOffForm(forms.Form):
    amount = forms.CharField(label=_("Betrag"), max_length=20)
    reason = forms.CharField(label=_("Grund"), max_length=200)

    def clean_amount(self) -> str:
        amount = selectors.parse_amount(self.cleaned_data["amount"])
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("Bitte geben Sie einen Betrag wie 0,50 ein."))
        return f"{amount:.2f}"


@staff_view
def write_off(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Forgo a small rest of the invoice (at most the write-off tolerance)."""
    invoice = _invoice(invoice_id)
    initial = {"amount": f"{max(invoice.open_amount, 0):.2f}".replace(".", ",")}
    form = WriteOffForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = request.actor  # type: ignore[attr-defined]
        data = form.cleaned_data
        if attempt(
            request,
            lambda: payments.write_off(
                invoice_id=invoice_id, amount=data["amount"], reason=data["reason"], actor=actor
            ),
            gettext("Der Betrag ist ausgebucht."),
        ):
            return redirect("backoffice:invoice", invoice_id)
    return render(
        request,
        "backoffice/invoices/write_off.html",
        {
            "invoice": invoice,
            "form": form,
            "tolerance": PaymentSettings.load().effective_write_off_tolerance,
            "can_write_off": permissions.allows(
                request.actor,  # type: ignore[attr-defined]
                "payment.write_off",
            ),
        },
    )
