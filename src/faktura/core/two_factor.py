"""Backup codes for the two-factor sign-in, and checking the code given after the password.

After setting up the authenticator app (TOTP) a person makes ten one-time backup codes
(``generate_backup_codes``), shown once; making them again replaces every earlier code.
Only a slow salted hash of each code is stored (PBKDF2-SHA256, the salt per person and
generation), so neither the database nor a backup gives them away. At sign-in
``verify_second_factor`` takes either a six-digit code from the app or a backup code
(ten letters and digits, hyphen and spaces ignored); a backup code is spent by its use
and the use is audited.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from django.db import models, transaction

from faktura.core import audit, clock
from faktura.core.actors import Actor
from faktura.core.errors import StateConflict
from faktura.core.models import BackupCode, BackupCodeDevice

COUNT = 10
# Without the look-alikes 0/o, 1/i/l: 31 signs, ten of them ≈ 49.5 bits per code.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10
ITERATIONS = 120_000
_CODE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def normalize(token: str) -> str | None:
    """The backup code in ``token`` (any case, spaces and hyphens ignored), or None."""
    text = re.sub(r"[\s\-]", "", str(token)).lower()
    return text if _CODE.fullmatch(text) else None


def _hash(salt: str, code: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt.encode(), ITERATIONS).hex()


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def generate_backup_codes(*, actor: Actor, user_id: int) -> list[str]:
    """Make ten new backup codes for the person's own second factor; return them to show
    once. Every earlier code (used or not) stops working. Audited (how many, how many
    unused ones were replaced; never a code).

    Raises StateConflict two_factor_not_active (the app is not set up yet: codes are a
    spare for it, not a second factor of their own); PermissionRefused for another
    person; InvalidInput two_factor_no_person for an actor without a user.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from faktura.core.services import _lock_user, _require_own_two_factor

    _require_own_two_factor(actor, user_id)
    with transaction.atomic():
        _lock_user(user_id)
        if not TOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists():
            raise StateConflict(
                "Set up the authenticator app before making backup codes",
                code="two_factor_not_active",
            )
        device = BackupCodeDevice.objects.select_for_update().filter(user_id=user_id).first()
        replaced = 0
        if device is None:
            device = BackupCodeDevice(user_id=user_id, name="Ersatzcodes")
        else:
            replaced = device.codes.filter(used_at__isnull=True).count()
            device.codes.all().delete()
        device.confirmed = True
        device.salt = secrets.token_hex(16)
        device.throttling_failure_count = 0
        device.throttling_failure_timestamp = None
        device.save()
        codes: list[str] = []
        while len(codes) < COUNT:
            code = _new_code()
            if code not in codes:
                codes.append(code)
        BackupCode.objects.bulk_create(
            BackupCode(device=device, code_hash=_hash(device.salt, normalize(code) or ""))
            for code in codes
        )
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="two_factor.backup_codes_generated",
            object_type="auth.user",
            object_id=user_id,
            data={"count": COUNT, "unused_replaced": replaced},
        )
    return codes


def remaining_backup_codes(user_id: int) -> int | None:
    """How many of the person's backup codes are unused; None if they never made any."""
    device = BackupCodeDevice.objects.filter(user_id=user_id).first()
    if device is None:
        return None
    return device.codes.filter(used_at__isnull=True).count()


def use_backup_code(device: BackupCodeDevice, token: str) -> bool:
    """Spend ``token`` if it is an unused code of ``device`` (locked by the caller).

    Wrong codes count towards the device's throttling; something that is no backup code
    at all (a six-digit app code) is not looked at and counts nothing.
    """
    code = normalize(token)
    if code is None:
        return False
    allowed, _why = device.verify_is_allowed()
    if not allowed:
        return False
    with transaction.atomic():
        match = (
            device.codes.select_for_update()
            .filter(code_hash=_hash(device.salt, code), used_at__isnull=True)
            .first()
        )
        if match is None:
            device.throttle_increment(commit=True)
            return False
        match.used_at = clock.now()
        match.save(update_fields=["used_at"])
        device.throttle_reset(commit=False)
        device.set_last_used_timestamp(commit=False)
        device.save()
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=Actor.for_user(device.user),
            action="two_factor.backup_code_used",
            object_type="auth.user",
            object_id=device.user_id,
            data={"remaining": device.codes.filter(used_at__isnull=True).count()},
        )
    return True


def verify_second_factor(*, user: Any, token: str) -> Any:
    """The device of ``user`` that accepts ``token``, or None.

    A six-digit code is checked against the authenticator app (TOTP), a backup code
    against the person's unused backup codes (and spent); each device throttles its own
    wrong attempts (django-otp). The devices are locked while checked, so one code never
    signs in two sessions.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    text = re.sub(r"\s", "", str(token))
    code = normalize(text)
    if code is not None:
        model: Any = BackupCodeDevice
    elif text.isdigit():
        model = TOTPDevice
    else:
        return None
    with transaction.atomic():
        for device in (
            model.objects.select_for_update().filter(user_id=user.pk, confirmed=True).order_by("pk")
        ):
            if device.verify_token(code or text):
                return device
    return None


def is_backup_device(device: object) -> bool:
    return isinstance(device, BackupCodeDevice)


def has_second_factor(user: Any) -> bool:
    """Whether ``user`` has a confirmed authenticator app or unused backup codes.

    django-otp's ``user_has_device`` asks each device table in turn; the gate in front of
    every page asks this instead: one query, whatever the number of device kinds.
    """
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    app = TOTPDevice.objects.filter(user_id=models.OuterRef("pk"), confirmed=True)
    codes = BackupCode.objects.filter(
        device__user_id=models.OuterRef("pk"), device__confirmed=True, used_at__isnull=True
    )
    return (
        get_user_model()
        ._default_manager.filter(pk=user.pk)
        .filter(models.Exists(app) | models.Exists(codes))
        .exists()
    )
