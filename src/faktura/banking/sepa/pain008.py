"""SEPA direct debit files (pain.008.001.08) from dataclasses, via sepaxml.

pain.008.001.08 is the DK format since Anlage 3 V3.7 (STANDARDS 2.1); .02 ends at German
banks on 14.11.2026. Creditor and debtor addresses are structured (StrtNm, BldgNb,
PstCd, TwnNm, Ctry): EPC rulebooks no longer accept unstructured addresses from
15.11.2026. One file holds one scheme (CORE or B2B); inside it sepaxml makes one
payment information block per sequence type and collection date.

Every input is checked before anything is generated (DESIGN invariant 7) and the
result is validated against the ISO XSD shipped in sepaxml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import sepaxml
from lxml import etree
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaDD
from sepaxml.validation import ValidationError as SepaxmlValidationError
from stdnum import exceptions as stdnum_errors
from stdnum.eu import at_02
from text_unidecode import unidecode

from faktura.core.errors import InvalidInput

PAIN008_SCHEMA = "pain.008.001.08"
SequenceType = Literal["FRST", "RCUR", "OOFF", "FNAL"]
Scheme = Literal["CORE", "B2B"]
XsdValidator = Literal["lxml", "xmlschema"]

_MAX_AMOUNT = Decimal("999999999.99")  # ISO 20022 ActiveOrHistoricCurrencyAndAmount, EPC
# EPC "Latin character set" for SEPA references (EndToEndId, MndtId, MsgId): letters,
# digits and / - ? : ( ) . , ' + space; a reference must not start or end with "/" and
# must not contain "//" (EPC 115-06 SCT/SDD implementation guidelines).
_REFERENCE = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")
_NOT_LATIN = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_GERMAN_SZ = str.maketrans({"ß": "ss", "&": "+"})


class SepaFileError(InvalidInput):
    """Input a SEPA file cannot be made from; nothing was generated."""

    code = "invalid_sepa_input"


@dataclass(frozen=True, slots=True, kw_only=True)
class PostalAddress:
    """A structured postal address (pain PstlAdr); country as ISO 3166 alpha-2."""

    street_name: str
    building_number: str = ""
    postcode: str
    town: str
    country: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Creditor:
    """The company collecting: its account, Gläubiger-ID and address."""

    name: str
    iban: str
    bic: str = ""  # optional since pain.008.001.08 (IBAN-only)
    creditor_id: str
    address: PostalAddress


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectDebit:
    """One collection: the invoice number is the end-to-end id."""

    end_to_end_id: str
    amount: Decimal
    debtor_name: str
    debtor_iban: str
    debtor_bic: str = ""
    debtor_address: PostalAddress
    mandate_reference: str
    mandate_signature_date: date
    sequence_type: SequenceType
    collection_date: date
    remittance_information: str


def generate_pain008(
    *,
    creditor: Creditor,
    debits: list[DirectDebit] | tuple[DirectDebit, ...],
    scheme: Scheme = "CORE",
    message_id: str | None = None,
    xsd_validator: XsdValidator = "lxml",
) -> bytes:
    """Return a pain.008.001.08 file collecting ``debits`` for ``creditor``.

    ``message_id`` (GrpHdr/MsgId, ≤ 35 characters) defaults to sepaxml's random one;
    pass the batch's own id to make a re-generated file recognisable as the same
    submission. ``xsd_validator`` "lxml" validates with libxml2 against sepaxml's
    shipped XSD; "xmlschema" uses sepaxml's own ``export(validate=True)`` — the same
    XSD, about 40 times slower (bench/pain008_generate.py).

    Raises SepaFileError: invalid_iban, invalid_bic, invalid_creditor_id,
    invalid_amount, too_many_decimals, invalid_reference, duplicate_end_to_end_id,
    invalid_address, invalid_text, invalid_sequence_type, invalid_scheme, no_payments,
    xsd_invalid.
    """
    if scheme not in ("CORE", "B2B"):
        raise SepaFileError(f"Unknown direct debit scheme {scheme!r}", code="invalid_scheme")
    if not debits:
        raise SepaFileError("A direct debit file needs at least one debit", code="no_payments")
    config: dict[str, Any] = {
        "name": sepa_text(creditor.name, field="creditor name", max_length=70),
        "IBAN": check_iban(creditor.iban, field="creditor IBAN"),
        "batch": True,
        "creditor_id": check_creditor_id(creditor.creditor_id),
        "currency": "EUR",
        "instrument": scheme,
        "address": address_dict(creditor.address, field="creditor address"),
    }
    if creditor.bic:
        config["BIC"] = check_bic(creditor.bic, field="creditor BIC")
    if message_id is not None:
        check_reference(message_id, field="message id")
    seen: set[str] = set()
    payments = []
    for debit in debits:
        where = f"debit {debit.end_to_end_id!r}"
        end_to_end = check_reference(debit.end_to_end_id, field=f"{where}: end-to-end id")
        if end_to_end in seen:
            raise SepaFileError(
                f"End-to-end id {end_to_end} occurs twice; each debit needs its own",
                code="duplicate_end_to_end_id",
            )
        seen.add(end_to_end)
        if debit.sequence_type not in ("FRST", "RCUR", "OOFF", "FNAL"):
            raise SepaFileError(
                f"{where}: sequence type {debit.sequence_type!r} is not FRST, RCUR, OOFF or FNAL",
                code="invalid_sequence_type",
            )
        payment: dict[str, Any] = {
            "name": sepa_text(debit.debtor_name, field=f"{where}: debtor name", max_length=70),
            "IBAN": check_iban(debit.debtor_iban, field=f"{where}: debtor IBAN"),
            "amount": to_cents(debit.amount, field=f"{where}: amount"),
            "type": debit.sequence_type,
            "collection_date": debit.collection_date,
            "mandate_id": check_reference(
                debit.mandate_reference, field=f"{where}: mandate reference"
            ),
            "mandate_date": debit.mandate_signature_date,
            "description": sepa_text(
                debit.remittance_information,
                field=f"{where}: remittance information",
                max_length=140,
                truncate=False,
            ),
            "endtoend_id": end_to_end,
            "address": address_dict(debit.debtor_address, field=f"{where}: debtor address"),
        }
        if debit.debtor_bic:
            payment["BIC"] = check_bic(debit.debtor_bic, field=f"{where}: debtor BIC")
        payments.append(payment)

    document = _DirectDebitDocument(config, message_id=message_id)
    for payment in payments:
        document.add_payment(payment)
    return export_validated(document, schema=PAIN008_SCHEMA, xsd_validator=xsd_validator)


class _DirectDebitDocument(SepaDD):
    """sepaxml's SepaDD with a caller-chosen GrpHdr/MsgId.

    sepaxml (2.7.0) draws a random message id in its constructor and writes it in
    ``_create_header``; this hook puts the caller's id there instead.
    """

    def __init__(self, config: dict[str, Any], *, message_id: str | None) -> None:
        self._fixed_message_id = message_id
        super().__init__(config, schema=PAIN008_SCHEMA, clean=True)

    def _create_header(self) -> None:
        if self._fixed_message_id:
            self.msg_id = self._fixed_message_id
        super()._create_header()


# ------------------------------------------------------------------ shared with pain001


def export_validated(document: Any, *, schema: str, xsd_validator: XsdValidator) -> bytes:
    """Export a sepaxml document and validate it against sepaxml's XSD for ``schema``."""
    if xsd_validator == "xmlschema":
        try:
            return bytes(document.export(validate=True))
        except SepaxmlValidationError as error:
            raise SepaFileError(
                f"The generated {schema} file does not validate: {error.__cause__}",
                code="xsd_invalid",
            ) from None
    xml = bytes(document.export(validate=False))
    xsd = _schema(schema)
    if not xsd.validate(etree.fromstring(xml)):
        raise SepaFileError(
            f"The generated {schema} file does not validate: {xsd.error_log.last_error}",
            code="xsd_invalid",
        )
    return xml


