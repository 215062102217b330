"""Actions on the customer page: mail the account statement (Kontoauszug) as PDF. Roles
the matrix refuses see no form, and a forged request changes nothing."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from pypdf import PdfReader

from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.notifications.models import OutboxMessage
from faktura.notifications.services import send_message
from tests.payments.helpers import finalized


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
