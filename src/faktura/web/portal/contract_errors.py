"""A refused contract, mandate or payment-method action in the portal's words.

Each stable error code of the services the contract pages call has a German text for the
customer (translated like every other); an unknown code gets a general sentence, never
the service's English message.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.core.errors import DomainError, PermissionRefused

MESSAGES = {
    # the cancellation button
    "missing_name": _("Bitte geben Sie Ihren Namen an."),
    "invalid_name": _("Der Name ist zu lang (höchstens 200 Zeichen)."),
    "missing_email": _(
        "Bitte geben Sie Ihre E-Mail-Adresse an, damit wir die Kündigung bestätigen können."
    ),
    "invalid_email": _("Bitte geben Sie eine gültige E-Mail-Adresse an."),
    "invalid_customer_number": _("Die Kundennummer ist zu lang (höchstens 30 Zeichen)."),
    "invalid_contract": _("Die Angabe zum Vertrag ist zu lang (höchstens 200 Zeichen)."),
    "invalid_kind": _("Bitte wählen Sie ordentliche oder außerordentliche Kündigung."),
    "reason_required": _("Bitte nennen Sie den Grund Ihrer außerordentlichen Kündigung."),
    "invalid_reason": _("Der Grund ist zu lang."),
    "desired_end_in_past": _("Das gewünschte Vertragsende darf nicht in der Vergangenheit liegen."),
    "text_not_printable": _("Die Eingabe enthält Zeichen, die wir nicht verarbeiten können."),
    # subscriptions
    "permission_denied": _("Das ist mit Ihrem Zugang nicht möglich."),
    "subscription_not_found": _("Dieses Abonnement gibt es nicht."),
    "not_a_plan_subscription": _("Eine Kursbuchung kann hier nicht geändert werden."),
    "subscription_ended": _("Das Abonnement ist bereits beendet."),
    "subscription_cancelled": _("Das Abonnement ist bereits gekündigt."),
    "subscription_paused": _("Das Abonnement ist pausiert. Bitte setzen Sie es zuerst fort."),
    "subscription_not_paused": _("Das Abonnement ist nicht pausiert."),
    "subscription_not_cancelled": _("Das Abonnement ist nicht gekündigt."),
    "cancellation_took_effect": _(
        "Der Vertrag ist bereits beendet; die Kündigung kann nicht mehr zurückgenommen werden."
    ),
    "cancellation_credited": _(
        "Die Zeit nach dem Vertragsende wurde bereits gutgeschrieben. Bitte wenden Sie sich an uns."
    ),
    "billing_pending": _(
        "Eine fällige Abrechnung steht noch aus. Bitte versuchen Sie es morgen erneut."
    ),
    "change_after_end": _("Der Vertrag endet vor der nächsten Abrechnungsperiode."),
    "nothing_to_change": _("Tarif und Menge sind unverändert."),
    "plan_not_found": _("Diesen Tarif gibt es nicht."),
    "plan_inactive": _("Dieser Tarif wird nicht mehr angeboten."),
    "terms_not_allowed_for_consumers": _("Dieser Tarif kann für Verbraucher nicht gebucht werden."),
    "invalid_quantity": _("Bitte geben Sie eine Menge größer als null an."),
    "invalid_decimal": _("Bitte geben Sie eine Zahl wie 2 oder 1,5 an."),
    "too_many_decimals": _("Die Menge hat zu viele Nachkommastellen."),
    "end_before_earliest_allowed": _("So früh kann der Vertrag nicht enden."),
    # SEPA mandate
    "invalid_iban": _("Die IBAN ist ungültig. Bitte prüfen Sie Länge und Prüfziffer."),
    "invalid_bic": _("Die BIC ist ungültig."),
    "missing_debtor_name": _("Bitte geben Sie den Kontoinhaber an."),
    "invalid_debtor_name": _(
        "Der Name des Kontoinhabers enthält Zeichen, die im SEPA-Verfahren nicht erlaubt sind."
    ),
    "consent_required": _("Bitte bestätigen Sie das Lastschriftmandat."),
    "creditor_id_missing": _(
        "Lastschriften sind derzeit nicht möglich. Bitte wenden Sie sich an uns."
    ),
    "mandate_not_found": _("Dieses Mandat gibt es nicht."),
    "mandate_not_active": _("Das Mandat ist nicht mehr aktiv."),
    "missing_street": _("Bitte hinterlegen Sie zuerst Ihre Anschrift."),
    "missing_postcode": _("Bitte hinterlegen Sie zuerst Ihre Anschrift."),
    "missing_city": _("Bitte hinterlegen Sie zuerst Ihre Anschrift."),
    # payment methods
    "mandate_required": _("Für die Lastschrift erteilen Sie bitte zuerst ein SEPA-Mandat."),
    "saved_payment_method_required": _("Bitte hinterlegen Sie zuerst eine Karte."),
    "invalid_payment_method": _("Bitte wählen Sie eine Zahlungsart."),
    "provider_not_configured": _("Die Kartenzahlung ist derzeit nicht eingerichtet."),
    "provider_error": _(
        "Der Zahlungsdienstleister ist gerade nicht erreichbar. "
        "Bitte versuchen Sie es später erneut."
    ),
    "setup_not_completed": _("Die Karte wurde nicht hinterlegt. Bitte versuchen Sie es erneut."),
}


def message(error: DomainError) -> str:
    """The customer's text for ``error``."""
    text = MESSAGES.get(error.code)
    if text is None and isinstance(error, PermissionRefused):
        text = MESSAGES["permission_denied"]
    if text is None:
        return gettext("Das hat leider nicht geklappt. Bitte versuchen Sie es erneut.")
    return str(text)
