"""Payment references of instalment agreements: pure code, no database.

An agreement is ``RZ-00001`` (its id, five digits at least); its instalments are
``RZ-00001-1``, ``RZ-00001-2``, … Customers put these on their transfers like an invoice
number, so statement matching (``faktura.banking``) finds them in the remittance text the
way it finds invoice numbers: with any separator or none, upper or lower case, leading
zeros optional (``rz 1 2``, ``RZ00001-2``).
"""

from __future__ import annotations

import re

PREFIX = "RZ"
_SEP = r"[\s\-_/.:#]*"
_REFERENCE = re.compile(
    rf"(?<![A-Za-z0-9])[Rr][Zz]{_SEP}0*(?P<agreement>[1-9][0-9]{{0,9}}){_SEP}[\-_/.:#]{_SEP}"
    rf"(?P<number>[1-9][0-9]?)(?![0-9])"
)


def agreement_reference(agreement_id: int) -> str:
    return f"{PREFIX}-{agreement_id:05d}"


def instalment_reference(agreement_id: int, number: int) -> str:
    return f"{agreement_reference(agreement_id)}-{number}"


def find_instalment_references(text: str) -> tuple[str, ...]:
    """The instalment references named in ``text``, in their own form, first seen first."""
    found: dict[str, None] = {}
    for match in _REFERENCE.finditer(text or ""):
        found[instalment_reference(int(match["agreement"]), int(match["number"]))] = None
    return tuple(found)
