"""Who does something: every service takes an Actor, and the audit log names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ROLES = ("admin", "accountant", "approver", "cashier", "viewer")
# Not a staff role: a customer acting on their own account through the portal.
CUSTOMER = "customer"


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    # Set for a customer in the portal: they may act on this customer's account only.
    customer_id: int | None = None

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
    def for_customer(cls, customer_id: int, number: str) -> Actor:
        """A customer signed in to the portal, acting on their own account."""
        return cls(label=f"customer:{number}", roles=frozenset({CUSTOMER}), customer_id=customer_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        """A background run acting on its own (billing run, statement import)."""
        return cls(label=f"system:{name}", roles=frozenset({"admin"}))
