"""``Idempotency-Key``: a retried create returns the first response instead of a second object.

The record is written in the same transaction as what the request creates, so either
both exist or neither does. Only successful responses are stored: a refused request
changed nothing and may be retried with the same key once the input is corrected.
Two concurrent first requests with one key collide on the unique constraint; the
loser's work is rolled back and it answers with the winner's response.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja.params import functions as params
from pydantic import BaseModel

from faktura.api.models import ApiKey, IdempotencyRecord
from faktura.core import clock
from faktura.core.errors import InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Stored responses are kept at least this long (purge_expired removes older ones).
RETENTION = dt.timedelta(hours=24)
HEADER_DESCRIPTION = (
    "Any unique string (e.g. a UUID) per intended operation. Retrying with the same key and "
    "the same body returns the first response (same status and body) instead of creating a "
    "second object, for at least 24 hours; the same key with a different body is refused "
    "with 422 idempotency_key_reused. Only successful responses are stored."
)
KeyHeader = Annotated[str | None, params.Header(None, alias=HEADER, description=HEADER_DESCRIPTION)]


def _request_hash(body: bytes) -> str:
    """Hash the body's JSON content, so key order and whitespace do not matter."""
    try:
        content = json.loads(body or b"null", parse_float=lambda text: ["number", text])
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _render(body: BaseModel | dict[str, Any]) -> dict[str, Any]:
    return body.model_dump(mode="json") if isinstance(body, BaseModel) else body


def _json(body: dict[str, Any], status: int, *, replayed: bool = False) -> HttpResponse:
    return _text(json.dumps(body), status, replayed=replayed)


def _text(body: str, status: int, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _replay(record: IdempotencyRecord, request: HttpRequest, request_hash: str) -> HttpResponse:
    if (
        record.method != request.method
        or record.path != request.path
        or record.request_hash != request_hash
    ):
        raise InvalidInput(
            f"The Idempotency-Key {record.key!r} was used for a different request "
            f"({record.method} {record.path} at {record.created_at:%Y-%m-%dT%H:%M:%SZ}); "
            "use a new key for a new request.",
            code="idempotency_key_reused",
            field=HEADER,
        )
    return _text(record.response_body, record.response_status, replayed=True)


def respond(
    request: HttpRequest,
    *,
    key: str | None,
    status: int,
    create: Callable[[], BaseModel | dict[str, Any]],
) -> HttpResponse:
    """Run ``create`` at most once per key; answer with its JSON body and ``status``."""
    if key is None:
        return _json(_render(create()), status)
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"The {HEADER} must be 1 to {MAX_KEY_LENGTH} characters long.",
            code="invalid_idempotency_key",
            field=HEADER,
        )
    api_key: ApiKey = request.auth  # type: ignore[attr-defined]
    request_hash = _request_hash(request.body)
    existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
    if existing is not None:
        return _replay(existing, request, request_hash)
    try:
        with transaction.atomic():
            # Claimed first: a concurrent request with this key waits on (or collides
            # with) this row instead of creating a second object.
            record = IdempotencyRecord.objects.create(
                api_key=api_key,
                key=key,
                method=request.method or "",
                path=request.path[:300],
                request_hash=request_hash,
                response_status=status,
                response_body="",
                created_at=clock.now(),
            )
            # Kept as the exact text sent, so a replay is byte-identical (PostgreSQL's
            # jsonb would reorder the keys).
            body = json.dumps(_render(create()))
            record.response_body = body
            record.save(update_fields=["response_body"])
    except IntegrityError:
        winner = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if winner is None:
            raise
        return _replay(winner, request, request_hash)
    return _text(body, status)


def purge_expired(*, older_than: dt.timedelta = RETENTION) -> int:
    """Delete stored responses older than ``older_than`` (a daily job); return how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=clock.now() - older_than).delete()
    return deleted
