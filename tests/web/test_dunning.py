"""Mahnwesen in the back office: open cases by level, proposals approved or discarded (one
or many), notices sent with their letters, dunning blocks, instalment plans, collection
cases and the run of the day; a viewer sees no action and a forged request changes
nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faktura.core import clock
from faktura.dunning.models import (
    CollectionCase,
    CollectionCaseInvoice,
    DunningLevel,
    DunningNotice,
    DunningRun,
)
from tests.dunning.helpers import overdue, run

D = dt.date


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def approver(client, company):
    return _client(client, "freigabe", "approver")


@pytest.fixture
def viewer(client, company):
    return _client(client, "ansicht", "viewer")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def proposals(business_customer, consumer, actor) -> list[DunningNotice]:
    """Two proposals waiting for review: one per customer (reminders, level 0 … or 1)."""
    DunningLevel.objects.update(review_required=True)
    overdue(business_customer, actor, due=D(2026, 10, 1))
    overdue(consumer, actor, due=D(2026, 10, 2), price="50.00")
    run(D(2026, 10, 9))
    found = list(DunningNotice.objects.order_by("pk"))
    assert [n.status for n in found] == ["proposed", "proposed"]
    return found


@pytest.fixture
def sent(business_customer, actor) -> DunningNotice:
    """A notice sent with its archived letter."""
    overdue(business_customer, actor, due=D(2026, 10, 1))
    run(D(2026, 10, 9))
    notice = DunningNotice.objects.get()
    assert notice.status == "sent"
    return notice


@pytest.mark.django_db
def test_the_overview_shows_open_cases_by_level_with_their_amounts(accountant, sent):
    page = accountant.get("/mahnwesen/").content.decode()
    card = page.split(f'data-level="{sent.level}"')[1].split("</article>")[0]
    assert "119,00\xa0€" in card
    assert "1 Rechnung" in card
    assert sent.level_name in card


@pytest.mark.django_db
def test_proposals_are_listed_and_approved_one_by_one(approver, proposals):
    first, second = proposals
    page = approver.get("/mahnwesen/").content.decode()
    listed = page.split("data-proposals")[1].split("</section>")[0]
    assert "Beispiel Handel AG" in listed
    assert "Max Mustermann" in listed
    assert "119,00\xa0€" in listed
    assert "50,00\xa0€" in listed
    response = approver.post("/mahnwesen/vorschlaege", {"approve_one": first.pk}, follow=True)
    assert messages_of(response) == ["1 Mahnung freigegeben und versendet."]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("sent", "proposed")


@pytest.mark.django_db
def test_discarding_needs_a_reason(approver, proposals):
    first, _second = proposals
    refused = approver.post("/mahnwesen/vorschlaege", {"skip_one": first.pk}, follow=True)
    assert messages_of(refused) == ["Bitte geben Sie einen Grund an."]
    first.refresh_from_db()
    assert first.status == "proposed"
    response = approver.post(
        "/mahnwesen/vorschlaege",
        {"skip_one": first.pk, "reason": "Zahlung angekündigt"},
        follow=True,
    )
    assert messages_of(response) == ["1 Vorschlag verworfen."]
    first.refresh_from_db()
    assert (first.status, first.cancel_reason) == ("cancelled", "Zahlung angekündigt")


@pytest.mark.django_db
def test_proposals_are_approved_in_bulk(approver, proposals):
    response = approver.post(
        "/mahnwesen/vorschlaege",
        {"action": "approve", "notice": [n.pk for n in proposals]},
        follow=True,
    )
    assert messages_of(response) == ["2 Mahnungen freigegeben und versendet."]
    assert set(DunningNotice.objects.values_list("status", flat=True)) == {"sent"}
    assert "Keine Vorschläge offen." in response.content.decode()
    nothing = approver.post("/mahnwesen/vorschlaege", {"action": "approve"}, follow=True)
    assert messages_of(nothing) == ["Bitte wählen Sie mindestens einen Vorschlag."]


@pytest.mark.django_db
def test_sent_notices_are_listed_with_the_letter_to_download(accountant, sent):
    page = accountant.get("/mahnwesen/mahnungen/").content.decode()
    row = page.split(f'data-notice="{sent.pk}"')[1].split("</tr>")[0]
    assert "Beispiel Handel AG" in row
    assert f"{sent.level} · {sent.level_name}" in row
    assert "/pdf" in row
    letter = accountant.get(f"/mahnwesen/mahnungen/{sent.pk}/pdf")
    assert letter.status_code == 200
    assert letter["Content-Type"] == "application/pdf"
    assert letter.content.startswith(b"%PDF")
    assert (
        accountant.get("/mahnwesen/mahnungen/", {"q": "Niemand"}).context["page"].paginator.count
        == 0
    )


@pytest.mark.django_db
def test_the_lists_take_a_fixed_number_of_queries(
    accountant, business_customer, consumer, actor, django_assert_max_num_queries
):
    overdue(business_customer, actor, due=D(2026, 10, 1))
    run(D(2026, 10, 9))
    with CaptureQueriesContext(connection) as notices_one:
        accountant.get("/mahnwesen/mahnungen/")
    with CaptureQueriesContext(connection) as overview_one:
        accountant.get("/mahnwesen/")
    overdue(consumer, actor, due=D(2026, 10, 1))
    overdue(consumer, actor, due=D(2026, 10, 2))
    run(D(2026, 10, 9))
    run(D(2026, 10, 23))
    assert DunningNotice.objects.count() >= 3
    with django_assert_max_num_queries(len(notices_one)):
        accountant.get("/mahnwesen/mahnungen/")
    with django_assert_max_num_queries(len(overview_one)):
        accountant.get("/mahnwesen/")


@pytest.mark.django_db
def test_a_dunning_block_is_set_and_lifted_with_a_reason(accountant, business_customer):
    number = business_customer.number
    without = accountant.post("/mahnwesen/sperre", {"customer": number, "reason": ""})
    assert "Dieses Feld ist zwingend erforderlich." in without.content.decode()
    unknown = accountant.post("/mahnwesen/sperre", {"customer": "K99999", "reason": "x"})
    assert "Kein Kunde mit der Nummer K99999." in unknown.content.decode()
    response = accountant.post(
        "/mahnwesen/sperre",
        {"customer": number, "until": "2026-12-31", "reason": "Reklamation offen"},
        follow=True,
    )
    assert messages_of(response) == ["Die Mahnsperre ist gesetzt."]
    business_customer.refresh_from_db()
    assert business_customer.dunning_block
    assert business_customer.dunning_block_until == D(2026, 12, 31)
    row = response.content.decode().split(f'data-blocked="{number}"')[1].split("</tr>")[0]
    assert "31.12.2026" in row
    assert "Reklamation offen" in row
    lifted = accountant.post(
        "/mahnwesen/sperre", {"customer": number, "reason": "Geklärt", "lift": "1"}, follow=True
    )
    assert messages_of(lifted) == ["Die Mahnsperre ist aufgehoben."]
    business_customer.refresh_from_db()
    assert not business_customer.dunning_block
    assert "Keine Mahnsperren." in lifted.content.decode()


@pytest.mark.django_db
def test_the_run_of_today_sends_the_due_notices(accountant, business_customer, actor):
    overdue(business_customer, actor, due=D(2026, 11, 2))
    response = accountant.post("/mahnwesen/lauf", follow=True)
    run_row = DunningRun.objects.get()
    assert run_row.run_date == clock.today() == D(2026, 11, 16)
    assert messages_of(response) == [
        "Mahnlauf vom 16.11.2026 abgeschlossen – überfällig: 1, versendet: 1, zur Prüfung: 0."
    ]
    assert DunningNotice.objects.get().status == "sent"
    again = accountant.post("/mahnwesen/lauf", follow=True)
    assert "versendet: 0" in messages_of(again)[0]
    assert DunningNotice.objects.count() == 1


@pytest.fixture
def case(consumer, actor) -> CollectionCase:
    invoice = overdue(consumer, actor, due=D(2026, 8, 1))
    proposal = CollectionCase.objects.create(
        customer=consumer, proposed_on=D(2026, 11, 16), proposed_by="system"
    )
    CollectionCaseInvoice.objects.create(
        case=proposal, invoice=invoice, open_amount=invoice.payable_amount
    )
    return proposal


@pytest.mark.django_db
def test_a_collection_case_is_handed_over_and_exported(approver, case, client):
    page = approver.get("/mahnwesen/").content.decode()
    row = page.split(f'data-case="{case.pk}"')[1].split("</tr>")[0]
    assert "Max Mustermann" in row
    assert "100,00\xa0€" in row
    assert "Vorgeschlagen" in row
    response = approver.post(f"/mahnwesen/inkasso/{case.pk}/freigeben", follow=True)
    assert messages_of(response) == [
        "Der Inkassofall ist freigegeben; er geht mit dem nächsten Export hinaus."
    ]
    case.refresh_from_db()
    assert case.status == "approved"
    again = approver.post(f"/mahnwesen/inkasso/{case.pk}/freigeben", follow=True)
    assert messages_of(again) == ["Der Inkassofall ist nicht (mehr) in diesem Stand."]
    client.logout()
    exporter = _client(client, "export", "accountant")
    page = exporter.get("/mahnwesen/").content.decode()
    assert "Export für 1 freigegebenen Fall erstellen" in page
    exported = exporter.post("/mahnwesen/inkasso/export", follow=True)
    assert messages_of(exported) == ["Inkasso-Export erstellt: 1 Fall."]
    case.refresh_from_db()
    assert case.status == "exported"
    csv = exporter.get(f"/mahnwesen/inkasso/export/{case.export_id}.csv")
    assert "Max Mustermann" in csv.content.decode()


@pytest.mark.django_db
def test_a_viewer_sees_no_action_and_a_forged_post_changes_nothing(
    viewer, proposals, business_customer, case
):
    page = viewer.get("/mahnwesen/").content.decode()
    assert "<button" not in page.split("data-run")[1].split("</section>")[0]
    assert "<button" not in page.split("data-proposals")[1].split("</section>")[0]
    assert "<button" not in page.split("data-blocks")[1].split("</section>")[0]
    assert "<button" not in page.split("data-collection")[1].split("</section>")[0]
    response = viewer.post(
        "/mahnwesen/vorschlaege",
        {"action": "approve", "notice": [n.pk for n in proposals]},
        follow=True,
    )
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    viewer.post("/mahnwesen/vorschlaege", {"skip_one": proposals[0].pk, "reason": "x"})
    viewer.post("/mahnwesen/lauf")
    viewer.post("/mahnwesen/sperre", {"customer": business_customer.number, "reason": "x"})
    viewer.post(f"/mahnwesen/inkasso/{case.pk}/freigeben")
    viewer.post("/mahnwesen/inkasso/export")
    viewer.post(f"/mahnwesen/inkasso/{case.pk}/abschliessen", {"why": "x"})
    assert set(DunningNotice.objects.values_list("status", flat=True)) == {"proposed"}
    assert DunningRun.objects.count() == 1  # the fixture's
    business_customer.refresh_from_db()
    assert not business_customer.dunning_block
    case.refresh_from_db()
    assert case.status == "proposed"


@pytest.mark.django_db
def test_the_todo_list_offers_the_proposals_for_approval_in_place(accountant, proposals):
    html = accountant.get("/aufgaben/").content.decode()
    section = html.split('data-source="dunning_proposals"')[1].split("</section>")[0]
    assert section.count("Freigeben und senden") == 2


@pytest.mark.django_db
def test_active_instalment_plans_are_listed_with_their_rates(accountant, consumer, actor):
    from faktura.dunning.instalments import create_instalment_agreement

    invoice = overdue(consumer, actor, due=D(2026, 10, 1))
    agreement = create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[invoice.pk],
        actor=actor,
        instalments=2,
        first_due_date=D(2026, 12, 1),
    )
    page = accountant.get("/mahnwesen/").content.decode()
    listed = page.split("data-agreements")[1].split("</section>")[0]
    assert agreement.reference in listed
    assert "Max Mustermann" in listed
    assert "100,00\xa0€" in listed
    assert "01.12.2026: 50,00\xa0€" in listed
    assert "01.01.2027: 50,00\xa0€" in listed


@pytest.mark.django_db
def test_a_case_is_recalled_or_written_off_with_a_reason(approver, case, consumer, actor):
    without = approver.post(f"/mahnwesen/inkasso/{case.pk}/abschliessen", follow=True)
    assert messages_of(without) == ["Bitte geben Sie einen Grund an."]
    recalled = approver.post(
        f"/mahnwesen/inkasso/{case.pk}/abschliessen", {"why": "Ratenzahlung"}, follow=True
    )
    assert messages_of(recalled) == [
        "Der Inkassofall ist zurückgerufen; das Mahnwesen läuft weiter."
    ]
    case.refresh_from_db()
    assert (case.status, case.recall_reason) == ("recalled", "Ratenzahlung")
    assert "Keine offenen Inkassofälle." in recalled.content.decode()
    invoice = overdue(consumer, actor, due=D(2026, 8, 3), price="40.00")
    second = CollectionCase.objects.create(
        customer=consumer, proposed_on=D(2026, 11, 16), proposed_by="system"
    )
    CollectionCaseInvoice.objects.create(
        case=second, invoice=invoice, open_amount=invoice.payable_amount
    )
    approver.post(f"/mahnwesen/inkasso/{second.pk}/freigeben", follow=True)
    written_off = approver.post(
        f"/mahnwesen/inkasso/{second.pk}/abschliessen",
        {"why": "Insolvenz", "write_off": "1"},
        follow=True,
    )
    assert messages_of(written_off) == [
        "Der Inkassofall ist ausgebucht; die Umsatzsteuer wird berichtigt."
    ]
    second.refresh_from_db()
    assert second.status == "closed"
    from tests.payments.helpers import open_amount

    assert open_amount(invoice) == 0


@pytest.mark.django_db
def test_an_altered_letter_is_not_handed_out(accountant, sent):
    letter = sent.letter
    with letter.file.storage.open(letter.file.name, "wb") as handle:
        handle.write(b"%PDF-1.7 forged")
    response = accountant.get(f"/mahnwesen/mahnungen/{sent.pk}/pdf", follow=True)
    assert messages_of(response) == [
        "Die archivierte Datei wurde verändert; sie wird nicht ausgegeben. "
        "Bitte prüfen Sie das Archiv (faktura check)."
    ]
    assert b"forged" not in response.content


@pytest.mark.django_db
def test_selected_proposals_are_discarded_with_one_reason(approver, proposals):
    response = approver.post(
        "/mahnwesen/vorschlaege",
        {"action": "skip", "notice": [n.pk for n in proposals], "reason": "Kulanz"},
        follow=True,
    )
    assert messages_of(response) == ["2 Vorschläge verworfen."]
    assert list(DunningNotice.objects.values_list("status", "cancel_reason")) == [
        ("cancelled", "Kulanz"),
        ("cancelled", "Kulanz"),
    ]