@lru_cache(maxsize=4)
def _schema(schema: str) -> etree.XMLSchema:
    path = Path(sepaxml.__file__).parent / "schemas" / f"{schema}.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def control_sum_and_count(xml: bytes) -> tuple[Decimal, int]:
    """Return GrpHdr/CtrlSum and GrpHdr/NbOfTxs of a pain.001 or pain.008 file."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    namespace = etree.QName(root).namespace
    q = "{" + namespace + "}" if namespace else ""
    header = root.find(f"{q}*/{q}GrpHdr")
    if header is None:
        raise SepaFileError("Not a pain.001/pain.008 file: no GrpHdr", code="invalid_file")
    return (
        Decimal(header.findtext(q + "CtrlSum") or "0"),
        int(header.findtext(q + "NbOfTxs") or "0"),
    )


def to_cents(amount: Decimal, *, field: str) -> int:
    """Convert a Decimal amount to integer cents exactly; refuse what is not a SEPA amount."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise SepaFileError(f"{field}: {amount!r} is not a Decimal amount", code="invalid_amount")
    try:
        cents = amount.scaleb(2)
        whole = cents.to_integral_exact()
    except InvalidOperation:
        raise SepaFileError(f"{field}: {amount} is not an amount", code="invalid_amount") from None
    if cents != whole:
        raise SepaFileError(
            f"{field}: {amount} has more than 2 decimal places", code="too_many_decimals"
        )
    # EPC: amounts from 0.01 to 999,999,999.99 EUR.
    if amount <= 0 or amount > _MAX_AMOUNT:
        raise SepaFileError(
            f"{field}: {amount} is outside 0.01 to 999999999.99", code="invalid_amount"
        )
    return int(whole)


