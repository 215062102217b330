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
    # Stammdaten
    "company_missing": _("Bitte legen Sie zuerst die Firmendaten an."),
    "text_not_printable": _("Der Text enthält Zeichen, die kein Dokument drucken kann."),
    "invalid_number_pattern": _(
        "Das Muster braucht {seq} (z. B. RE-{year}-{seq:05d}), bei jährlichem Neubeginn auch "
        "{year}, und ergibt höchstens 30 Zeichen."
    ),
    "number_range_in_use": _(
        "Das geht nicht mehr: aus diesem Nummernkreis wurden schon Nummern vergeben, und die "
        "Änderung würde eine Nummer doppelt vergeben."
    ),
    "number_pattern_taken": _(
        "Ein anderer Nummernkreis verwendet dieses Muster schon; die Nummern wären doppelt."
    ),
    "number_range_missing": _("Diesen Nummernkreis gibt es nicht."),
    "invalid_dunning_level": _(
        "Tage und Fristen sind ganze Zahlen von 1 bis 365; Betreff und Text dürfen nicht leer sein."
    ),
    "invalid_arrears_debit_limit": _("Höchstens 1 bis 10 Mal je Forderung."),
    "dunning_policy_not_found": _("Diese Mahnrichtlinie gibt es nicht."),
    "dunning_level_not_found": _("Diese Mahnstufe gibt es nicht."),
    "unknown_placeholder": _(
        "Der Text nennt einen unbekannten Platzhalter; erlaubt sind $customer_name, $items, "
        "$principal, $fees, $interest, $return_fees, $total, $deadline, $company, $bank und "
        "$reference ($$ für ein Dollarzeichen)."
    ),
    # E-Mail-Vorlagen (the service's params fill the %(…)s)
    "mail_template_unknown": _("Diese E-Mail-Vorlage gibt es nicht."),
    "mail_template_is_default": _("Diese E-Mail verwendet bereits den Standardtext."),
    "mail_template_empty": _("%(field)s: bitte ausfüllen."),
    "mail_template_too_long": _("%(field)s: höchstens %(limit)s Zeichen."),
    "mail_template_tag": _(
        "%(field)s, Zeile %(line)s: {%% %(tag)s %%} ist in E-Mail-Vorlagen nicht erlaubt. "
        "Erlaubt sind Platzhalter wie {{ number }}, einige Filter und {%% if %%} … {%% endif %%}."
    ),
    "mail_template_filter": _(
        "%(field)s: den Filter „%(filter)s“ gibt es in E-Mail-Vorlagen nicht; erlaubt sind "
        "%(allowed)s."
    ),
    "mail_template_literal": _(
        "%(field)s: {{ … }} enthält einen Platzhalter (wie {{ number }}), keinen festen Text."
    ),
    "mail_template_placeholder": _(
        "%(field)s: %(names)s kennt diese E-Mail nicht. Möglich sind: %(allowed)s."
    ),
    "mail_template_syntax": _(
        "%(field)s ist keine gültige Vorlage (z. B. fehlt ein {%% endif %%} oder eine "
        "Klammer): %(detail)s"
    ),
    "mail_template_render": _(
        "%(field)s lässt sich mit den Beispieldaten nicht erzeugen: %(detail)s"
    ),
    "invalid_username": _(
        "Der Benutzername besteht aus 1 bis 150 Buchstaben, Ziffern oder @ . + - _."
    ),
    "username_taken": _("Diesen Benutzernamen gibt es schon."),
    "invalid_email": _("Bitte geben Sie eine gültige E-Mail-Adresse ein."),
    "invalid_password": _(
        "Das Passwort ist zu schwach: mindestens 8 Zeichen, nicht nur Ziffern, nicht zu "
        "ähnlich zum Benutzernamen und kein häufiges Passwort."
    ),
    "invalid_roles": _("Bitte wählen Sie mindestens eine Rolle."),
    "last_admin": _("Der letzte aktive Administrator behält seine Rolle und bleibt aktiv."),
    "deactivate_self": _("Sich selbst kann niemand deaktivieren."),
    "user_not_found": _("Diesen Benutzer gibt es nicht."),
    "invalid_name": _("Bitte geben Sie dem Schlüssel einen Namen."),
    "invalid_scopes": _("Bitte wählen Sie mindestens eine Berechtigung."),
    "api_key_not_found": _("Diesen API-Schlüssel gibt es nicht."),
    "invalid_webhook_url": _(
        "Bitte geben Sie eine https-Adresse ohne Zugangsdaten ein, z. B. "
        "https://shop.example.de/faktura-webhook."
    ),
    "invalid_event_type": _("Unbekanntes Ereignis."),
    "invalid_description": _("Die Beschreibung hat höchstens 200 Zeichen."),
    "webhook_endpoint_not_found": _("Diesen Webhook-Endpunkt gibt es nicht."),
    # subscriptions
    "subscription_not_found": _("Dieses Abo gibt es nicht."),
    "plan_not_found": _("Diesen Tarif gibt es nicht."),
    "plan_inactive": _("Der Tarif ist nicht mehr aktiv."),
    "invalid_quantity": _("Die Menge muss größer als null sein."),
    "nothing_to_change": _("Tarif und Menge sind unverändert."),
    "subscription_paused": _("Das Abo ist pausiert; setzen Sie es zuerst fort."),
    "subscription_not_paused": _("Das Abo ist nicht pausiert."),
    "subscription_cancelled": _("Das Abo ist bereits gekündigt."),
    "subscription_ended": _("Das Abo ist beendet."),
    "not_a_plan_subscription": _("Eine Kursbuchung hat keinen Tarif, der sich ändern ließe."),
    "billing_pending": _("Vor der Änderung sind noch Perioden abzurechnen."),
    "change_after_end": _("Die Änderung läge nach dem Vertragsende."),
    "notice_in_future": _("Die Kündigung kann nicht in der Zukunft eingegangen sein."),
    "end_before_earliest_allowed": _(
        "So früh kann der Vertrag nicht enden; ohne Datum gilt das frühestmögliche Ende."
    ),
    "terms_not_allowed_for_consumers": _(
        "Diese Vertragsbedingungen sind für Verbraucher nicht zulässig (§ 309 Nr. 9 BGB)."
    ),
    # payments
    "payment_not_found": _("Diese Zahlung gibt es nicht."),
    "allocation_exceeds_payment": _("Der Betrag ist höher als der nicht zugeordnete Rest."),
    "payment_of_other_customer": _("Die Zahlung gehört zu einem anderen Kunden."),
    "invoices_of_several_customers": _("Eine Zuordnung bezahlt Rechnungen nur eines Kunden."),
    "credit_reserved": _("Das Geld ist für eine Erstattung vorgemerkt."),
    "no_credit": _("Der Kunde hat kein Guthaben."),
    "insufficient_credit": _("Das Guthaben des Kunden reicht dafür nicht."),
    "iban_required": _("Vom Kunden ist kein Konto bekannt; bitte geben Sie die IBAN an."),
    "invalid_iban": _("Die IBAN ist ungültig."),
    "invalid_bic": _("Die BIC ist ungültig."),
    "payment_request_not_found": _("Diese Zahlung zur Bestätigung gibt es nicht."),
    "payment_request_not_pending": _("Über diese Zahlung wurde schon entschieden."),
    "confirmer_is_requester": _(
        "Bestätigen muss eine zweite Person, nicht wer die Zahlung erfasst hat."
    ),
    "refund_not_found": _("Diese Erstattung gibt es nicht."),
    "refund_not_pending": _("Über diese Erstattung wurde schon entschieden."),
    # refund files (pain.001)
    "refund_batch_not_found": _("Diese Erstattungsdatei gibt es nicht."),
    "refund_batch_not_open": _("Die Erstattungsdatei ist schon freigegeben oder verworfen."),
    "invalid_execution_date": _(
        "Der Ausführungstag liegt in der Vergangenheit oder ist kein TARGET2-Geschäftstag "
        "(Wochenende oder Feiertag)."
    ),
    "allocation_not_found": _("Diese Zuordnung gibt es nicht."),
    "allocation_already_released": _("Die Zuordnung ist schon gelöst."),
    "invalid_reason": _("Der Grund hat höchstens 200 Zeichen."),
    "invoice_already_paid": _("Die Rechnung ist schon bezahlt."),
    "customer_without_email": _("Der Kunde hat keine E-Mail-Adresse."),
    "invalid_period": _("Der Zeitraum endet vor seinem Beginn."),
    # dunning
    "archived_file_altered": _(
        "Die archivierte Datei wurde verändert; sie wird nicht ausgegeben. "
        "Bitte prüfen Sie das Archiv (faktura check)."
    ),
    "archived_file_missing": _(
        "Eine archivierte Datei fehlt; bitte prüfen Sie das Archiv (faktura check)."
    ),
    "archive_name_taken": _(
        "Die Datei kann nicht archiviert werden: Unter ihrem Namen liegt schon eine andere. "
        "Bitte prüfen Sie das Archiv (faktura check)."
    ),
    "dunning_notice_not_found": _("Diese Mahnung gibt es nicht."),
    "dunning_notice_not_proposed": _("Über diesen Vorschlag wurde schon entschieden."),
    "dunning_reason_required": _("Bitte geben Sie einen Grund an."),
    "invalid_dunning_fee": _("Eine Mahngebühr ist ein Betrag größer als null."),
    "amount_too_large": _("Der Betrag ist zu groß."),
    "collection_case_not_found": _("Diesen Inkassofall gibt es nicht."),
    "collection_case_wrong_status": _("Der Inkassofall ist nicht (mehr) in diesem Stand."),
    "collection_layout_not_found": _("Es ist kein Exportformat für das Inkassobüro angelegt."),
    "dunning_fee_not_found": _("Diese Gebühr gibt es nicht."),
    "dunning_fee_not_open": _("Die Gebühr ist schon bezahlt oder erlassen."),
    # instalment agreements (Ratenzahlung)
    "instalment_agreement_not_found": _("Diese Ratenzahlung gibt es nicht."),
    "instalment_agreement_not_active": _("Die Ratenzahlung ist schon beendet."),
    "instalment_schedule_required": _(
        "Bitte geben Sie die Anzahl der Raten und die erste Fälligkeit an, oder bei eigenen "
        "Raten die Termine und Beträge."
    ),
    "invalid_instalment_count": _("Eine Ratenzahlung hat 1 bis 60 Raten."),
    "invalid_grace_days": _("Die Karenztage liegen zwischen 0 und 60."),
    "instalment_no_invoices": _("Bitte wählen Sie mindestens eine Rechnung."),
    "instalment_amount_not_positive": _("Jede Rate muss größer als null sein."),
    "instalment_dates_not_ascending": _(
        "Die Fälligkeiten müssen aufsteigend sein, höchstens eine Rate je Tag."
    ),
    "instalment_due_in_past": _("Die erste Rate kann nicht vor heute fällig sein."),
    "instalment_sum_mismatch": _(
        "Die Raten ergeben zusammen nicht den offenen Betrag der gewählten Rechnungen."
    ),
    "invoice_not_open": _(
        "Eine gewählte Rechnung ist schon bezahlt oder keine festgeschriebene Rechnung."
    ),
    "invoice_in_instalment_agreement": _(
        "Eine gewählte Rechnung ist schon in einer laufenden Ratenzahlung."
    ),
    "invoice_in_collection": _(
        "Eine gewählte Rechnung liegt beim Inkassobüro; rufen Sie den Inkassofall zuerst zurück."
    ),
    "invoice_not_found": _("Dieses Dokument gibt es nicht."),
    "customer_not_found": _("Diesen Kunden gibt es nicht."),
    "credit_exceeds_remaining": _(
        "Das ist mehr, als auf der Rechnung noch gutgeschrieben werden kann."
    ),
    "unknown_line": _("Diese Position gibt es auf der Rechnung nicht."),
    "negative_amount": _("Bitte geben Sie einen Wert größer als null ein."),
    "no_lines": _("Bitte geben Sie mindestens eine Position an."),
    "unknown_product": _("Diesen Artikel gibt es nicht oder er ist nicht aktiv."),
    "missing_name": _("Eine freie Position braucht eine Bezeichnung."),
    "unknown_tax_rate": _("Bitte wählen Sie einen gültigen Steuersatz."),
    "invalid_credit": _("Bitte geben Sie entweder Positionen oder einen Betrag an."),
    "duplicate_sku": _("Diese Artikelnummer gibt es schon."),
    "tax_rate_required": _("Bitte wählen Sie einen Steuersatz."),
    "invalid_unit_price": _("Bitte geben Sie einen Einzelpreis von 0 oder mehr ein."),
    "negative_total": _("Der Gesamtbetrag darf nicht negativ sein."),
    "invalid_discount": _("Der Rabatt ist ungültig."),
    "supply_kind_required": _(
        "Lieferung oder Dienstleistung? Das entscheidet die Umsatzsteuer eines Verkaufs an "
        "ein Unternehmen im Ausland."
    ),
    "buyer_vat_id_required": _(
        "Reverse Charge und innergemeinschaftliche Lieferungen brauchen die USt-IdNr. des Kunden."
    ),
    # access (blocks and overrides)
    "override_in_the_past": _("Die Freigabe kann nicht vor heute enden."),
    "invalid_why": _("Die Begründung hat höchstens 500 Zeichen."),
    "access_override_not_found": _("Diese Freigabe gibt es nicht."),
    "access_override_ended": _("Die Freigabe ist schon beendet."),
    # bank lines
    "bank_transaction_not_found": _("Diese Bankbuchung gibt es nicht."),
    "bank_transaction_not_open": _("Die Bankbuchung ist schon gebucht oder ignoriert."),
    "bank_transaction_not_incoming": _("Nur Zahlungseingänge können Rechnungen zugeordnet werden."),
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
    # SEPA mandates
    "mandate_not_found": _("Dieses Mandat gibt es nicht."),
    "mandate_not_active": _("Das Mandat ist nicht (mehr) aktiv."),
    "mandate_signature_in_future": _("Das Unterschriftsdatum liegt in der Zukunft."),
    "invalid_date": _("Bitte geben Sie ein gültiges Datum ein."),
    "invalid_mandate_reference": _(
        "Die Mandatsreferenz hat 1 bis 35 Zeichen aus A–Z, a–z, 0–9, Leerzeichen und "
        "/ - ? : ( ) . , ' + (nicht / am Anfang oder Ende, kein //)."
    ),
    "mandate_reference_taken": _("Diese Mandatsreferenz ist schon vergeben."),
    "invalid_scheme": _("Bitte wählen Sie Basislastschrift (CORE) oder Firmenlastschrift (B2B)."),
    "invalid_mandate_kind": _("Bitte wählen Sie wiederkehrend oder einmalig."),
    "b2b_mandate_for_consumer": _(
        "Das Firmenlastschriftverfahren (B2B) gilt nur für Unternehmen; Verbraucher "
        "unterschreiben ein Basis-Mandat (CORE)."
    ),
    "missing_debtor_name": _("Bitte geben Sie den Kontoinhaber an."),
    "missing_street": _("Für das Mandat fehlt die Straße des Kontoinhabers."),
    "missing_postcode": _("Für das Mandat fehlt die PLZ des Kontoinhabers."),
    "missing_city": _("Für das Mandat fehlt der Ort des Kontoinhabers."),
    "invalid_debtor_name": _("Der Kontoinhaber hat höchstens 70 Zeichen in lateinischer Schrift."),
    "invalid_street": _("Die Straße hat höchstens 70 Zeichen in lateinischer Schrift."),
    "invalid_postcode": _("Die PLZ hat höchstens 16 Zeichen in lateinischer Schrift."),
    "invalid_city": _("Der Ort hat höchstens 35 Zeichen in lateinischer Schrift."),
    # the inbox
    "dispute_not_found": _("Diese Rückbuchung gibt es nicht."),
    "dispute_cleared": _("Die Rückbuchung ist schon geklärt."),
    "todo_entry_done": _("Die Aufgabe ist schon erledigt."),
    "message_not_failed": _("Die E-Mail ist nicht (mehr) gescheitert."),
    "job_run_not_failed": _("Der Auftrag ist nicht (mehr) fehlgeschlagen."),
    "job_run_manual": _("Ein von Hand gestarteter Auftrag wird von Hand neu gestartet."),
    "two_factor_active": _("Die Zwei-Faktor-Anmeldung ist bereits eingerichtet."),
    "two_factor_not_started": _("Bitte laden Sie die Seite neu und scannen Sie den QR-Code."),
    "two_factor_code_format": _("Bitte geben Sie den sechsstelligen Code aus der App ein."),
    "two_factor_code_wrong": _(
        "Der Code stimmt nicht. Bitte geben Sie den aktuellen Code aus der App ein "
        "und prüfen Sie, ob die Uhrzeit des Geräts stimmt."
    ),
    "two_factor_own_only": _("Die Zwei-Faktor-Anmeldung richtet jede Person für sich ein."),
    "two_factor_not_active": _(
        "Ersatzcodes gibt es erst, wenn die Authenticator-App eingerichtet ist."
    ),
}


