"""SEPA mandates a customer grants and revokes online, in the portal.

The mandate text (EPC SDD Core rulebook, the German wording of the Deutsche Kreditwirtschaft)
names the creditor with its creditor identifier and is shown before the customer consents;
the consent is recorded with that very text. The mandate itself is made by the same code
as a signed paper mandate (``services._create_mandate``): IBAN checked with schwifty, the
debtor's name and address checked against what a pain.008 file accepts. A confirmation
with the mandate reference and the creditor identifier goes out in the same transaction.
"""

from __future__ import annotations

from django.db import transaction

from faktura.collection import services
from faktura.collection.models import Mandate, Scheme
from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, StateConflict
from faktura.core.models import Company
from faktura.customers.models import Customer
from faktura.documents.pdf import texts
from faktura.notifications import customer_mail
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage

OPERATION = "mandate.grant_online"

_TEXT = {
    "de": (
        "Ich ermächtige {creditor} (Gläubiger-Identifikationsnummer {creditor_id}), Zahlungen "
        "von meinem Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein "
        "Kreditinstitut an, die von {creditor} auf mein Konto gezogenen Lastschriften "
        "einzulösen. Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem "
        "Belastungsdatum, die Erstattung des belasteten Betrages verlangen. Es gelten dabei "
        "die mit meinem Kreditinstitut vereinbarten Bedingungen."
    ),
    "en": (
        "By signing this mandate form, I authorise {creditor} (creditor identifier "
        "{creditor_id}) to send instructions to my bank to debit my account and my bank to "
        "debit my account in accordance with the instructions from {creditor}. As part of my "
        "rights, I am entitled to a refund from my bank under the terms and conditions of my "
        "agreement with my bank. A refund must be claimed within eight weeks starting from "
        "the date on which my account was debited."
    ),
}


def creditor(company: Company) -> dict[str, str]:
    """Who collects: name, address and creditor identifier, as the mandate names them."""
    street = " ".join(p for p in (company.street, company.house_number) if p)
    return {
        "name": company.legal_name,
        "address": f"{street}, {company.postcode} {company.city}".strip(", "),
        "creditor_id": company.creditor_id,
    }


def mandate_text(company: Company, lang: str = "de") -> str:
    """The authorisation the customer consents to (recurring SEPA core direct debit)."""
    return _TEXT["en" if lang == "en" else "de"].format(
        creditor=company.legal_name, creditor_id=company.creditor_id
    )


def masked_iban(iban: str) -> str:
    """DE89 **** **** **** **30 00: enough to recognise the account, not to reuse it."""
    shown = iban[:4] + "*" * max(len(iban) - 8, 0) + iban[-4:]
    return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))


def grant_mandate(
    *, actor: Actor, customer_id: int, iban: str, account_holder: str, consent: bool
) -> Mandate:
    """The customer grants a recurring SEPA core mandate online; they pay by debit from now.

    Raises InvalidInput consent_required, invalid_iban, missing_debtor_name,
    invalid_debtor_name, missing_street/postcode/city (the customer's address goes into
    the mandate); StateConflict creditor_id_missing; PermissionRefused for another
    customer's account. Nothing is stored when it raises.
    """
    permissions.require(actor, OPERATION)
    permissions.require_own(actor, customer_id)
    if not consent:
        raise InvalidInput(
            "The customer did not consent to the mandate.", code="consent_required", field="consent"
        )
    company = Company.get()
    if not company.creditor_id:
        raise StateConflict(
            "The company has no creditor identifier: no direct debit.", code="creditor_id_missing"
        )
    today = clock.today()
    with transaction.atomic():
        mandate = services._create_mandate(
            customer_id=customer_id,
            actor=actor,
            iban=iban,
            signature_date=today,
            scheme=Scheme.CORE,
            kind=Mandate.Kind.RECURRING,
            reference=None,
            bic="",
            debtor_name=account_holder,
            street=None,
            house_number=None,
            postcode=None,
            city=None,
            country=None,
            use_for_payments=True,
        )
        customer = Customer.objects.get(pk=customer_id)
        lang = customer_mail.language_of(customer)
        wording = mandate_text(company, lang)
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="mandate.consented_online",
            object_type="mandate",
            object_id=mandate.pk,
            data={"reference": mandate.reference, "text": wording, "at": clock.now().isoformat()},
        )
        ctx = customer_mail.base_context(customer) | {
            "document_title": "SEPA-Lastschriftmandat" if lang == "de" else "SEPA mandate",
            "reference": mandate.reference,
            "creditor_id": company.creditor_id,
            "debtor_name": mandate.debtor_name,
            "iban": masked_iban(mandate.iban),
            "signed": texts.date(today, lang),
            "kind": (
                "wiederkehrende SEPA-Basislastschrift"
                if lang == "de"
                else "recurring SEPA core direct debit"
            ),
            "mandate_text": wording,
        }
        message = customer_mail.message(
            customer, OutboxMessage.Event.MANDATE_GRANTED, ctx, actor=actor
        )
        if message is not None:
            outbox.queue_messages_locked([message])
    return mandate


def revoke_mandate(*, actor: Actor, mandate_id: int) -> Mandate:
    """The customer withdraws their mandate; without another one they pay by transfer.

    Raises NotFound mandate_not_found, StateConflict mandate_not_active, PermissionRefused
    for another customer's mandate.
    """
    permissions.require(actor, OPERATION)
    return services._revoke(mandate_id, actor, "Im Kundenportal widerrufen")
