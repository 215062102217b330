"""A refused action in the words of the back office: each stable error code of the
services has its German text (translated like every other); unknown codes name the code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import DomainError, PermissionRefused

MESSAGES = {
    "permission_denied": _("Das darf Ihre Rolle nicht."),
    "not_an_approver": _("Freigeben dürfen nur Personen mit der Rolle Freigabe."),
    "approver_is_creator": _(
        "Freigeben muss eine zweite Person, nicht wer den Entwurf angelegt hat."
    ),
    "invoice_not_pending_approval": _("Die Rechnung wartet nicht auf Freigabe."),
    "invoice_not_draft": _("Das geht nur mit einem Entwurf."),
    "invoice_not_finalized": _("Das geht nur mit einer festgeschriebenen Rechnung."),
    "invoice_already_cancelled": _("Die Rechnung ist bereits storniert."),
    "invoice_partially_credited": _(
        "Die Rechnung ist teilweise gutgeschrieben; "
        "schreiben Sie den Rest gut, statt zu stornieren."
    ),
    "approval_required": _("Die Rechnung muss zuerst freigegeben werden."),
    "invoice_rejected": _("Die Rechnung wurde abgelehnt."),
    "reason_required": _("Bitte geben Sie einen Grund an."),
    "invalid_amount": _("Bitte geben Sie einen Betrag wie 119,00 ein."),
    "too_many_decimals": _("Beträge haben höchstens zwei Nachkommastellen."),
    "payment_date_in_future": _("Das Zahlungsdatum liegt in der Zukunft."),
    "invoice_not_payable": _("Auf diese Rechnung kann nichts gezahlt werden."),
    "allocation_exceeds_open_amount": _("Der Betrag ist höher als der offene Betrag."),
    "no_recipient": _("Der Kunde hat keine E-Mail-Adresse für Rechnungen."),
    "write_off_exceeds_tolerance": _("Der Betrag ist höher als die Ausbuchungsgrenze."),
    "write_off_exceeds_open_amount": _("Der Betrag ist höher als der offene Betrag."),
    "two_factor_active": _("Die Zwei-Faktor-Anmeldung ist bereits eingerichtet."),
    "two_factor_not_started": _("Bitte laden Sie die Seite neu und scannen Sie den QR-Code."),
    "two_factor_code_format": _("Bitte geben Sie den sechsstelligen Code aus der App ein."),
    "two_factor_code_wrong": _(
        "Der Code stimmt nicht. Bitte geben Sie den aktuellen Code aus der App ein "
        "und prüfen Sie, ob die Uhrzeit des Geräts stimmt."
    ),
    "two_factor_own_only": _("Die Zwei-Faktor-Anmeldung richtet jede Person für sich ein."),
}


def message(error: DomainError) -> str:
    text = MESSAGES.get(error.code)
    if text is None and isinstance(error, PermissionRefused):
        text = MESSAGES["permission_denied"]
    if text is None:
        return gettext("Die Aktion wurde abgelehnt (%(code)s).") % {"code": error.code}
    return str(text)


def attempt(request: HttpRequest, action: Callable[[], Any], done: str) -> bool:
    """Run one service call: ``done`` as a success message, or the refusal in the back
    office's words (nothing was changed then). Whether it succeeded."""
    try:
        action()
    except DomainError as error:
        messages.error(request, message(error))
        return False
    messages.success(request, done)
    return True
