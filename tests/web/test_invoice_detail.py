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
def test_payments_write_offs_dunning_and_deliveries(staff_client, consumer, actor):
    import datetime as dt

    from faktura.dunning.run import run_dunning
    from tests.dunning.helpers import SYSTEM, overdue

    invoice = overdue(consumer, actor, due=dt.date(2026, 10, 1))  # 100,00 gross
    pipeline.process(invoice.pk)  # archived and mailed
    run_dunning(on=dt.date(2026, 10, 8), actor=SYSTEM)  # payment reminder
    run_dunning(on=dt.date(2026, 10, 22), actor=SYSTEM)  # 1st notice, 2,50 fee, interest
    payment = pay(actor, "99.50", consumer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "99.50")], actor=actor
    )
    payments.write_off(invoice_id=invoice.pk, amount="0.50", reason="Rundung", actor=actor)
    html = staff_client.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "99,50\xa0€" in html.split("<h2>Zahlungen</h2>")[1].split("</table>")[0]
    write_offs = html.split("data-write-offs")[1].split("</table>")[0]
    assert "Rundung" in write_offs
    assert "0,50\xa0€" in write_offs
    dunning = html.split("data-dunning")[1].split("</table>")[0]
    rows = dunning.split("<tbody>")[1].split("</tr>")[:2]
    assert "Zahlungserinnerung" in rows[0]
    assert "08.10.2026" in rows[0]
    assert "22.10.2026" in rows[1]
    assert "0,36\xa0€" in rows[1]  # interest on this invoice
    assert "102,86\xa0€" in rows[1]  # the notice: 100,00 + 2,50 fee + 0,36 interest
    delivery = html.split("<h2>Zustellung</h2>")[1].split("</section>")[0]
    assert "max@example.org" in delivery
    timeline = html.split('class="timeline"')[1]
    assert timeline.index("Festgeschrieben") < timeline.index("Archiviert")
    assert "Ausgebucht" in timeline
    assert "data-open>0,00\xa0€" in html


@pytest.mark.django_db
def test_a_document_without_archived_files_has_no_pdf_or_xml_yet(
    staff_client, business_customer, actor
):
    invoice = finalized(business_customer, actor)  # its PDF is rendered by a task, later
    assert staff_client.get(f"/rechnungen/{invoice.pk}/pdf").status_code == 404
    assert staff_client.get(f"/rechnungen/{invoice.pk}/xml").status_code == 404
