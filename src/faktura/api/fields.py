"""Field types of API input: money as strings, quantities as strings or integers.

Money is a string (``"119.00"``), never a JSON number: a number that went through a
float cannot be trusted to the cent, and an integer invites cents/euros mix-ups. The
parser reads JSON numbers with a fraction as JsonNumber (exactly), so a refusal can name
the exact problem (three decimals → ``too_many_decimals``) and the field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja.parser import Parser
from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError


class JsonNumber(Decimal):
    """A JSON number written with a fraction or exponent (``19.999``), read exactly."""


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class ApiParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_float=JsonNumber, parse_constant=_refuse_constant)


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _string_only(places: int, example: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) or value is None:
            return value
        if isinstance(value, Decimal) and _decimals(value) > places:
            raise PydanticCustomError(
                "too_many_decimals",
                "{value} has more than {places} decimal places",
                {"value": str(value), "places": places},
            )
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            raise PydanticCustomError(
                "invalid_amount",
                'give money as a string such as "{example}", not as a JSON number',
                {"example": example},
            )
        return value

    return check


def _string_or_integer(places: int, code: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(code, "expected a number as a string or an integer")
        if isinstance(value, Decimal):
            if _decimals(value) > places:
                raise PydanticCustomError(
                    "too_many_decimals",
                    "{value} has more than {places} decimal places",
                    {"value": str(value), "places": places},
                )
            raise PydanticCustomError(
                code, 'give fractional values as a string such as "{value}"', {"value": str(value)}
            )
        return value

    return check


Amount = Annotated[
    str,
    BeforeValidator(_string_only(2, "19.99")),
    WithJsonSchema({"type": "string", "examples": ["119.00"], "description": "2 decimals"}),
]
UnitPrice = Annotated[
    str,
    BeforeValidator(_string_only(4, "9.9900")),
    WithJsonSchema({"type": "string", "examples": ["9.99"], "description": "up to 4 decimals"}),
]
Quantity = Annotated[
    str | int,
    BeforeValidator(_string_or_integer(4, "invalid_quantity")),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "examples": ["1.5"]}, {"type": "integer"}]},
    ),
]
Percent = Annotated[
    str | int,
    BeforeValidator(_string_or_integer(2, "invalid_amount")),
    WithJsonSchema({"anyOf": [{"type": "string", "examples": ["10"]}, {"type": "integer"}]}),
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
