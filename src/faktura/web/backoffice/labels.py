"""Names of audit actions as the timeline of a document shows them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "invoice.drafted": _("Entwurf angelegt"),
    "credit_note.drafted": _("Gutschrift angelegt"),
    "cancellation.drafted": _("Stornorechnung angelegt"),
    "invoice.submitted_for_approval": _("Zur Freigabe vorgelegt"),
    "invoice.approved": _("Freigegeben"),
    "invoice.rejected": _("Abgelehnt"),
    "invoice.discarded": _("Entwurf verworfen"),
    "invoice.finalized": _("Festgeschrieben"),
    "credit_note.finalized": _("Gutschrift festgeschrieben"),
    "cancellation.finalized": _("Stornorechnung festgeschrieben"),
    "document.purged": _("Nach Ablauf der Aufbewahrungsfrist gelöscht"),
    "document.archived": _("Archiviert"),
    "document.blocked": _("Versand gesperrt"),
    "document.mail_queued": _("E-Mail eingereiht"),
    "document.resend_queued": _("Erneut gesendet"),
    "invoice.written_off": _("Ausgebucht"),
    "invoice.charge_requested": _("Zahlung angefordert"),
    "invoice.charge_failed": _("Zahlung fehlgeschlagen"),
    "subscription.created": _("Abo angelegt"),
    "subscription.changed": _("Tarif oder Menge geändert"),
    "subscription.change_scheduled": _("Änderung zur nächsten Periode geplant"),
    "subscription.paused": _("Pausiert"),
    "subscription.resumed": _("Fortgesetzt"),
    "subscription.cancelled": _("Gekündigt"),
    "subscription.terminated": _("Beendet"),
    "subscription.ended": _("Abgelaufen"),
    "subscription.coupon_applied": _("Gutschein eingelöst"),
    "subscription.notice_queued": _("Hinweis an den Kunden eingereiht"),
    "subscription.price_change_consented": _("Preisänderung zugestimmt"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))
