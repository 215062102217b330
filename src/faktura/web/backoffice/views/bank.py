"""Bank: statement upload, the lines with their match state, and booking a line by hand
(to invoices with the matching's suggestions, or as ignored). Each action one service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from faktura.banking import selectors as bank_selectors
from faktura.banking import services as banking
from faktura.banking.models import BankTransaction
from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.invoicing import selectors as invoicing
from faktura.invoicing.models import Invoice
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message

PER_PAGE = 50
ASSIGN_ROWS = 4  # invoices one line can be split over by hand
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
            query = "&".join(f"auszug={pk}" for pk in result.statement_ids)
            return redirect(f"{reverse('backoffice:bank_import')}?{query}")
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
def import_status(request: HttpRequest) -> HttpResponse:
    """The state of an import: its lines per state; while the worker still books some, the
    fragment is polled (htmx) until none is left."""
    ids = [int(value) for value in request.GET.getlist("auszug") if value.isdigit()][:20]
    progress = bank_selectors.import_progress(ids)
    if not progress.statements:
        raise Http404
    context: dict[str, Any] = {"progress": progress, "query": request.GET.urlencode()}
    if getattr(request, "htmx", False):
        return render(request, "backoffice/bank/import_status.html", context)
    # What this import left for a person, to assign right away.
    context["open_lines"] = BankTransaction.objects.filter(
        statement__in=progress.statements, state=BankTransaction.State.UNMATCHED
    ).order_by("booking_date", "pk")[:PER_PAGE]
    return render(request, "backoffice/bank/import.html", context)


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
    suggestions = [
        (
            suggestion,
            [
                (suggested.get(part["id"]), part.get("amount"))
                for part in suggestion.get("invoices", [])
            ],
        )
        for suggestion in line.suggestions or []
    ]
    # The form starts with the best suggestion's split (or the whole amount on one row).
    prefill: list[tuple[str, str]] = [
        (invoice.number or "", _german(amount))
        for invoice, amount in (suggestions[0][1] if suggestions else [])
        if invoice is not None
    ][:ASSIGN_ROWS] or [("", _german(line.amount))]
    if request.method == "POST" and "ignore" not in request.POST:  # keep what was typed
        prefill = list(
            zip(request.POST.getlist("invoice"), request.POST.getlist("amount"), strict=False)
        )[:ASSIGN_ROWS]
    prefill += [("", "")] * (ASSIGN_ROWS - len(prefill))
    return render(
        request,
        "backoffice/bank/line.html",
        {
            "line": line,
            "suggestions": suggestions,
            "prefill": prefill,
            "can_assign": permissions.allows(actor, "bank_transaction.assign")
            and line.state == BankTransaction.State.UNMATCHED,
        },
    )


def _german(amount: Any) -> str:
    if amount in (None, ""):
        return ""
    return f"{Decimal(str(amount)):.2f}".replace(".", ",")


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
