"""The services behind Stammdaten: number range patterns keep numbers unique and
consecutive; staff users, their roles and API keys are admin matters, audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.api.keys import create_api_key, find_active_key, revoke_api_key
from faktura.core import services
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry, NumberCounter, NumberRange

pytestmark = pytest.mark.django_db

ADMIN = Actor(label="user:chefin", user_id=None, roles=frozenset({"admin"}))
VIEWER = Actor(label="user:ansicht", user_id=None, roles=frozenset({"viewer"}))


def test_a_new_pattern_continues_the_counter_and_is_audited(company, actor):
    invoices = NumberRange.objects.get(kind="invoice")
    NumberCounter.objects.create(number_range=invoices, period=2026, last_value=7)
    changed = services.change_number_range(actor=actor, kind="invoice", pattern="R{year}/{seq:04d}")
    assert changed.format(year=2026, seq=8) == "R2026/0008"
    assert NumberCounter.objects.get(number_range=invoices).last_value == 7
    entry = AuditEntry.objects.get(action="numberrange.changed")
    assert entry.data["after"]["pattern"] == "R{year}/{seq:04d}"


def test_the_yearly_reset_stays_once_numbers_were_taken(company, actor):
    invoices = NumberRange.objects.get(kind="invoice")
    NumberCounter.objects.create(number_range=invoices, period=2026, last_value=1)
    with pytest.raises(StateConflict) as refused:
        services.change_number_range(
            actor=actor, kind="invoice", pattern="RE-{seq:06d}", yearly_reset=False
        )
    assert refused.value.code == "number_range_in_use"
    invoices.refresh_from_db()
    assert invoices.yearly_reset is True


def test_a_yearly_range_needs_the_year_and_a_viewer_may_not_change_it(company):
    before = NumberRange.objects.get(kind="invoice").pattern
    with pytest.raises(InvalidInput) as refused:
        services.change_number_range(actor=ADMIN, kind="invoice", pattern="RE-{seq:05d}")
    assert refused.value.code == "invalid_number_pattern"
    with pytest.raises(PermissionRefused):
        services.change_number_range(actor=VIEWER, kind="invoice", pattern="X-{year}-{seq}")
    assert NumberRange.objects.get(kind="invoice").pattern == before
    assert not AuditEntry.objects.filter(action="numberrange.changed").exists()


def test_a_viewer_creates_no_user_and_changes_no_roles(company):
    other = User.objects.create_user("anna", password="geheim-123")
    with pytest.raises(PermissionRefused):
        services.create_user(
            actor=VIEWER, username="neu", email="", password="Lange-Passphrase-42", roles=["admin"]
        )
    with pytest.raises(PermissionRefused):
        services.set_user_roles(actor=VIEWER, user_id=other.pk, roles=["admin"])
    with pytest.raises(PermissionRefused):
        services.deactivate_user(actor=VIEWER, user_id=other.pk)
    assert not User.objects.filter(username="neu").exists()
    assert not other.groups.exists()
    assert not AuditEntry.objects.exists()


def test_unknown_roles_are_refused(company):
    with pytest.raises(InvalidInput) as refused:
        services.create_user(
            actor=ADMIN, username="neu", email="", password="Lange-Passphrase-42", roles=["chef"]
        )
    assert refused.value.code == "invalid_roles"
    assert not User.objects.filter(username="neu").exists()


def test_a_deactivated_user_s_api_key_stops_working(company):
    boss = User.objects.create_user("chefin", password="geheim-123")
    boss.groups.add(Group.objects.get_or_create(name="admin")[0])
    clerk = services.create_user(
        actor=ADMIN, username="shop", email="", password="Lange-Passphrase-42", roles=["accountant"]
    )
    _key, secret = create_api_key(name="shop", user=clerk, scopes=["read"], actor=ADMIN)
    assert find_active_key(secret) is not None
    services.deactivate_user(actor=ADMIN, user_id=clerk.pk)
    assert find_active_key(secret) is None
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["user.created", "api_key.created", "user.deactivated"]


def test_revoking_twice_revokes_once(company):
    owner = User.objects.create_user("chefin", password="geheim-123")
    key, secret = create_api_key(name="shop", user=owner, scopes=["read"])
    with pytest.raises(PermissionRefused):
        revoke_api_key(key_id=key.pk, actor=VIEWER)
    assert find_active_key(secret) == key
    revoke_api_key(key_id=key.pk, actor=ADMIN)
    revoke_api_key(key_id=key.pk, actor=ADMIN)
    assert find_active_key(secret) is None
    assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1
