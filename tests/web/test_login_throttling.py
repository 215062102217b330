"""Too many wrong passwords lock the sign-in (django-axes), on the back office and the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import RequestFactory

pytestmark = pytest.mark.django_db

PASSWORD = "richtig-12345"


@pytest.fixture
def anna(company):
    user = User.objects.create_user("anna", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="accountant")[0])
    return user


def _fail(client, url: str, times: int, username: str = "anna") -> list[int]:
    return [
        client.post(url, {"username": username, "password": "falsch"}).status_code
        for _ in range(times)
    ]


def test_five_wrong_passwords_lock_and_the_right_one_is_then_refused(client, anna, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    statuses = _fail(client, "/login/", 4)
    assert statuses == [200, 200, 200, 200]  # the form again, "Benutzername oder Passwort …"

    locked = client.post("/login/", {"username": "anna", "password": "falsch"})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Anmeldung vorübergehend gesperrt" in page
    assert "Nach 5 fehlgeschlagenen Anmeldeversuchen" in page
    assert "in 15 Minuten erneut" in page

    right = client.post("/login/", {"username": "anna", "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still signed out


def test_a_correct_password_before_the_limit_resets_the_count(client, anna):
    _fail(client, "/login/", 4)
    assert client.post("/login/", {"username": "anna", "password": PASSWORD}).status_code == 302
    client.logout()
    assert _fail(client, "/login/", 4) == [200, 200, 200, 200]


def test_the_reset_command_lifts_the_lock(client, anna):
    _fail(client, "/login/", 5)
    assert client.post("/login/", {"username": "anna", "password": PASSWORD}).status_code == 429

    call_command("axes_reset_username", "anna")

    response = client.post("/login/", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_lock_ends_after_the_cool_off(client, anna):
    from axes.models import AccessAttempt

    _fail(client, "/login/", 5)
    assert client.post("/login/", {"username": "anna", "password": PASSWORD}).status_code == 429
    # The failures happened 16 minutes ago: the 15-minute cool-off has passed.
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))

    response = client.post("/login/", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302


def test_the_lock_is_per_user_name(client, anna):
    User.objects.create_user("ben", password=PASSWORD)
    _fail(client, "/login/", 5)
    assert client.post("/login/", {"username": "ben", "password": PASSWORD}).status_code == 302


def test_the_admin_login_is_throttled_too(client, company):
    User.objects.create_superuser("chef", "chef@example.org", PASSWORD)
    url = "/admin/login/?next=/admin/"
    assert _fail(client, url, 4, "chef") == [200, 200, 200, 200]
    assert _fail(client, url, 1, "chef") == [429]
    response = client.post(url, {"username": "chef", "password": PASSWORD})
    assert response.status_code == 429
    assert "Anmeldung vorübergehend gesperrt" in response.content.decode()


def test_a_sesame_link_still_signs_in_through_the_axes_backend(anna, settings):
    """The portal signs in with django-sesame; axes stands first and must let it pass."""
    from django.contrib.sessions.middleware import SessionMiddleware
    from sesame.utils import get_query_string, get_user

    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "sesame.backends.ModelBackend",
    ]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    request = RequestFactory().get("/portal/" + get_query_string(anna))
    SessionMiddleware(lambda r: None).process_request(request)

    assert get_user(request) == anna
    bad = RequestFactory().get("/portal/?sesame=kaputt")
    assert get_user(bad) is None
