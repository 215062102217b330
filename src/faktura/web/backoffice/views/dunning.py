"""Mahnwesen: open cases by level, the proposals waiting for review (approve or discard,
one or many), the notices sent with their letters, dunning blocks, instalment plans,
collection cases and the run of the day. Each action calls its service; refusals come
back as a message and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.customers import services as customers
from faktura.customers.models import Customer
from faktura.dunning import collection_handover, letter, selectors
from faktura.dunning import services as dunning
from faktura.dunning.models import CollectionExport, DunningNotice
from faktura.dunning.run import run_dunning
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import datum

PER_PAGE = 50


class BlockForm(forms.Form):
    customer = forms.CharField(label=_("Kundennummer"), max_length=30)
    until = forms.DateField(
        label=_("Bis (leer: bis auf Weiteres)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("Grund"), max_length=200)

    def clean_customer(self) -> int:
        number = self.cleaned_data["customer"].strip()
        found = Customer.objects.filter(number__iexact=number).values_list("pk", flat=True).first()
        if found is None:
            raise forms.ValidationError(_("Kein Kunde mit der Nummer %(n)s."), params={"n": number})
        return found


@staff_view
def overview(request: HttpRequest) -> HttpResponse:
    return _overview(request)


def _overview(request: HttpRequest, block_form: BlockForm | None = None) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    today = clock.today()
    can = {
        name: permissions.allows(actor, operation)
        for name, operation in (
            ("approve", "dunning.approve"),
            ("run", "dunning.run"),
            ("block", "customer.change"),
            ("collection_approve", "collection.approve"),
            ("collection_export", "collection.export"),
            ("instalments", "dunning.instalments"),
        )
    }
    return render(
        request,
        "backoffice/dunning/overview.html",
        {
            "today": today,
            "levels": selectors.open_cases_by_level(),
            "proposals": selectors.proposals(),
            "blocked": selectors.blocked_customers(today),
            "agreements": selectors.instalment_agreements(),
            "cases": selectors.collection_cases(),
            "exports_ready": selectors.exports_ready(),
            "exports": CollectionExport.objects.order_by("-pk")[:5],
            "last_run": selectors.last_run(),
            "block_form": block_form or BlockForm(),
            "can": can,
        },
    )


@staff_view
def notice_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:100]
    try:
        level = int(request.GET["level"]) if request.GET.get("level") else None
    except ValueError:
        level = None
    page = Paginator(selectors.sent_notices(text=text, level=level), PER_PAGE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "backoffice/dunning/notices.html",
        {
            "page": page,
            "q": text,
            "level": level,
            "levels": sorted(selectors.level_names().items()),
            "query": params.urlencode(),
        },
    )


@staff_view
def notice_letter(request: HttpRequest, notice_id: int) -> HttpResponse:
    """The archived letter of a notice, byte for byte (its SHA-256 checked)."""
    notice = DunningNotice.objects.select_related("letter").filter(pk=notice_id).first()
    if notice is None or not hasattr(notice, "letter"):
        raise Http404
    try:
        found = letter.attachment(f"{letter.ATTACHMENT_PREFIX}{notice.letter.pk}")
    except DomainError as error:  # the archived file was altered: never hand it out
        messages.error(request, message(error))
        return redirect("backoffice:dunning_notices")
    except OSError:
        messages.error(
            request, gettext("Die archivierte Datei fehlt. Bitte prüfen Sie das Archiv.")
        )
        return redirect("backoffice:dunning_notices")
    if found is None:  # pragma: no cover - the prefix is ours
        raise Http404
    filename, data, content_type = found
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _each(request: HttpRequest, ids: list[int], call: Callable[[int], Any], done: str) -> None:
    """Call the service for every id; one message with how many went through, one per
    distinct refusal."""
    succeeded = 0
    refusals: dict[str, int] = {}
    for pk in ids:
        try:
            call(pk)
        except DomainError as error:
            text = message(error)
            refusals[text] = refusals.get(text, 0) + 1
        else:
            succeeded += 1
    if succeeded:
        messages.success(request, done % {"n": succeeded})
    for text in refusals:
        messages.error(request, text)


@require_POST
@staff_view
def decide_proposals(request: HttpRequest) -> HttpResponse:
    """Approve (send) or discard proposals: the ticked ones, or the one whose button was
    pressed."""
    actor = request.actor  # type: ignore[attr-defined]
    reason = request.POST.get("reason", "")
    if request.POST.get("approve_one"):
        action, raw = "approve", [request.POST["approve_one"]]
    elif request.POST.get("skip_one"):
        action, raw = "skip", [request.POST["skip_one"]]
    else:
        action, raw = request.POST.get("action", ""), request.POST.getlist("notice")
    ids = sorted({int(value) for value in raw if value.isdigit()})
    if not ids or action not in ("approve", "skip"):
        messages.error(request, gettext("Bitte wählen Sie mindestens einen Vorschlag."))
        return redirect("backoffice:dunning")
    if action == "approve":
        _each(
            request,
            ids,
            lambda pk: dunning.approve_notice(notice_id=pk, actor=actor),
            ngettext(
                "%(n)d Mahnung freigegeben und versendet.",
                "%(n)d Mahnungen freigegeben und versendet.",
                len(ids),
            ),
        )
    else:
        _each(
            request,
            ids,
            lambda pk: dunning.cancel_notice(notice_id=pk, actor=actor, reason=reason),
            ngettext("%(n)d Vorschlag verworfen.", "%(n)d Vorschläge verworfen.", len(ids)),
        )
    return redirect("backoffice:dunning")


@require_POST
@staff_view
def start_run(request: HttpRequest) -> HttpResponse:
    """The dunning run of today, as the daily job and `faktura dunning-run` start it."""
    actor = request.actor  # type: ignore[attr-defined]
    today = clock.today()
    try:
        run = run_dunning(on=today, actor=actor)
    except DomainError as error:
        messages.error(request, message(error))
        return redirect("backoffice:dunning")
    run.refresh_from_db()
    messages.success(
        request,
        gettext(
            "Mahnlauf vom %(day)s abgeschlossen – überfällig: %(overdue)d, "
            "versendet: %(sent)d, zur Prüfung: %(proposed)d."
        )
        % {
            "day": datum(today),
            "overdue": run.invoices_overdue,
            "sent": run.notices_sent,
            "proposed": run.notices_proposed,
        },
    )
    if run.errors:
        messages.error(
            request,
            ngettext(
                "%(n)d Fehler im Lauf; Einzelheiten im Protokoll des Laufs.",
                "%(n)d Fehler im Lauf; Einzelheiten im Protokoll des Laufs.",
                run.errors,
            )
            % {"n": run.errors},
        )
    return redirect("backoffice:dunning")


@require_POST
@staff_view
def dunning_block(request: HttpRequest) -> HttpResponse:
    """Set or lift a customer's dunning block (customer master data, audited)."""
    actor = request.actor  # type: ignore[attr-defined]
    form = BlockForm(request.POST)
    if not form.is_valid():
        return _overview(request, block_form=form)
    data = form.cleaned_data
    if request.POST.get("lift"):
        changes: dict[str, Any] = {
            "dunning_block": False,
            "dunning_block_until": None,
            "dunning_block_reason": data["reason"],
        }
        done = gettext("Die Mahnsperre ist aufgehoben.")
    else:
        changes = {
            "dunning_block": True,
            "dunning_block_until": data["until"],
            "dunning_block_reason": data["reason"],
        }
        done = gettext("Die Mahnsperre ist gesetzt.")
    attempt(
        request,
        lambda: customers.update_customer(customer_id=data["customer"], actor=actor, **changes),
        done,
    )
    return redirect("backoffice:dunning")


