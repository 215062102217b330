"""Notices to staff: to-do entries and one digest mail per recipient and dunning run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from faktura.core.actors import Actor
from faktura.core.errors import NotFound, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.dunning import staff
from faktura.dunning.models import DunningLevel, NoticeSettings, StaffDigest, ToDoEntry
from faktura.notifications.models import OutboxMessage
from tests.dunning.helpers import overdue, run

D = dt.date
DUE = D(2026, 10, 1)
MANAGER = "betreuer@muster-software.de"
SERVICE = "service@muster-software.de"

pytestmark = pytest.mark.django_db


def digests() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(event="staff_digest").order_by("pk"))


def entries() -> list[tuple[str, int, list[str], str]]:
    return list(
        ToDoEntry.objects.order_by("pk").values_list(
            "kind", "level", "invoice_numbers", "level_name"
        )
    )


@pytest.fixture
def manager(company) -> User:
    return User.objects.create_user("bea", email=MANAGER, is_staff=True)


@pytest.fixture
def accountant_client(company):
    from faktura.api.keys import create_api_key
    from tests.api.conftest import ApiClient, make_user

    _, secret = create_api_key(
        name="to-do", user=make_user("anna-api", "accountant"), scopes=("write",)
    )
    return ApiClient(secret)


@pytest.fixture
def service_address(company) -> NoticeSettings:
    return NoticeSettings.objects.create(service_email=SERVICE)


def managed(customer, user):
    customer.account_manager = user
    customer.save(update_fields=["account_manager"])
    return customer


def test_overdue_makes_entries_and_one_mail_to_the_manager_and_one_to_service(
    consumer, business_customer, actor, manager, service_address
):
    managed(consumer, manager)
    first = overdue(consumer, actor, due=DUE)
    second = overdue(consumer, actor, due=DUE)
    other = overdue(business_customer, actor, due=DUE)  # no account manager
    run(D(2026, 10, 8))
    numbers = sorted([first.number, second.number])
    assert entries() == [
        ("overdue", 0, [first.number], ""),
        ("overdue", 0, [second.number], ""),
        ("overdue", 0, [other.number], ""),
        ("level", 0, numbers, "Zahlungserinnerung"),
        ("level", 0, [other.number], "Zahlungserinnerung"),
    ]
    assert list(StaffDigest.objects.values_list("entries", "mails")) == [(5, 2)]
    to_manager, to_service = sorted(digests(), key=lambda m: m.to != [MANAGER])
    assert (to_manager.to, to_service.to) == ([MANAGER], [SERVICE])
    assert to_manager.subject == (
        "Mahnwesen 08.10.2026: 1 Kunde, 2 neu überfällige Rechnungen, 1 Mahnstufe"
    )
    assert to_service.subject == (
        "Mahnwesen 08.10.2026: 2 Kunden, 3 neu überfällige Rechnungen, 2 Mahnstufen"
    )
    body = to_manager.body_text
    assert "Max Mustermann" in body
    assert "Beispiel Handel AG" not in body
    assert f"- überfällig: Rechnung {first.number}, fällig seit 01.10.2026, offen 100,00 €" in body
    assert f"- überfällig: Rechnung {second.number}, fällig seit 01.10.2026" in body
    assert (
        f"- Zahlungserinnerung (Stufe 0), versendet: {', '.join(numbers)}, gesamt 200,00 €" in body
    )
    assert "2 neu überfällige Rechnungen (offen 200,00 €)" in body
    service_body = to_service.body_text
    assert "Max Mustermann" in service_body
    assert "Beispiel Handel AG" in service_body
    assert f"- überfällig: Rechnung {other.number}, fällig seit 01.10.2026, offen 119,00 €" in (
        service_body
    )
    # Never to the customer.
    assert not OutboxMessage.objects.filter(event="staff_digest", to=[consumer.email]).exists()


def test_a_second_run_of_the_day_writes_and_sends_nothing_new(
    consumer, actor, manager, service_address
):
    managed(consumer, manager)
    overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    before = (ToDoEntry.objects.count(), len(digests()))
    run(D(2026, 10, 8))
    run(D(2026, 10, 9))  # nothing due: no entry, no empty mail
    assert (ToDoEntry.objects.count(), len(digests())) == before == (2, 2)


def test_each_level_makes_one_entry_and_is_mailed_without_a_new_overdue_entry(
    consumer, actor, manager, service_address
):
    managed(consumer, manager)
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))
    run(D(2026, 11, 5))
    assert entries() == [
        ("overdue", 0, [invoice.number], ""),
        ("level", 0, [invoice.number], "Zahlungserinnerung"),
        ("level", 1, [invoice.number], "1. Mahnung"),
        ("level", 2, [invoice.number], "2. Mahnung"),
    ]
    level_one = [m for m in digests() if "22.10.2026" in m.subject]
    assert sorted(m.to[0] for m in level_one) == [MANAGER, SERVICE]
    assert level_one[0].subject == (
        "Mahnwesen 22.10.2026: 1 Kunde, 0 neu überfällige Rechnungen, 1 Mahnstufe"
    )
    assert f"- 1. Mahnung (Stufe 1), versendet: {invoice.number}, gesamt 102,86 €" in (
        level_one[0].body_text
    )


def test_a_proposal_waiting_for_review_is_named_as_such(consumer, actor, service_address):
    DunningLevel.objects.filter(number=0).update(review_required=True)
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    [mail] = digests()
    assert mail.to == [SERVICE]
    assert (
        f"- Zahlungserinnerung (Stufe 0), wartet auf Freigabe: {invoice.number}, gesamt 100,00 €"
        in mail.body_text
    )


def test_without_manager_and_service_address_only_the_to_do_entries(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    assert [(k, n) for k, _level, n, _name in entries()] == [
        ("overdue", [invoice.number]),
        ("level", [invoice.number]),
    ]
    assert digests() == []
    # Nobody to tell counts as told: a service address set later gets no backlog.
    NoticeSettings.objects.create(service_email=SERVICE)
    run(D(2026, 10, 9))
    assert digests() == []


def test_the_staff_language_english(consumer, actor, manager):
    NoticeSettings.objects.create(service_email=SERVICE, staff_language="en")
    managed(consumer, manager)
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    mail = next(m for m in digests() if m.to == [MANAGER])
    assert mail.subject == (
        "Dunning 8 October 2026: 1 customer, 1 newly overdue invoice, 1 dunning level"
    )
    assert mail.language == "en"
    assert f"- overdue: invoice {invoice.number}, due since" in mail.body_text


def test_a_run_that_died_before_its_digest_is_told_by_the_next_run(
    consumer, actor, service_address, monkeypatch
):
    invoice = overdue(consumer, actor, due=DUE)

    def broken(**kwargs):
        raise RuntimeError("SMTP down")

    monkeypatch.setattr(staff, "send_digests", broken)
    result = run(D(2026, 10, 8))
    assert result.errors == 1
    assert (ToDoEntry.objects.count(), StaffDigest.objects.count()) == (2, 0)
    monkeypatch.undo()
    run(D(2026, 10, 9))
    [mail] = digests()
    assert f"Rechnung {invoice.number}, fällig seit 01.10.2026" in mail.body_text
    assert list(StaffDigest.objects.values_list("entries", "mails")) == [(2, 1)]


def test_marking_an_entry_done_is_audited_and_happens_once(consumer, actor):
    overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    entry = ToDoEntry.objects.get(kind="overdue")
    cashier = Actor(label="user:kai", roles=frozenset({"cashier"}))
    done = staff.mark_done(entry_id=entry.pk, actor=cashier)
    assert (done.done_by, done.done_at is not None) == ("user:kai", True)
    audit = AuditEntry.objects.filter(action="todo.done").get()
    assert (audit.object_id, audit.actor) == (str(entry.pk), "user:kai")
    with pytest.raises(StateConflict) as twice:
        staff.mark_done(entry_id=entry.pk, actor=actor)
    assert twice.value.code == "todo_entry_done"
    with pytest.raises(NotFound):
        staff.mark_done(entry_id=999999, actor=actor)
    viewer = Actor(label="user:vera", roles=frozenset({"viewer"}))
    other = ToDoEntry.objects.get(kind="level")
    with pytest.raises(PermissionRefused):
        staff.mark_done(entry_id=other.pk, actor=viewer)
    assert ToDoEntry.objects.get(pk=other.pk).done_at is None


def test_the_api_lists_open_entries_and_marks_one_done(consumer, actor, accountant_client):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    listed = accountant_client.get_json("/to-do-entries", done="false").json()
    assert [(e["kind"], e["invoice_numbers"], e["done"]) for e in listed["data"]] == [
        ("overdue", [invoice.number], False),
        ("level", [invoice.number], False),
    ]
    assert listed["data"][0]["amount"] == "100.00"
    assert listed["data"][0]["due_date"] == "2026-10-01"
    first = listed["data"][0]["id"]
    response = accountant_client.send("POST", f"/to-do-entries/{first}/done", {})
    assert response.status_code == 200, response.content
    assert response.json()["done"] is True
    still_open = accountant_client.get_json("/to-do-entries", done="false").json()["data"]
    assert [e["kind"] for e in still_open] == ["level"]
    again = accountant_client.send("POST", f"/to-do-entries/{first}/done", {})
    assert (again.status_code, again.json()["code"]) == (409, "todo_entry_done")


def test_a_long_digest_lists_the_first_customers_and_counts_the_rest(
    consumer, business_customer, actor, service_address, monkeypatch
):
    monkeypatch.setattr(staff, "DIGEST_LINES", 1)
    first = overdue(consumer, actor, due=DUE)
    other = overdue(business_customer, actor, due=DUE)
    run(D(2026, 10, 8))
    [mail] = digests()
    assert mail.subject == (
        "Mahnwesen 08.10.2026: 2 Kunden, 2 neu überfällige Rechnungen, 2 Mahnstufen"
    )
    assert "2 neu überfällige Rechnungen (offen 219,00 €)" in mail.body_text
    assert f"Rechnung {first.number}" in mail.body_text
    assert other.number not in mail.body_text
    assert "… und 1 weitere Kunden." in mail.body_text


def test_a_cancelled_reminder_taken_up_again_is_not_overdue_twice(consumer, actor, approver):
    from faktura.dunning import services

    DunningLevel.objects.filter(number=0).update(review_required=True)
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    [proposal] = ToDoEntry.objects.filter(kind="level")
    services.cancel_notice(notice_id=proposal.notice_id, actor=approver, reason="Kulanz")
    result = run(D(2026, 10, 9))  # proposed again
    assert result.errors == 0
    assert [(k, n) for k, _level, n, _name in entries()] == [
        ("overdue", [invoice.number]),
        ("level", [invoice.number]),
        ("level", [invoice.number]),
    ]
