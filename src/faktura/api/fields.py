"""Field types of API input: money as strings, quantities as strings or integers.

Money is a string (``"119.00"``), never a JSON number: a number that went through a
float cannot be trusted to the cent, and an integer invites cents/euros mix-ups. The
parser reads JSON numbers with a fraction as JsonNumber (exactly), so a refusal can name
the exact problem (three decimals → ``too_many_decimals``) and the field.

Numbers in strings are plain ASCII: ``-?[0-9]+.[0-9]{2}`` for amounts. Python's Decimal
would also read ``"1_000.00"``, ``"1e2"``, full-width or Arabic-Indic digits and
surrounding blanks; the API refuses them (``invalid_amount``), so that what a client
sent is exactly the number that is booked.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja import Schema
from ninja.parser import Parser
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from faktura.core.errors import DomainError

NUL = "\x00"


class RequestRefused(DomainError):
    """The request as a whole is unusable (raised while parsing, before any schema)."""

    code = "malformed_request"
    http_status = 400


class NulCharacter(RequestRefused):
    code = "nul_character"

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The {where} contains a NUL character (U+0000), which no field accepts.",
            field=None,
        )


class BodyNotObject(DomainError):
    code = "validation_error"
    http_status = 422

    def __init__(self) -> None:
        super().__init__("A JSON object is required as the request body.")


def contains_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds U+0000 in any string (keys included)."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


class JsonNumber(Decimal):
    """A JSON number written with a fraction or exponent (``19.999``), read exactly."""


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class ApiParser(Parser):
    """JSON bodies are objects without NUL characters; form and query values too.

    Every body of this API is a JSON object: a string, number, array or null is refused
    (422) before any schema sees it — otherwise a schema whose fields all have defaults
    would take ``"x"`` for ``{}``. NUL cannot be stored in a PostgreSQL text column, so
    it is refused (400 ``nul_character``) wherever it comes in, the same on every database.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_float=JsonNumber, parse_constant=_refuse_constant)
        if not isinstance(data, dict):
            raise BodyNotObject()
        if contains_nul(data):
            raise NulCharacter("request body")
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            if NUL in key or any(isinstance(v, str) and NUL in v for v in values):
                raise NulCharacter("query string or form")
        return super().parse_querydict(data, list_fields, request)


class InputSchema(Schema):
    """A request body: only the documented fields (a misspelt one is refused, not ignored)."""

    model_config = ConfigDict(extra="forbid")


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _refuse_number(value: Any, places: int, code: str, example: str) -> None:
    if isinstance(value, Decimal) and _decimals(value) > places:
        raise PydanticCustomError(
            "too_many_decimals",
            "{value} has more than {places} decimal places",
            {"value": str(value), "places": places},
        )
    raise PydanticCustomError(
        code,
        'give the number as a string such as "{example}", not as a JSON number',
        {"example": example},
    )


def _plain_string(
    value: str, pattern: re.Pattern[str], places: int, code: str, example: str
) -> str:
    if pattern.fullmatch(value):
        return value
    match = _DECIMAL.fullmatch(value)
    if match and len(match.group(1)) > places:
        raise PydanticCustomError(
            "too_many_decimals",
            "{value} has more than {places} decimal places",
            {"value": value, "places": places},
        )
    raise PydanticCustomError(
        code,
        '"{value}" is not a number written like "{example}"',
        {"value": value, "example": example},
    )


def _string_only(pattern: re.Pattern[str], places: int, example: str) -> Any:
    def check(value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, str):
            return _plain_string(value, pattern, places, "invalid_amount", example)
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            _refuse_number(value, places, "invalid_amount", example)
        return value

    return check


def _string_or_integer(pattern: re.Pattern[str], places: int, code: str, example: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(code, "expected a number as a string or an integer")
        if isinstance(value, Decimal):
            _refuse_number(value, places, code, example)
        if isinstance(value, str):
            return _plain_string(value, pattern, places, code, example)
        return value

    return check


# ASCII digits only: in Python (and Rust) regexes \d also matches full-width digits.
_DECIMAL = re.compile(r"-?[0-9]+\.([0-9]+)")
AMOUNT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
UNIT_PRICE_PATTERN = r"^-?[0-9]+(\.[0-9]{1,4})?$"
QUANTITY_PATTERN = r"^-?[0-9]+(\.[0-9]{1,4})?$"
PERCENT_PATTERN = r"^-?[0-9]+(\.[0-9]{1,2})?$"


Amount = Annotated[
    str,
    BeforeValidator(_string_only(re.compile(AMOUNT_PATTERN), 2, "19.99")),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "examples": ["119.00"],
            "description": "Exactly 2 decimals, ASCII digits",
        }
    ),
]
UnitPrice = Annotated[
    str,
    BeforeValidator(_string_only(re.compile(UNIT_PRICE_PATTERN), 4, "9.9900")),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": UNIT_PRICE_PATTERN,
            "examples": ["9.99"],
            "description": "Up to 4 decimals, ASCII digits",
        }
    ),
]
Quantity = Annotated[
    str | int,
    BeforeValidator(_string_or_integer(re.compile(QUANTITY_PATTERN), 4, "invalid_quantity", "1.5")),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": QUANTITY_PATTERN, "examples": ["1.5"]},
                {"type": "integer"},
            ]
        },
    ),
]
Percent = Annotated[
    str | int,
    BeforeValidator(_string_or_integer(re.compile(PERCENT_PATTERN), 2, "invalid_amount", "10")),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": PERCENT_PATTERN, "examples": ["10"]},
                {"type": "integer"},
            ]
        }
    ),
]
MoneyOut = Annotated[str, Field(examples=["119.00"])]
Timestamp = Annotated[
    str,
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-16T09:00:00Z"]}),
]
UnitCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,3}$", examples=["C62", "HUR"])]


def not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("validation_error", "must not be null")
    return value
