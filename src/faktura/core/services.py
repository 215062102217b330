"""Master data and settings changed in the back office: permitted, saved, audited."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from faktura.core import audit, permissions
from faktura.core.actors import Actor

FOUR_EYES_FIELD = "four_eyes_required"
TWO_FACTOR_FIELD = "two_factor_required"


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
    if TWO_FACTOR_FIELD in names:
        permissions.require(actor, "settings.two_factor")
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


def set_two_factor_required(*, actor: Actor, required: bool) -> Any:
    """Require two-factor sign-in of every staff member, or not (admin only; audited)."""
    from faktura.core.models import Company

    permissions.require(actor, "settings.two_factor")
    company = Company.get()
    company.two_factor_required = required
    return save_master_data(
        actor=actor,
        instance=company,
        changed=[TWO_FACTOR_FIELD],
        operation="settings.two_factor",
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


def start_totp_enrolment(*, actor: Actor, user_id: int) -> Any:
    """Return the user's unconfirmed TOTP device, creating it with a new secret if none.

    A person sets up only their own second factor. A user with a confirmed device gets
    StateConflict (remove it in the admin first). Raises PermissionRefused otherwise.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from faktura.core.errors import StateConflict

    _require_own_two_factor(actor, user_id)
    with transaction.atomic():
        _lock_user(user_id)
        devices = TOTPDevice.objects.filter(user_id=user_id)
        if devices.filter(confirmed=True).exists():
            raise StateConflict("Two-factor sign-in is set up already", code="two_factor_active")
        device = devices.filter(confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user_id=user_id, name="Faktura", confirmed=False)
            audit.record(
                chain=audit.COMPANY_CHAIN,
                actor=actor,
                action="two_factor.enrolment_started",
                object_type="auth.user",
                object_id=user_id,
            )
    return device


def confirm_totp_device(*, actor: Actor, user_id: int, token: str) -> Any:
    """Confirm the user's new TOTP device with a code from the app; audited.

    Raises InvalidInput (nothing changed) when the code is not six digits or does not match,
    StateConflict when no set-up was started, PermissionRefused for another person's device.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from faktura.core.errors import InvalidInput, StateConflict

    _require_own_two_factor(actor, user_id)
    token = token.strip().replace(" ", "")
    if not (token.isdigit() and len(token) == 6):
        raise InvalidInput("The code has six digits", code="two_factor_code_format", field="token")
    with transaction.atomic():
        _lock_user(user_id)
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user_id=user_id, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise StateConflict("No set-up was started", code="two_factor_not_started")
        if not device.verify_token(token):
            raise InvalidInput(
                "The code does not match", code="two_factor_code_wrong", field="token"
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user_id=user_id, confirmed=False).delete()
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="two_factor.enrolled",
            object_type="auth.user",
            object_id=user_id,
        )
    return device


def _require_own_two_factor(actor: Actor, user_id: int) -> None:
    from faktura.core.errors import InvalidInput, PermissionRefused

    permissions.require(actor, "two_factor.enrol")
    if actor.user_id is None:
        raise InvalidInput(
            "Only a signed-in person has a second factor", code="two_factor_no_person"
        )
    if actor.user_id != user_id:
        raise PermissionRefused(
            "A person sets up only their own second factor", code="two_factor_own_only"
        )


def _lock_user(user_id: int) -> None:
    from django.contrib.auth import get_user_model

    get_user_model()._default_manager.select_for_update().filter(pk=user_id).first()
