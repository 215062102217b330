"""Zugang on the customer's page: let a blocked customer in until a date, and end it early."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.access import selectors
from faktura.access import services as access
from faktura.access.models import AccessOverride
from faktura.core.actors import Actor
from faktura.core.models import AuditEntry

STAFF = Actor(label="user:chefin", roles=frozenset({"admin"}))


def _client(client, role: str):
    user = User.objects.create_user(role, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def blocked(business_customer):
    access.block(
        customer_id=business_customer.pk,
        reason="manual",
        effect="block",
        why="Kartenbetrug",
        actor=STAFF,
    )
    return business_customer


def _card(html: str) -> str:
    return html.partition("data-access ")[2].split("</section>")[0]


def _said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
def test_an_accountant_lets_a_blocked_customer_in_until_a_date(client, blocked):
    accountant = _client(client, "accountant")
    page = accountant.get(f"/kunden/{blocked.pk}/").content.decode()
    card = _card(page)
    assert "Gesperrt" in card
    assert "data-override-form open" in card  # blocked, no override yet: the form is open
    assert f'action="/kunden/{blocked.pk}/zugang/freigeben"' in card

    response = accountant.post(
        f"/kunden/{blocked.pk}/zugang/freigeben",
        {"until": "2026-12-31", "why": "Zahlung per Telefon zugesagt"},
        follow=True,
    )

    assert _said(response) == [
        "Der Zugang ist trotz Sperre freigegeben, bis einschließlich 31.12.2026."
    ]
    card = _card(response.content.decode())
    assert '<span class="badge ok">Aktiv</span>' in card
    assert "Kartenbetrug" in card  # the block stays, it only does not count meanwhile
    override = card.partition("data-access-override")[2].split("</p>")[0]
    assert "Freigegeben trotz Sperre" in override
    assert "bis einschließlich 31.12.2026" in override
    assert "Zahlung per Telefon zugesagt" in override
    assert "Freigabe beenden" in card
    assert selectors.status(blocked.pk) == "active"
    assert AuditEntry.objects.filter(action="access.overridden").count() == 1


@pytest.mark.django_db
def test_without_a_date_the_override_lasts_until_revoked(client, blocked):
    accountant = _client(client, "accountant")
    response = accountant.post(
        f"/kunden/{blocked.pk}/zugang/freigeben", {"until": "", "why": "Kulanz"}, follow=True
    )
    assert _said(response) == ["Der Zugang ist trotz Sperre freigegeben, bis auf Widerruf."]
    assert "bis auf Widerruf" in _card(response.content.decode())
    assert AccessOverride.objects.get().until is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        ({"until": "2026-11-15", "why": "Kulanz"}, "Die Freigabe kann nicht vor heute enden."),
        ({"until": "2026-12-31", "why": "  "}, "Bitte geben Sie einen Grund an."),
        ({"until": "2026-12-31", "why": "x" * 501}, "Die Begründung hat höchstens 500 Zeichen."),
        ({"until": "morgen", "why": "Kulanz"}, "Bitte geben Sie ein Datum wie 31.12.2026 ein."),
    ],
)
def test_a_wrong_override_is_refused_in_german_and_changes_nothing(client, blocked, data, refusal):
    accountant = _client(client, "accountant")
    response = accountant.post(f"/kunden/{blocked.pk}/zugang/freigeben", data, follow=True)
    assert _said(response) == [refusal]
    assert "Gesperrt" in _card(response.content.decode())
    assert not AccessOverride.objects.exists()


@pytest.mark.django_db
def test_ending_the_override_lets_the_blocks_count_again(client, blocked):
    override = access.override(customer_id=blocked.pk, until=None, why="Kulanz", actor=STAFF)
    accountant = _client(client, "accountant")
    url = f"/kunden/{blocked.pk}/zugang/freigabe/{override.pk}/beenden"
    assert f'action="{url}"' in accountant.get(f"/kunden/{blocked.pk}/").content.decode()

    refused = accountant.post(url, {"why": ""}, follow=True)
    assert _said(refused) == ["Bitte geben Sie einen Grund an."]
    assert selectors.status(blocked.pk) == "active"

    response = accountant.post(url, {"why": "Zusage nicht eingehalten"}, follow=True)

    assert _said(response) == ["Die Freigabe ist beendet; bestehende Sperren gelten wieder."]
    card = _card(response.content.decode())
    assert '<span class="badge danger">Gesperrt</span>' in card
    assert "data-access-override" not in card
    assert "data-end-override" not in card
    override.refresh_from_db()
    assert override.revoke_why == "Zusage nicht eingehalten"
    again = accountant.post(url, {"why": "doppelt"}, follow=True)
    assert _said(again) == ["Die Freigabe ist schon beendet."]


@pytest.mark.django_db
def test_an_override_of_another_customer_is_not_found(client, blocked, consumer):
    override = access.override(customer_id=blocked.pk, until=None, why="Kulanz", actor=STAFF)
    accountant = _client(client, "accountant")
    url = f"/kunden/{consumer.pk}/zugang/freigabe/{override.pk}/beenden"
    assert accountant.post(url, {"why": "falsch"}).status_code == 404
    assert accountant.post("/kunden/999999/zugang/freigeben", {"why": "x"}).status_code == 404
    assert accountant.get(f"/kunden/{blocked.pk}/zugang/freigeben").status_code == 405
    override.refresh_from_db()
    assert override.revoked_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "cashier", "viewer"])
def test_other_roles_see_no_form_and_a_forged_post_changes_nothing(client, blocked, role):
    override = access.override(customer_id=blocked.pk, until=None, why="Kulanz", actor=STAFF)
    staff = _client(client, role)
    card = _card(staff.get(f"/kunden/{blocked.pk}/").content.decode())
    assert "Freigegeben trotz Sperre" in card  # the override is shown to everyone
    assert "data-override-form" not in card
    assert "data-end-override" not in card
    assert "<form" not in card

    granted = staff.post(
        f"/kunden/{blocked.pk}/zugang/freigeben",
        {"until": "2027-01-31", "why": "geschmuggelt"},
        follow=True,
    )
    ended = staff.post(
        f"/kunden/{blocked.pk}/zugang/freigabe/{override.pk}/beenden",
        {"why": "geschmuggelt"},
        follow=True,
    )

    assert _said(granted) == ["Das darf Ihre Rolle nicht."]
    assert _said(ended) == ["Das darf Ihre Rolle nicht."]
    assert list(AccessOverride.objects.values_list("pk", "until", "revoked_at")) == [
        (override.pk, None, None)
    ]
    assert not AuditEntry.objects.filter(action="access.override_revoked").exists()
