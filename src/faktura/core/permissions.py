"""The one permission matrix (role × operation), enforced by the services.

Every state-changing service names its operation and calls ``require(actor, operation)``
before it reads or writes anything. The back office (admin), the API and the commands
never decide on their own: they ask ``allows`` to hide what the actor may not do, and the
service refuses it anyway. ``docs/permissions.md`` is this matrix as a table; a test keeps
the two equal.

The four-eyes principle (DESIGN invariant 10) is checked by person, not by channel: an
actor's ``user_id`` (session, admin, or the owner of an API key) is compared with the user
who created the document, so one person with two keys, or with a key and a login, is still
one person. A single-person business switches it off explicitly with
``Company.four_eyes_required`` (admin only, audited).
"""

from __future__ import annotations

from faktura.core.actors import CUSTOMER, ROLES, Actor
from faktura.core.errors import PermissionRefused

ADMIN, ACCOUNTANT, APPROVER, CASHIER, VIEWER = ROLES

# operation → (roles allowed, what it is). Admin holds every role (Actor.has_role), so it
# is listed only where an operation belongs to it alone.
MATRIX: dict[str, tuple[frozenset[str], str]] = {
    # invoicing
    "invoice.create_draft": (frozenset({ACCOUNTANT}), "Entwurf anlegen (auch aus Bestellungen)"),
    "invoice.finalize": (frozenset({ACCOUNTANT}), "Rechnung festschreiben"),
    "invoice.discard": (frozenset({ACCOUNTANT}), "Entwurf verwerfen"),
    "invoice.approve": (frozenset({APPROVER}), "Rechnung freigeben oder ablehnen"),
    "invoice.correct": (frozenset({ACCOUNTANT}), "Gutschrift oder Storno erstellen"),
    "invoice.send": (frozenset({ACCOUNTANT}), "Rechnung (erneut) per E-Mail senden"),
    "document.block": (frozenset({ADMIN}), "Versand sperren (nur das System)"),
    "print_batch.create": (
        frozenset({ACCOUNTANT}),
        "Druckstapel für den Briefversand erstellen",
    ),
    # master data
    "customer.create": (frozenset({ACCOUNTANT}), "Kunden anlegen"),
    "customer.change": (frozenset({ACCOUNTANT}), "Kundenstammdaten ändern"),
    "product.create": (frozenset({ACCOUNTANT}), "Produkt anlegen"),
    "product.change": (frozenset({ACCOUNTANT}), "Produkt ändern"),
    "master_data.change": (
        frozenset({ACCOUNTANT}),
        "Firma, Briefpapier, Zahlungseinstellungen, Steuersätze, Nummernkreise, CSV-Profile",
    ),
    "mail_template.change": (
        frozenset({ACCOUNTANT}),
        "Eigene Texte der Kunden-E-Mails speichern oder auf den Standard zurücksetzen",
    ),
    "settings.four_eyes": (frozenset({ADMIN}), "Vier-Augen-Prinzip ein- oder ausschalten"),
    "settings.two_factor": (
        frozenset({ADMIN}),
        "Zwei-Faktor-Anmeldung für alle Mitarbeitenden vorschreiben",
    ),
    "two_factor.enrol": (
        frozenset({ACCOUNTANT, APPROVER, CASHIER, VIEWER}),
        "Eigene Zwei-Faktor-Anmeldung (TOTP) einrichten, Ersatzcodes erzeugen",
    ),
    "api_key.manage": (frozenset({ADMIN}), "API-Schlüssel anlegen und widerrufen"),
    "user.manage": (
        frozenset({ADMIN}),
        "Benutzer anlegen und deaktivieren, Rollen ändern",
    ),
    "maintenance.switch": (
        frozenset({ADMIN}),
        "Wartungsmodus ein- oder ausschalten (alle Schreibzugriffe ruhen)",
    ),
    "webhook.manage": (
        frozenset({ADMIN}),
        "Webhook-Endpunkte anlegen und ändern, Webhooks erneut zustellen",
    ),
    # customer portal (CUSTOMER: a customer signed in, on their own account only)
    "portal.open_account": (
        frozenset({ADMIN}),
        "Portalzugang eines Kunden anlegen, Anmeldelink senden (nur das System)",
    ),
    "portal.change_contact": (
        frozenset({CUSTOMER}),
        "Eigene Rechnungsadresse und E-Mail-Adresse im Kundenportal ändern",
    ),
    # subscriptions
    "billing.run": (frozenset({ACCOUNTANT}), "Abrechnungslauf starten"),
    "billing.notices": (
        frozenset({ACCOUNTANT}),
        "Hinweise an Abonnenten senden (Testphase, Verlängerung, Preisänderung)",
    ),
    "billing.preview": (
        frozenset({ACCOUNTANT, APPROVER, CASHIER, VIEWER}),
        "Vorschau der nächsten Rechnung oder eines Abrechnungslaufs",
    ),
    # money in
    "payment.record": (frozenset({CASHIER, ACCOUNTANT}), "Zahlung erfassen und zuordnen"),
    "payment.release_allocation": (frozenset({ACCOUNTANT}), "Zuordnung lösen"),
    "payment.write_off": (frozenset({ACCOUNTANT}), "Restbetrag ausbuchen"),
    "payment.confirm": (
        frozenset({ACCOUNTANT, APPROVER}),
        "Manuelle Zahlung bestätigen oder ablehnen (zweite Person)",
    ),
    "payment.return": (
        frozenset({ACCOUNTANT}),
        "Rücklastschrift, Chargeback, Klärung einer Rückbuchung",
    ),
    "payment.checkout": (
        frozenset({CASHIER, ACCOUNTANT, CUSTOMER}),
        "Online-Zahlung (Checkout) für eine Rechnung starten",
    ),
    "payment_method.change": (
        frozenset({ACCOUNTANT}),
        "Gespeicherte Zahlungsmethode (Stripe) hinterlegen oder deaktivieren",
    ),
    "payment_method.choose": (
        frozenset({ACCOUNTANT, CUSTOMER}),
        "Zahlungsart des Kunden und seiner Abonnements wählen, Karte hinterlegen "
        "(Kunden im Portal: nur das eigene Konto)",
    ),
    "payment.charge_saved_method": (
        frozenset({ACCOUNTANT}),
        "Rechnung von der gespeicherten Zahlungsmethode abbuchen lassen",
    ),
    "refund.request": (frozenset({ACCOUNTANT}), "Erstattung von Guthaben beantragen"),
    "refund.approve": (
        frozenset({APPROVER}),
        "Erstattung oder Erstattungsdatei freigeben/ablehnen (zweite Person)",
    ),
    "refund_batch.create": (frozenset({ACCOUNTANT}), "Erstattungsdatei erstellen/verwerfen"),
    "mandate.change": (frozenset({ACCOUNTANT}), "SEPA-Mandat anlegen, widerrufen, sperren"),
    "mandate.grant_online": (
        frozenset({CUSTOMER}),
        "SEPA-Mandat im Kundenportal erteilen oder widerrufen (nur das eigene Konto)",
    ),
    "direct_debit.create": (
        frozenset({ACCOUNTANT}),
        "Lastschriftdatei erstellen, einreichen, verwerfen, abschließen",
    ),
    "statement.import": (frozenset({ACCOUNTANT}), "Kontoauszug importieren"),
    "account_statement.send": (
        frozenset({ACCOUNTANT}),
        "Auszug des Kundenkontos (PDF) per E-Mail an den Kunden senden",
    ),
    "bank_transaction.assign": (
        frozenset({ACCOUNTANT}),
        "Umsatz zuordnen oder ignorieren",
    ),
    # subscriptions
    "plan.manage": (
        frozenset({ACCOUNTANT}),
        "Tarife, Preisänderungen, Kurse und Gutscheine anlegen",
    ),
    "subscription.manage": (
        frozenset({ACCOUNTANT}),
        "Abonnements anlegen, ändern, pausieren, kündigen; Kurse buchen; Einmalbeträge",
    ),
    "subscription.self_service": (
        frozenset({ACCOUNTANT, CUSTOMER}),
        "Tarif oder Menge ändern, pausieren, kündigen, Kündigung zurücknehmen "
        "(Kunden im Portal: nur die eigenen Abonnements)",
    ),
    "cancellation_request.process": (
        frozenset({ACCOUNTANT}),
        "Kündigung aus dem Kündigungsbutton (§ 312k BGB) als bearbeitet markieren",
    ),
    # access
    "access.manage": (
        frozenset({ACCOUNTANT}),
        "Zugang sperren, Sperre aufheben, Zugang trotz Sperre freigeben",
    ),
    # dunning
    "dunning.run": (frozenset({ACCOUNTANT}), "Mahnlauf starten"),
    "dunning.approve": (
        frozenset({ACCOUNTANT, APPROVER}),
        "Mahnvorschlag freigeben (versenden) oder verwerfen",
    ),
    "dunning.fee": (frozenset({ACCOUNTANT}), "Mahngebühr von Hand erheben oder erlassen"),
    "dunning.instalments": (
        frozenset({ACCOUNTANT}),
        "Ratenzahlung vereinbaren oder aufheben",
    ),
    "todo.done": (
        frozenset({ACCOUNTANT, APPROVER, CASHIER}),
        "Aufgabe aus dem Mahnwesen als erledigt markieren",
    ),
    "collection.approve": (
        frozenset({APPROVER}),
        "Inkasso-Übergabe freigeben, zurückrufen oder ausbuchen",
    ),
    "collection.export": (
        frozenset({ACCOUNTANT}),
        "Inkasso-Export erstellen, Zahlungen des Inkassobüros buchen",
    ),
    # operations
    "mail.retry": (frozenset({ACCOUNTANT}), "Gescheiterte E-Mail erneut senden"),
    "job.retry": (frozenset({ACCOUNTANT}), "Fehlgeschlagenen Auftrag erneut ausführen lassen"),
    # retention (GoBD)
    "retention.legal_hold": (
        frozenset({ACCOUNTANT}),
        "Aufbewahrungssperre eines Kunden setzen oder aufheben",
    ),
    "retention.purge": (
        frozenset({ADMIN}),
        "Archivierte Dokumente nach Ablauf der Aufbewahrungsfrist löschen",
    ),
}

