"""Stammdaten for admins: users and roles, API keys, webhooks. Other roles get neither the
tab nor the page (403), and a forged POST changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from faktura.api.keys import find_active_key
from faktura.api.models import ApiKey
from faktura.core.models import AuditEntry
from faktura.webhooks.models import WebhookDelivery, WebhookEndpoint


def _login(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return user


@pytest.fixture
def admin(client, company):
    _login(client, "chefin", "admin")
    return client


@pytest.fixture
def accountant(client, company):
    _login(client, "buchhaltung", "accountant")
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


ADMIN_PAGES = ("/stammdaten/benutzer/", "/stammdaten/api-schluessel/", "/stammdaten/webhooks/")


@pytest.mark.django_db
def test_the_admin_sees_the_admin_tabs_and_others_do_not(client, company):
    _login(client, "chefin", "admin")
    tabs = client.get("/stammdaten/firma/").content.decode().split('class="tabs"')[1]
    tabs = tabs.split("</nav>")[0]
    for url in ADMIN_PAGES:
        assert url in tabs
    _login(client, "buchhaltung", "accountant")
    page = client.get("/stammdaten/firma/").content.decode()
    for url in ADMIN_PAGES:
        assert url not in page
        assert client.get(url).status_code == 403


# --- Benutzer und Rollen --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_creates_a_user_with_roles(admin):
    response = admin.post(
        "/stammdaten/benutzer/",
        {
            "username": "kasse1",
            "email": "kasse@muster-software.de",
            "password": "Lange-Passphrase-42",
            "roles": ["cashier", "viewer"],
        },
        follow=True,
    )
    assert messages_of(response) == ["Der Benutzer kasse1 ist angelegt."]
    assert "kasse@muster-software.de" in response.content.decode()
    user = User.objects.get(username="kasse1")
    assert sorted(user.groups.values_list("name", flat=True)) == ["cashier", "viewer"]
    assert user.check_password("Lange-Passphrase-42")
    assert AuditEntry.objects.filter(action="user.created").exists()


@pytest.mark.django_db
def test_a_weak_password_or_taken_name_is_refused_in_german(admin):
    weak = admin.post(
        "/stammdaten/benutzer/",
        {"username": "kasse1", "password": "123", "roles": ["cashier"]},
    )
    assert "Das Passwort ist zu schwach" in weak.content.decode()
    taken = admin.post(
        "/stammdaten/benutzer/",
        {"username": "CHEFIN", "password": "Lange-Passphrase-42", "roles": ["cashier"]},
    )
    assert "Diesen Benutzernamen gibt es schon." in taken.content.decode()
    no_role = admin.post(
        "/stammdaten/benutzer/", {"username": "kasse1", "password": "Lange-Passphrase-42"}
    )
    assert "Dieses Feld ist zwingend erforderlich." in no_role.content.decode()
    assert not User.objects.filter(username="kasse1").exists()


@pytest.mark.django_db
def test_the_admin_changes_roles_and_deactivates_a_user(admin):
    other = User.objects.create_user("anna", password="geheim-123")
    other.groups.add(Group.objects.get_or_create(name="viewer")[0])
    response = admin.post(
        f"/stammdaten/benutzer/{other.pk}/rollen", {"roles": ["accountant"]}, follow=True
    )
    assert messages_of(response) == ["Die Rollen sind geändert."]
    assert list(other.groups.values_list("name", flat=True)) == ["accountant"]
    response = admin.post(f"/stammdaten/benutzer/{other.pk}/deaktivieren", follow=True)
    assert messages_of(response) == [
        "Der Benutzer ist deaktiviert; er kann sich nicht mehr anmelden."
    ]
    assert "deaktiviert" in response.content.decode()
    other.refresh_from_db()
    assert not other.is_active


@pytest.mark.django_db
def test_the_last_admin_keeps_the_role_and_cannot_deactivate_themselves(admin):
    me = User.objects.get(username="chefin")
    response = admin.post(
        f"/stammdaten/benutzer/{me.pk}/rollen", {"roles": ["viewer"]}, follow=True
    )
    assert messages_of(response) == [
        "Der letzte aktive Administrator behält seine Rolle und bleibt aktiv."
    ]
    response = admin.post(f"/stammdaten/benutzer/{me.pk}/deaktivieren", follow=True)
    assert messages_of(response) == ["Sich selbst kann niemand deaktivieren."]
    me.refresh_from_db()
    assert me.is_active
    assert list(me.groups.values_list("name", flat=True)) == ["admin"]


@pytest.mark.django_db
def test_an_accountant_cannot_manage_users(accountant):
    other = User.objects.create_user("anna", password="geheim-123")
    for url, data in (
        (
            "/stammdaten/benutzer/",
            {"username": "neu", "password": "Lange-42-x", "roles": ["admin"]},
        ),
        (f"/stammdaten/benutzer/{other.pk}/rollen", {"roles": ["admin"]}),
        (f"/stammdaten/benutzer/{other.pk}/deaktivieren", {}),
    ):
        assert accountant.post(url, data).status_code == 403
    other.refresh_from_db()
    assert other.is_active
    assert not other.groups.exists()
    assert not User.objects.filter(username="neu").exists()


# --- API-Schlüssel --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_secret_is_shown_once_and_the_key_can_be_revoked(admin):
    owner = User.objects.get(username="chefin")
    response = admin.post(
        "/stammdaten/api-schluessel/",
        {"name": "shop", "user": owner.pk, "scopes": ["write"]},
    )
    page = response.content.decode()
    secret = page.split('id="new-secret" class="secret-value" readonly value="')[1].split('"')[0]
    assert secret.startswith("fk_live_")
    key = ApiKey.objects.get(name="shop")
    assert key.scopes == ["read", "write"]
    assert find_active_key(secret) == key
    again = admin.get("/stammdaten/api-schluessel/").content.decode()
    assert secret not in again
    assert f"fk_live_{key.prefix}" in again
    response = admin.post(f"/stammdaten/api-schluessel/{key.pk}/widerrufen", follow=True)
    assert messages_of(response) == [
        "Der API-Schlüssel ist widerrufen; Anfragen damit werden abgelehnt."
    ]
    assert "widerrufen" in response.content.decode()
    assert find_active_key(secret) is None
    assert AuditEntry.objects.filter(action="api_key.revoked").exists()


@pytest.mark.django_db
def test_a_key_without_scope_is_refused_in_german(admin):
    owner = User.objects.get(username="chefin")
    response = admin.post("/stammdaten/api-schluessel/", {"name": "shop", "user": owner.pk})
    assert "Dieses Feld ist zwingend erforderlich." in response.content.decode()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_an_accountant_cannot_create_or_revoke_keys(client, company):
    owner = _login(client, "chefin", "admin")
    from faktura.api.keys import create_api_key

    key, secret = create_api_key(name="shop", user=owner, scopes=["read"])
    _login(client, "buchhaltung", "accountant")
    created = client.post(
        "/stammdaten/api-schluessel/", {"name": "heimlich", "user": owner.pk, "scopes": ["read"]}
    )
    revoked = client.post(f"/stammdaten/api-schluessel/{key.pk}/widerrufen")
    assert (created.status_code, revoked.status_code) == (403, 403)
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["shop"]
    assert find_active_key(secret) == key


# --- Webhooks -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_creates_disables_an_endpoint_and_sees_its_deliveries(admin):
    response = admin.post(
        "/stammdaten/webhooks/",
        {
            "url": "https://shop.example.de/hook",
            "description": "Shop",
            "events": ["invoice.finalized"],
        },
    )
    page = response.content.decode()
    assert "whsec_" in page
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["invoice.finalized"]
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="5f0c7a3e-1b8c-4c3a-9a43-4c1a8f5b0c11",
        event_type="invoice.finalized",
        payload={},
        status=WebhookDelivery.Status.FAILED,
        attempts=8,
        last_status_code=500,
        created_at=endpoint.created_at,
        created_by="system",
    )
    page = admin.get("/stammdaten/webhooks/").content.decode()
    assert "https://shop.example.de/hook" in page
    assert endpoint.secret not in page
    assert "Fehlgeschlagen" in page
    assert ">500<" in page
    response = admin.post(f"/stammdaten/webhooks/{endpoint.pk}/aktiv", {"active": "0"}, follow=True)
    assert messages_of(response) == [
        "Der Endpunkt ist deaktiviert; er bekommt keine neuen Ereignisse."
    ]
    endpoint.refresh_from_db()
    assert not endpoint.active


@pytest.mark.django_db
def test_a_plain_http_url_is_refused_in_german(admin):
    response = admin.post("/stammdaten/webhooks/", {"url": "http://shop.example.de/hook"})
    assert "Bitte geben Sie eine https-Adresse" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_accountant_cannot_create_or_disable_endpoints(client, company):
    from faktura.core.actors import Actor
    from faktura.webhooks.services import create_endpoint

    admin_user = _login(client, "chefin", "admin")
    endpoint, _secret = create_endpoint(
        actor=Actor.for_user(admin_user), url="https://shop.example.de/hook"
    )
    _login(client, "buchhaltung", "accountant")
    created = client.post("/stammdaten/webhooks/", {"url": "https://evil.example/hook"})
    disabled = client.post(f"/stammdaten/webhooks/{endpoint.pk}/aktiv", {"active": "0"})
    assert (created.status_code, disabled.status_code) == (403, 403)
    endpoint.refresh_from_db()
    assert endpoint.active
    assert WebhookEndpoint.objects.count() == 1
