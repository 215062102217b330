"""The stable error codes of the webhooks services and endpoints.

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``.
Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "webhook_endpoint_not_found": (404, "No webhook endpoint with this id."),
    "webhook_delivery_not_found": (404, "No webhook delivery with this id."),
    "invalid_webhook_url": (
        422,
        "url is not an https URL (http only to localhost, when the installation allows it), "
        "or carries credentials.",
    ),
    "invalid_event_type": (422, "An event type in events is not one Faktura sends."),
    "invalid_description": (422, "description: at most 200 characters."),
    "webhook_delivery_in_progress": (409, "The delivery is being sent right now."),
}
