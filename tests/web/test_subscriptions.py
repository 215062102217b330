"""Abos in the back office: list with search and filter, one subscription with its periods
and history, the actions through the subscription services; a viewer sees no action and
a forged request changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faktura.core.actors import Actor
from faktura.core.models import AuditEntry
from faktura.subscriptions.models import Charge, Subscription
from faktura.subscriptions.run import run_billing
from tests.subscriptions.helpers import plan, subscribe

SYSTEM = Actor.system("test")
NOV_1 = dt.date(2026, 11, 1)


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def accountant(client, company):
    return _client(client, "buchhaltung", "accountant")


@pytest.fixture
def viewer(client, company):
    return _client(client, "ansicht", "viewer")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def billed(business_customer):
    """A monthly plan at 30,00 € net, quantity 2, billed for November."""
    monthly = plan("monthly", price="30.00", name="Mitgliedschaft Monat")
    plan("yearly", price="300.00", interval="year", name="Mitgliedschaft Jahr")
    subscription = subscribe(business_customer, monthly, starts_on=NOV_1, quantity="2")
    run_billing(billing_date=NOV_1, actor=SYSTEM)
    subscription.refresh_from_db()
    return subscription


@pytest.mark.django_db
def test_the_list_finds_subscriptions_by_customer_and_plan_and_filters_by_status(
    accountant, billed, consumer
):
    other = subscribe(consumer, plan("basic", price="9.00", name="Basis"), starts_on=NOV_1)
    Subscription.objects.filter(pk=other.pk).update(status="paused")
    page = accountant.get("/abos/").content.decode()
    assert "2 Abos" in page
    assert "Beispiel Handel AG" in page
    assert "Max Mustermann" in page
    assert "30,00\xa0€" in page
    by_plan = accountant.get("/abos/", {"q": "Basis"}).content.decode()
    assert "1 Abo" in by_plan
    assert "Max Mustermann" in by_plan
    assert "Beispiel Handel AG" not in by_plan
    by_customer = accountant.get("/abos/", {"q": "beispiel"}).content.decode()
    assert "Beispiel Handel AG" in by_customer
    assert "Max Mustermann" not in by_customer
    paused = accountant.get("/abos/", {"status": "paused"}).content.decode()
    assert "Max Mustermann" in paused
    assert "Beispiel Handel AG" not in paused


@pytest.mark.django_db
def test_the_list_takes_a_fixed_number_of_queries(
    accountant, business_customer, django_assert_max_num_queries
):
    monthly = plan("monthly", price="30.00")
    subscribe(business_customer, monthly, starts_on=NOV_1)
    with CaptureQueriesContext(connection) as one:
        accountant.get("/abos/")
    for _ in range(29):
        subscribe(business_customer, monthly, starts_on=NOV_1)
    with django_assert_max_num_queries(len(one)):
        response = accountant.get("/abos/")
    assert "30 Abos" in response.content.decode()


@pytest.mark.django_db
def test_the_plans_are_listed_with_price_and_running_subscriptions(accountant, billed):
    page = accountant.get("/abos/tarife/").content.decode()
    assert "Mitgliedschaft Monat" in page
    assert "Mitgliedschaft Jahr" in page
    assert "300,00\xa0€" in page
    row = page.split('data-plan="monthly"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row


@pytest.mark.django_db
def test_the_detail_shows_plan_quantity_price_and_the_billed_period(accountant, billed):
    page = accountant.get(f"/abos/{billed.pk}/").content.decode()
    assert "Mitgliedschaft Monat" in page
    assert "<dd data-quantity>2</dd>" in page
    assert "30,00\xa0€" in page
    invoice = billed.billed_periods.get().invoice
    assert f"/rechnungen/{invoice.pk}/" in page
    assert "01.11.2026 – 30.11.2026" in page
    assert "60,00\xa0€" in page  # 2 × 30,00


@pytest.mark.django_db
def test_the_quantity_change_shows_the_proration_first_then_applies_it(accountant, billed):
    form = {"plan": billed.plan_id, "quantity": "3", "effective": "now"}
    preview = accountant.post(f"/abos/{billed.pk}/aendern", {**form, "preview": "1"})
    page = preview.content.decode()
    quote = page.split("data-quote")[1].split("</div>")[0]
    # 15 of 30 days left: −30,00 for what was billed, +45,00 for 3 × 30,00 over them.
    assert "-30,00\xa0€" in quote
    assert "45,00\xa0€" in quote
    assert "15,00\xa0€" in quote
    assert not Charge.objects.exists()
    billed.refresh_from_db()
    assert billed.quantity == 2
    response = accountant.post(f"/abos/{billed.pk}/aendern", form, follow=True)
    assert messages_of(response) == ["Das Abo ist geändert."]
    billed.refresh_from_db()
    assert billed.quantity == 3
    assert sorted(Charge.objects.values_list("unit_price", flat=True)) == [
        Decimal("-30.00"),
        Decimal("45.00"),
    ]
    assert "Tarif oder Menge geändert" in response.content.decode()


@pytest.mark.django_db
def test_a_change_without_difference_is_refused_in_german(accountant, billed):
    response = accountant.post(
        f"/abos/{billed.pk}/aendern",
        {"plan": billed.plan_id, "quantity": "2", "effective": "now"},
        follow=True,
    )
    assert messages_of(response) == ["Tarif und Menge sind unverändert."]
    assert not Charge.objects.exists()


@pytest.mark.django_db
def test_pause_and_resume(accountant, billed):
    response = accountant.post(f"/abos/{billed.pk}/pausieren", follow=True)
    assert messages_of(response) == ["Das Abo ist pausiert."]
    billed.refresh_from_db()
    assert billed.status == "paused"
    assert billed.paused_from == dt.date(2026, 12, 1)  # the paid November runs out
    assert "Pausiert ab" in response.content.decode()
    again = accountant.post(f"/abos/{billed.pk}/pausieren", follow=True)
    assert messages_of(again) == ["Das Abo ist pausiert; setzen Sie es zuerst fort."]
    resumed = accountant.post(f"/abos/{billed.pk}/fortsetzen", follow=True)
    assert messages_of(resumed) == ["Das Abo läuft wieder."]
    billed.refresh_from_db()
    assert billed.status == "active"
    assert billed.paused_from is None


@pytest.mark.django_db
def test_cancelling_asks_for_confirmation_with_reason_and_end_date(accountant, billed):
    page = accountant.get(f"/abos/{billed.pk}/kuendigen").content.decode()
    assert "Kündigung erfassen" in page
    assert "Grund" in page
    too_early = accountant.post(
        f"/abos/{billed.pk}/kuendigen",
        {"received_on": "2026-11-16", "end_on": "2026-11-02", "reason": "Umzug"},
    )
    assert "So früh kann der Vertrag nicht enden" in too_early.content.decode()
    billed.refresh_from_db()
    assert billed.ends_on is None
    response = accountant.post(
        f"/abos/{billed.pk}/kuendigen",
        {"received_on": "2026-11-16", "end_on": "2026-12-31", "reason": "Umzug ins Ausland"},
        follow=True,
    )
    assert messages_of(response) == ["Die Kündigung ist erfasst."]
    billed.refresh_from_db()
    assert billed.ends_on == dt.date(2026, 12, 31)
    assert billed.status == "cancelling"
    page = response.content.decode()
    assert "Gekündigt" in page
    assert "Umzug ins Ausland" in page
    entry = AuditEntry.objects.get(action="subscription.cancelled")
    assert entry.data["reason"] == "Umzug ins Ausland"


@pytest.mark.django_db
def test_terminating_needs_a_reason_and_ends_the_contract(accountant, billed):
    without = accountant.post(f"/abos/{billed.pk}/beenden", {"on": "2026-11-16", "reason": ""})
    assert without.status_code == 200
    billed.refresh_from_db()
    assert billed.ends_on is None
    response = accountant.post(
        f"/abos/{billed.pk}/beenden", {"on": "2026-11-16", "reason": "Betrug"}, follow=True
    )
    assert messages_of(response) == ["Das Abo ist beendet."]
    billed.refresh_from_db()
    assert billed.ends_on == dt.date(2026, 11, 16)
    # What was billed for 17–30 November comes back as a credit (14 of 30 days of 60,00).
    assert list(Charge.objects.values_list("unit_price", flat=True)) == [Decimal("-28.00")]


@pytest.mark.django_db
def test_a_viewer_sees_no_action_and_a_forged_post_changes_nothing(viewer, billed):
    page = viewer.get(f"/abos/{billed.pk}/").content.decode()
    actions = page.split('class="card actions"')[1].split("</section>")[0]
    assert "<button" not in actions
    assert "<a " not in actions
    response = viewer.post(f"/abos/{billed.pk}/pausieren", follow=True)
    assert messages_of(response) == ["Das darf Ihre Rolle nicht."]
    for page_name in ("kuendigen", "beenden"):  # the confirmation pages, typed in
        confirm = viewer.get(f"/abos/{billed.pk}/{page_name}").content.decode()
        assert 'method="post"' not in confirm.split("<main")[1]
        assert "Kündigung erfassen" not in confirm
        assert "Jetzt beenden" not in confirm
        assert "Das darf Ihre Rolle nicht." in confirm
    viewer.post(
        f"/abos/{billed.pk}/aendern",
        {"plan": billed.plan_id, "quantity": "5", "effective": "now"},
    )
    viewer.post(f"/abos/{billed.pk}/kuendigen", {"received_on": "2026-11-16", "reason": "x"})
    viewer.post(f"/abos/{billed.pk}/beenden", {"on": "2026-11-16", "reason": "x"})
    billed.refresh_from_db()
    assert (billed.status, billed.quantity, billed.ends_on, billed.paused_from) == (
        "active",
        2,
        None,
        None,
    )
    assert not Charge.objects.exists()


@pytest.mark.django_db
def test_the_detail_lists_the_notices_sent_to_the_customer(accountant, billed):
    from faktura.core import clock
    from faktura.subscriptions.models import Notice

    Notice.objects.create(
        subscription=billed, kind="renewal", about=dt.date(2026, 12, 1), sent_at=clock.now()
    )
    page = accountant.get(f"/abos/{billed.pk}/").content.decode()
    section = page.split("Hinweise an den Kunden")[1].split("</section>")[0]
    assert "Verlängerung steht bevor (01.12.2026)" in section
    assert "gesendet 16.11.2026" in section
