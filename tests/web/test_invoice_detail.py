"""One document in the back office: its figures, the archived PDF, the XML, the timeline."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.documents import pipeline
from faktura.documents.archive import archived, read_archived
from faktura.documents.models import ArchivedDocument
from faktura.payments import services as payments
from tests.payments.helpers import finalized, pay


@pytest.fixture
def staff_client(client, company):
    user = User.objects.create_user("ansicht", password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_figures_payments_and_timeline(staff_client, business_customer, actor):
    invoice = finalized(business_customer, actor, price="1000.00")  # 1.190,00
    payment = pay(actor, "190.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "190.00")], actor=actor
    )
    html = staff_client.get(f"/rechnungen/{invoice.pk}/").content.decode()
    totals = html.split("data-totals")[1].split("</table>")[0]
    assert "1.000,00\xa0€" in totals  # net
    assert "190,00\xa0€" in totals  # paid
    assert "data-open>1.000,00\xa0€" in totals
    assert f"Rechnung {invoice.number}" in html
    timeline = html.split('class="timeline"')[1]
    assert timeline.index("Entwurf angelegt") < timeline.index("Festgeschrieben")


@pytest.mark.django_db
def test_the_pdf_and_xml_are_the_archived_bytes(staff_client, business_customer, actor):
    invoice = finalized(business_customer, actor)
    pipeline.process(invoice.pk)  # what the worker does after the commit
    document = archived(invoice.pk, ArchivedDocument.Kind.PDF)
    response = staff_client.get(f"/rechnungen/{invoice.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    assert response.content == read_archived(document)
    xml = staff_client.get(f"/rechnungen/{invoice.pk}/xml")
    assert xml.status_code == 200
    assert xml.content.startswith(b"<?xml")
    assert (
        f'src="/rechnungen/{invoice.pk}/pdf"'
        in staff_client.get(f"/rechnungen/{invoice.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_an_unknown_document_is_404(staff_client):
    assert staff_client.get("/rechnungen/999999/").status_code == 404
    assert staff_client.get("/rechnungen/999999/pdf").status_code == 404


@pytest.mark.django_db
def test_a_document_without_archived_files_has_no_pdf_or_xml_yet(
    staff_client, business_customer, actor
):
    invoice = finalized(business_customer, actor)  # its PDF is rendered by a task, later
    assert staff_client.get(f"/rechnungen/{invoice.pk}/pdf").status_code == 404
    assert staff_client.get(f"/rechnungen/{invoice.pk}/xml").status_code == 404
