"""Company master data, number ranges and the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, DeviceManager, ThrottlingMixin, TimestampMixin

from faktura.core import text, validators

DEFAULT_TIME_ZONE = "Europe/Berlin"


class Company(models.Model):
    """The one company an installation serves (the seller on every document)."""

    legal_name = models.CharField(_("Firmenname"), max_length=200)
    legal_form = models.CharField(_("Rechtsform"), max_length=50, blank=True)
    street = models.CharField(_("Straße"), max_length=120)
    house_number = models.CharField(_("Hausnummer"), max_length=20, blank=True)
    postcode = models.CharField(_("PLZ"), max_length=20)
    city = models.CharField(_("Ort"), max_length=100)
    country = models.CharField(_("Land"), max_length=2, default="DE")
    register_court = models.CharField(_("Registergericht"), max_length=100, blank=True)
    register_number = models.CharField(_("Registernummer"), max_length=50, blank=True)
    managing_directors = models.CharField(_("Geschäftsführung"), max_length=300, blank=True)
    tax_number = models.CharField(_("Steuernummer"), max_length=30, blank=True)
    vat_id = models.CharField(_("USt-IdNr."), max_length=20, blank=True)
    creditor_id = models.CharField(_("Gläubiger-ID"), max_length=35, blank=True)
    email = models.EmailField(_("Absender-E-Mail"))
    phone = models.CharField(_("Telefon"), max_length=50, blank=True)
    website = models.CharField(_("Website"), max_length=200, blank=True)
    contact_name = models.CharField(_("Ansprechpartner"), max_length=100, blank=True)
    payment_term_days = models.PositiveSmallIntegerField(_("Zahlungsziel (Tage)"), default=14)
    early_payment_discount_days = models.PositiveSmallIntegerField(
        _("Skonto-Frist (Tage)"), null=True, blank=True
    )
    early_payment_discount_percent = models.DecimalField(
        _("Skonto (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    small_business = models.BooleanField(
        _("Kleinunternehmer (§ 19 UStG)"),
        default=False,
        help_text=_("Keine Umsatzsteuer ausweisen; Hinweis auf § 19 UStG auf jeder Rechnung."),
    )
    default_language = models.CharField(
        _("Standardsprache"), max_length=5, choices=settings.LANGUAGES, default="de"
    )
    time_zone = models.CharField(_("Zeitzone"), max_length=50, default=DEFAULT_TIME_ZONE)
    # Four-eyes rules: which drafts need a second person before finalization.
    approval_threshold = models.DecimalField(
        _("Freigabe ab Bruttobetrag"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    approval_for_new_customers = models.BooleanField(
        _("Freigabe für Kunden ohne bezahlte Rechnung"), default=False
    )
    approval_for_manual_invoices = models.BooleanField(
        _("Freigabe für manuell erstellte Rechnungen"), default=False
    )
    four_eyes_required = models.BooleanField(
        _("Vier-Augen-Prinzip"),
        default=True,
        help_text=_(
            "Wer eine Rechnung, Zahlung oder Erstattung erstellt, gibt sie nicht selbst frei. "
            "Nur ausschalten, wenn eine Person allein das Unternehmen führt; jede Änderung "
            "wird protokolliert."
        ),
    )
    two_factor_required = models.BooleanField(
        _("Zwei-Faktor-Anmeldung für alle Mitarbeitenden"),
        default=False,
        help_text=_(
            "Jede Person des Backoffice richtet eine Authenticator-App ein und gibt nach dem "
            "Passwort deren Code ein."
        ),
    )
    auto_finalize = models.BooleanField(
        _("Rechnungen aus Verkäufen automatisch festschreiben"),
        default=False,
        help_text=_("Außer wenn eine Freigaberegel greift."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Unternehmen")
        verbose_name_plural = _("Unternehmen")

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        # The seller block of every document: refuse what no document can show (core.text).
        errors: dict[str, Any] = text.field_errors(
            self,
            (
                "legal_name",
                "legal_form",
                "street",
                "house_number",
                "postcode",
                "city",
                "register_court",
                "register_number",
                "managing_directors",
                "phone",
                "website",
                "contact_name",
            ),
        )
        for field, normalize in (
            ("vat_id", validators.normalize_vat_id),
            ("creditor_id", validators.normalize_creditor_id),
            ("tax_number", validators.normalize_tax_number),
        ):
            value = getattr(self, field)
            if value:
                try:
                    setattr(self, field, normalize(value))
                except ValidationError as error:
                    errors[field] = error
        if not self.vat_id and not self.tax_number:
            # § 14 (4) no. 2 UStG: an invoice must carry one of the two.
            errors.setdefault("tax_number", _("Steuernummer oder USt-IdNr. ist erforderlich."))
        if self.time_zone not in available_timezones():
            errors["time_zone"] = _("Unbekannte Zeitzone %(tz)s") % {"tz": self.time_zone}
        if (self.early_payment_discount_days is None) != (
            self.early_payment_discount_percent is None
        ):
            errors["early_payment_discount_percent"] = _(
                "Skonto braucht Frist und Prozentsatz zusammen."
            )
        if errors:
            raise ValidationError(errors)

    @classmethod
    def get(cls) -> Company:
        company = cls.objects.order_by("pk").first()
        if company is None:
            from faktura.core.errors import StateConflict

            raise StateConflict(
                "The company master data are not set up yet (run `faktura demo` or use the admin).",
                code="company_missing",
            )
        return company

    @classmethod
    def time_zone_or_default(cls) -> str:
        company = cls.objects.order_by("pk").only("time_zone").first()
        return company.time_zone if company else DEFAULT_TIME_ZONE


class BankAccount(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="bank_accounts")
    bank_name = models.CharField(_("Bank"), max_length=100, blank=True)
    account_holder = models.CharField(_("Kontoinhaber"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    is_default = models.BooleanField(_("Standardkonto"), default=False)

    class Meta:
        verbose_name = _("Bankkonto")
        verbose_name_plural = _("Bankkonten")

    def __str__(self) -> str:
        return f"{self.bank_name} {self.iban}"

    def clean(self) -> None:
        errors: dict[str, Any] = text.field_errors(self, ("bank_name", "account_holder"))
        try:
            self.iban = validators.normalize_iban(self.iban)
        except ValidationError as error:
            errors["iban"] = error
        if self.bic:
            try:
                self.bic = validators.normalize_bic(self.bic)
            except ValidationError as error:
                errors["bic"] = error
        if errors:
            raise ValidationError(errors)


class NumberRange(models.Model):
    """A gapless sequence of document numbers, e.g. ``RE-{year}-{seq:05d}``."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Rechnung")
        CREDIT_NOTE = "credit_note", _("Gutschrift / Storno")
        CUSTOMER = "customer", _("Kunde")
        DUNNING_NOTICE = "dunning_notice", _("Mahnung")

    kind = models.CharField(_("Art"), max_length=30, choices=Kind.choices, unique=True)
    pattern = models.CharField(
        _("Muster"),
        max_length=60,
        help_text=_("Platzhalter {year} und {seq}, z. B. RE-{year}-{seq:05d}"),
    )
    yearly_reset = models.BooleanField(_("Jährlich neu beginnen"), default=True)

    class Meta:
        verbose_name = _("Nummernkreis")
        verbose_name_plural = _("Nummernkreise")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.pattern})"

    def clean(self) -> None:
        try:
            sample = self.format(year=2026, seq=1)
        except (KeyError, ValueError, IndexError) as error:
            raise ValidationError(
                {"pattern": _("Ungültiges Muster: %(error)s") % {"error": error}}
            ) from None
        if "{seq" not in self.pattern:
            raise ValidationError({"pattern": _("Das Muster braucht {seq}.")})
        if len(sample) > 30:
            raise ValidationError({"pattern": _("Nummern dürfen höchstens 30 Zeichen haben.")})

    def format(self, *, year: int, seq: int) -> str:
        return self.pattern.format(year=year, seq=seq)


