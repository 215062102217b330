"""A JSON client with an API key of a user holding the given roles."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client

from faktura.api.keys import create_api_key


def key_client(username: str, *roles: str, scopes=("read", "write")) -> JsonClient:
    user = User.objects.create_user(username=username, password="unused-password-1")
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    _, secret = create_api_key(name=username, user=user, scopes=list(scopes))
    return JsonClient(secret)


class JsonClient(Client):
    def __init__(self, secret: str) -> None:
        super().__init__(headers={"authorization": f"Bearer {secret}"})

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        call = getattr(self, method.lower())
        if method.upper() == "GET":
            return call(f"/api/v1{path}", body or {}, headers=headers)
        data = body if isinstance(body, str) else json.dumps(body if body is not None else {})
        return call(f"/api/v1{path}", data=data, content_type="application/json", headers=headers)
