"""Bearer authentication with API keys, scope checks, and the Actor a request acts as."""

from __future__ import annotations

import dataclasses

from django.http import HttpRequest
from ninja.security import HttpBearer

from faktura.api import keys
from faktura.api import permissions as routes
from faktura.api.errors import AuthenticationFailed, InsufficientScope
from faktura.api.models import ApiKey
from faktura.core import permissions
from faktura.core.actors import Actor


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer fk_live_…``; ``scope`` is what the operation needs."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        api_key = keys.find_active_key(token.strip())
        if api_key is None:
            raise AuthenticationFailed("The API key is unknown or was revoked.")
        if not api_key.has_scope(self.scope):
            raise InsufficientScope(
                f"This key lacks the {self.scope!r} scope (it has: {', '.join(api_key.scopes)})."
            )
        if self.scope == "write":
            # Effective permission = the key's scopes ∩ its owner's roles, asked before the
            # body is read (the services check again).
            operation = routes.operation_of(request)
            if operation is not None:
                permissions.require(
                    dataclasses.replace(Actor.for_user(api_key.user), label=f"api:{api_key.name}"),
                    operation,
                )
        keys.touch(api_key)
        return api_key


read_auth = ApiKeyAuth("read")
write_auth = ApiKeyAuth("write")


def actor_of(request: HttpRequest) -> Actor:
    """Return who acts: the key's owner with its roles, named ``api:<key name>``.

    The label names the key (the audit log shows which key acted); ``user_id`` names the
    person, so the four-eyes check sees one person behind two keys, or behind a key and
    a login. Effective permission = the key's scopes ∩ its owner's roles: a key without
    the write scope carries no role, so no service lets it change anything.
    """
    api_key: ApiKey = request.auth  # type: ignore[attr-defined]
    actor = Actor.for_user(api_key.user)
    roles = actor.roles if api_key.has_scope("write") else frozenset[str]()
    return dataclasses.replace(actor, label=f"api:{api_key.name}", roles=roles)


def preview_actor_of(request: HttpRequest) -> Actor:
    """Who asks for a preview (``billing.preview``): the key's owner with its roles.

    A preview computes and writes nothing, so the read scope suffices, and the owner's
    roles decide as the matrix says — unlike :func:`actor_of`, which gives a read-only key
    no role, because every service it is passed to may write.
    """
    api_key: ApiKey = request.auth  # type: ignore[attr-defined]
    actor = Actor.for_user(api_key.user)
    return dataclasses.replace(actor, label=f"api:{api_key.name}")
