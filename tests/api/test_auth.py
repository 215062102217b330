"""Bearer keys: unknown, revoked and read-only keys are refused with stable codes."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.api.keys import create_api_key, find_active_key, hash_secret, revoke_api_keys
from faktura.api.models import ApiKey
from faktura.core import clock
from faktura.customers.models import Customer
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

NEW_CUSTOMER = {"name": "Neu GmbH", "street": "Weg 1", "postcode": "10115", "city": "Berlin",
                "email": "neu@example.org"}  # fmt: skip


def test_secret_is_shown_once_and_only_its_hash_is_stored(accountant_user):
    api_key, secret = create_api_key(name="shop", user=accountant_user, scopes=["write"])
    assert secret.startswith("fk_live_")
    assert len(secret) == len("fk_live_") + 43
    assert api_key.prefix == secret[8:16]
    assert api_key.key_hash == hash_secret(secret)
    assert api_key.scopes == ["read", "write"]
    assert secret not in str(ApiKey.objects.filter(pk=api_key.pk).values().get())
    assert find_active_key(secret) == api_key


def test_missing_or_unknown_key_is_401(company):
    for client in (ApiClient(None), ApiClient("fk_live_guessed")):
        response = client.get_json("/customers")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_api_key"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(api, shop_key):
    assert api.get_json("/customers").status_code == 200
    revoke_api_keys([shop_key[0].pk])
    response = api.get_json("/customers")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_key_of_a_deactivated_user_is_401(api, accountant_user):
    accountant_user.is_active = False
    accountant_user.save()
    assert api.get_json("/customers").status_code == 401


def test_read_only_key_cannot_write(reader_api):
    assert reader_api.get_json("/customers").status_code == 200
    response = reader_api.send("POST", "/customers", NEW_CUSTOMER)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert Customer.objects.count() == 0


def test_last_used_is_written_at_most_once_a_minute(api, shop_key):
    api_key = shop_key[0]
    api.get_json("/customers")
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first == clock.now()
    later = clock.now() + dt.timedelta(seconds=30)
    with clock.frozen(later):
        api.get_json("/customers")
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
    with clock.frozen(later + dt.timedelta(seconds=31)):
        api.get_json("/customers")
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == later + dt.timedelta(seconds=31)


def test_actions_are_audited_under_the_key_name(api, customer):
    from faktura.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.actor == "api:shop"
