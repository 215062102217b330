"""`faktura createapikey`: prints a key once, for the first superuser or a named user."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from faktura.api.keys import find_active_key

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("createapikey", *args, stdout=out)
    return out.getvalue()


def test_prints_a_working_key_for_the_first_superuser():
    admin = User.objects.create_superuser("admin", "admin@example.org", "unused-password-1")
    output = _run("shop")
    secret = next(line for line in output.splitlines() if line.startswith("fk_live_"))
    api_key = find_active_key(secret)
    assert api_key is not None
    assert (api_key.name, api_key.user, api_key.scopes) == ("shop", admin, ["read", "write"])
    assert "cannot be shown again" in output


def test_read_only_key_for_a_named_user():
    User.objects.create_user("vera", password="unused-password-1")
    output = _run("reporting", "--user", "vera", "--read-only")
    secret = next(line for line in output.splitlines() if line.startswith("fk_live_"))
    assert find_active_key(secret).scopes == ["read"]


def test_clear_error_without_such_user():
    with pytest.raises(CommandError, match="No superuser exists"):
        _run("shop")
    with pytest.raises(CommandError, match="No user 'nobody'"):
        _run("shop", "--user", "nobody")
