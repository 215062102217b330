"""Lastschriftdateien: the pain.008 files, a new one for a collection date, its download,
and marking it as submitted to the bank (or discarding it). Each action one service."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.collection import selectors as collection_selectors
from faktura.collection import services as collection
from faktura.collection.calendar import on_or_after
from faktura.collection.models import DirectDebitBatch, Scheme
from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import datum

PER_PAGE = 30


class BatchForm(forms.Form):
    collection_date = forms.DateField(
        label=_("Fälligkeitstag (Einzug)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    scheme = forms.ChoiceField(label=_("Verfahren"), choices=Scheme.choices, initial=Scheme.CORE)


def _date_error(error: DomainError, day: dt.date) -> str:
    """The refusal of a collection date, naming the date that would do."""
    earliest = collection_selectors.earliest_collection_date()
    if error.code == "collection_date_too_early":
        return gettext(
            "Zu früh: Die Bank braucht die Datei einen TARGET2-Geschäftstag vor dem Einzug; "
            "frühester Fälligkeitstag ist der %(date)s."
        ) % {"date": datum(earliest)}
    return gettext(
        "Der %(day)s ist kein TARGET2-Geschäftstag (Wochenende oder Feiertag); "
        "nächster möglicher Tag: %(next)s."
    ) % {"day": datum(day), "next": datum(on_or_after(max(day, earliest)))}


@staff_view
def batch_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    earliest = collection_selectors.earliest_collection_date()
    form = BatchForm(request.POST or None, initial={"collection_date": earliest})
    if request.method == "POST" and form.is_valid():
        day, scheme = form.cleaned_data["collection_date"], form.cleaned_data["scheme"]
        try:
            batch = collection.create_direct_debit_batch(
                collection_date=day, scheme=scheme, actor=actor
            )
        except DomainError as error:
            if error.field == "collection_date":
                form.add_error("collection_date", _date_error(error, day))
            else:
                messages.error(request, message(error))
        else:
            if batch is None:
                messages.info(
                    request,
                    gettext("Zum %(date)s ist nichts per Lastschrift einzuziehen.")
                    % {"date": datum(day)},
                )
                return redirect("backoffice:direct_debits")
            messages.success(
                request,
                gettext("Lastschriftdatei mit %(count)d Einzügen erstellt.")
                % {"count": batch.transaction_count},
            )
            return redirect("backoffice:direct_debit", batch.pk)
    batches = DirectDebitBatch.objects.defer("xml").order_by("-pk")
    page = Paginator(batches, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "backoffice/bank/batches.html",
        {
            "form": form,
            "page": page,
            "earliest": earliest,
            "blockers": collection_selectors.batch_blockers(),
            "can_create": permissions.allows(actor, "direct_debit.create"),
        },
    )


def _batch(batch_id: int) -> DirectDebitBatch:
    batch = DirectDebitBatch.objects.defer("xml").filter(pk=batch_id).first()
    if batch is None:
        raise Http404
    return batch


@staff_view
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(batch_id)
    items = batch.items.select_related("invoice", "customer", "mandate").order_by("pk")
    return render(
        request,
        "backoffice/bank/batch.html",
        {
            "batch": batch,
            "items": items,
            "can_change": permissions.allows(request.actor, "direct_debit.create")  # type: ignore[attr-defined]
            and batch.status == DirectDebitBatch.Status.CREATED,
        },
    )


@staff_view
def batch_xml(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The pain.008 file byte for byte as it was made."""
    batch = DirectDebitBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise Http404
    response = HttpResponse(batch.file_bytes(), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
    return response


@require_POST
@staff_view
def batch_submit(request: HttpRequest, batch_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    _batch(batch_id)
    attempt(
        request,
        lambda: collection.submit_direct_debit_batch(batch_id=batch_id, actor=actor),
        gettext("Die Datei ist als an die Bank übergeben markiert."),
    )
    return redirect("backoffice:direct_debit", batch_id)


@require_POST
@staff_view
def batch_discard(request: HttpRequest, batch_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    _batch(batch_id)
    attempt(
        request,
        lambda: collection.discard_direct_debit_batch(batch_id=batch_id, actor=actor),
        gettext("Die Datei ist verworfen; ihre Rechnungen können neu eingezogen werden."),
    )
    return redirect("backoffice:direct_debit", batch_id)