class NumberCounter(models.Model):
    """The last number taken in one period of a range; the row that is locked to take the next."""

    number_range = models.ForeignKey(NumberRange, on_delete=models.PROTECT, related_name="counters")
    period = models.PositiveIntegerField(help_text="year, or 0 for ranges without yearly reset")
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["number_range", "period"], name="unique_counter_period")
        ]

    def __str__(self) -> str:
        return f"{self.number_range_id}/{self.period}: {self.last_value}"


GENESIS_HASH = "0" * 64


class AuditChain(models.Model):
    """Head of one hash chain of audit entries (one per customer account, one for the company)."""

    key = models.CharField(max_length=64, unique=True)
    length = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.key} ({self.length})"


class AuditEntry(models.Model):
    """One append-only, hash-chained record of something that happened."""

    chain = models.ForeignKey(AuditChain, on_delete=models.PROTECT, related_name="entries")
    sequence = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("Protokolleintrag")
        verbose_name_plural = _("Protokoll")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="unique_audit_sequence")
        ]
        indexes: ClassVar = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor}: "
            f"{self.action} {self.object_type} {self.object_id}"
        )

    def compute_hash(self) -> str:
        payload = json.dumps(
            {
                "chain": self.chain.key,
                "sequence": self.sequence,
                "created_at": self.created_at.isoformat(),
                "actor": self.actor,
                "action": self.action,
                "object_type": self.object_type,
                "object_id": self.object_id,
                "data": self.data,
                "previous_hash": self.previous_hash,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Audit entries are append-only.")


class MaintenanceMode(models.Model):
    """Whether the installation is in maintenance: one row (pk 1), read by every process.

    In the database, not in a file or a setting, so that every web process and every worker
    on any machine sees the switch at once. Changed only through
    ``core.services.set_maintenance`` (audited).
    """

    SINGLETON = 1

    active = models.BooleanField(_("Wartungsmodus aktiv"), default=False)
    message = models.CharField(_("Hinweis"), max_length=500, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Wartungsmodus")
        verbose_name_plural = _("Wartungsmodus")

    def __str__(self) -> str:
        return f"maintenance {'on' if self.active else 'off'}"


class BackupCodeDeviceManager(DeviceManager):
    """A backup-code device counts as the user's second factor while a code is unused.

    So a person whose app was removed and whose codes are all used up is not asked for a
    code that no longer exists (django-otp's ``user_has_device`` asks this manager).
    """

    def devices_for_user(self, user: Any, confirmed: bool | None = None) -> Any:
        devices = super().devices_for_user(user, confirmed=confirmed)
        if confirmed:
            unused = BackupCode.objects.filter(device=models.OuterRef("pk"), used_at__isnull=True)
            devices = devices.filter(models.Exists(unused))
        return devices


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A staff member's one-time backup codes for the two-factor sign-in (django-otp device).

    Used instead of the code from the authenticator app when the phone is not at hand.
    The codes are shown once, when made (``core.two_factor.generate_backup_codes``); only
    a slow salted hash of each is stored (PBKDF2, the salt is the device's), so the table
    does not give them away. A code is spent by its use; repeated wrong codes are throttled
    like TOTP codes (``OTP_BACKUP_CODE_THROTTLE_FACTOR``, seconds, doubling).
    """

    salt: models.CharField[str, str] = models.CharField(max_length=32)

    objects = BackupCodeDeviceManager()

    class Meta:
        verbose_name = _("Ersatzcodes (Zwei-Faktor-Anmeldung)")
        verbose_name_plural = _("Ersatzcodes (Zwei-Faktor-Anmeldung)")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user"], name="one_backup_code_device_per_user")
        ]

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_BACKUP_CODE_THROTTLE_FACTOR", 1))

    def verify_token(self, token: Any) -> bool:
        """Spend ``token`` if it is one of the unused codes (audited); django-otp's hook."""
        from faktura.core import two_factor

        return two_factor.use_backup_code(self, str(token))


class BackupCode(models.Model):
    """One backup code of a device: only its hash; ``used_at`` once it was spent."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Ersatzcode")
        verbose_name_plural = _("Ersatzcodes")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="unique_backup_code")
        ]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.pk}"
