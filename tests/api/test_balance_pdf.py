"""The customer's account statement as a PDF/A letter (/balance.pdf) and by mail
(/balance/send): the same entries and figures as /balance, read back from the PDF."""

from __future__ import annotations

import base64
import hashlib
from io import BytesIO

import pytest
from pypdf import PdfReader

from faktura.api.keys import create_api_key
from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.customers.services import update_customer
from faktura.notifications.models import OutboxMessage
from faktura.notifications.services import build_email
from tests.api import test_money_resources as money_resources
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

# The scenario of the JSON statement's tests: invoice 119.00 collected by direct debit,
# returned (fee 3.00), credit note 19.00, 60.00 paid; closing balance 43.00.
creditor = money_resources.creditor
collected = money_resources.collected
statement_scenario = money_resources.statement_scenario


def text_of(pdf: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(text.replace("\xa0", " ").split())


def test_the_pdf_lists_every_entry_with_its_running_balance_and_the_closing_balance(
    statement_scenario, business_customer, reader_api
):
    invoice, note, _payment = statement_scenario
    response = reader_api.get(f"/api/v1/customers/{business_customer.pk}/balance.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="Kontoauszug-{business_customer.number}-2026-11-16.pdf"'
    )
    pdf = response.content
    text = text_of(pdf)
    assert f"Kontoauszug Kundenkonto {business_customer.number}" in text
    assert "Beispiel Handel AG" in text
    # The same rows as GET /balance: date, entry, debit or credit, balance after it.
    rows = [
        f"16.11.2026 Rechnung {invoice.number} 119,00 € 119,00 €",
        "17.11.2026 Zahlung",
        "119,00 € 0,00 €",
        "19.11.2026 Gebühr:",
        "3,00 € 3,00 €",
        f"19.11.2026 Rücklastschrift {invoice.number} 119,00 € 122,00 €",
        f"20.11.2026 Rechnungskorrektur {note.number} zu {invoice.number} 19,00 € 103,00 €",
        "60,00 € 43,00 €",
        "20.11.2026 Schlusssaldo 43,00 €",
    ]
    position = 0
    for row in rows:
        found = text.find(row, position)
        assert found >= 0, (row, text)
        position = found + len(row)
    assert "Summe Soll 241,00 €" in text
    assert "Summe Haben 198,00 €" in text
    assert "Saldo 43,00 €" in text
    assert "Bitte überweisen Sie den offenen Betrag von 43,00 €" in text
    assert "DE02 1203 0000 0000 2020 51" in text


def test_the_pdf_is_tagged_pdf_a_and_pdf_ua_with_its_title_and_author(
    statement_scenario, business_customer, api
):
    pdf = api.get(f"/api/v1/customers/{business_customer.pk}/balance.pdf").content
    reader = PdfReader(BytesIO(pdf))
    xmp = reader.xmp_metadata
    assert xmp is not None
    data = xmp.stream.get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in data
    assert b"<pdfaid:conformance>A</pdfaid:conformance>" in data
    assert b"<pdfuaid:part>1</pdfuaid:part>" in data
    assert reader.metadata.title == f"Kontoauszug {business_customer.number}"
    assert reader.metadata.author == "Muster Software GmbH"


def test_an_english_pdf_for_a_period_starts_from_the_opening_balance(
    statement_scenario, business_customer, reader_api
):
    path = f"/api/v1/customers/{business_customer.pk}/balance.pdf"
    response = reader_api.get(path, {"from": "2026-11-18", "to": "2026-11-19", "lang": "en"})
    assert response.status_code == 200
    text = text_of(response.content)
    assert "Account statement" in text
    assert "18 November 2026 Opening balance €0.00" in text
    assert "€3.00 €3.00" in text
    assert "€119.00 €122.00" in text
    assert "19 November 2026 Closing balance €122.00" in text
    assert "Total debit €122.00" in text
    assert "Total credit €0.00" in text
    assert "Payment" not in text


def test_the_customers_language_decides_without_lang(
    statement_scenario, business_customer, reader_api, actor
):
    update_customer(customer_id=business_customer.pk, actor=actor, language="en")
    text = text_of(reader_api.get(f"/api/v1/customers/{business_customer.pk}/balance.pdf").content)
    assert "Closing balance €43.00" in text


def test_a_bad_period_and_an_unknown_customer_are_refused(business_customer, reader_api):
    path = f"/api/v1/customers/{business_customer.pk}/balance.pdf"
    response = reader_api.get(path, {"from": "2026-11-20", "to": "2026-11-19"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_period")
    response = reader_api.get("/api/v1/customers/999999/balance.pdf")
    assert response.status_code == 404


def test_sending_queues_one_mail_with_the_pdf_and_audits_it(
    statement_scenario, business_customer, api
):
    response = api.send("POST", f"/customers/{business_customer.pk}/balance/send", {})
    assert response.status_code == 202, response.json()
    body = response.json()
    filename = f"Kontoauszug-{business_customer.number}-2026-11-16.pdf"
    assert (body["event"], body["state"], body["to"]) == (
        "account_statement",
        "queued",
        ["buchhaltung@beispiel.de"],
    )
    assert body["attachments"] == [filename]
    message = OutboxMessage.objects.get(event="account_statement")
    assert message.subject == f"Kontoauszug Ihres Kundenkontos {business_customer.number}"
    assert "Offen sind 43,00 €." in message.body_text
    email = build_email(message)
    [(name, content, mime)] = email.attachments
    assert (name, mime) == (filename, "application/pdf")
    assert "Schlusssaldo 43,00 €" in text_of(content)
    entry = AuditEntry.objects.get(action="account_statement.sent")
    assert entry.object_id == str(business_customer.pk)
    assert entry.data["message"] == message.pk
    assert entry.data["closing_balance"] == "43.00"
    assert entry.data["sha256"] == hashlib.sha256(content).hexdigest()
    assert entry.actor == "api:shop"


def test_an_altered_stored_attachment_is_not_sent(statement_scenario, business_customer, api):
    from faktura.documents.archive import ArchiveDamaged

    api.send("POST", f"/customers/{business_customer.pk}/balance/send", {})
    message = OutboxMessage.objects.get(event="account_statement")
    attachment = dict(message.attachments[0])
    attachment["content_base64"] = base64.b64encode(b"%PDF-1.7 forged").decode()
    OutboxMessage.objects.filter(pk=message.pk).update(attachments=[attachment])
    message.refresh_from_db()
    with pytest.raises(ArchiveDamaged):
        build_email(message)


def test_a_viewer_may_download_but_not_send(statement_scenario, business_customer, viewer_user):
    _, secret = create_api_key(name="viewer-rw", user=viewer_user, scopes=["read", "write"])
    viewer = ApiClient(secret)
    assert viewer.get(f"/api/v1/customers/{business_customer.pk}/balance.pdf").status_code == 200
    entries = AuditEntry.objects.count()
    response = viewer.send("POST", f"/customers/{business_customer.pk}/balance/send", {})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not OutboxMessage.objects.filter(event="account_statement").exists()
    assert AuditEntry.objects.count() == entries


def test_a_customer_without_address_gets_no_mail(statement_scenario, business_customer, api):
    # Customers invoiced by post have no address (the form refuses it for new ones).
    Customer.objects.filter(pk=business_customer.pk).update(email="")
    response = api.send("POST", f"/customers/{business_customer.pk}/balance/send", {})
    assert (response.status_code, response.json()["code"]) == (409, "customer_without_email")
    assert not OutboxMessage.objects.filter(event="account_statement").exists()
