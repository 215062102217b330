"""Briefversand: what waits for the post (also under Aufgaben), today's print batch, what a
batch holds, and its PDF as archived."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from django.contrib.auth.models import Group, User

from faktura.documents import pipeline, print_batch
from faktura.documents.models import PostalDelivery, PrintBatch
from faktura.dunning.models import DunningNotice
from faktura.reporting import inbox
from tests.conftest import TODAY
from tests.dunning.helpers import overdue, run


def _client(client, role: str):
    user = User.objects.create_user(role, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def _said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _waiting(html: str) -> str:
    return html.split("data-waiting>")[1].split("</section>")[0]


@pytest.fixture
def paper(business_customer, actor):
    """A customer who wants letters: an overdue invoice (archived) and its payment reminder."""
    business_customer.delivery_by_post = True
    business_customer.save(update_fields=["delivery_by_post"])
    invoice = overdue(business_customer, actor, due=dt.date(2026, 11, 1))
    pipeline.process(invoice.pk)  # archived, as the worker does after the commit
    run(TODAY)
    notice = DunningNotice.objects.get(customer=business_customer)
    assert notice.status == DunningNotice.Status.SENT
    return {"invoice": invoice, "notice": notice}


@pytest.mark.django_db
def test_waiting_letters_show_under_aufgaben_and_on_the_page(client, paper):
    viewer = _client(client, "viewer")
    assert inbox.counts()["print_documents"] == 1
    assert inbox.counts()["print_notices"] == 1

    tasks = viewer.get("/aufgaben/").content.decode()
    for source in ("print_documents", "print_notices"):
        section = tasks.split(f'data-source="{source}"')[1].split("</section>")[0]
        assert f'<span class="badge" id="count-{source}">1</span>' in section
        assert 'href="/rechnungen/briefversand/"' in section
    assert "Dokumente für den Briefversand" in tasks
    assert "Mahnschreiben für den Briefversand" in tasks

    waiting = _waiting(viewer.get("/rechnungen/briefversand/").content.decode())
    assert '<span class="badge warn">2</span>' in waiting
    invoice_row = waiting.split(f'data-waiting-invoice="{paper["invoice"].pk}"')[1]
    assert paper["invoice"].number in invoice_row.split("</tr>")[0]
    notice_row = waiting.split(f'data-waiting-notice="{paper["notice"].pk}"')[1].split("</tr>")[0]
    assert paper["notice"].reference in notice_row
    assert "Zahlungserinnerung" in notice_row
    assert "data-create-batch" not in waiting  # a viewer makes no batch
    assert "Briefversand" in viewer.get("/rechnungen/").content.decode()


@pytest.mark.django_db
def test_an_accountant_makes_todays_batch_and_downloads_its_pdf(client, paper):
    accountant = _client(client, "accountant")
    waiting = _waiting(accountant.get("/rechnungen/briefversand/").content.decode())
    assert 'action="/rechnungen/briefversand/erstellen"' in waiting
    assert "Druckstapel für heute erstellen" in waiting

    response = accountant.post("/rechnungen/briefversand/erstellen", follow=True)

    batch = PrintBatch.objects.get()
    assert response.redirect_chain[-1][0] == f"/rechnungen/briefversand/{batch.pk}/"
    assert _said(response) == [
        f"Der Druckstapel mit 2 Dokumenten ist erstellt ({batch.sheet_count} Blatt)."
    ]
    html = response.content.decode()
    assert "Druckstapel vom 16.11.2026" in html
    assert f"data-sheets>{batch.sheet_count}<" in html
    rows = html.split("data-deliveries")[1].split("<tbody>")[1].split("</tr>")
    assert paper["invoice"].number in rows[0]
    assert "Rechnung" in rows[0]
    assert "Beispiel Handel AG" in rows[0]
    assert paper["notice"].reference in rows[1]
    assert "Zahlungserinnerung" in rows[1]
    assert f'href="/rechnungen/briefversand/{batch.pk}/druckstapel.pdf"' in html

    pdf = accountant.get(f"/rechnungen/briefversand/{batch.pk}/druckstapel.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="Druckstapel-2026-11-16.pdf"'
    assert pdf.content == print_batch.read_batch(batch)
    assert pdf.content.startswith(b"%PDF")

    # Nothing waits any more; the invoice says where it went.
    assert inbox.counts()["print_documents"] == inbox.counts()["print_notices"] == 0
    page = accountant.get("/rechnungen/briefversand/").content.decode()
    assert "Kein Dokument wartet auf den Briefversand." in _waiting(page)
    assert f'data-batch="{batch.pk}"' in page
    invoice_page = accountant.get(f"/rechnungen/{paper['invoice'].pk}/").content.decode()
    postal = invoice_page.split("data-postal>")[1].split("</p>")[0]
    assert "Per Post im Druckstapel vom 16.11.2026 an Beispiel Handel AG." in postal
    assert f'href="/rechnungen/briefversand/{batch.pk}/"' in postal


@pytest.mark.django_db
def test_with_nothing_waiting_no_batch_is_made(client, company):
    accountant = _client(client, "accountant")
    page = accountant.get("/rechnungen/briefversand/").content.decode()
    assert re.search(r"<button class=\"primary\" disabled>Druckstapel für heute", page)
    assert "Noch keine Druckstapel." in page

    response = accountant.post("/rechnungen/briefversand/erstellen", follow=True)

    assert _said(response) == [
        "Kein Dokument wartet auf den Briefversand; es ist kein Druckstapel entstanden."
    ]
    assert not PrintBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_other_roles_get_no_button_and_a_forged_post_makes_no_batch(client, paper, role):
    staff = _client(client, role)
    assert "data-create-batch" not in staff.get("/rechnungen/briefversand/").content.decode()

    response = staff.post("/rechnungen/briefversand/erstellen", follow=True)

    assert _said(response) == ["Das darf Ihre Rolle nicht."]
    assert not PrintBatch.objects.exists()
    assert not PostalDelivery.objects.exists()
    assert inbox.counts()["print_documents"] == 1
    assert staff.get("/rechnungen/briefversand/erstellen").status_code == 405


@pytest.mark.django_db
def test_an_altered_batch_file_is_not_handed_out(client, paper, actor):
    batch = print_batch.create_print_batch(on=TODAY, actor=actor)
    path = batch.file.path
    os.chmod(path, 0o644)
    with open(path, "ab") as handle:
        handle.write(b"% altered")
    viewer = _client(client, "viewer")

    response = viewer.get(f"/rechnungen/briefversand/{batch.pk}/druckstapel.pdf", follow=True)

    assert response.redirect_chain[-1][0] == f"/rechnungen/briefversand/{batch.pk}/"
    assert _said(response) == [
        "Die archivierte Datei wurde verändert; sie wird nicht ausgegeben. "
        "Bitte prüfen Sie das Archiv (faktura check)."
    ]
    assert viewer.get("/rechnungen/briefversand/999999/").status_code == 404
    assert viewer.get("/rechnungen/briefversand/999999/druckstapel.pdf").status_code == 404
