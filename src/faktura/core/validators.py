"""Checks of identifiers with the field's libraries, each raising a clear ValidationError."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty.exceptions import SchwiftyException
from stdnum import exceptions as stdnum_errors
from stdnum.de import leitweg, stnr
from stdnum.eu import at_02
from stdnum.eu import vat as eu_vat


def _reason(error: SchwiftyException, *, bic: bool = False) -> str:
    """What schwifty found, in the reader's language (its own texts are English)."""
    if isinstance(error, schwifty_errors.InvalidLength):
        if bic:
            return _("die Länge stimmt nicht (eine BIC hat 8 oder 11 Zeichen)")
        return _("die Länge stimmt nicht (eine deutsche IBAN hat 22 Zeichen)")
    if isinstance(
        error, schwifty_errors.InvalidChecksumDigits | schwifty_errors.InvalidBBANChecksum
    ):
        return _("die Prüfziffer stimmt nicht (vermutlich ein Tippfehler)")
    if isinstance(error, schwifty_errors.InvalidCountryCode):
        return _("der Ländercode am Anfang ist unbekannt")
    if isinstance(error, schwifty_errors.InvalidBankCode | schwifty_errors.InvalidBranchCode):
        return _("die Bank ist unbekannt")
    if isinstance(error, schwifty_errors.InvalidAccountCode):
        return _("die Kontonummer ist ungültig")
    if isinstance(error, schwifty_errors.InvalidStructure):
        return _("sie enthält Zeichen, die dort nicht stehen dürfen")
    return str(error)


def normalize_iban(value: str) -> str:
    """Return the IBAN in compact form, or raise ValidationError naming what is wrong."""
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as error:
        raise ValidationError(
            _("Ungültige IBAN %(value)s: %(reason)s") % {"value": value, "reason": _reason(error)},
            code="invalid_iban",
        ) from None


def normalize_bic(value: str) -> str:
    try:
        return str(BIC(value).compact)
    except SchwiftyException as error:
        raise ValidationError(
            _("Ungültige BIC %(value)s: %(reason)s")
            % {"value": value, "reason": _reason(error, bic=True)},
            code="invalid_bic",
        ) from None


def normalize_vat_id(value: str) -> str:
    """Check an EU VAT ID (format and check digits) and return it compact."""
    try:
        return str(eu_vat.validate(value))
    except stdnum_errors.ValidationError as error:
        raise ValidationError(
            _("Ungültige USt-IdNr. %(value)s: %(reason)s") % {"value": value, "reason": error},
            code="invalid_vat_id",
        ) from None


def normalize_creditor_id(value: str) -> str:
    """Check a SEPA creditor identifier (ISO 7064 mod 97-10)."""
    try:
        return str(at_02.validate(value))
    except stdnum_errors.ValidationError as error:
        raise ValidationError(
            _("Ungültige Gläubiger-ID %(value)s: %(reason)s") % {"value": value, "reason": error},
            code="invalid_creditor_id",
        ) from None


def normalize_leitweg_id(value: str) -> str:
    """Check a Leitweg-ID (buyer reference of German public bodies) including its check digits."""
    try:
        return str(leitweg.validate(value))
    except stdnum_errors.ValidationError as error:
        raise ValidationError(
            _("Ungültige Leitweg-ID %(value)s: %(reason)s") % {"value": value, "reason": error},
            code="invalid_leitweg_id",
        ) from None


def normalize_tax_number(value: str) -> str:
    """Check a German tax number (Steuernummer) in any regional or federal format."""
    if not stnr.is_valid(value):
        raise ValidationError(
            _("Ungültige Steuernummer %(value)s") % {"value": value}, code="invalid_tax_number"
        )
    return value.strip()
