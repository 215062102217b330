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


def save_master_data_rows(
    *,
    actor: Actor,
    rows: list[tuple[models.Model, list[str] | None]],
    removed: list[models.Model] | None = None,
    operation: str = "master_data.change",
) -> None:
    """Save several rows of one settings page at once (company and its bank accounts …).

    All or nothing: one transaction; each row audited like ``save_master_data``.
    Raises PermissionRefused before anything is written.
    """
    permissions.require(actor, operation)
    with transaction.atomic():
        for instance, changed in rows:
            if changed == []:
                continue
            save_master_data(actor=actor, instance=instance, changed=changed, operation=operation)
        for instance in removed or []:
            delete_master_data(actor=actor, instance=instance, operation=operation)


# --- number ranges ------------------------------------------------------------------------


def change_number_range(
    *, actor: Actor, kind: str, pattern: str, yearly_reset: bool | None = None
) -> Any:
    """Change the pattern of a number range (and, before its first number, its reset).

    § 14 (4) no. 4 UStG: numbers stay unique and consecutive. The counter is never touched,
    so the next number continues the sequence under the new pattern. Refused (InvalidInput
    ``invalid_number_pattern``) when the pattern cannot number (no {seq}, unknown
    placeholder, longer than 30 characters), when a range that starts anew each year has no
    {year} (numbers of two years would collide) or when another range has the same pattern
    (``number_pattern_taken``); and (StateConflict ``number_range_in_use``) when the reset
    is changed after numbers were taken, or when the new pattern's next number was given
    already. Locks the range; audited.
    """
    from django.core.exceptions import ValidationError

    from faktura.core import clock
    from faktura.core.errors import InvalidInput, NotFound, StateConflict
    from faktura.core.models import NumberCounter, NumberRange

    permissions.require(actor, "master_data.change")
    pattern = (pattern or "").strip()
    with transaction.atomic():
        number_range = NumberRange.objects.select_for_update().filter(kind=kind).first()
        if number_range is None:
            raise NotFound(f"No number range {kind!r}.", code="number_range_missing")
        before = {"pattern": number_range.pattern, "yearly_reset": number_range.yearly_reset}
        counters = dict(
            NumberCounter.objects.select_for_update()
            .filter(number_range=number_range)
            .values_list("period", "last_value")
        )
        in_use = any(counters.values())
        if yearly_reset is not None and yearly_reset != number_range.yearly_reset:
            if in_use:
                raise StateConflict(
                    "The yearly reset cannot change once numbers were taken.",
                    code="number_range_in_use",
                    field="yearly_reset",
                )
            number_range.yearly_reset = yearly_reset
        number_range.pattern = pattern
        try:
            number_range.clean()
        except ValidationError as error:
            raise InvalidInput(
                " ".join(error.messages), code="invalid_number_pattern", field="pattern"
            ) from None
        if number_range.yearly_reset and "{year" not in pattern:
            raise InvalidInput(
                "A range that starts anew each year needs {year} in its pattern.",
                code="invalid_number_pattern",
                field="pattern",
            )
        if NumberRange.objects.filter(pattern=pattern).exclude(pk=number_range.pk).exists():
            raise InvalidInput(
                "Another number range has this pattern; their numbers would collide.",
                code="number_pattern_taken",
                field="pattern",
            )
        if pattern != before["pattern"]:
            year = clock.today().year
            period = year if number_range.yearly_reset else 0
            upcoming = number_range.format(year=year, seq=counters.get(period, 0) + 1)
            if _number_taken(kind, upcoming):
                raise StateConflict(
                    f"The new pattern would give {upcoming} again.",
                    code="number_range_in_use",
                    field="pattern",
                )
        after = {"pattern": number_range.pattern, "yearly_reset": number_range.yearly_reset}
        if after == before:
            return number_range
        number_range.save(update_fields=["pattern", "yearly_reset"])
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="numberrange.changed",
            object_type="core.numberrange",
            object_id=number_range.pk,
            data={"before": before, "after": after},
        )
    return number_range


def _number_taken(kind: str, number: str) -> bool:
    from faktura.core.models import NumberRange

    if kind == NumberRange.Kind.CUSTOMER:
        from faktura.customers.models import Customer

        return Customer.objects.filter(number=number).exists()
    if kind == NumberRange.Kind.DUNNING_NOTICE:
        return False  # notices carry no number of their own yet
    from faktura.invoicing.models import Invoice

    return Invoice.objects.filter(number=number).exists()


