"""Optional TOTP second factor: set-up in the back office, the code after the password, the
admin behind it too, and the company-wide requirement."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from faktura.core import services
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.core.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "richtig-12345"


def _code(device: TOTPDevice, *, drift: int = 0) -> str:
    """The code the authenticator app shows now (TOTP, RFC 6238)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:0{device.digits}d}"


def _person(name: str, role: str = "accountant", **extra) -> User:
    user = User.objects.create_user(name, password=PASSWORD, **extra)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _confirmed_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Faktura", confirmed=True)


def _sign_in(client, name: str) -> None:
    response = client.post("/login/", {"username": name, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def test_a_user_sets_up_totp_and_confirms_it_with_a_code(client, company, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the wrong code below would delay the right one
    anna = _person("anna")
    client.force_login(anna)
    page = client.get("/zwei-faktor/").content.decode()
    assert "Noch nicht eingerichtet" in page

    client.post("/zwei-faktor/", {"action": "start"})
    page = client.get("/zwei-faktor/").content.decode()
    device = TOTPDevice.objects.get(user=anna)
    assert not device.confirmed
    assert 'src="data:image/svg+xml' in page
    assert 'alt="QR-Code zum Einrichten der Authenticator-App"' in page
    assert "otpauth://" not in page  # the secret travels only inside the QR code …
    secret = page.split('class="secret">')[1].split("<")[0]
    assert len(secret) == 32  # … and once for typing in

    wrong = client.post("/zwei-faktor/", {"action": "confirm", "token": "000000"})
    assert wrong.status_code == 422
    assert "Der Code stimmt nicht." in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    done = client.post("/zwei-faktor/", {"action": "confirm", "token": _code(device)}, follow=True)
    device.refresh_from_db()
    assert device.confirmed
    assert "Die Zwei-Faktor-Anmeldung ist eingerichtet." in done.content.decode()
    assert AuditEntry.objects.filter(action="two_factor.enrolled", object_id=str(anna.pk)).exists()
    # The session that confirmed the device counts as verified.
    assert client.get("/").status_code == 200


def test_a_code_with_letters_is_refused_with_a_clear_message(client, company):
    anna = _person("anna")
    client.force_login(anna)
    client.post("/zwei-faktor/", {"action": "start"})
    response = client.post("/zwei-faktor/", {"action": "confirm", "token": "12ab56"})
    assert "Bitte geben Sie den sechsstelligen Code aus der App ein." in response.content.decode()
    assert not TOTPDevice.objects.get(user=anna).confirmed


def test_with_a_device_the_code_is_asked_after_the_password(client, company, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the wrong code below would delay the right one
    anna = _person("anna")
    device = _confirmed_device(anna)
    _sign_in(client, "anna")

    response = client.get("/rechnungen/")
    assert response.status_code == 302
    assert response["Location"] == "/anmelden/code/?next=%2Frechnungen%2F"
    assert client.get("/kunden/").status_code == 302
    page = client.get("/anmelden/code/").content.decode()
    assert "sechsstelligen Code" in page

    wrong = client.post("/anmelden/code/", {"token": "123456", "next": "/rechnungen/"})
    assert wrong.status_code == 422
    assert "Der Code stimmt nicht." in wrong.content.decode()
    assert client.get("/rechnungen/").status_code == 302

    right = client.post("/anmelden/code/", {"token": _code(device), "next": "/rechnungen/"})
    assert right.status_code == 302
    assert right["Location"] == "/rechnungen/"
    assert client.get("/rechnungen/").status_code == 200


def test_the_verification_does_not_redirect_elsewhere(client, company):
    anna = _person("anna")
    device = _confirmed_device(anna)
    _sign_in(client, "anna")
    response = client.post(
        "/anmelden/code/", {"token": _code(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_a_user_without_device_signs_in_with_the_password_alone(client, company):
    _person("anna")
    _sign_in(client, "anna")
    assert client.get("/rechnungen/").status_code == 200


def test_the_admin_asks_a_superuser_with_a_device_for_the_code(client, company):
    chef = User.objects.create_superuser("chef", "chef@example.org", PASSWORD)
    device = _confirmed_device(chef)
    client.post("/admin/login/?next=/admin/", {"username": "chef", "password": PASSWORD})

    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/code/")

    client.post("/anmelden/code/", {"token": _code(device)})
    assert client.get("/admin/").status_code == 200


def test_the_company_may_require_two_factor_for_all_staff(client, company):
    chef = User.objects.create_superuser("chef", "chef@example.org", PASSWORD)
    services.set_two_factor_required(actor=Actor.for_user(chef), required=True)
    entry = AuditEntry.objects.filter(action="company.changed").latest("pk")
    assert entry.data["after"] == {"two_factor_required": True}

    _person("anna")
    _sign_in(client, "anna")
    response = client.get("/rechnungen/")
    assert response.status_code == 302
    assert response["Location"].startswith("/zwei-faktor/?next=")
    page = client.get("/zwei-faktor/").content.decode()
    assert "Ihr Unternehmen verlangt die Zwei-Faktor-Anmeldung." in page

    client.post("/zwei-faktor/", {"action": "start"})
    device = TOTPDevice.objects.get(user__username="anna")
    client.post("/zwei-faktor/", {"action": "confirm", "token": _code(device)})
    assert client.get("/rechnungen/").status_code == 200


def test_only_an_admin_may_require_two_factor(company):
    accountant = Actor(label="user:anna", user_id=None, roles=frozenset({"accountant"}))
    with pytest.raises(PermissionRefused):
        services.set_two_factor_required(actor=accountant, required=True)
    company.refresh_from_db()
    assert company.two_factor_required is False


def test_nobody_sets_up_a_device_for_someone_else(company):
    anna, ben = _person("anna"), _person("ben")
    with pytest.raises(PermissionRefused) as refused:
        services.start_totp_enrolment(actor=Actor.for_user(anna), user_id=ben.pk)
    assert refused.value.code == "two_factor_own_only"
    assert not TOTPDevice.objects.exists()


def test_a_code_used_once_is_not_accepted_again(client, company):
    anna = _person("anna")
    device = _confirmed_device(anna)
    code = _code(device)
    _sign_in(client, "anna")
    assert client.post("/anmelden/code/", {"token": code}).status_code == 302
    client.post("/logout/")

    _sign_in(client, "anna")
    replay = client.post("/anmelden/code/", {"token": code})
    assert replay.status_code == 422


def test_wrong_codes_slow_down_even_the_right_one(client, company):
    anna = _person("anna")
    device = _confirmed_device(anna)
    _sign_in(client, "anna")
    for _ in range(3):
        client.post("/anmelden/code/", {"token": "000000"})

    # Throttled (django-otp: 1, 2, 4 … seconds after each failure): refused, still signed out.
    assert client.post("/anmelden/code/", {"token": _code(device)}).status_code == 422
    assert client.get("/rechnungen/").status_code == 302


def test_the_code_is_accepted_during_maintenance(client, company):
    chef = User.objects.create_superuser("chef", "chef@example.org", PASSWORD)
    device = _confirmed_device(chef)
    services.set_maintenance(actor=Actor.system("test"), active=True)
    _sign_in(client, "chef")

    response = client.post("/anmelden/code/", {"token": _code(device), "next": "/admin/"})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200  # where maintenance is switched off
