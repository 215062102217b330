"""The staff roles as Django groups with their permissions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

APPS = (
    "core",
    "customers",
    "catalog",
    "sales",
    "invoicing",
    "payments",
    "collection",
    "banking",
    "documents",
    "notifications",
    "api",
    "subscriptions",
    "dunning",
    "access",
    "webhooks",
    "scheduling",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "admin": ("add", "change", "delete", "view"),
    "accountant": ("add", "change", "view"),
    "cashier": ("view",),
    "approver": ("view",),
    "viewer": ("view",),
}


def ensure_roles(**_: Any) -> None:
    """Create the role groups and give them their permissions (idempotent)."""
    permissions = Permission.objects.filter(content_type__app_label__in=APPS)
    for role, actions in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [p for p in permissions if p.codename.split("_", 1)[0] in actions]
        if role in ("approver", "admin"):
            wanted += [p for p in permissions if p.codename == "approve_invoice"]
        group.permissions.set(wanted)
