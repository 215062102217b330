"""Backup codes for the two-factor sign-in: made after the app is set up, shown once,
stored only as hashes, each good for one sign-in, replaced as a whole, audited."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from faktura.core import two_factor
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused, StateConflict
from faktura.core.models import AuditEntry, BackupCode, BackupCodeDevice
from tests.web.test_two_factor import _code, _confirmed_device, _person, _sign_in

pytestmark = pytest.mark.django_db

CODE = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


@pytest.fixture(autouse=True)
def _no_waiting(settings):
    # A wrong code makes the next try wait (django-otp's throttling, in real time).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_BACKUP_CODE_THROTTLE_FACTOR = 0


def _verified(client, user: User, device: TOTPDevice):
    """Signed in with password and the app's code, as the person would be."""
    _sign_in(client, user.username)
    assert client.post("/anmelden/code/", {"token": _code(device)}).status_code == 302
    return client


def _codes_for(user: User) -> list[str]:
    return two_factor.generate_backup_codes(actor=Actor.for_user(user), user_id=user.pk)


def _page(response) -> str:
    return " ".join(response.content.decode().replace("\xa0", " ").split())


def test_after_the_app_a_person_makes_ten_codes_that_are_shown_once(client, company):
    anna = _person("anna")
    client = _verified(client, anna, _confirmed_device(anna))
    page = _page(client.get("/zwei-faktor/"))
    assert "Sie haben noch keine Ersatzcodes erzeugt." in page
    assert '<form method="post" action="/zwei-faktor/ersatzcodes/">' in page
    assert "Ersatzcodes erzeugen</button>" in page

    made = client.post("/zwei-faktor/ersatzcodes/")

    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    codes = CODE.findall(made.content.decode())
    assert len(codes) == len(set(codes)) == 10
    assert "Diese Codes sehen Sie nur jetzt." in _page(made)
    # Only hashes are kept: no code is anywhere in the tables or the audit log.
    stored = list(BackupCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert all(len(h) == 64 for h in stored)
    entry = AuditEntry.objects.get(action="two_factor.backup_codes_generated")
    assert (entry.actor, entry.object_id) == ("user:anna", str(anna.pk))
    assert entry.data == {"count": 10, "unused_replaced": 0}
    for code in codes:
        plain = code.replace("-", "")
        assert not any(plain in h or code in h for h in stored)
        assert code not in str(entry.data)

    page = _page(client.get("/zwei-faktor/"))
    assert '<p id="backup-codes-left">Noch 10 von 10 Ersatzcodes unbenutzt.</p>' in page
    assert "Neue Ersatzcodes erzeugen</button>" in page
    # The codes are not shown a second time.
    again = client.get("/zwei-faktor/ersatzcodes/")
    assert (again.status_code, again["Location"]) == (302, "/zwei-faktor/")


def test_a_backup_code_signs_in_once_and_not_twice(client, company):
    anna = _person("anna")
    _confirmed_device(anna)
    first, second = _codes_for(anna)[:2]

    _sign_in(client, "anna")
    assert client.get("/rechnungen/").status_code == 302
    typed = first.upper().replace("-", " ")  # as read out from paper: any case, spaces
    used = client.post("/anmelden/code/", {"token": typed, "next": "/rechnungen/"}, follow=True)
    assert used.redirect_chain == [("/rechnungen/", 302)]
    assert [str(m) for m in used.context["messages"]] == [
        "Sie haben sich mit einem Ersatzcode angemeldet. Es bleiben noch 9 Ersatzcodes."
    ]
    assert client.get("/rechnungen/").status_code == 200
    entry = AuditEntry.objects.get(action="two_factor.backup_code_used")
    assert (entry.actor, entry.data) == ("user:anna", {"remaining": 9})

    client.post("/logout/")
    _sign_in(client, "anna")
    twice = client.post("/anmelden/code/", {"token": first, "next": "/rechnungen/"})
    assert twice.status_code == 422
    assert "Dieser Ersatzcode gilt nicht oder wurde schon verwendet." in _page(twice)
    assert client.get("/rechnungen/").status_code == 302
    assert AuditEntry.objects.filter(action="two_factor.backup_code_used").count() == 1

    assert client.post("/anmelden/code/", {"token": second}).status_code == 302
    page = _page(client.get("/zwei-faktor/"))
    assert '<p id="backup-codes-left">Noch 8 von 10 Ersatzcodes unbenutzt.</p>' in page


def test_new_codes_replace_the_old_ones(client, company):
    anna = _person("anna")
    _confirmed_device(anna)
    old = _codes_for(anna)
    new = _codes_for(anna)
    assert not set(old) & set(new)
    assert BackupCode.objects.count() == 10
    latest = AuditEntry.objects.filter(action="two_factor.backup_codes_generated").latest("pk")
    assert latest.data == {"count": 10, "unused_replaced": 10}

    _sign_in(client, "anna")
    assert client.post("/anmelden/code/", {"token": old[0]}).status_code == 422
    assert client.post("/anmelden/code/", {"token": new[0]}).status_code == 302


def test_codes_come_only_after_the_app_is_set_up(client, company):
    anna = _person("anna")
    client.force_login(anna)
    assert "Ersatzcodes" not in _page(client.get("/zwei-faktor/"))

    refused = client.post("/zwei-faktor/ersatzcodes/", follow=True)

    assert [str(m) for m in refused.context["messages"]] == [
        "Ersatzcodes gibt es erst, wenn die Authenticator-App eingerichtet ist."
    ]
    assert not BackupCodeDevice.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="two_factor.backup").exists()
    with pytest.raises(StateConflict) as error:
        _codes_for(anna)
    assert error.value.code == "two_factor_not_active"


