"""ModelAdmin bases that ask the permission matrix, never Django's model permissions alone.

Every back-office page offers add, change, delete and each action only when
``core.permissions`` lets the signed-in person do the operation behind it; the service
refuses anyway. Master-data rows are saved and deleted through ``core.services`` so that
each change is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest

from faktura.core import permissions
from faktura.core.actors import Actor
from faktura.core.errors import DomainError


def actor_of(request: HttpRequest) -> Actor | None:
    """The signed-in staff person as an Actor, or None (anonymous, inactive, not staff)."""
    user = request.user
    if not user.is_authenticated or not user.is_active or not getattr(user, "is_staff", False):
        return None
    return Actor.for_user(user)


def allows(request: HttpRequest, operation: str | None) -> bool:
    if operation is None:
        return False
    actor = actor_of(request)
    return actor is not None and permissions.allows(actor, operation)


class MatrixAdmin(admin.ModelAdmin):
    """add / change / delete and the actions as the matrix says (``ADMIN_RULES``)."""

    def rule(self, action: str) -> str | None:
        meta = self.model._meta
        return permissions.admin_rule(meta.app_label, meta.model_name or "", action)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return allows(request, self.rule("add"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allows(request, self.rule("change"))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allows(request, self.rule("delete"))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        return {
            name: action
            for name, action in actions.items()
            if name == "delete_selected" or allows(request, permissions.ADMIN_ACTIONS.get(name))
        }


class ReadOnlyAdmin(MatrixAdmin):
    """Rows written by services only: the admin shows them, it never edits them."""


class MasterDataAdmin(MatrixAdmin):
    """Settings and master data edited in place: saved and deleted through the service."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        from faktura.core import services

        actor = actor_of(request)
        if actor is None:  # pragma: no cover - the admin signs in staff only
            return
        services.save_master_data(
            actor=actor,
            instance=obj,
            changed=list(form.changed_data) if change else None,
            operation=self.rule("change" if change else "add") or "master_data.change",
        )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        from faktura.core import services

        actor = actor_of(request)
        if actor is None:  # pragma: no cover
            return
        services.delete_master_data(
            actor=actor, instance=obj, operation=self.rule("delete") or "master_data.change"
        )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset.order_by("pk"):
            try:
                self.delete_model(request, obj)
            except DomainError as error:
                messages.error(request, f"{obj}: {error.message}")


class MatrixInline(admin.TabularInline):
    """An inline that may be edited as far as its parent page may be changed."""

    parent_operation = "master_data.change"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allows(request, self.parent_operation)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allows(request, self.parent_operation)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allows(request, self.parent_operation)
