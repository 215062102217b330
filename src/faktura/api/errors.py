"""Map every refusal to ``{"code", "message", "field"}`` with its HTTP status; never a 500.

The codes are stable: clients branch on them. ERROR_CODES lists every code the API can
answer with; the OpenAPI schema publishes the list (tests check it stays complete).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from faktura.core.errors import DomainError, NotFound, PermissionRefused

logger = logging.getLogger(__name__)

# code → (HTTP status, when it happens)
ERROR_CODES: dict[str, tuple[int, str]] = {
    # the API itself
    "malformed_json": (400, "The request body is not valid JSON."),
    "malformed_multipart": (
        400,
        "The multipart body cannot be read (boundary missing, empty, invalid or too long; "
        "bad base64 part).",
    ),
    "too_many_fields": (400, "The form has more fields or files than are accepted (1,000)."),
    "request_too_large": (400, "The request body (without files) is larger than accepted."),
    "nul_character": (400, "The URL, a header or the body contains a NUL character (U+0000)."),
    "bad_request": (400, "The request cannot be read."),
    "invalid_api_key": (401, "No API key, an unknown key, or a revoked key."),
    "insufficient_scope": (403, "The key may only read; this operation writes."),
    "not_found": (404, "No object with this id (or code)."),
    "validation_error": (422, "The input does not have the documented shape; see field."),
    "idempotency_key_reused": (422, "The Idempotency-Key was used for a different request."),
    "invalid_idempotency_key": (422, "The Idempotency-Key header is empty or too long."),
    "invalid_cursor": (422, "The cursor was not returned by this list."),
    "value_out_of_range": (422, "A number or date is out of range (ids are below 2**63)."),
    "rate_limited": (429, "Too many requests; retry later."),
    "maintenance": (
        503,
        "Maintenance mode: every write is refused until it ends (Retry-After); reads work.",
    ),
    "internal_error": (500, "An unexpected error; reported to the operator."),
    # permissions and four-eyes principle
    "permission_denied": (403, "The key's user lacks the role for this operation."),
    "not_an_approver": (403, "Only a user with the approver role may approve or reject."),
    "approver_is_creator": (403, "Who created an invoice cannot approve or reject it."),
    "no_recipient": (409, "The customer has no e-mail address to deliver to."),
    "document_not_archived": (404, "The document is not rendered and archived yet."),
    "archived_file_missing": (500, "The archived file is missing; run `faktura check`."),
    "archived_file_altered": (
        500,
        "The archived file does not match its hash; run `faktura check`.",
    ),
    "archive_name_taken": (500, "The archive already holds another file under this name."),
    "role_required": (403, "The key's user lacks the role this operation needs (e.g. accountant)."),
    # state conflicts
    "invoice_not_draft": (409, "The invoice is finalized already."),
    "invoice_not_finalized": (409, "Only a finalized invoice can be credited or cancelled."),
    "invoice_not_pending_approval": (409, "The invoice does not wait for approval."),
    "invoice_rejected": (409, "The invoice was rejected."),
    "approval_required": (409, "The invoice needs approval before finalization."),
    "invoice_already_cancelled": (409, "The invoice was cancelled already."),
    "invoice_partially_credited": (409, "Credited in part already: credit what remains."),
    "credit_exceeds_remaining": (409, "More would be credited than remains on the invoice."),
    "external_reference_reused": (409, "The external_reference belongs to another customer."),
    "document_finalized": (409, "A finalized document never changes."),
    "state_conflict": (409, "The object's state forbids the operation."),
    "company_missing": (409, "The company master data are not set up."),
    "number_range_missing": (409, "No number range is configured for this document."),
    # invalid input (422)
    "too_many_decimals": (422, "Amounts have at most 2 decimals, prices and quantities 4."),
    "invalid_amount": (422, "Not a number, or money given as a JSON number (use a string)."),
    "negative_amount": (422, "The amount must not be negative."),
    "amount_too_large": (422, "The amount is too large."),
    "invalid_quantity": (422, "The quantity is zero, negative or not a number."),
    "invalid_discount": (422, "The discount is above 100 % or larger than the amount."),
    "negative_total": (422, "The document total would be negative."),
    "no_lines": (422, "An order needs at least one line."),
    "missing_name": (422, "A line without product needs a name."),
    "unknown_product": (422, "No active product with this SKU."),
    "unknown_tax_rate": (422, "No active tax rate with this code."),
    "tax_rate_required": (422, "Name the tax rate (several rates, or no product)."),
    "buyer_vat_id_required": (422, "Reverse charge / intra-community supply need a VAT ID."),
    "invalid_supply_kind": (422, "kind is goods or service."),
    "invalid_kind": (422, "kind is goods or service."),
    "supply_kind_required": (
        422,
        "A line without product sold to a business abroad needs its kind (goods or service).",
    ),
    "not_taxable_mixed": (
        422,
        "A supply not taxable in Germany (O) must be invoiced on its own (BR-O-11).",
    ),
    "seller_tax_number_required": (
        422,
        "A supply not taxable in Germany needs the company's tax number (BR-O-02, BR-CO-26).",
    ),
    "customer_not_found": (422, "The customer given in the body does not exist."),
    "field_not_allowed": (422, "A customer may change their address and e-mail only."),
    "order_discarded": (422, "The order with this external_reference was discarded."),
    "invalid_price_mode": (422, "price_mode is net or gross."),
    "invalid_period": (422, "A service period needs a start and an end, in order."),
    "invalid_credit": (422, "Give either lines or an amount to credit."),
    "unknown_line": (422, "The invoice has no line at this position."),
    "reason_required": (422, "A rejection needs a reason."),
    "invalid_input": (422, "The input is not acceptable; see field."),
    "text_not_printable": (
        422,
        "The text holds a character no document can show (control character, bidi override, "
        "or a character no font covers); the message names field and character.",
    ),
    "invalid_vat_id": (422, "Not a valid EU VAT ID (format and check digits)."),
    "invalid_leitweg_id": (422, "Not a valid Leitweg-ID (format and check digits)."),
    "invalid_email": (422, "Not a valid e-mail address."),
    "invalid_iban": (422, "Not a valid IBAN."),
    "invalid_bic": (422, "Not a valid BIC."),
    "duplicate_sku": (422, "Another product has this SKU."),
    "invalid_unit_price": (422, "The unit price is not acceptable."),
    "invalid_<field>": (422, "The named field is not acceptable (e.g. invalid_postcode)."),
    "missing_<field>": (422, "The named field is required (e.g. missing_street)."),
}

# Codes of the money-in capability live beside their services; one list for the schema.
from faktura.access.error_codes import ERROR_CODES as _ACCESS_CODES  # noqa: E402
from faktura.banking.error_codes import ERROR_CODES as _BANKING_CODES  # noqa: E402
from faktura.collection.error_codes import ERROR_CODES as _COLLECTION_CODES  # noqa: E402
from faktura.dunning.error_codes import ERROR_CODES as _DUNNING_CODES  # noqa: E402
from faktura.payments.error_codes import ERROR_CODES as _PAYMENT_CODES  # noqa: E402
from faktura.payments.providers.error_codes import ERROR_CODES as _PROVIDER_CODES  # noqa: E402
from faktura.subscriptions.error_codes import ERROR_CODES as _SUBSCRIPTION_CODES  # noqa: E402
from faktura.webhooks.error_codes import ERROR_CODES as _WEBHOOK_CODES  # noqa: E402

ERROR_CODES.update(_PAYMENT_CODES)
ERROR_CODES.update(_COLLECTION_CODES)
ERROR_CODES.update(_BANKING_CODES)
ERROR_CODES.update(_DUNNING_CODES)
ERROR_CODES.update(_PROVIDER_CODES)
ERROR_CODES.update(_SUBSCRIPTION_CODES)
ERROR_CODES.update(_ACCESS_CODES)
ERROR_CODES.update(_WEBHOOK_CODES)

# Codes of Django's field validators; the API names the field instead (invalid_email).
_GENERIC_DJANGO_CODES = frozenset(
    {
        "invalid",
        "invalid_choice",
        "max_length",
        "min_length",
        "min_value",
        "max_value",
        "max_digits",
        "max_decimal_places",
        "max_whole_digits",
        "blank",
        "null",
        "required",
        "unique",
    }
)
# Codes raised inside schema validators (PydanticCustomError) that keep their own name.
SCHEMA_CODES = frozenset({"too_many_decimals", "invalid_amount", "invalid_quantity"})

_PARAM_SOURCES = ("body", "query", "path", "header", "cookie", "form", "file")


class AuthenticationFailed(DomainError):
    code = "invalid_api_key"
    http_status = 401


class InsufficientScope(PermissionRefused):
    code = "insufficient_scope"


def field_path(field: str | None) -> str | None:
    """Write a field the one way the API does: ``lines[0].quantity`` → ``lines.0.quantity``."""
    if not field:
        return None
    return re.sub(r"\[(\d+)\]", r".\1", field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field}


def _loc_to_field(loc: tuple[Any, ...] | list[Any], body_params: frozenset[str]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in _PARAM_SOURCES:
        source = parts.pop(0)
        if source == "body" and parts and parts[0] in body_params:
            parts.pop(0)
    return ".".join(str(part) for part in parts) or None


def install(api: NinjaAPI, *, body_params: frozenset[str] = frozenset({"payload"})) -> None:
    """Register the handlers on ``api`` (replacing ninja's defaults)."""

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        response = api.create_response(request, body, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="faktura"'
        return response

    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        status, code, field = exc.http_status, exc.code, field_path(exc.field)
        if isinstance(exc, NotFound):
            if field:
                # An id inside the body does not exist: the request is wrong, the URL is not.
                status = 422
            else:
                code = "not_found"
        if code in _GENERIC_DJANGO_CODES and field and "." not in field:
            code = f"invalid_{field}"
        return respond(request, status, error_body(code, exc.message, field))

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {"loc": (), "msg": "Invalid input", "type": ""}
        field = _loc_to_field(cast(tuple[Any, ...], first.get("loc", ())), body_params)
        code = first.get("type") if first.get("type") in SCHEMA_CODES else "validation_error"
        message = str(first.get("msg", "Invalid input"))
        if field is None and first.get("type") == "missing":
            message = "A JSON object is required as the request body."
        if field:
            message = f"{field}: {message}"
        if len(exc.errors) > 1:
            message += f" (and {len(exc.errors) - 1} more problem(s))"
        return respond(request, 422, error_body(str(code), message, field))

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc, AuthenticationError):
            return respond(
                request,
                401,
                error_body("invalid_api_key", "Send a valid key as Authorization: Bearer <key>."),
            )
        if isinstance(exc, Throttled):
            return respond(request, 429, error_body("rate_limited", "Too many requests."))
        if exc.status_code == 400:
            # ninja wraps whatever the body parser raised; a refusal of ours keeps its code.
            if isinstance(exc.__cause__, DomainError):
                return on_domain_error(request, exc.__cause__)
            return respond(
                request, 400, error_body("malformed_json", "The request body is not valid JSON.")
            )
        return respond(request, exc.status_code, error_body(f"http_{exc.status_code}", str(exc)))

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body("not_found", "No such object."))

    def on_bad_request(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Django raises these while reading the body (request.body, POST, FILES).
        if isinstance(exc, MultiPartParserError):
            code, message = "malformed_multipart", f"The multipart body cannot be read: {exc}"
        elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
            code, message = "too_many_fields", "The form has too many fields or files."
        elif isinstance(exc, RequestDataTooBig):
            code, message = "request_too_large", "The request body is too large."
        else:
            code, message = "bad_request", "The request cannot be read."
        return respond(request, 400, error_body(code, message))

    def on_overflow(request: HttpRequest, exc: OverflowError) -> HttpResponse:
        # An id beyond 64 bits (SQLite cannot even compare it) or a date past year 9999.
        return respond(
            request,
            422,
            error_body("value_out_of_range", "A number or date in the request is out of range."),
        )

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        return respond(request, 500, error_body("internal_error", "An unexpected error occurred."))

    handlers: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
        DomainError: on_domain_error,
        ValidationError: on_validation_error,
        HttpError: on_http_error,
        Http404: on_not_found,
        MultiPartParserError: on_bad_request,
        SuspiciousOperation: on_bad_request,
        UnreadablePostError: on_bad_request,
        OverflowError: on_overflow,
        Exception: on_unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the refusals every operation can answer with, so the schema is complete.

    400 for any request (NUL in the URL or a header, a body that cannot be read), 401 and
    403 where a key is required, 404 where the path names an object, 422 where there is
    input to validate. Operations declare their own further codes (409, 202, …).
    """
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters", [])
            statuses = {400: "Malformed request"}
            if operation.get("security"):
                statuses |= {401: "Unauthorized", 403: "Forbidden"}
            if any(p.get("in") == "path" for p in parameters):
                statuses[404] = "Not Found"
            if parameters or "requestBody" in operation:
                statuses[422] = "Unprocessable Entity"
            responses = operation["responses"]
            for status, text in statuses.items():
                # ninja keys the responses by int; JSON makes both "400".
                if status not in responses and str(status) not in responses:
                    responses[status] = {
                        "description": text,
                        "content": {"application/json": {"schema": ref}},
                    }
    return schema
