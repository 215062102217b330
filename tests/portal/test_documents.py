"""The customer's documents in the portal: the list with open amounts, status and due
dates (overdue marked), one document's page, its archived PDF and XML byte for byte, and
the dunning notices with their letters."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.documents import pipeline
from faktura.documents.archive import archived, einvoice_of, read_archived
from faktura.documents.models import ArchivedDocument
from faktura.dunning.models import NoticeLetter
from faktura.invoicing import services as invoicing
from faktura.payments import services as payments
from tests.dunning.helpers import notices, overdue, run
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized, pay
from tests.portal.conftest import page, signed_in

pytestmark = pytest.mark.django_db


def row_of(html: str, invoice) -> str:
    return html.split(f'data-document="{invoice.pk}"')[1].split("</tr>")[0]


def paid(customer, actor, invoice, amount: str) -> None:
    payment = pay(actor, amount, customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor
    )


def test_the_start_page_lists_every_document_with_its_state(portal, business_customer, actor):
    late = overdue(business_customer, actor, due=dt.date(2026, 11, 1))  # 119,00, overdue
    open_ = finalized(business_customer, actor, price="1000.00")  # 1.190,00, due 30.11.
    settled = finalized(business_customer, actor)
    paid(business_customer, actor, settled, "119.00")
    part = finalized(business_customer, actor)
    paid(business_customer, actor, part, "50.00")
    cancelled = finalized(business_customer, actor)
    cancellation = invoicing.cancel_invoice(invoice_id=cancelled.pk, actor=actor, reason="Doppelt")
    draft = order(business_customer, actor, line("1", "77.00"))

    html = page(portal.get("/portal/"))
    assert "Ihre Rechnungen" in html
    assert f'data-document="{draft.pk}"' not in html  # drafts are no documents yet

    row = row_of(html, late)
    assert 'class="overdue"' in html.split(f'data-document="{late.pk}"')[1][:30]
    assert late.number in row
    assert "18.10.2026" in row
    assert "01.11.2026" in row
    assert row.count("119,00 €") == 2  # amount and open
    assert "Überfällig" in row
    assert f'href="/portal/rechnungen/{late.pk}/bezahlen/"' in row

    row = row_of(html, open_)
    assert "16.11.2026" in row
    assert "30.11.2026" in row
    assert row.count("1.190,00 €") == 2
    assert '<span class="badge warn">Offen</span>' in row
    assert "Bezahlen" in row

    row = row_of(html, settled)
    assert "Bezahlt" in row
    assert "Bezahlen" not in row

    row = row_of(html, part)
    assert "119,00 €" in row
    assert "69,00 €" in row
    assert "Teilweise bezahlt" in row

    row = row_of(html, cancelled)
    assert "Storniert" in row
    assert "Bezahlen" not in row
    row = row_of(html, cancellation)
    assert cancellation.number in row
    assert "Stornorechnung" in row

    # Open: 119 + 1.190 + 69; overdue: 119.
    assert "data-open-total>1.378,00 €" in html
    assert "data-overdue-total>119,00 €" in html


def test_a_documents_page_shows_figures_lines_payments_and_files(portal, business_customer, actor):
    invoice = finalized(business_customer, actor, price="1000.00")
    paid(business_customer, actor, invoice, "190.00")
    html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/"))
    assert f"Rechnung {invoice.number}" in html
    totals = html.split("data-totals")[1].split("</table>")[0]
    assert "1.000,00 €" in totals  # net
    assert "1.190,00 €" in totals  # gross
    assert "190,00 €" in totals  # paid
    assert "data-open>1.000,00 €" in totals
    assert "Beratung" in html
    assert "Teilweise bezahlt" in html
    assert "Jetzt bezahlen" in html
    # Not archived yet: no file links, a note instead.
    assert "Das Dokument wird gerade erstellt" in html
    assert f"/portal/rechnungen/{invoice.pk}/pdf" not in html
    assert portal.get(f"/portal/rechnungen/{invoice.pk}/pdf").status_code == 404


def test_the_pdf_and_xml_are_the_archived_bytes(portal, business_customer, actor):
    invoice = finalized(business_customer, actor)
    pipeline.process(invoice.pk)
    html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/"))
    assert f'href="/portal/rechnungen/{invoice.pk}/pdf"' in html
    assert f'href="/portal/rechnungen/{invoice.pk}/xml"' in html

    pdf = portal.get(f"/portal/rechnungen/{invoice.pk}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == read_archived(archived(invoice.pk, ArchivedDocument.Kind.PDF))
    assert pdf["Content-Disposition"] == f'inline; filename="{invoice.number}.pdf"'

    xml = portal.get(f"/portal/rechnungen/{invoice.pk}/xml")
    assert xml.status_code == 200
    expected, filename = einvoice_of(invoice.pk)
    assert xml.content == expected
    assert xml["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_a_paid_invoice_shows_no_pay_button(portal, business_customer, actor):
    invoice = finalized(business_customer, actor)
    paid(business_customer, actor, invoice, "119.00")
    html = page(portal.get(f"/portal/rechnungen/{invoice.pk}/"))
    assert "Bezahlt" in html
    assert "Jetzt bezahlen" not in html
    assert "bezahlen/" not in html
    response = portal.get(f"/portal/rechnungen/{invoice.pk}/bezahlen/", follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/rechnungen/{invoice.pk}/"
    assert "Diese Rechnung ist bereits bezahlt." in page(response)


def test_notices_are_listed_with_their_archived_letters(consumer, actor):
    invoice = overdue(consumer, actor, due=dt.date(2026, 10, 1))
    run(dt.date(2026, 10, 8))
    run(dt.date(2026, 10, 22))
    reminder, first = notices(consumer)
    portal = signed_in(consumer)
    html = page(portal.get("/portal/mahnungen/"))
    assert "Zahlungserinnerungen und Mahnungen" in html
    row = html.split(f'data-notice="{first.pk}"')[1].split("</tr>")[0]
    assert "22.10.2026" in row
    assert first.level_name in row
    assert invoice.number in row
    assert "102,86 €" in row  # 100 + 2,50 fee + 0,36 interest
    assert f'href="/portal/mahnungen/{first.pk}/pdf"' in row
    assert f'data-notice="{reminder.pk}"' in html

    letter = NoticeLetter.objects.get(notice=first)
    with letter.file.storage.open(letter.file.name, "rb") as handle:
        archived_letter = handle.read()
    response = portal.get(f"/portal/mahnungen/{first.pk}/pdf")
    assert response.status_code == 200
    assert response.content == archived_letter
    assert response["Content-Type"] == "application/pdf"


def test_no_notices_says_so(portal):
    assert "Sie haben keine Zahlungserinnerungen oder Mahnungen erhalten." in page(
        portal.get("/portal/mahnungen/")
    )
