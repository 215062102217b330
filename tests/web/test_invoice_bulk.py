"""Rechnungen: the new filters, the actions on selected documents (each reported by
document, refusals change nothing), the ZIP of archived PDFs and the CSV of the list."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from faktura.core import clock
from faktura.core.models import Company
from faktura.documents import pipeline
from faktura.documents.archive import archived, read_archived
from faktura.documents.models import ArchivedDocument
from faktura.invoicing.models import Invoice, Status
from faktura.notifications.models import OutboxMessage
from faktura.payments import services as payments
from faktura.reporting import inbox
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized, pay


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _login(client, "buchhaltung", "accountant")


@pytest.fixture
def approver_client(client, company):
    return _login(client, "freigabe", "approver")


@pytest.fixture
def viewer(client, company):
    return _login(client, "ansicht", "viewer")


def listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-invoice="(\d+)"', html)]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def issued(customer, actor, day: dt.date, price: str):
    with clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)):
        return finalized(customer, actor, price=price)


@pytest.fixture
def settled(business_customer, consumer, actor):
    """unpaid (overdue), partly paid, paid."""
    unpaid = issued(business_customer, actor, dt.date(2026, 9, 1), "1000.00")  # 1.190,00
    partly = issued(consumer, actor, dt.date(2026, 11, 10), "100.00")
    paid = issued(business_customer, actor, dt.date(2026, 10, 1), "100.00")  # 119,00
    payment = pay(actor, "119.00", business_customer, external_id="p1")
    payments.allocate_payment(payment_id=payment.pk, allocations=[(paid.pk, "119.00")], actor=actor)
    part = pay(actor, "20.00", consumer, external_id="p2")
    payments.allocate_payment(payment_id=part.pk, allocations=[(partly.pk, "20.00")], actor=actor)
    return unpaid, partly, paid


@pytest.mark.django_db
def test_payment_status_overdue_and_customer_filters(viewer, settled, consumer):
    unpaid, partly, paid = settled
    assert listed(viewer.get("/rechnungen/?payment=unpaid").content.decode()) == [unpaid.pk]
    assert listed(viewer.get("/rechnungen/?payment=partially_paid").content.decode()) == [partly.pk]
    assert listed(viewer.get("/rechnungen/?payment=paid").content.decode()) == [paid.pk]
    assert listed(viewer.get("/rechnungen/?overdue=on").content.decode()) == [unpaid.pk]
    by_customer = viewer.get(f"/rechnungen/?customer={consumer.number}").content.decode()
    assert listed(by_customer) == [partly.pk]
    row = by_customer.split(f'data-invoice="{partly.pk}"')[1].split("</tr>")[0]
    assert "80,00\xa0€" in row  # a consumer price is gross: 100,00 − 20,00 open


@pytest.mark.django_db
def test_sorting_by_open_amount_and_by_due_date(viewer, settled):
    unpaid, partly, paid = settled
    assert listed(viewer.get("/rechnungen/?sort=-open").content.decode()) == [
        unpaid.pk,
        partly.pk,
        paid.pk,
    ]
    assert listed(viewer.get("/rechnungen/?sort=due_date").content.decode()) == [
        unpaid.pk,
        paid.pk,
        partly.pk,
    ]


@pytest.mark.django_db
def test_the_list_reads_a_bounded_number_of_queries(
    viewer, business_customer, actor, django_assert_max_num_queries
):
    for day in range(1, 13):
        issued(business_customer, actor, dt.date(2026, 10, day), "10.00")
    viewer.get("/rechnungen/")  # session and caches warm
    # Session, user, roles, second factor, the shell's company and to-do counts (one per
    # source), then one count and one read of the rows with their open amounts, whatever
    # their number.
    with django_assert_max_num_queries(len(inbox.SOURCES) + 9):
        html = viewer.get("/rechnungen/?payment=unpaid&sort=-open").content.decode()
    assert len(listed(html)) == 12


@pytest.mark.django_db
def test_bulk_finalize_reports_each_document_and_refuses_the_finalized_one(
    accountant, business_customer, actor
):
    first = order(business_customer, actor, line("1", "100.00"))
    second = order(business_customer, actor, line("2", "50.00"))
    done = finalized(business_customer, actor)
    response = accountant.post(
        "/rechnungen/auswahl",
        {"action": "finalize", "ids": [first.pk, second.pk, done.pk], "query": "status=draft"},
        follow=True,
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Status.FINALIZED
    assert messages_of(response) == [
        f"Entwurf {first.pk}: festgeschrieben als {first.number}.",
        f"Entwurf {second.pk}: festgeschrieben als {second.number}.",
        f"{done.number}: Das geht nur mit einem Entwurf.",
    ]
    assert response.redirect_chain[-1][0] == "/rechnungen/?status=draft"


@pytest.mark.django_db
def test_bulk_approve_by_an_approver(approver_client, business_customer, actor):
    Company.objects.update(approval_threshold=Decimal("500.00"))
    large = order(business_customer, actor, line("1", "1000.00"))
    small = order(business_customer, actor, line("1", "10.00"))
    assert large.status == Status.PENDING_APPROVAL
    response = approver_client.post(
        "/rechnungen/auswahl", {"action": "approve", "ids": [large.pk, small.pk]}, follow=True
    )
    large.refresh_from_db()
    small.refresh_from_db()
    assert large.status == Status.APPROVED
    assert small.status == Status.DRAFT
    assert messages_of(response) == [
        f"Entwurf {large.pk}: freigegeben.",
        f"Entwurf {small.pk}: Die Rechnung wartet nicht auf Freigabe.",
    ]


@pytest.mark.django_db
def test_bulk_send_queues_a_mail_for_archived_documents_only(accountant, business_customer, actor):
    sent = finalized(business_customer, actor)
    pipeline.process(sent.pk)
    draft = order(business_customer, actor, line("1", "10.00"))
    before = OutboxMessage.objects.filter(invoice=sent).count()
    response = accountant.post(
        "/rechnungen/auswahl", {"action": "send", "ids": [sent.pk, draft.pk]}, follow=True
    )
    assert OutboxMessage.objects.filter(invoice=sent).count() == before + 1
    assert not OutboxMessage.objects.filter(invoice=draft).exists()
    assert messages_of(response) == [
        f"{sent.number}: E-Mail eingereiht.",
        f"Entwurf {draft.pk}: Das geht nur mit einer festgeschriebenen Rechnung.",
    ]


@pytest.mark.django_db
def test_the_zip_holds_exactly_the_selected_archived_pdfs(viewer, business_customer, actor):
    chosen = [finalized(business_customer, actor), finalized(business_customer, actor)]
    other = finalized(business_customer, actor)
    for invoice in [*chosen, other]:
        pipeline.process(invoice.pk)
    response = viewer.post(
        "/rechnungen/auswahl", {"action": "zip", "ids": [str(i.pk) for i in chosen]}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="rechnungen-2026-11-16.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    expected = {
        f"{invoice.number}.pdf": read_archived(archived(invoice.pk, ArchivedDocument.Kind.PDF))
        for invoice in chosen
    }
    assert sorted(archive.namelist()) == sorted(expected)
    for name, content in expected.items():
        assert archive.read(name) == content


@pytest.mark.django_db
def test_a_zip_with_a_draft_is_refused_by_name(viewer, business_customer, actor):
    invoice = finalized(business_customer, actor)
    pipeline.process(invoice.pk)
    draft = order(business_customer, actor, line("1", "10.00"))
    response = viewer.post(
        "/rechnungen/auswahl", {"action": "zip", "ids": [invoice.pk, draft.pk]}, follow=True
    )
    assert response["Content-Type"].startswith("text/html")
    assert messages_of(response) == [
        f"Entwurf {draft.pk}: kein archiviertes PDF (Entwurf oder noch nicht erstellt).",
        "Es wurde keine ZIP-Datei erstellt.",
    ]


@pytest.mark.django_db
def test_the_csv_is_the_filtered_list_in_german(viewer, settled, business_customer):
    unpaid, _partly, paid = settled
    response = viewer.get(f"/rechnungen/export.csv?customer={business_customer.number}&sort=number")
    assert response["Content-Disposition"] == 'attachment; filename="rechnungen-2026-11-16.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = response.content.decode("utf-8-sig").splitlines()
    assert rows[0] == (
        "Nummer;Art;Status;Kundennummer;Kunde;Rechnungsdatum;Fällig am;"
        "Netto;Umsatzsteuer;Brutto;Bezahlt;Offen"
    )
    first, second = sorted([unpaid, paid], key=lambda i: i.number)
    number = business_customer.number
    assert rows[1:] == [
        f"{first.number};Rechnung;Festgeschrieben;{number};Beispiel Handel AG;01.09.2026;"
        "15.09.2026;1000,00;190,00;1190,00;0,00;1190,00",
        f"{second.number};Rechnung;Festgeschrieben;{number};Beispiel Handel AG;01.10.2026;"
        "15.10.2026;100,00;19,00;119,00;119,00;0,00",
    ]


@pytest.mark.django_db
def test_a_viewer_sees_no_bulk_action_and_a_forged_post_changes_nothing(
    viewer, business_customer, actor
):
    draft = order(business_customer, actor, line("1", "100.00"))
    html = viewer.get("/rechnungen/").content.decode()
    actions = html.split("data-bulk-actions>")[1].split("</div>")[0]
    for hidden in ('value="approve"', 'value="finalize"', 'value="send"'):
        assert hidden not in actions
    assert 'value="zip"' in actions
    assert "Neue Rechnung" not in html
    response = viewer.post(
        "/rechnungen/auswahl", {"action": "finalize", "ids": [draft.pk]}, follow=True
    )
    assert messages_of(response) == [f"Entwurf {draft.pk}: Das darf Ihre Rolle nicht."]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert Invoice.objects.filter(number__isnull=False).count() == 0


@pytest.mark.django_db
def test_nothing_selected_is_a_clear_message(accountant):
    response = accountant.post("/rechnungen/auswahl", {"action": "finalize"}, follow=True)
    assert messages_of(response) == ["Bitte wählen Sie mindestens ein Dokument aus."]
