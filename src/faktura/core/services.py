"""Master data and settings changed in the back office: permitted, saved, audited."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from faktura.core import audit, permissions
from faktura.core.actors import Actor

FOUR_EYES_FIELD = "four_eyes_required"


def _value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "storage"):  # a file field
        return value.name or ""
    return value


def save_master_data(
    *, actor: Actor, instance: models.Model, changed: list[str] | None, operation: str
) -> models.Model:
    """Save a row of master data or settings (company, letterhead, payment settings …).

    ``changed`` names the changed fields (None: a new row, every field). Audits the fields
    before and after on the company chain. Switching the four-eyes principle needs its
    own operation (``settings.four_eyes``) and is audited as ``company.four_eyes_changed``
    with the old and the new value. Raises PermissionRefused before anything is written.
    """
    permissions.require(actor, operation)
    meta = instance._meta
    names = (
        [f.name for f in meta.concrete_fields if not f.primary_key]
        if changed is None
        else [name for name in changed if name in {f.name for f in meta.concrete_fields}]
    )
    if FOUR_EYES_FIELD in names:
        permissions.require(actor, "settings.four_eyes")
    with transaction.atomic():
        stored = (
            type(instance)._default_manager.select_for_update().filter(pk=instance.pk).first()
            if instance.pk is not None
            else None
        )
        before = {name: _value(getattr(stored, name)) for name in names} if stored else {}
        instance.save()
        after = {name: _value(getattr(instance, name)) for name in names}
        label = f"{meta.app_label}.{meta.model_name}"
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action=f"{meta.model_name}.{'changed' if stored else 'created'}",
            object_type=label,
            object_id=instance.pk,
            data={"before": before, "after": after},
        )
        if FOUR_EYES_FIELD in names and before.get(FOUR_EYES_FIELD) != after[FOUR_EYES_FIELD]:
            audit.record(
                chain=audit.COMPANY_CHAIN,
                actor=actor,
                action="company.four_eyes_changed",
                object_type=label,
                object_id=instance.pk,
                data={"old": before.get(FOUR_EYES_FIELD), "new": after[FOUR_EYES_FIELD]},
            )
    return instance


def delete_master_data(*, actor: Actor, instance: models.Model, operation: str) -> None:
    """Delete a row of master data (a letterhead, a CSV profile); audited with its values."""
    permissions.require(actor, operation)
    meta = instance._meta
    with transaction.atomic():
        values = {f.name: _value(getattr(instance, f.name)) for f in meta.concrete_fields}
        pk = instance.pk
        instance.delete()
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action=f"{meta.model_name}.deleted",
            object_type=f"{meta.app_label}.{meta.model_name}",
            object_id=pk,
            data={"before": values},
        )


def set_four_eyes(*, actor: Actor, required: bool) -> Any:
    """Switch the four-eyes principle on or off (admin only; audited with old and new)."""
    from faktura.core.models import Company

    company = Company.get()
    company.four_eyes_required = required
    return save_master_data(
        actor=actor, instance=company, changed=[FOUR_EYES_FIELD], operation="settings.four_eyes"
    )


def set_maintenance(*, actor: Actor, active: bool, message: str = "") -> Any:
    """Switch maintenance on or off for every process (admin only; audited).

    Locks the switch's row so two operators switching at once are serialized; switching to
    the state it is in already changes nothing and writes no audit entry. Raises
    PermissionRefused before anything is written.
    """
    from faktura.core import clock
    from faktura.core.models import MaintenanceMode

    permissions.require(actor, "maintenance.switch")
    message = message.strip()
    if len(message) > 500:
        from faktura.core.errors import InvalidInput

        raise InvalidInput("The maintenance message has at most 500 characters.", field="message")
    with transaction.atomic():
        MaintenanceMode.objects.get_or_create(pk=MaintenanceMode.SINGLETON)
        state = MaintenanceMode.objects.select_for_update().get(pk=MaintenanceMode.SINGLETON)
        if state.active == active and (not active or state.message == message):
            return state
        now = clock.now()
        before = {"active": state.active, "message": state.message}
        state.active = active
        state.message = message if active else ""
        if active and not before["active"]:
            state.since = now
        elif not active:
            state.since = None
        state.changed_by = actor.label
        state.changed_at = now
        state.save()
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="maintenance.switched_on" if active else "maintenance.switched_off",
            object_type="core.maintenancemode",
            object_id=state.pk,
            data={"before": before, "after": {"active": state.active, "message": state.message}},
        )
    return state
