"""Money as Decimal: parsing with exact scale checks and the one rounding rule (half-up)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from faktura.core.errors import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
AMOUNT_PLACES = 2
UNIT_PRICE_PLACES = 4
QUANTITY_PLACES = 4
MAX_AMOUNT = Decimal("999999999.99")
# What a number written as text may look like: Decimal() would also take "1_000",
# "1e2", "Infinity" and digits of any script ("１００"), none of which a person means.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def round_money(value: Decimal) -> Decimal:
    """Round to cents, half-up (EN 16931 rounding of amounts)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(
    value: object, *, places: int, field: str, allow_negative: bool = False
) -> Decimal:
    """Parse ``value`` into a Decimal with at most ``places`` decimals, or refuse it.

    Floats are refused: they cannot carry money exactly. Text must be plain ASCII
    (``-12.50``): underscores, exponents and other scripts' digits are refused.
    """
    if isinstance(value, bool | float):
        raise InvalidInput(
            f"{field}: give the amount as a string or Decimal, not as a float",
            code="invalid_amount",
            field=field,
        )
    text = str(value).strip()
    if not isinstance(value, Decimal) and not _PLAIN_NUMBER.fullmatch(text):
        raise InvalidInput(
            f"{field}: {value!r} is not a number written with the digits 0-9 and a point",
            code="invalid_amount",
            field=field,
        )
    try:
        number = Decimal(text) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            f"{field}: {value!r} is not a number", code="invalid_amount", field=field
        ) from None
    if not number.is_finite():
        raise InvalidInput(
            f"{field}: {value!r} is not a number", code="invalid_amount", field=field
        )
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places and number != number.quantize(Decimal(1).scaleb(-places)):
        raise InvalidInput(
            f"{field}: {value} has more than {places} decimal places",
            code="too_many_decimals",
            field=field,
        )
    if number < 0 and not allow_negative:
        raise InvalidInput(
            f"{field}: {value} must not be negative", code="negative_amount", field=field
        )
    if abs(number) > MAX_AMOUNT:
        raise InvalidInput(f"{field}: {value} is too large", code="amount_too_large", field=field)
    return number.quantize(Decimal(1).scaleb(-places))


def parse_amount(value: object, *, field: str = "amount", allow_negative: bool = False) -> Decimal:
    """Parse a money amount with at most two decimals."""
    return parse_decimal(value, places=AMOUNT_PLACES, field=field, allow_negative=allow_negative)


def format_amount(value: Decimal) -> str:
    """Format for the API: always two decimals, dot as separator."""
    return f"{value.quantize(CENT):f}"
