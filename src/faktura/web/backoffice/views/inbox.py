"""Aufgaben: everything waiting for a person, grouped by source (reporting.inbox), each
item with its action in place. An action is one service call, posted by htmx: the answer
is the item's new row and the new counts (out of band); without JavaScript the form posts
and the page comes back with a message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from faktura.core import permissions
from faktura.core.actors import Actor
from faktura.core.errors import DomainError
from faktura.reporting import inbox
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message


@dataclass(frozen=True)
class Action:
    source: str
    name: str
    label: Any
    operation: str
    call: Callable[[int, Actor, str], object]
    done: Any
    # The action asks for a text (a reason, a note) and names it so.
    text: Any = None
    text_required: bool = False


def _approve_invoice(pk: int, actor: Actor, text: str) -> object:
    from faktura.invoicing.services import approve_invoice

    return approve_invoice(invoice_id=pk, actor=actor)


def _reject_invoice(pk: int, actor: Actor, text: str) -> object:
    from faktura.invoicing.services import reject_invoice

    return reject_invoice(invoice_id=pk, actor=actor, reason=text)


def _confirm_payment(pk: int, actor: Actor, text: str) -> object:
    from faktura.payments.services import confirm_payment_request

    return confirm_payment_request(request_id=pk, actor=actor)


def _reject_payment(pk: int, actor: Actor, text: str) -> object:
    from faktura.payments.services import reject_payment_request

    return reject_payment_request(request_id=pk, actor=actor, reason=text)


def _ignore_line(pk: int, actor: Actor, text: str) -> object:
    from faktura.banking.services import ignore_transaction

    return ignore_transaction(transaction_id=pk, actor=actor, reason=text)


def _clear_dispute(pk: int, actor: Actor, text: str) -> object:
    from faktura.payments.returns import clear_dispute

    return clear_dispute(dispute_id=pk, actor=actor, note=text)


def _approve_notice(pk: int, actor: Actor, text: str) -> object:
    from faktura.dunning.services import approve_notice

    return approve_notice(notice_id=pk, actor=actor)


def _approve_case(pk: int, actor: Actor, text: str) -> object:
    from faktura.dunning.collection_handover import approve_case

    return approve_case(case_id=pk, actor=actor)


def _entry_done(pk: int, actor: Actor, text: str) -> object:
    from faktura.dunning.staff import mark_done

    return mark_done(entry_id=pk, actor=actor)


def _retry_mail(pk: int, actor: Actor, text: str) -> object:
    from faktura.notifications.services import retry_message

    return retry_message(message_id=pk, actor=actor)


def _retry_job(pk: int, actor: Actor, text: str) -> object:
    from faktura.scheduling.services import retry_job_run

    return retry_job_run(run_id=pk, actor=actor)


ACTIONS: tuple[Action, ...] = (
    Action(
        "approvals", "approve", _("Freigeben"), "invoice.approve", _approve_invoice,
        _("Die Rechnung ist freigegeben."),
    ),
    Action(
        "approvals", "reject", _("Ablehnen"), "invoice.approve", _reject_invoice,
        _("Die Rechnung ist abgelehnt."), text=_("Grund"), text_required=True,
    ),
    Action(
        "payment_requests", "confirm", _("Bestätigen"), "payment.confirm", _confirm_payment,
        _("Die Zahlung ist bestätigt."),
    ),
    Action(
        "payment_requests", "reject", _("Ablehnen"), "payment.confirm", _reject_payment,
        _("Die Zahlung ist abgelehnt."), text=_("Grund"), text_required=True,
    ),
    Action(
        "bank", "ignore", _("Ignorieren"), "bank_transaction.assign", _ignore_line,
        _("Die Buchung ist als ignoriert markiert."), text=_("Grund"), text_required=True,
    ),
    Action(
        "disputes", "clear", _("Zur Kenntnis genommen"), "payment.return", _clear_dispute,
        _("Die Rückbuchung ist geklärt; die Rechnung wird wieder normal eingezogen."),
        text=_("Notiz"),
    ),
    Action(
        "dunning_proposals", "approve", _("Freigeben und senden"), "dunning.approve",
        _approve_notice, _("Die Mahnung ist freigegeben und wird versendet."),
    ),
    Action(
        "collection_proposals", "approve", _("An Inkasso übergeben"), "collection.approve",
        _approve_case, _("Der Fall ist an das Inkasso übergeben."),
    ),
    Action(
        "dunning_entries", "done", _("Erledigt"), "todo.done", _entry_done,
        _("Die Aufgabe ist erledigt."),
    ),
    Action(
        "failed_mails", "retry", _("Erneut senden"), "mail.retry", _retry_mail,
        _("Die E-Mail ist neu eingereiht."),
    ),
    Action(
        "failed_jobs", "retry", _("Erneut ausführen"), "job.retry", _retry_job,
        _("Der Auftrag wird beim nächsten Takt des Workers erneut ausgeführt."),
    ),
)  # fmt: skip

BY_KEY = {(action.source, action.name): action for action in ACTIONS}


def _actions_for(actor: Actor) -> dict[str, list[Action]]:
    """Per source the actions this person's role may take (the others are not shown)."""
    allowed: dict[str, list[Action]] = {}
    for action in ACTIONS:
        if permissions.allows(actor, action.operation):
            allowed.setdefault(action.source, []).append(action)
    return allowed


@staff_view
def inbox_page(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    return render(
        request,
        "backoffice/inbox.html",
        {"sections": inbox.sections(), "actions": _actions_for(actor)},
    )


@require_POST
@staff_view
def act(request: HttpRequest, source: str, item_id: int, action: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    chosen = BY_KEY.get((source, action))
    found = inbox.source(source)
    if chosen is None or found is None:
        raise Http404
    text = request.POST.get("text", "")
    try:
        chosen.call(item_id, actor, text)
    except DomainError as error:
        said, ok = message(error), False
    else:
        said, ok = str(chosen.done), True
    if not getattr(request, "htmx", False):
        (messages.success if ok else messages.error)(request, said)
        return redirect(f"/aufgaben/#{source}")
    item = found.rows().filter(pk=item_id).first()
    return render(
        request,
        "backoffice/inbox/answer.html",
        {
            "source": source,
            "item": item,
            "item_id": item_id,
            "said": said,
            "ok": ok,
            "item_actions": _actions_for(actor).get(source, []),
            "section_count": found.rows().count(),
            "inbox_count": inbox.total(),
        },
    )
