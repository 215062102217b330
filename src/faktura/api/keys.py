"""Create, find and revoke API keys; the secret is shown once and only its hash is kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from django.db import transaction

from faktura.api.models import SCOPES, ApiKey
from faktura.core import audit, clock, permissions, prepared
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SECRET_MARKER = "fk_live_"  # noqa: S105 (a marker, not a secret)
PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """Return the scopes in canonical order; writing implies reading."""
    wanted = set(scopes)
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise InvalidInput(
            f"Scopes must be a non-empty selection of {', '.join(SCOPES)}.",
            code="invalid_scopes",
            field="scopes",
        )
    if "write" in wanted:
        wanted.add("read")
    return [scope for scope in SCOPES if scope in wanted]


def assign_new_secret(api_key: ApiKey) -> str:
    """Give ``api_key`` a fresh secret (hash and prefix set, not saved); return the secret."""
    token = secrets.token_urlsafe(32)
    api_key.prefix = token[:PREFIX_LENGTH]
    secret = SECRET_MARKER + token
    api_key.key_hash = hash_secret(secret)
    return secret


def create_api_key(
    *, name: str, user: AbstractBaseUser, scopes: Iterable[str], actor: Actor | None = None
) -> tuple[ApiKey, str]:
    """Create a key acting as ``user``; return it with its secret, which is never stored.

    ``actor`` is who creates it in the back office (``api_key.manage``: admins only);
    the ``createapikey`` command runs as the operator and passes none.
    """
    if actor is not None:
        permissions.require(actor, "api_key.manage")
    if not name.strip():
        raise InvalidInput("An API key needs a name.", code="invalid_name", field="name")
    api_key = ApiKey(
        name=name.strip()[:100],
        scopes=normalize_scopes(scopes),
        user_id=user.pk,
        created_at=clock.now(),
    )
    secret = assign_new_secret(api_key)
    with transaction.atomic():
        api_key.save()
        if actor is not None:
            audit.record(
                chain=audit.COMPANY_CHAIN,
                actor=actor,
                action="api_key.created",
                object_type="api.apikey",
                object_id=api_key.pk,
                data={"name": api_key.name, "scopes": api_key.scopes, "user": user.pk},
            )
    return api_key, secret


def find_active_key(secret: str) -> ApiKey | None:
    """Return the unrevoked key with this secret, or None.

    Looking up by hash needs no constant-time comparison: the lookup never compares the
    secret itself, and the hash of a guess reveals nothing about the stored one.
    """
    if not secret.startswith(SECRET_MARKER):
        return None
    # Asked on every API request: one prepared query (the ORM's compiling and the
    # database's planning cost more than the lookup); the owner is read only when a
    # request acts as them.
    found = prepared.instances(ApiKey, "k", _active_key_tail(), [hash_secret(secret)])
    return found[0] if found else None


@cache
def _active_key_tail() -> str:
    from django.contrib.auth import get_user_model

    key, user = ApiKey._meta.db_table, get_user_model()._meta.db_table
    return (
        f"{key} k JOIN {user} u ON u.id = k.user_id "
        "WHERE k.key_hash = %s AND k.revoked_at IS NULL AND u.is_active"
    )


def touch(api_key: ApiKey) -> None:
    """Record that the key was used, at most once per minute."""
    now = clock.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def revoke_api_keys(key_ids: Iterable[int]) -> int:
    """Revoke keys at once (every later request with them fails with 401); return how many."""
    with transaction.atomic():
        return ApiKey.objects.filter(pk__in=list(key_ids), revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )


def revoke_api_key(*, key_id: int, actor: Actor) -> ApiKey:
    """Revoke one key (admins only; audited): every later request with it fails with 401.

    Revoking a revoked key changes nothing. Raises NotFound api_key_not_found.
    """
    permissions.require(actor, "api_key.manage")
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(pk=key_id).first()
        if api_key is None:
            raise NotFound(f"No API key {key_id}.", code="api_key_not_found")
        if api_key.revoked_at is not None:
            return api_key
        api_key.revoked_at = clock.now()
        api_key.save(update_fields=["revoked_at"])
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="api_key.revoked",
            object_type="api.apikey",
            object_id=api_key.pk,
            data={"name": api_key.name, "prefix": api_key.prefix},
        )
    return api_key
