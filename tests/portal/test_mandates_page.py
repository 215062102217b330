"""SEPA direct debit in the portal: the mandate text with the creditor identifier before
consent, a checked IBAN, the confirmation mail, revocation; nothing of another customer."""

from __future__ import annotations

import pytest

from faktura.collection import online
from faktura.collection.models import Mandate
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.core.models import AuditEntry
from faktura.customers.services import create_customer
from faktura.notifications.models import OutboxMessage
from tests.portal.contract_helpers import mails, messages_of, sign_in

pytestmark = pytest.mark.django_db
PAGE = "/portal/lastschrift/"
IBAN = "DE89 3704 0044 0532 0130 00"


def test_the_mandate_text_and_creditor_id_are_shown_before_consent(client, consumer):
    html = sign_in(client, consumer).get(PAGE).content.decode()
    assert "DE98ZZZ09999999999" in html
    assert "Ich ermächtige Muster Software GmbH" in html
    assert "acht Wochen" in html
    assert 'type="checkbox" name="consent"' in html
    assert html.index("Ich ermächtige") < html.index('name="consent"')


def test_granting_a_mandate_online_stores_it_and_mails_reference_and_creditor_id(client, consumer):
    client = sign_in(client, consumer)
    done = client.post(
        f"{PAGE}erteilen/",
        {"account_holder": "Max Mustermann", "iban": IBAN, "consent": "on"},
        follow=True,
    )
    mandate = Mandate.objects.get()
    assert mandate.iban == "DE89370400440532013000"
    assert mandate.debtor_name == "Max Mustermann"
    assert mandate.customer == consumer
    assert mandate.scheme == "CORE"
    consumer.refresh_from_db()
    assert consumer.preferred_payment_method == "direct_debit"
    assert messages_of(done)[0].startswith("Vielen Dank: Ihr SEPA-Lastschriftmandat ist erteilt")
    assert mandate.reference in messages_of(done)[0]

    (mail,) = mails(OutboxMessage.Event.MANDATE_GRANTED)
    assert mail.to == ["max@example.org"]
    assert mandate.reference in mail.subject
    assert f"Mandatsreferenz: {mandate.reference}" in mail.body_text
    assert "Gläubiger-Identifikationsnummer: DE98ZZZ09999999999" in mail.body_text
    assert "IBAN: DE89 **** **** **** **30 00" in mail.body_text
    consent = AuditEntry.objects.get(action="mandate.consented_online")
    assert "Ich ermächtige Muster Software GmbH" in consent.data["text"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {
                "account_holder": "Max Mustermann",
                "iban": "DE89 3704 0044 0532 0130 01",
                "consent": "on",
            },
            "Die IBAN ist ungültig. Bitte prüfen Sie Länge und Prüfziffer.",
        ),
        (
            {"account_holder": "Max Mustermann", "iban": IBAN},
            "Bitte bestätigen Sie das Lastschriftmandat.",
        ),
        (
            {"account_holder": "", "iban": IBAN, "consent": "on"},
            "Bitte geben Sie den Kontoinhaber an.",
        ),
    ],
)
def test_bad_input_is_refused_in_german_and_nothing_is_stored(client, consumer, data, error):
    response = sign_in(client, consumer).post(f"{PAGE}erteilen/", data)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Mandate.objects.exists()
    assert not OutboxMessage.objects.exists()
    consumer.refresh_from_db()
    assert consumer.preferred_payment_method == "transfer"


def test_the_customer_revokes_their_mandate(client, consumer):
    me = Actor.for_customer(consumer.pk, consumer.number)
    mandate = online.grant_mandate(
        actor=me, customer_id=consumer.pk, iban=IBAN, account_holder="Max Mustermann", consent=True
    )
    client = sign_in(client, consumer)
    assert "Widerrufen</button>" in client.get(PAGE).content.decode()
    done = client.post(f"{PAGE}{mandate.pk}/widerrufen/", follow=True)
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.REVOKED
    consumer.refresh_from_db()
    assert consumer.preferred_payment_method == "transfer"
    assert messages_of(done) == [
        f"Das Mandat {mandate.reference} ist widerrufen; wir buchen nichts mehr davon ab."
    ]


def test_another_customers_mandate_is_out_of_reach(client, consumer, company, actor):
    other = create_customer(
        actor=actor,
        kind="consumer",
        name="Erika Musterfrau",
        street="Ahornweg",
        house_number="3",
        postcode="50667",
        city="Köln",
        email="erika@example.net",
    )
    theirs = online.grant_mandate(
        actor=Actor.for_customer(other.pk, other.number),
        customer_id=other.pk,
        iban=IBAN,
        account_holder="Erika Musterfrau",
        consent=True,
    )
    client = sign_in(client, consumer)
    assert theirs.reference not in client.get(PAGE).content.decode()
    assert client.post(f"{PAGE}{theirs.pk}/widerrufen/").status_code == 404
    me = Actor.for_customer(consumer.pk, consumer.number)
    with pytest.raises(PermissionRefused):
        online.revoke_mandate(actor=me, mandate_id=theirs.pk)
    with pytest.raises(PermissionRefused):
        online.grant_mandate(
            actor=me, customer_id=other.pk, iban=IBAN, account_holder="X", consent=True
        )
    theirs.refresh_from_db()
    assert theirs.status == Mandate.Status.ACTIVE
    assert Mandate.objects.count() == 1