OPERATIONS = tuple(MATRIX)

# Codes kept from before the matrix, because clients and tests branch on them.
_CODES = {
    "invoice.create_draft": "role_required",
    "invoice.finalize": "role_required",
    "invoice.discard": "role_required",
    "invoice.correct": "role_required",
    "invoice.approve": "not_an_approver",
    "refund.approve": "not_an_approver",
}


def allows(actor: Actor, operation: str) -> bool:
    """Whether ``actor`` may perform ``operation`` (admin holds every role)."""
    roles, _description = MATRIX[operation]
    return any(actor.has_role(role) for role in roles)


def require(actor: Actor, operation: str) -> None:
    """Refuse with PermissionRefused unless the matrix lets ``actor`` do ``operation``.

    Raises KeyError for an operation missing from the matrix (a programming error).
    """
    roles, description = MATRIX[operation]
    if not any(actor.has_role(role) for role in roles):
        raise PermissionRefused(
            f"{actor.label} may not do this ({operation}: {description}); "
            f"it needs the role {' or '.join(sorted(roles))}.",
            code=_CODES.get(operation, "permission_denied"),
        )


def require_own(actor: Actor, customer_id: int) -> None:
    """A customer in the portal reaches their own account only; staff are not limited."""
    if actor.customer_id is not None and actor.customer_id != customer_id:
        raise PermissionRefused(
            f"{actor.label} may act on their own account only.", code="permission_denied"
        )