def check_iban(value: str, *, field: str) -> str:
    try:
        return str(IBAN(value).compact)
    except (SchwiftyException, ValueError) as error:
        raise SepaFileError(
            f"{field}: {value!r} is not a valid IBAN ({error})", code="invalid_iban"
        ) from None


def check_bic(value: str, *, field: str) -> str:
    try:
        return str(BIC(value).compact)
    except (SchwiftyException, ValueError) as error:
        raise SepaFileError(
            f"{field}: {value!r} is not a valid BIC ({error})", code="invalid_bic"
        ) from None


def check_creditor_id(value: str) -> str:
    """Check a Gläubiger-ID: ISO 7064 mod 97-10 without the business code (at_02)."""
    try:
        return str(at_02.validate(value))
    except stdnum_errors.ValidationError as error:
        raise SepaFileError(
            f"{value!r} is not a valid creditor identifier ({error})", code="invalid_creditor_id"
        ) from None


def check_reference(value: str, *, field: str) -> str:
    """Check a SEPA reference (EndToEndId, MndtId, MsgId) against the EPC rules."""
    if (
        not _REFERENCE.match(value or "")
        or value.startswith("/")
        or value.endswith("/")
        or ("//" in value)
    ):
        raise SepaFileError(
            f"{field}: {value!r} must be 1–35 characters of A–Z a–z 0–9 / - ? : ( ) . , ' + "
            "and space, not start or end with '/' and not contain '//'",
            code="invalid_reference",
        )
    return value


def sepa_text(value: str, *, field: str, max_length: int, truncate: bool = True) -> str:
    """Transliterate free text to the EPC Latin character set (ä → ae, é → e, & → +).

    Names longer than ``max_length`` are cut (banks do the same); other text is refused
    rather than silently shortened.
    """
    text = unidecode(value.translate(_GERMAN).translate(_GERMAN_SZ))
    text = " ".join(_NOT_LATIN.sub(" ", text).split())
    if not text:
        raise SepaFileError(f"{field} is empty", code="invalid_text")
    if len(text) > max_length:
        if not truncate:
            raise SepaFileError(
                f"{field} has {len(text)} characters; at most {max_length} are allowed",
                code="invalid_text",
            )
        text = text[:max_length].rstrip()
    return text


def address_dict(address: PostalAddress, *, field: str) -> dict[str, str]:
    """Return sepaxml's structured address for ``address``, or refuse an incomplete one."""
    country = address.country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise SepaFileError(f"{field}: country must be a 2-letter code", code="invalid_address")
    # pain.008.001.08 PostalAddress24: StrtNm ≤ 70, BldgNb ≤ 16, PstCd ≤ 16, TwnNm ≤ 35.
    limits = (("street_name", 70), ("building_number", 16), ("postcode", 16), ("town", 35))
    result = {"country": country}
    for name, limit in limits:
        raw = getattr(address, name).strip()
        if not raw:
            if name == "building_number":
                continue
            raise SepaFileError(
                f"{field}: {name.replace('_', ' ')} is required (structured address)",
                code="invalid_address",
            )
        result[name] = sepa_text(raw, field=f"{field}: {name}", max_length=limit, truncate=False)
    return result
