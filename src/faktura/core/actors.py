"""Who does something: every service takes an Actor, and the audit log names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ROLES = ("admin", "accountant", "approver", "cashier", "viewer")


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    @classmethod
    def for_user(cls, user: AbstractBaseUser | AnonymousUser) -> Actor:
        if not user.is_authenticated:
            raise ValueError("An anonymous user cannot act")
        roles = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        if getattr(user, "is_superuser", False):
            roles.add("admin")
        return cls(
            label=f"user:{user.get_username()}",
            user_id=user.pk,
            roles=frozenset(r for r in roles if r in ROLES),
        )

    @classmethod
    def system(cls, name: str) -> Actor:
        """A background run acting on its own (billing run, statement import)."""
        return cls(label=f"system:{name}", roles=frozenset({"admin"}))
