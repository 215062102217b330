"""Check the signature of a webhook from Faktura: the reference verifier.

docs/webhooks.md shows this same code for receivers to copy; it needs nothing but the
standard library. ``Faktura-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`` signs
``"<t>.<raw body>"`` with the endpoint's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300  # refuse older (replayed) or far-future deliveries


def verify_signature(
    body: bytes,
    header: str,
    secret: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``body`` (the raw request body) was signed by Faktura with ``secret``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    signed = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(
        hmac.compare_digest(expected, value)
        for key, value in (item.split("=", 1) for item in header.split(","))
        if key == "v1"
    )