def allowed_roles(operation: str) -> frozenset[str]:
    """The roles that may do ``operation``, admin included."""
    roles, _description = MATRIX[operation]
    return frozenset({ADMIN, *roles})


def four_eyes_required() -> bool:
    """Whether a second person must approve (on unless the company switched it off)."""
    from faktura.core.models import Company

    value = Company.objects.order_by("pk").values_list("four_eyes_required", flat=True).first()
    return True if value is None else bool(value)


def is_same_person(actor: Actor, *, label: str, user_id: int | None) -> bool:
    """Whether ``actor`` is who made something recorded as ``label`` / ``user_id``.

    By user first: one person with two API keys, or a key and a login, is one person.
    The label still counts for what has no user (a system run, old rows).
    """
    if actor.user_id is not None and user_id is not None:
        return actor.user_id == user_id
    return actor.label == label


def require_second_person(
    actor: Actor, *, label: str, user_id: int | None, code: str, message: str
) -> None:
    """Refuse (four-eyes principle) when ``actor`` is who made it, unless switched off."""
    if is_same_person(actor, label=label, user_id=user_id) and four_eyes_required():
        raise PermissionRefused(message, code=code)


def markdown_table() -> str:
    """The matrix as a Markdown table (docs/permissions.md is generated from it)."""
    # The staff roles, then the customer in the portal (on their own account only).
    columns = (*ROLES, CUSTOMER)
    header = "| operation | what | " + " | ".join(columns) + " |"
    rule = "| --- | --- | " + " | ".join("---" for _ in columns) + " |"
    rows = [
        f"| `{operation}` | {description} | "
        + " | ".join("x" if role in allowed_roles(operation) else "" for role in columns)
        + " |"
        for operation, (_roles, description) in MATRIX.items()
    ]
    return "\n".join([header, rule, *rows]) + "\n"


