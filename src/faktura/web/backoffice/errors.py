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
    # bank lines
    "bank_transaction_not_found": _("Diese Bankbuchung gibt es nicht."),
    "bank_transaction_not_open": _("Die Bankbuchung ist schon gebucht oder ignoriert."),
    "bank_transaction_not_incoming": _("Nur Zahlungseingänge können Rechnungen zugeordnet werden."),
    "invoice_not_found": _("Diese Rechnung gibt es nicht."),
    "invoices_of_several_customers": _("Die Rechnungen gehören zu verschiedenen Kunden."),
    "invoice_of_other_customer": _("Die Rechnung gehört zu einem anderen Kunden."),
    "duplicate_invoice": _("Jede Rechnung nur einmal angeben."),
    "no_allocations": _("Bitte mindestens eine Rechnung mit Betrag angeben."),
    "allocations_exceed_transaction": _(
        "Die Beträge zusammen sind höher als der Betrag der Bankbuchung."
    ),
    # direct-debit files
    "creditor_id_missing": _("In den Firmendaten fehlt die Gläubiger-ID."),
    "bank_account_missing": _("In den Firmendaten fehlt ein Bankkonto."),
    "batch_not_submittable": _("Die Datei ist schon übergeben oder verworfen."),
    "batch_not_discardable": _("Die Datei ist schon übergeben oder verworfen."),
    "batch_mandate_unusable": _(
        "Ein Mandat der Datei ist nicht mehr gültig; verwerfen Sie die Datei und "
        "erstellen Sie eine neue."
    ),
    "collection_date_too_early": _(
        "Der Fälligkeitstag ist zu nah; die Bank braucht die Datei einen Geschäftstag vorher."
    ),
    # the inbox
    "dispute_not_found": _("Diese Rückbuchung gibt es nicht."),
    "dispute_cleared": _("Die Rückbuchung ist schon geklärt."),
    "dunning_notice_not_proposed": _("Die Mahnung wartet nicht mehr auf Freigabe."),
    "collection_case_wrong_status": _("Der Inkasso-Vorschlag wartet nicht mehr auf Freigabe."),
    "todo_entry_done": _("Die Aufgabe ist schon erledigt."),
    "payment_request_not_pending": _("Die Zahlung wartet nicht mehr auf Bestätigung."),
    "message_not_failed": _("Die E-Mail ist nicht (mehr) gescheitert."),
    "job_run_not_failed": _("Der Auftrag ist nicht (mehr) fehlgeschlagen."),
    "job_run_manual": _("Ein von Hand gestarteter Auftrag wird von Hand neu gestartet."),
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