# --- staff users and their roles ----------------------------------------------------------


def _roles(values: Any) -> list[str]:
    from faktura.core.actors import ROLES
    from faktura.core.errors import InvalidInput

    wanted = [value for value in ROLES if value in set(values)]
    if not wanted or set(values) - set(ROLES):
        raise InvalidInput(
            f"roles: a non-empty selection of {', '.join(ROLES)}.",
            code="invalid_roles",
            field="roles",
        )
    return wanted


def _other_active_admins(user_id: int) -> bool:
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name="admin") | Q(is_superuser=True))
        .exclude(pk=user_id)
        .exists()
    )


def create_user(*, actor: Actor, username: str, email: str, password: str, roles: Any) -> Any:
    """Create a staff user with roles (Django groups of ``core.roles``; admin only; audited).

    Raises InvalidInput invalid_username (empty, taken, not letters/digits/@.+-_),
    invalid_email, invalid_password (Django's password validators), invalid_roles.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from faktura.core.errors import InvalidInput
    from faktura.core.roles import ensure_roles

    permissions.require(actor, "user.manage")
    user_model = get_user_model()
    username = (username or "").strip()
    email = (email or "").strip()
    wanted = _roles(roles)
    try:
        user_model.username_validator(username)
    except ValidationError:
        raise InvalidInput(
            "username: letters, digits and @ . + - _ only.",
            code="invalid_username",
            field="username",
        ) from None
    if not username or len(username) > 150:
        raise InvalidInput(
            "username: 1 to 150 characters.", code="invalid_username", field="username"
        )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(
                "email: not an address.", code="invalid_email", field="email"
            ) from None
    candidate = user_model(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        raise InvalidInput(
            " ".join(error.messages), code="invalid_password", field="password"
        ) from None
    with transaction.atomic():
        if user_model.objects.filter(username__iexact=username).exists():
            raise InvalidInput(
                f"username: {username} is taken.", code="username_taken", field="username"
            )
        user = user_model.objects.create_user(
            username=username, email=email, password=password, is_staff=True
        )
        if Group.objects.filter(name__in=wanted).count() != len(wanted):
            ensure_roles()
        user.groups.set(Group.objects.filter(name__in=wanted))
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="user.created",
            object_type="auth.user",
            object_id=user.pk,
            data={"username": username, "email": email, "roles": wanted},
        )
    return user


def set_user_roles(*, actor: Actor, user_id: int, roles: Any) -> Any:
    """Give a user exactly these roles (admin only; audited with before and after).

    Refuses (StateConflict last_admin) to take the admin role from the last active admin.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from faktura.core.errors import NotFound, StateConflict
    from faktura.core.roles import ensure_roles

    permissions.require(actor, "user.manage")
    wanted = _roles(roles)
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise NotFound(f"No user {user_id}.", code="user_not_found")
        before = sorted(user.groups.values_list("name", flat=True))
        if "admin" in before and "admin" not in wanted and not _other_active_admins(user.pk):
            raise StateConflict("The last admin keeps the admin role.", code="last_admin")
        if sorted(wanted) == before:
            return user
        if Group.objects.filter(name__in=wanted).count() != len(wanted):
            ensure_roles()
        user.groups.set(Group.objects.filter(name__in=wanted))
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="user.roles_changed",
            object_type="auth.user",
            object_id=user.pk,
            data={"before": before, "after": sorted(wanted)},
        )
    return user


def deactivate_user(*, actor: Actor, user_id: int) -> Any:
    """Deactivate a user: no sign-in, and their API keys stop working (admin only; audited).

    The row stays (documents and the audit log name the person). Refuses
    (StateConflict last_admin) to deactivate the last active admin or oneself.
    """
    from django.contrib.auth import get_user_model

    from faktura.core.errors import NotFound, StateConflict

    permissions.require(actor, "user.manage")
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise NotFound(f"No user {user_id}.", code="user_not_found")
        if user.pk == actor.user_id:
            raise StateConflict("Nobody deactivates themselves.", code="deactivate_self")
        if not user.is_active:
            return user
        is_admin = getattr(user, "is_superuser", False) or user.groups.filter(name="admin").exists()
        if is_admin and not _other_active_admins(user.pk):
            raise StateConflict("The last admin stays active.", code="last_admin")
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="user.deactivated",
            object_type="auth.user",
            object_id=user.pk,
            data={"username": user.get_username()},
        )
    return user


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
