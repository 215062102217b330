"""Actions on the customer page: mail the account statement (Kontoauszug) as PDF, record
a SEPA mandate signed on paper (IBAN checked by the service, its errors in German at the
field), revoke a mandate or mark it unusable. Roles the matrix refuses see no form, and a
forged request changes nothing."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from pypdf import PdfReader

from faktura.collection.models import Mandate
from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.notifications.models import OutboxMessage
from faktura.notifications.services import send_message
from tests.collection.helpers import mandate
from tests.payments.helpers import IBAN, counts, finalized


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _login(client, "buchhaltung", "accountant")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text_of(pdf: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(text.replace("\xa0", " ").split())


# --- Kontoauszug per E-Mail ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_account_statement_is_mailed_with_its_pdf(accountant, business_customer, actor):
    invoice = finalized(business_customer, actor)  # 119,00
    page = accountant.get(f"/kunden/{business_customer.pk}/").content.decode()
    form = page.split("data-send-statement")[1].split("</form>")[0]
    assert "Kontoauszug per E-Mail senden" in form
    assert "an buchhaltung@beispiel.de (PDF)" in form

    response = accountant.post(
        f"/kunden/{business_customer.pk}/kontoauszug-senden",
        {"statement-date_from": "", "statement-date_to": ""},
        follow=True,
    )
    assert messages_of(response) == [
        "Der Kontoauszug (PDF) ist zum Versand an buchhaltung@beispiel.de eingereiht."
    ]
    message = OutboxMessage.objects.get(event="account_statement")
    assert message.to == ["buchhaltung@beispiel.de"]
    filename = f"Kontoauszug-{business_customer.number}-2026-11-16.pdf"
    assert [a["filename"] for a in message.attachments] == [filename]
    entry = AuditEntry.objects.get(action="account_statement.sent")
    assert (entry.actor, entry.data["closing_balance"]) == ("user:buchhaltung", "119.00")

    send_message(message.pk)
    [sent] = mail.outbox
    assert sent.to == ["buchhaltung@beispiel.de"]
    assert sent.subject == f"Kontoauszug Ihres Kundenkontos {business_customer.number}"
    [(name, content, mime)] = sent.attachments
    assert (name, mime) == (filename, "application/pdf")
    text = text_of(content)
    assert f"Rechnung {invoice.number}" in text
    assert "Schlusssaldo 119,00 €" in text


@pytest.mark.django_db
def test_a_period_can_be_chosen_and_a_reversed_one_is_refused(accountant, business_customer, actor):
    finalized(business_customer, actor)
    path = f"/kunden/{business_customer.pk}/kontoauszug-senden"
    reversed_period = accountant.post(
        path,
        {"statement-date_from": "2026-11-20", "statement-date_to": "2026-11-01"},
        follow=True,
    )
    assert messages_of(reversed_period) == ["Der Zeitraum endet vor seinem Beginn."]
    assert not OutboxMessage.objects.filter(event="account_statement").exists()
    accountant.post(path, {"statement-date_from": "2026-11-01", "statement-date_to": "2026-11-16"})
    message = OutboxMessage.objects.get(event="account_statement")
    assert AuditEntry.objects.get(action="account_statement.sent").data["from"] == "2026-11-01"
    assert message.attachments[0]["filename"].endswith(".pdf")


@pytest.mark.django_db
def test_a_customer_without_address_gets_no_statement(accountant, business_customer):
    Customer.objects.filter(pk=business_customer.pk).update(email="")
    response = accountant.post(f"/kunden/{business_customer.pk}/kontoauszug-senden", follow=True)
    assert messages_of(response) == ["Der Kunde hat keine E-Mail-Adresse."]
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["cashier", "approver", "viewer"])
def test_who_may_not_send_sees_no_form_and_a_forged_post_sends_nothing(
    client, company, business_customer, role
):
    other = _login(client, "jemand", role)
    page = other.get(f"/kunden/{business_customer.pk}/").content.decode()
    assert "kontoauszug-senden" not in page
    entries = AuditEntry.objects.count()
    response = other.post(f"/kunden/{business_customer.pk}/kontoauszug-senden", follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    assert not OutboxMessage.objects.exists()
    assert AuditEntry.objects.count() == entries


# --- SEPA-Mandat ---------------------------------------------------------------------------


def _mandate_data(**changes) -> dict[str, str]:
    data = {
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "",
        "signature_date": "2026-11-10",
        "scheme": "CORE",
        "kind": "recurring",
        "reference": "",
        "debtor_name": "",
        "street": "",
        "house_number": "",
        "postcode": "",
        "city": "",
        "use_for_payments": "on",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_a_mandate_signed_on_paper_is_recorded_and_the_customer_pays_by_debit(
    accountant, business_customer
):
    page = accountant.get(f"/kunden/{business_customer.pk}/").content.decode()
    assert f'href="/kunden/{business_customer.pk}/mandat-neu/"' in page
    form = accountant.get(f"/kunden/{business_customer.pk}/mandat-neu/").content.decode()
    assert 'name="signature_date" value="2026-11-16"' in form
    path = f"/kunden/{business_customer.pk}/mandat-neu/"

    before = counts()
    typo = accountant.post(path, _mandate_data(iban="DE89 3704 0044 0532 0130 01"))
    assert typo.status_code == 200
    assert (
        'data-error="iban">Ungültige IBAN DE89 3704 0044 0532 0130 01: die Prüfziffer stimmt '
        "nicht (vermutlich ein Tippfehler)</p>"
    ) in typo.content.decode()
    short = accountant.post(path, _mandate_data(iban="DE89 3704 0044 0532 0130"))
    assert "die Länge stimmt nicht (eine deutsche IBAN hat 22 Zeichen)" in short.content.decode()
    bic = accountant.post(path, _mandate_data(bic="COBADE"))
    assert 'data-error="bic">Ungültige BIC COBADE: die Länge stimmt nicht' in bic.content.decode()
    future = accountant.post(path, _mandate_data(signature_date="2026-11-17"))
    assert (
        'data-error="signature_date">Das Unterschriftsdatum liegt in der Zukunft.</p>'
        in future.content.decode()
    )
    reference = accountant.post(path, _mandate_data(reference="/M-1"))
    assert 'data-error="reference">Die Mandatsreferenz hat 1 bis 35 Zeichen' in (
        reference.content.decode()
    )
    assert counts() == before

    response = accountant.post(path, _mandate_data(), follow=True)
    made = Mandate.objects.get()
    assert response.redirect_chain == [(f"/kunden/{business_customer.pk}/", 302)]
    assert messages_of(response) == [
        f"Das Mandat {made.reference} ist angelegt. Zahlungsart des Kunden: SEPA-Lastschrift."
    ]
    assert (made.iban, made.signature_date, made.scheme, made.created_by) == (
        IBAN,
        dt.date(2026, 11, 10),
        "CORE",
        "user:buchhaltung",
    )
    assert (made.debtor_name, made.city) == ("Beispiel Handel AG", "Hamburg")
    item = response.content.decode().split(f'data-mandate="{made.pk}"')[1].split("</li>")[0]
    assert f"{made.reference} · {IBAN} · SEPA-Basislastschrift (CORE) · Aktiv" in item
    business_customer.refresh_from_db()
    assert business_customer.preferred_payment_method == "direct_debit"

    taken = accountant.post(path, _mandate_data(reference=made.reference))
    assert "Diese Mandatsreferenz ist schon vergeben." in taken.content.decode()
    assert Mandate.objects.count() == 1


@pytest.mark.django_db
def test_a_consumer_signs_no_b2b_mandate_and_another_holder_is_recorded(accountant, consumer):
    path = f"/kunden/{consumer.pk}/mandat-neu/"
    refused = accountant.post(path, _mandate_data(scheme="B2B"))
    assert (
        'data-error="scheme">Das Firmenlastschriftverfahren (B2B) gilt nur für Unternehmen'
        in refused.content.decode()
    )
    assert not Mandate.objects.exists()
    accountant.post(
        path,
        _mandate_data(
            debtor_name="Erika Mustermann",
            street="Lindenweg",
            house_number="3",
            postcode="50667",
            city="Köln",
            use_for_payments="",
            kind="one_off",
        ),
    )
    made = Mandate.objects.get()
    assert (made.debtor_name, made.street, made.postcode, made.city, made.kind) == (
        "Erika Mustermann",
        "Lindenweg",
        "50667",
        "Köln",
        "one_off",
    )
    consumer.refresh_from_db()
    assert consumer.preferred_payment_method == "transfer"  # not switched


@pytest.mark.django_db
def test_a_mandate_is_marked_unusable_with_its_reason(accountant, business_customer, actor):
    active = mandate(business_customer, actor)
    page = accountant.get(f"/kunden/{business_customer.pk}/").content.decode()
    item = page.split(f'data-mandate="{active.pk}"')[1].split("</li>")[0]
    assert f'href="/kunden/mandate/{active.pk}/unbrauchbar"' in item
    assert "Mandat unbrauchbar markieren" in item
    assert f'href="/kunden/mandate/{active.pk}/widerrufen"' in item
    confirm = accountant.get(f"/kunden/mandate/{active.pk}/unbrauchbar").content.decode()
    assert f"Mandat {active.reference} unbrauchbar markieren" in confirm
    assert IBAN in confirm
    before = counts()
    without = accountant.post(f"/kunden/mandate/{active.pk}/unbrauchbar", {"reason": ""})
    assert 'role="alert"' in without.content.decode()
    assert counts() == before

    response = accountant.post(
        f"/kunden/mandate/{active.pk}/unbrauchbar", {"reason": "Konto erloschen"}, follow=True
    )
    assert messages_of(response) == [
        f"Das Mandat {active.reference} ist als unbrauchbar markiert. "
        "Zahlungsart des Kunden: Überweisung."
    ]
    item = response.content.decode().split(f'data-mandate="{active.pk}"')[1].split("</li>")[0]
    assert "Unbrauchbar (Konto erloschen)" in item
    assert "/unbrauchbar" not in item  # no action left on it
    assert "/widerrufen" not in item
    active.refresh_from_db()
    assert (active.status, active.status_reason) == ("unusable", "Konto erloschen")
    assert AuditEntry.objects.filter(action="mandate.unusable").count() == 1


@pytest.mark.django_db
def test_a_mandate_is_revoked_and_a_second_revocation_is_refused(
    accountant, business_customer, actor
):
    active = mandate(business_customer, actor)
    response = accountant.post(
        f"/kunden/mandate/{active.pk}/widerrufen", {"reason": "Widerruf per Brief"}, follow=True
    )
    assert messages_of(response) == [
        f"Das Mandat {active.reference} ist widerrufen. Zahlungsart des Kunden: Überweisung."
    ]
    active.refresh_from_db()
    assert (active.status, active.status_reason) == ("revoked", "Widerruf per Brief")
    page = accountant.get(f"/kunden/mandate/{active.pk}/widerrufen").content.decode()
    assert "Das Mandat ist nicht (mehr) aktiv." in page
    before = counts()
    again = accountant.post(f"/kunden/mandate/{active.pk}/widerrufen", {"reason": ""}, follow=True)
    assert messages_of(again) == ["Das Mandat ist nicht (mehr) aktiv."]
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["cashier", "approver", "viewer"])
def test_who_may_not_change_mandates_sees_no_link_and_a_forged_post_changes_nothing(
    client, company, business_customer, actor, role
):
    active = mandate(business_customer, actor)
    other = _login(client, "jemand", role)
    page = other.get(f"/kunden/{business_customer.pk}/").content.decode()
    assert "/mandat-neu/" not in page
    assert "/unbrauchbar" not in page
    assert "/widerrufen" not in page
    before = counts()
    for path, data in (
        (f"/kunden/{business_customer.pk}/mandat-neu/", _mandate_data()),
        (f"/kunden/mandate/{active.pk}/unbrauchbar", {"reason": "x"}),
        (f"/kunden/mandate/{active.pk}/widerrufen", {"reason": "x"}),
    ):
        assert other.get(path).status_code == 403
        assert other.post(path, data).status_code == 403
    assert counts() == before
    active.refresh_from_db()
    assert active.status == "active"
