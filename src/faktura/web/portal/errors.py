"""A refused action in the portal's words: friendly German text per stable error code."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import DomainError

MESSAGES = {
    "invoice_already_paid": _("Diese Rechnung ist bereits bezahlt."),
    "invoice_not_payable": _("Diese Rechnung kann nicht online bezahlt werden."),
    "invoice_disputed": _(
        "Zu dieser Zahlung läuft eine Rückfrage bei Ihrem Zahlungsdienst; "
        "bitte überweisen Sie den Betrag oder sprechen Sie uns an."
    ),
    "provider_not_configured": _(
        "Online bezahlen ist gerade nicht möglich. Bitte überweisen Sie den Betrag."
    ),
    "provider_error": _(
        "Der Zahlungsdienst ist gerade nicht erreichbar. Bitte versuchen Sie es später "
        "noch einmal oder überweisen Sie den Betrag."
    ),
    "portal_link_invalid": _("Dieser Anmeldelink ist ungültig."),
    "portal_link_expired": _("Dieser Anmeldelink ist abgelaufen."),
    "portal_account_disabled": _(
        "Ihr Zugang zum Kundenportal ist gesperrt. Bitte sprechen Sie uns an."
    ),
}


def message(error: DomainError) -> str:
    text = MESSAGES.get(error.code)
    if text is None:
        return gettext("Das hat leider nicht geklappt. Bitte versuchen Sie es später noch einmal.")
    return str(text)