# Where a code means something more specific on one screen: (code, screen) → text.
IN_CONTEXT = {
    ("approver_is_creator", "refund_batch"): _(
        "Freigeben muss eine zweite Person: Wer die Erstattungsdatei erstellt hat, kann sie "
        "nicht freigeben (Vier-Augen-Prinzip)."
    ),
}

# The same code said of one field in particular: (code, field) → text.
FIELD_MESSAGES = {
    ("negative_amount", "costs"): _(
        "Die Kosten des Inkassobüros können nicht negativ sein; ohne Kosten geben Sie 0,00 an."
    ),
    ("negative_amount", "stock_level"): _("Der Bestand kann nicht negativ sein."),
    ("negative_amount", "low_stock_threshold"): _("Der Meldebestand kann nicht negativ sein."),
    ("too_many_decimals", "unit_price"): _("Einzelpreise haben höchstens vier Nachkommastellen."),
}


def message(error: DomainError, screen: str = "") -> str:
    if error.code in ("invalid_amount", "too_many_decimals") and (error.field or "").endswith(
        "quantity"
    ):
        return str(_("Bitte geben Sie eine Menge wie 1 oder 2,5 ein."))
    if (error.code, error.field) in FIELD_MESSAGES:
        return str(FIELD_MESSAGES[(error.code, error.field or "")])
    text = IN_CONTEXT.get((error.code, screen)) or MESSAGES.get(error.code)
    if text is None and isinstance(error, PermissionRefused):
        text = MESSAGES["permission_denied"]
    if text is None:
        return gettext("Die Aktion wurde abgelehnt (%(code)s).") % {"code": error.code}
    params = getattr(error, "params", None)  # what a refusal names (mail_texts.TemplateRefused)
    return str(text) % params if params else str(text)


def attempt(
    request: HttpRequest, action: Callable[[], Any], done: str, *, screen: str = ""
) -> bool:
    """Run one service call: ``done`` as a success message, or the refusal in the back
    office's words (nothing was changed then; ``screen`` picks a text of IN_CONTEXT).
    Whether it succeeded."""
    try:
        action()
    except DomainError as error:
        messages.error(request, message(error, screen))
        return False
    messages.success(request, done)
    return True
