"""Bank: the import's progress, suggestions and split assignment of a line, and the
direct-debit files (create for a collection date, download, mark as submitted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from faktura.banking import services as banking
from faktura.banking.models import BankTransaction
from faktura.collection.models import DirectDebitBatch
from faktura.core.models import AuditEntry
from faktura.payments.models import PaymentSettings
from faktura.reporting import inbox
from tests.banking.camt_builder import camt, transfer
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice
from tests.payments.helpers import finalized, open_amount

TODAY = dt.date(2026, 11, 16)


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- statement import: its state until every line is booked ----------------------------------


@pytest.mark.django_db
def test_the_upload_leads_to_the_import_state(client, company, business_customer, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    invoice = finalized(business_customer, actor)
    data = camt(
        [
            transfer("119.00", invoice.number, name="Beispiel Handel AG", booked=TODAY),
            transfer("5.00", "Unbekannt", name="Fremd", booked=TODAY),
        ]
    )
    response = accountant.post("/bank/", {"file": SimpleUploadedFile("auszug.xml", data)})
    assert response.status_code == 302
    assert response["Location"].startswith("/bank/import/?auszug=")
    page = accountant.get(response["Location"]).content.decode()
    assert 'data-import-status="done"' in page
    assert "2 Umsätze verarbeitet." in page
    assert 'data-state="booked">1<' in page
    assert 'data-state="unmatched">1<' in page
    assert "hx-trigger" not in page.split("data-import-status")[1].split(">")[0]


@pytest.mark.django_db
def test_lines_left_to_the_worker_are_polled_until_booked(
    client, company, business_customer, actor, settings
):
    settings.FAKTURA_STATEMENT_INLINE_BOOKINGS = 0  # every matched line goes to the worker
    viewer = _client(client, "ansicht", "viewer")
    invoice = finalized(business_customer, actor)
    result = banking.import_statement(
        data=camt([transfer("119.00", invoice.number, name="Beispiel", booked=TODAY)]),
        filename="gross.xml",
        actor=actor,
    )
    assert result.queued == 1
    url = f"/bank/import/?auszug={result.statement_ids[0]}"
    page = viewer.get(url).content.decode()
    assert 'data-import-status="running"' in page
    assert 'hx-trigger="every 2s"' in page
    assert "0 von 1 Umsätzen verarbeitet" in page

    banking.book_matched(statement_id=result.statement_ids[0], actor=actor)
    fragment = viewer.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert 'data-import-status="done"' in fragment
    assert "hx-trigger" not in fragment
    assert open_amount(invoice) == 0
    assert viewer.get("/bank/import/?auszug=999999").status_code == 404


# --- a line: suggestions, split over several invoices, ignore -------------------------------------


def _unmatched_line(
    actor, amount: str, text: str = "Sammelzahlung", name: str = "Unbekannt GmbH"
) -> BankTransaction:
    banking.import_statement(
        data=camt([transfer(amount, text, name=name, booked=TODAY)]),
        filename="x.xml",
        actor=actor,
    )
    return BankTransaction.objects.get(state=BankTransaction.State.UNMATCHED)


@pytest.mark.django_db
def test_one_line_is_split_over_two_invoices(client, business_customer, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    first = finalized(business_customer, actor)  # 119,00
    second = finalized(business_customer, actor, price="50.00")  # 59,50
    line = _unmatched_line(actor, "150.00")
    page = accountant.get(f"/bank/{line.pk}/").content.decode()
    assert "data-assign" in page
    assert page.count('name="invoice"') >= 4

    too_much = accountant.post(
        f"/bank/{line.pk}/",
        {"invoice": [first.number, second.number], "amount": ["119,00", "59,50"]},
        follow=True,
    )
    assert messages_of(too_much) == [
        "Die Beträge zusammen sind höher als der Betrag der Bankbuchung."
    ]
    assert f'value="{second.number}"' in too_much.content.decode()  # kept what was typed
    line.refresh_from_db()
    assert line.state == BankTransaction.State.UNMATCHED
    assert open_amount(first) == Decimal("119.00")

    bad = accountant.post(
        f"/bank/{line.pk}/", {"invoice": [first.number], "amount": ["1,234"]}, follow=True
    )
    assert messages_of(bad) == ["Bitte geben Sie einen Betrag wie 119,00 ein."]

    done = accountant.post(
        f"/bank/{line.pk}/",
        {"invoice": [first.number, second.number], "amount": ["119,00", "31,00"]},
        follow=True,
    )
    assert messages_of(done) == ["Die Buchung ist zugeordnet."]
    line.refresh_from_db()
    assert line.state == BankTransaction.State.BOOKED
    assert open_amount(first) == Decimal("0.00")
    assert open_amount(second) == Decimal("28.50")


@pytest.mark.django_db
def test_a_suggestion_is_shown_and_taken_with_one_click(client, business_customer, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor)  # the same 119,00: the name cannot decide
    line = _unmatched_line(actor, "119.00", "Zahlung", name="Beispiel Handel AG")
    html = accountant.get(f"/bank/{line.pk}/").content.decode()
    suggestions = html.split("data-suggestions")[1].split("</section>")[0]
    assert first.number in suggestions
    assert second.number in suggestions
    assert "data-take-suggestion" in suggestions
    listed = accountant.get("/bank/").content.decode()
    assert f'data-line="{line.pk}"' in listed
    assert "data-suggestions=" in listed.split(f'data-line="{line.pk}"')[1].split("</tr>")[0]
    suggested = line.suggestions[0]["invoices"][0]
    taken = first if suggested["id"] == first.pk else second
    response = accountant.post(
        f"/bank/{line.pk}/",
        {"invoice": [taken.number], "amount": [suggested["amount"]]},
        follow=True,
    )
    assert messages_of(response) == ["Die Buchung ist zugeordnet."]
    assert open_amount(taken) == Decimal("0.00")


@pytest.mark.django_db
def test_ignore_needs_a_reason(client, business_customer, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    line = _unmatched_line(actor, "7.00")
    refused = accountant.post(f"/bank/{line.pk}/", {"ignore": "1", "reason": " "}, follow=True)
    assert messages_of(refused) == ["Bitte geben Sie einen Grund an."]
    line.refresh_from_db()
    assert line.state == BankTransaction.State.UNMATCHED
    accountant.post(f"/bank/{line.pk}/", {"ignore": "1", "reason": "Privatentnahme"})
    line.refresh_from_db()
    assert (line.state, line.note) == (BankTransaction.State.IGNORED, "Privatentnahme")


@pytest.mark.django_db
def test_a_viewer_sees_no_assignment_and_a_forged_post_changes_nothing(
    client, business_customer, actor
):
    viewer = _client(client, "ansicht", "viewer")
    invoice = finalized(business_customer, actor)
    line = _unmatched_line(actor, "119.00")
    page = viewer.get(f"/bank/{line.pk}/").content.decode()
    assert "data-assign" not in page
    assert "data-take-suggestion" not in page
    response = viewer.post(
        f"/bank/{line.pk}/", {"invoice": [invoice.number], "amount": ["119,00"]}, follow=True
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    viewer.post(f"/bank/{line.pk}/", {"ignore": "1", "reason": "weg"})
    line.refresh_from_db()
    assert line.state == BankTransaction.State.UNMATCHED
    assert open_amount(invoice) == Decimal("119.00")


@pytest.mark.django_db
def test_the_lines_are_bounded_in_queries(client, company, actor, django_assert_max_num_queries):
    viewer = _client(client, "ansicht", "viewer")
    banking.import_statement(
        data=camt(
            [transfer(f"{n}.00", f"Zahlung {n}", name="X", booked=TODAY) for n in range(1, 16)]
        ),
        filename="viele.xml",
        actor=actor,
    )
    with django_assert_max_num_queries(len(inbox.SOURCES) + 8):  # the badge: one per source
        html = viewer.get("/bank/").content.decode()
    assert html.count("data-line=") == 15


# --- direct-debit files --------------------------------------------------------------------------


@pytest.fixture
def due_debit(company, business_customer, actor):
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    return due_invoice(business_customer, actor)


@pytest.mark.django_db
def test_create_download_and_submit_a_file(client, due_debit):
    accountant = _client(client, "buchhaltung", "accountant")
    page = accountant.get("/bank/lastschriften/").content.decode()
    assert "data-new-batch" in page
    assert "frühestens 17.11.2026" in page
    response = accountant.post(
        "/bank/lastschriften/",
        {"collection_date": TOMORROW.isoformat(), "scheme": "CORE"},
        follow=True,
    )
    batch = DirectDebitBatch.objects.get()
    assert messages_of(response) == ["Lastschriftdatei mit 1 Einzügen erstellt."]
    html = response.content.decode()
    assert "119,00\xa0€" in html.split("data-total>")[1]
    assert due_debit.number in html

    xml = accountant.get(f"/bank/lastschriften/{batch.pk}/pain008.xml")
    assert xml["Content-Disposition"] == f'attachment; filename="{batch.file_name}"'
    assert b"pain.008.001.08" in xml.content
    assert due_debit.number.encode() in xml.content

    listed = accountant.get("/bank/lastschriften/").content.decode()
    assert f'data-batch="{batch.pk}"' in listed

    submitted = accountant.post(f"/bank/lastschriften/{batch.pk}/uebergeben", follow=True)
    assert messages_of(submitted) == ["Die Datei ist als an die Bank übergeben markiert."]
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SUBMITTED
    assert "data-submit" not in submitted.content.decode()
    again = accountant.post(f"/bank/lastschriften/{batch.pk}/uebergeben", follow=True)
    assert messages_of(again) == ["Die Datei ist schon übergeben oder verworfen."]


@pytest.mark.django_db
def test_a_wrong_collection_date_is_refused_in_german(client, due_debit):
    accountant = _client(client, "buchhaltung", "accountant")
    too_early = accountant.post(
        "/bank/lastschriften/", {"collection_date": "2026-11-16", "scheme": "CORE"}
    ).content.decode()
    assert (
        "frühester Fälligkeitstag ist der 17.11.2026"
        in too_early.split('data-error="collection_date">')[1]
    )
    weekend = accountant.post(
        "/bank/lastschriften/", {"collection_date": "2026-11-21", "scheme": "CORE"}
    ).content.decode()
    assert "Der 21.11.2026 ist kein TARGET2-Geschäftstag" in weekend
    assert "nächster möglicher Tag: 23.11.2026" in weekend
    accountant.post("/bank/lastschriften/", {"collection_date": "morgen", "scheme": "CORE"})
    assert not DirectDebitBatch.objects.exists()


@pytest.mark.django_db
def test_nothing_due_makes_no_file(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    response = accountant.post(
        "/bank/lastschriften/",
        {"collection_date": TOMORROW.isoformat(), "scheme": "CORE"},
        follow=True,
    )
    assert messages_of(response) == ["Zum 17.11.2026 ist nichts per Lastschrift einzuziehen."]
    assert not DirectDebitBatch.objects.exists()


@pytest.mark.django_db
def test_a_viewer_sees_no_batch_action_and_forged_posts_change_nothing(client, due_debit, actor):
    from faktura.collection import services as collection

    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    viewer = _client(client, "ansicht", "viewer")
    assert "data-new-batch" not in viewer.get("/bank/lastschriften/").content.decode()
    detail = viewer.get(f"/bank/lastschriften/{batch.pk}/").content.decode()
    assert "data-submit" not in detail
    assert "data-download" in detail
    viewer.post("/bank/lastschriften/", {"collection_date": "2026-11-18", "scheme": "CORE"})
    response = viewer.post(f"/bank/lastschriften/{batch.pk}/uebergeben", follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    viewer.post(f"/bank/lastschriften/{batch.pk}/verwerfen")
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.CREATED
    assert DirectDebitBatch.objects.count() == 1
    assert not AuditEntry.objects.filter(action="direct_debit_batch.submitted").exists()
