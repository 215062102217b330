"""Bearer authentication with API keys, scope checks, and the Actor a request acts as."""

from __future__ import annotations

import dataclasses

from django.http import HttpRequest
from ninja.security import HttpBearer

from faktura.api import keys
from faktura.api.errors import AuthenticationFailed, InsufficientScope
from faktura.api.models import ApiKey
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
        keys.touch(api_key)
        return api_key


read_auth = ApiKeyAuth("read")
write_auth = ApiKeyAuth("write")


def actor_of(request: HttpRequest) -> Actor:
    """Return who acts: the key's user with its roles, named ``api:<key name>``.

    The label names the key, not the user, so the four-eyes check tells apart what one
    key created from what another key (or a person) approves.
    """
    api_key: ApiKey = request.auth  # type: ignore[attr-defined]
    actor = Actor.for_user(api_key.user)
    return dataclasses.replace(actor, label=f"api:{api_key.name}")
