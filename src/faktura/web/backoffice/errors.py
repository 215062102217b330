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
    "invoice_not_found": _("Dieses Dokument gibt es nicht."),
    "customer_not_found": _("Diesen Kunden gibt es nicht."),
    "credit_exceeds_remaining": _(
        "Das ist mehr, als auf der Rechnung noch gutgeschrieben werden kann."
    ),
    "unknown_line": _("Diese Position gibt es auf der Rechnung nicht."),
    "invalid_quantity": _("Die Menge muss größer als null sein."),
    "negative_amount": _("Bitte geben Sie einen Wert größer als null ein."),
    "no_lines": _("Bitte geben Sie mindestens eine Position an."),
    "unknown_product": _("Diesen Artikel gibt es nicht oder er ist nicht aktiv."),
    "missing_name": _("Eine freie Position braucht eine Bezeichnung."),
    "unknown_tax_rate": _("Bitte wählen Sie einen gültigen Steuersatz."),
    "negative_total": _("Der Gesamtbetrag darf nicht negativ sein."),
    "invalid_discount": _("Der Rabatt ist ungültig."),
    "text_not_printable": _("Der Text enthält Zeichen, die kein Dokument darstellen kann."),
    "supply_kind_required": _(
        "Lieferung oder Dienstleistung? Das entscheidet die Umsatzsteuer eines Verkaufs an "
        "ein Unternehmen im Ausland."
    ),
    "buyer_vat_id_required": _(
        "Reverse Charge und innergemeinschaftliche Lieferungen brauchen die USt-IdNr. des Kunden."
    ),
}


def message(error: DomainError) -> str:
    if error.code in ("invalid_amount", "too_many_decimals") and (error.field or "").endswith(
        "quantity"
    ):
        return str(_("Bitte geben Sie eine Menge wie 1 oder 2,5 ein."))
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
