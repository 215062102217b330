"""API keys in the admin: the secret is shown once on creation; revoking shuts the key out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from faktura.api.keys import find_active_key
from faktura.api.models import ApiKey
from tests.api.conftest import ApiClient, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, company):
    user = make_user("chef")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_adding_a_key_shows_its_secret_once(staff_client, accountant_user):
    response = staff_client.post(
        reverse("admin:api_apikey_add"),
        {"name": "shop", "user": accountant_user.pk, "access": "read"},
        follow=True,
    )
    assert response.status_code == 200
    shown = " ".join(str(m) for m in response.context["messages"])
    secret = next(word for word in shown.split() if word.startswith("fk_live_"))
    assert secret.encode() in response.content
    api_key = find_active_key(secret)
    assert (api_key.name, api_key.scopes, api_key.user) == ("shop", ["read"], accountant_user)
    page = staff_client.get(reverse("admin:api_apikey_change", args=[api_key.pk]))
    assert page.status_code == 200
    assert secret.encode() not in page.content
    assert f"fk_live_{api_key.prefix}".encode() in page.content


def test_revoke_action_shuts_the_key_out(staff_client, api, shop_key):
    staff_client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke", "_selected_action": [shop_key[0].pk]},
    )
    assert ApiKey.objects.get(pk=shop_key[0].pk).revoked_at is not None
    assert api.get_json("/customers").status_code == 401


def test_idempotency_records_are_read_only(staff_client, api, customer):
    assert staff_client.get(reverse("admin:api_idempotencyrecord_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:api_idempotencyrecord_add")).status_code == 403


def test_keys_cannot_be_deleted_only_revoked(staff_client, shop_key):
    url = reverse("admin:api_apikey_delete", args=[shop_key[0].pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert ApiClient(shop_key[1]).get_json("/customers").status_code == 200
