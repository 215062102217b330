"""Bank: statement upload, the lines with their match state, and booking a line by hand
(to invoices with the matching's suggestions, or as ignored). Each action one service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from faktura.banking import services as banking
from faktura.banking.models import BankTransaction
from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.invoicing import selectors as invoicing
from faktura.invoicing.models import Invoice
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message

PER_PAGE = 50
MAX_UPLOAD = 50 * 1024 * 1024  # a year of a busy account in camt.053 is far less

STATES = [("", _("Alle")), *BankTransaction.State.choices]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Kontoauszug (camt.052/053/054, MT940)"))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("Die Datei ist größer als 50 MB."))
        return upload


@staff_view
def bank_page(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = banking.import_statement(data=upload.read(), filename=upload.name, actor=actor)
        except DomainError as error:
            messages.error(request, f"{upload.name}: {message(error)}")
        else:
            if result.already_imported:
                messages.info(request, gettext("Diese Datei wurde schon eingelesen."))
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(new)d neue Buchung: %(booked)d gebucht, %(unmatched)d offen.",
                        "%(new)d neue Buchungen: %(booked)d gebucht, %(unmatched)d offen.",
                        result.new,
                    )
                    % {"new": result.new, "booked": result.booked, "unmatched": result.unmatched},
                )
            return redirect("backoffice:bank")
    state = request.GET.get("state", BankTransaction.State.UNMATCHED)
    lines = BankTransaction.objects.order_by("-booking_date", "-pk")
    if state in BankTransaction.State.values:
        lines = lines.filter(state=state)
    page = Paginator(lines, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "backoffice/bank/lines.html",
        {
            "form": form,
            "page": page,
            "state": state,
            "states": STATES,
            "can_import": permissions.allows(actor, "statement.import"),
        },
    )


@staff_view
def bank_line(request: HttpRequest, line_id: int) -> HttpResponse:
    line = BankTransaction.objects.filter(pk=line_id).first()
    if line is None:
        raise Http404
    actor = request.actor  # type: ignore[attr-defined]
    if request.method == "POST":
        if "ignore" in request.POST:
            done = attempt(
                request,
                lambda: banking.ignore_transaction(
                    transaction_id=line_id, actor=actor, reason=request.POST.get("reason", "")
                ),
                gettext("Die Buchung ist als ignoriert markiert."),
            )
        else:
            done = _assign(request, line_id, actor)
        if done:
            return redirect("backoffice:bank")
    numbers = {
        invoice["id"]
        for suggestion in line.suggestions or []
        for invoice in suggestion.get("invoices", [])
    }
    suggested = {
        invoice.pk: invoice
        for invoice in invoicing.with_open_amounts(
            Invoice.objects.filter(pk__in=numbers).select_related("customer")
        )
    }
    return render(
        request,
        "backoffice/bank/line.html",
        {
            "line": line,
            "suggestions": [
                (suggestion, [suggested.get(i["id"]) for i in suggestion.get("invoices", [])])
                for suggestion in line.suggestions or []
            ],
            "can_assign": permissions.allows(actor, "bank_transaction.assign")
            and line.state == BankTransaction.State.UNMATCHED,
        },
    )


def _assign(request: HttpRequest, line_id: int, actor: Any) -> bool:
    """Book the line to the invoices named by number, each with its amount."""
    allocations: list[tuple[int, object]] = []
    numbers = request.POST.getlist("invoice")
    amounts = request.POST.getlist("amount")
    for number, typed in zip(numbers, amounts, strict=False):
        if not number.strip():
            continue
        invoice = Invoice.objects.filter(number=number.strip()).only("pk").first()
        if invoice is None:
            messages.error(
                request, gettext("Keine Rechnung mit der Nummer %(n)s.") % {"n": number.strip()}
            )
            return False
        amount = invoicing.parse_amount(typed)
        if amount is None or amount <= 0:
            messages.error(request, gettext("Bitte geben Sie einen Betrag wie 119,00 ein."))
            return False
        allocations.append((invoice.pk, f"{amount:.2f}"))
    return attempt(
        request,
        lambda: banking.assign_transaction(
            transaction_id=line_id, allocations=allocations, actor=actor
        ),
        gettext("Die Buchung ist zugeordnet."),
    )