# The back office: which operation each admin page's add / change / delete is; None means
# nobody (the rows are written by services only, or never deleted). Every registered
# ModelAdmin (Django's own auth models aside) must have a row; a test checks it.
ADMIN_RULES: dict[str, dict[str, str | None]] = {
    "access.accessblock": {"add": None, "change": None, "delete": None},
    "access.accessoverride": {"add": None, "change": None, "delete": None},
    "access.accesssettings": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "api.apikey": {"add": "api_key.manage", "change": "api_key.manage", "delete": None},
    "api.idempotencyrecord": {"add": None, "change": None, "delete": None},
    "banking.bankstatement": {"add": None, "change": None, "delete": None},
    "banking.banktransaction": {"add": None, "change": None, "delete": None},
    "banking.providerevent": {"add": None, "change": None, "delete": None},
    "banking.csvmappingprofile": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": "master_data.change",
    },
    "catalog.taxrate": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "catalog.product": {"add": "product.create", "change": "product.change", "delete": None},
    "catalog.stockmovement": {"add": None, "change": None, "delete": None},
    "collection.mandate": {"add": None, "change": None, "delete": None},
    "collection.directdebitbatch": {"add": None, "change": None, "delete": None},
    "core.company": {"add": "master_data.change", "change": "master_data.change", "delete": None},
    "core.numberrange": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "core.auditentry": {"add": None, "change": None, "delete": None},
    "core.maintenancemode": {
        "add": "maintenance.switch",
        "change": "maintenance.switch",
        "delete": None,
    },
    "customers.customer": {"add": "customer.create", "change": "customer.change", "delete": None},
    "documents.archiveddocument": {"add": None, "change": None, "delete": None},
    "documents.printbatch": {"add": None, "change": None, "delete": None},
    "documents.postaldelivery": {"add": None, "change": None, "delete": None},
    "dunning.baserate": {"add": None, "change": None, "delete": None},
    "dunning.dunningpolicy": {"add": None, "change": None, "delete": None},
    "dunning.dunningrun": {"add": None, "change": None, "delete": None},
    "dunning.dunningnotice": {"add": None, "change": None, "delete": None},
    "dunning.dunningfee": {"add": None, "change": None, "delete": None},
    "dunning.collectioncase": {"add": None, "change": None, "delete": None},
    "dunning.collectionexport": {"add": None, "change": None, "delete": None},
    "dunning.collectionexportlayout": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "dunning.noticesettings": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "dunning.instalmentagreement": {"add": None, "change": None, "delete": None},
    "dunning.todoentry": {"add": None, "change": None, "delete": None},
    "dunning.staffdigest": {"add": None, "change": None, "delete": None},
    "dunning.preduereminder": {"add": None, "change": None, "delete": None},
    "documents.letterhead": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": "master_data.change",
    },
    "invoicing.invoice": {"add": None, "change": None, "delete": "invoice.discard"},
    "notifications.outboxmessage": {"add": None, "change": None, "delete": None},
    "webhooks.webhookendpoint": {"add": "webhook.manage", "change": None, "delete": None},
    "webhooks.webhookdelivery": {"add": None, "change": None, "delete": None},
    "payments.payment": {"add": None, "change": None, "delete": None},
    "payments.writeoff": {"add": None, "change": None, "delete": None},
    "payments.paymentrequest": {"add": None, "change": None, "delete": None},
    "payments.returnevent": {"add": None, "change": None, "delete": None},
    "payments.feeitem": {"add": None, "change": None, "delete": None},
    "payments.dispute": {"add": None, "change": None, "delete": None},
    "payments.savedpaymentmethod": {"add": None, "change": None, "delete": None},
    "payments.refund": {"add": None, "change": None, "delete": None},
    "payments.refundbatch": {"add": None, "change": None, "delete": None},
    "payments.paymentsettings": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "reporting.datevsettings": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "reporting.datevaccount": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": "master_data.change",
    },
    "reporting.legalhold": {"add": "retention.legal_hold", "change": None, "delete": None},
    "reporting.purgeddocument": {"add": None, "change": None, "delete": None},
    "sales.order": {"add": None, "change": None, "delete": None},
    "subscriptions.plan": {"add": None, "change": None, "delete": None},
    "subscriptions.course": {"add": None, "change": None, "delete": None},
    "subscriptions.subscription": {"add": None, "change": None, "delete": None},
    "subscriptions.coupon": {"add": None, "change": None, "delete": None},
    "subscriptions.billingsettings": {
        "add": "master_data.change",
        "change": "master_data.change",
        "delete": None,
    },
    "subscriptions.billingprofile": {
        "add": "customer.change",
        "change": "customer.change",
        "delete": "customer.change",
    },
    "subscriptions.billingrun": {"add": None, "change": None, "delete": None},
    "subscriptions.billingissue": {"add": None, "change": None, "delete": None},
    "subscriptions.cancellationrequest": {"add": None, "change": None, "delete": None},
}

# Admin actions (by function name) → operation; an action without a row is never offered.
ADMIN_ACTIONS: dict[str, str] = {
    "finalize": "invoice.finalize",
    "approve": "invoice.approve",
    "cancel": "invoice.correct",
    "discard": "invoice.discard",
    "resend": "invoice.send",
    "revoke": "api_key.manage",
    "redeliver": "webhook.manage",
    "deactivate_endpoints": "webhook.manage",
    "approve_notices": "dunning.approve",
    "cancel_notices": "dunning.approve",
    "waive_fees": "dunning.fee",
    "approve_cases": "collection.approve",
    "recall_cases": "collection.approve",
    "write_off_cases": "collection.approve",
    "mark_done": "todo.done",
    "clear_legal_holds": "retention.legal_hold",
    "mark_cancellations_processed": "cancellation_request.process",
}


def admin_rule(app_label: str, model_name: str, action: str) -> str | None:
    """The operation behind ``action`` (add, change, delete) on a model's admin page."""
    return ADMIN_RULES[f"{app_label}.{model_name}"][action]
