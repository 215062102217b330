"""Bank: a statement uploaded in the back office, and an unmatched line assigned by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from faktura.banking.models import BankTransaction
from tests.banking.camt_builder import camt, transfer
from tests.payments.helpers import finalized, open_amount


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
def test_upload_then_assign_an_unmatched_line(client, company, business_customer, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    invoice = finalized(business_customer, actor)  # 119,00
    today = dt.date(2026, 11, 16)
    data = camt(
        [transfer("119.00", "Danke fuer alles", name="Unbekannt GmbH", booked=today)],
        created=today,
    )
    response = accountant.post(
        "/bank/", {"file": SimpleUploadedFile("auszug.xml", data)}, follow=True
    )
    assert messages_of(response) == ["1 neue Buchung: 0 gebucht, 1 offen."]
    line = BankTransaction.objects.get()
    assert line.state == BankTransaction.State.UNMATCHED
    assert f'data-line="{line.pk}"' in response.content.decode()

    again = accountant.post("/bank/", {"file": SimpleUploadedFile("auszug.xml", data)}, follow=True)
    assert messages_of(again) == ["Diese Datei wurde schon eingelesen."]

    unknown = accountant.post(
        f"/bank/{line.pk}/", {"invoice": ["RE-0000-99999"], "amount": ["119,00"]}, follow=True
    )
    assert messages_of(unknown) == ["Keine Rechnung mit der Nummer RE-0000-99999."]
    response = accountant.post(
        f"/bank/{line.pk}/", {"invoice": [invoice.number], "amount": ["119,00"]}, follow=True
    )
    assert messages_of(response) == ["Die Buchung ist zugeordnet."]
    line.refresh_from_db()
    assert line.state == BankTransaction.State.BOOKED
    assert open_amount(invoice) == 0


@pytest.mark.django_db
def test_a_broken_file_is_refused_and_nothing_stored(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    response = accountant.post(
        "/bank/", {"file": SimpleUploadedFile("kaputt.xml", b"<Document>")}, follow=True
    )
    [text] = messages_of(response)
    assert text.startswith("kaputt.xml: ")
    assert not BankTransaction.objects.exists()


@pytest.mark.django_db
def test_a_viewer_cannot_upload_or_assign(client, company, business_customer, actor):
    viewer = _client(client, "ansicht", "viewer")
    page = viewer.get("/bank/").content.decode()
    assert "data-upload" not in page
    viewer.post("/bank/", {"file": SimpleUploadedFile("a.xml", camt([transfer("1.00", "x")]))})
    assert not BankTransaction.objects.exists()
