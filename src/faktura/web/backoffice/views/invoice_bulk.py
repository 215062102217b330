"""Actions on the documents selected in the list, and the list as a CSV file.

Each selected document is one service call of its own: what one refuses is reported by
document and changes nothing, the others go through. The ZIP holds the archived PDFs
byte for byte (a read, no service), streamed one file at a time.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from faktura.core import clock
from faktura.core.errors import DomainError
from faktura.documents.archive import read_archived
from faktura.documents.models import ArchivedDocument
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.notifications.services import queue_document_mail
from faktura.reporting.tables import Column, Table, csv_bytes
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.views.invoices import filtered

MAX_SELECTED = 500


def _label(invoice: Invoice) -> str:
    if invoice.number:
        return invoice.number
    return gettext("Entwurf %(id)s") % {"id": invoice.pk}


def _back(request: HttpRequest) -> HttpResponseRedirect:
    query = request.POST.get("query", "")
    url = reverse("backoffice:invoices")
    # Only a query string of this page, never another address.
    return HttpResponseRedirect(f"{url}?{query}" if query and "/" not in query else url)


def _selected(request: HttpRequest) -> list[int]:
    ids = []
    for raw in request.POST.getlist("ids")[:MAX_SELECTED]:
        if raw.isdigit():
            ids.append(int(raw))
    return sorted(set(ids))


def _finalize(invoice_id: int, actor: Any) -> str:
    done = invoicing.finalize_invoice(invoice_id=invoice_id, actor=actor)
    if done.status == Status.PENDING_APPROVAL:
        return gettext("zur Freigabe vorgelegt (eine Freigaberegel greift).")
    return gettext("festgeschrieben als %(number)s.") % {"number": done.number}


def _approve(invoice_id: int, actor: Any) -> str:
    done = invoicing.approve_invoice(invoice_id=invoice_id, actor=actor)
    if done.status == Status.FINALIZED:
        return gettext("freigegeben und festgeschrieben als %(number)s.") % {"number": done.number}
    return gettext("freigegeben.")


def _send(invoice_id: int, actor: Any) -> str:
    queue_document_mail(invoice_id=invoice_id, actor=actor, resend=True)
    return gettext("E-Mail eingereiht.")


ACTIONS: dict[str, Callable[[int, Any], str]] = {
    "approve": _approve,
    "finalize": _finalize,
    "send": _send,
}


@require_POST
@staff_view
def bulk_action(request: HttpRequest) -> HttpResponseBase:
    """Run the chosen action on each selected document; report each one."""
    action = request.POST.get("action", "")
    ids = _selected(request)
    if not ids:
        messages.error(request, gettext("Bitte wählen Sie mindestens ein Dokument aus."))
        return _back(request)
    if action == "zip":
        return _zip(request, ids)
    run = ACTIONS.get(action)
    if run is None:
        messages.error(request, gettext("Unbekannte Aktion."))
        return _back(request)
    actor = request.actor  # type: ignore[attr-defined]
    invoices = Invoice.objects.in_bulk(ids)
    for invoice_id in ids:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            messages.error(request, gettext("Dokument %(id)s gibt es nicht.") % {"id": invoice_id})
            continue
        try:
            done = run(invoice_id, actor)
        except DomainError as error:
            messages.error(request, f"{_label(invoice)}: {message(error)}")
        else:
            messages.success(request, f"{_label(invoice)}: {done}")
    return _back(request)


# --- ZIP of the archived PDFs ------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only stream that hands out what was written since the last ``take``."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        chunk = b"".join(self._chunks)
        self._chunks.clear()
        return chunk


def zip_stream(documents: Iterable[tuple[str, ArchivedDocument]]) -> Iterator[bytes]:
    """Yield a ZIP of ``(name, archived document)``, one file read at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, document in documents:
            info = zipfile.ZipInfo(name, date_time=document.created_at.timetuple()[:6])
            archive.writestr(info, read_archived(document))
            yield sink.take()
    yield sink.take()


def _zip(request: HttpRequest, ids: list[int]) -> HttpResponseBase:
    """All selected documents' PDFs, or none: a document without one is named and refused."""
    invoices = Invoice.objects.in_bulk(ids)
    pdfs = {
        document.invoice_id: document
        for document in ArchivedDocument.objects.filter(
            invoice_id__in=ids, kind=ArchivedDocument.Kind.PDF
        )
    }
    missing = [invoice_id for invoice_id in ids if invoice_id not in pdfs]
    if missing:
        for invoice_id in missing:
            invoice = invoices.get(invoice_id)
            label = _label(invoice) if invoice else str(invoice_id)
            messages.error(
                request,
                gettext("%(label)s: kein archiviertes PDF (Entwurf oder noch nicht erstellt).")
                % {"label": label},
            )
        messages.error(request, gettext("Es wurde keine ZIP-Datei erstellt."))
        return _back(request)
    files = [(f"{invoices[invoice_id].number}.pdf", pdfs[invoice_id]) for invoice_id in ids]
    response = StreamingHttpResponse(zip_stream(files), content_type="application/zip")
    name = f"rechnungen-{clock.today():%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- CSV of the filtered list --------------------------------------------------------------


def _columns() -> tuple[Column, ...]:
    return (
        Column("number", gettext("Nummer")),
        Column("kind", gettext("Art")),
        Column("status", gettext("Status")),
        Column("customer_number", gettext("Kundennummer")),
        Column("customer", gettext("Kunde")),
        Column("issue_date", gettext("Rechnungsdatum")),
        Column("due_date", gettext("Fällig am")),
        Column("net", gettext("Netto"), "money"),
        Column("tax", gettext("Umsatzsteuer"), "money"),
        Column("gross", gettext("Brutto"), "money"),
        Column("paid", gettext("Bezahlt"), "money"),
        Column("open", gettext("Offen"), "money"),
    )


def _csv_date(value: dt.date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


@staff_view
def invoice_csv(request: HttpRequest) -> HttpResponse:
    """The documents the list's filters select, all pages, in its order (German CSV)."""
    _form, queryset, _sort = filtered(request)
    rows = [
        (
            invoice.number or "",
            invoice.get_kind_display(),
            invoice.get_status_display(),
            invoice.customer.number,
            invoice.customer.name,
            _csv_date(invoice.issue_date),
            _csv_date(invoice.due_date),
            invoice.tax_basis_total,
            invoice.tax_total,
            invoice.grand_total,
            invoice.allocated_amount,
            invoice.open_amount
            if invoice.status == Status.FINALIZED and invoice.kind == Kind.INVOICE
            else None,
        )
        for invoice in queryset
    ]
    table = Table(
        name=f"rechnungen-{clock.today():%Y-%m-%d}",
        title=gettext("Rechnungen"),
        columns=_columns(),
        rows=rows,
    )
    response = HttpResponse(csv_bytes(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
    return response