@require_POST
@staff_view
def approve_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """Hand a proposed case over to the agency: dunning frozen, access blocked."""
    actor = request.actor  # type: ignore[attr-defined]
    attempt(
        request,
        lambda: collection_handover.approve_case(case_id=case_id, actor=actor),
        gettext("Der Inkassofall ist freigegeben; er geht mit dem nächsten Export hinaus."),
    )
    return redirect("backoffice:dunning")


@require_POST
@staff_view
def close_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """Recall a case from the agency (dunning resumes) or write it off as uncollectible."""
    actor = request.actor  # type: ignore[attr-defined]
    why = request.POST.get("why", "")
    if request.POST.get("write_off"):
        attempt(
            request,
            lambda: collection_handover.write_off_case(case_id=case_id, actor=actor, why=why),
            gettext("Der Inkassofall ist ausgebucht; die Umsatzsteuer wird berichtigt."),
        )
    else:
        attempt(
            request,
            lambda: collection_handover.recall_case(case_id=case_id, actor=actor, why=why),
            gettext("Der Inkassofall ist zurückgerufen; das Mahnwesen läuft weiter."),
        )
    return redirect("backoffice:dunning")


@require_POST
@staff_view
def export_cases(request: HttpRequest) -> HttpResponse:
    """Write the handover (CSV and ZIP) of the approved cases, once."""
    actor = request.actor  # type: ignore[attr-defined]
    try:
        export = collection_handover.export_cases(actor=actor)
    except DomainError as error:
        messages.error(request, message(error))
    else:
        if export is None:
            messages.info(request, gettext("Keine freigegebenen Fälle: nichts Neues zu übergeben."))
        else:
            messages.success(
                request,
                ngettext(
                    "Inkasso-Export erstellt: %(n)d Fall.",
                    "Inkasso-Export erstellt: %(n)d Fälle.",
                    export.case_count,
                )
                % {"n": export.case_count},
            )
    return redirect("backoffice:dunning")


@staff_view
def export_file(request: HttpRequest, export_id: int, file_format: str) -> HttpResponse:
    export = CollectionExport.objects.filter(pk=export_id).first()
    if export is None or file_format not in ("csv", "zip"):
        raise Http404
    if file_format == "csv":
        response = HttpResponse(bytes(export.csv), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(bytes(export.zip), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="inkasso-{export.pk}.{file_format}"'
    return response