def test_a_person_makes_codes_only_for_themselves(company):
    anna, ben = _person("anna"), _person("ben", role="admin")
    _confirmed_device(anna)
    with pytest.raises(PermissionRefused):
        two_factor.generate_backup_codes(actor=Actor.for_user(ben), user_id=anna.pk)
    assert not BackupCodeDevice.objects.exists()


def test_wrong_backup_codes_are_throttled_and_leave_the_app_alone(client, company, settings):
    settings.OTP_BACKUP_CODE_THROTTLE_FACTOR = 600
    anna = _person("anna")
    device = _confirmed_device(anna)
    codes = _codes_for(anna)
    _sign_in(client, "anna")

    assert client.post("/anmelden/code/", {"token": "aaaaa-aaaaa"}).status_code == 422
    # Now even a right code waits: guessing is slowed down, and nothing was spent.
    assert client.post("/anmelden/code/", {"token": codes[0]}).status_code == 422
    assert two_factor.remaining_backup_codes(anna.pk) == 10
    # The app's codes are another device: a wrong backup code does not hold them up.
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert client.post("/anmelden/code/", {"token": _code(device)}).status_code == 302


def test_used_up_codes_no_longer_count_as_a_second_factor(company):
    anna = _person("anna")
    device = _confirmed_device(anna)
    codes = _codes_for(anna)
    device.delete()  # the admin removed the lost phone's app
    assert user_has_device(anna)  # the codes still sign in
    backup = BackupCodeDevice.objects.get(user=anna)
    for code in codes:
        assert two_factor.verify_second_factor(user=anna, token=code) == backup
    assert two_factor.remaining_backup_codes(anna.pk) == 0
    assert not user_has_device(anna)  # nobody is asked for a code that no longer exists
    assert two_factor.verify_second_factor(user=anna, token=codes[0]) is None
    assert two_factor.verify_second_factor(user=anna, token="kein code") is None


def test_the_gate_asks_one_query_for_the_second_factor(company, django_assert_num_queries):
    anna = _person("anna")
    with django_assert_num_queries(1):
        assert not two_factor.has_second_factor(anna)
    device = _confirmed_device(anna)
    assert two_factor.has_second_factor(anna)
    codes = _codes_for(anna)
    device.delete()
    assert two_factor.has_second_factor(anna)  # the unused backup codes
    for code in codes:
        two_factor.verify_second_factor(user=anna, token=code)
    assert not two_factor.has_second_factor(anna)
