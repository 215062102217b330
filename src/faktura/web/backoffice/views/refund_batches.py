"""Erstattungsdateien: the pain.001 files that pay customer credit back. The approved
refunds waiting for a file, a new file for an execution date, its download (the bytes
stored when it was made), its release by a second person (four-eyes, enforced by the
service) or discarding it. Each action is one service call; a refusal is a message and
changes nothing."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.collection.calendar import on_or_after
from faktura.core import clock, permissions
from faktura.core.errors import DomainError
from faktura.payments import refunds, selectors
from faktura.payments.models import RefundBatch
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import attempt, message
from faktura.web.backoffice.templatetags.faktura_format import datum

PER_PAGE = 30
SCREEN = "refund_batch"  # picks the file's words for a shared error code


class BatchForm(forms.Form):
    execution_date = forms.DateField(
        label=_("Ausführungstag"),
        # ISO: what a date input understands, whatever the page's language
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _date_error(error: DomainError, day: dt.date) -> str:
    """The refusal of an execution date, naming the next day that would do."""
    return gettext("%(refusal)s Nächster möglicher Tag: %(next)s.") % {
        "refusal": message(error, SCREEN),
        "next": datum(on_or_after(max(day, clock.today()))),
    }


@staff_view
def batch_list(request: HttpRequest) -> HttpResponse:
    """The approved refunds waiting, the form for a new file, and the files made so far."""
    actor = request.actor  # type: ignore[attr-defined]
    form = BatchForm(
        request.POST or None, initial={"execution_date": selectors.refund_execution_date()}
    )
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["execution_date"]
        try:
            batch = refunds.create_refund_batch(actor=actor, execution_date=day)
        except DomainError as error:
            if error.field == "execution_date":
                form.add_error("execution_date", _date_error(error, day))
            else:
                messages.error(request, message(error, SCREEN))
        else:
            if batch is None:
                messages.info(
                    request, gettext("Es warten keine freigegebenen Erstattungen auf eine Datei.")
                )
                return redirect("backoffice:refund_batches")
            messages.success(
                request,
                ngettext(
                    "Erstattungsdatei mit %(count)d Überweisung erstellt; eine zweite Person "
                    "gibt sie frei.",
                    "Erstattungsdatei mit %(count)d Überweisungen erstellt; eine zweite Person "
                    "gibt sie frei.",
                    batch.transaction_count,
                )
                % {"count": batch.transaction_count},
            )
            return redirect("backoffice:refund_batch", batch.pk)
    count, total = selectors.approved_refunds_sum()
    batches = RefundBatch.objects.defer("xml").order_by("-pk")
    return render(
        request,
        "backoffice/payments/refund_batches.html",
        {
            "form": form,
            "waiting": selectors.approved_refunds(),
            "waiting_count": count,
            "waiting_total": total,
            "account": selectors.paying_account(),
            "page": Paginator(batches, PER_PAGE).get_page(request.GET.get("page")),
            "query": "",
            "can_create": permissions.allows(actor, "refund_batch.create"),
        },
    )


def _batch(batch_id: int) -> RefundBatch:
    batch = RefundBatch.objects.defer("xml").filter(pk=batch_id).first()
    if batch is None:
        raise Http404
    return batch


@staff_view
def batch_detail(request: HttpRequest, refund_batch_id: int) -> HttpResponse:
    """One file: its figures and state, its transfers, the download and the decisions."""
    batch = _batch(refund_batch_id)
    actor = request.actor  # type: ignore[attr-defined]
    is_open = batch.status == RefundBatch.Status.CREATED
    return render(
        request,
        "backoffice/payments/refund_batch.html",
        {
            "batch": batch,
            "refunds": batch.refunds.select_related("customer").order_by("pk"),
            "can_release": is_open and permissions.allows(actor, "refund.approve"),
            "can_discard": is_open and permissions.allows(actor, "refund_batch.create"),
        },
    )


@staff_view
def batch_xml(request: HttpRequest, refund_batch_id: int) -> HttpResponse:
    """The pain.001 file byte for byte as it was made."""
    batch = RefundBatch.objects.filter(pk=refund_batch_id).first()
    if batch is None:
        raise Http404
    response = HttpResponse(batch.file_bytes(), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
    return response


@require_POST
@staff_view
def batch_release(request: HttpRequest, refund_batch_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    _batch(refund_batch_id)
    attempt(
        request,
        lambda: refunds.release_refund_batch(batch_id=refund_batch_id, actor=actor),
        gettext(
            "Die Erstattungsdatei ist freigegeben und die Erstattungen als ausgezahlt gebucht; "
            "reichen Sie die Datei bei der Bank ein."
        ),
        screen=SCREEN,
    )
    return redirect("backoffice:refund_batch", refund_batch_id)


@require_POST
@staff_view
def batch_discard(request: HttpRequest, refund_batch_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    _batch(refund_batch_id)
    attempt(
        request,
        lambda: refunds.discard_refund_batch(batch_id=refund_batch_id, actor=actor),
        gettext(
            "Die Erstattungsdatei ist verworfen; ihre Erstattungen warten auf die nächste Datei."
        ),
        screen=SCREEN,
    )
    return redirect("backoffice:refund_batch", refund_batch_id)
