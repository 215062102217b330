"""The stable error codes of the payment providers' endpoints (checkout, webhooks in).

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``
so that the OpenAPI schema lists them. Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_signature": (400, "The webhook's signature does not verify; nothing was applied."),
    "malformed_event": (422, "The signed webhook body is not an event of the provider."),
    "provider_not_found": (404, "No payment provider with this name."),
    "provider_not_configured": (503, "The provider's keys are not configured."),
    "provider_error": (502, "The payment provider refused or could not be reached."),
    "invoice_disputed": (409, "The invoice is disputed; it cannot be paid online now."),
    "charge_declined": (409, "The provider declined the off-session charge."),
    # Stored as the note of a failed provider event (the delivery itself is accepted).
    "unsupported_currency": (422, "The provider paid in another currency than EUR."),
    "provider_payment_not_found": (404, "No payment of the provider's payment intent."),
    "not_a_stripe_payment": (422, "The payment was not made with Stripe."),
    "setup_not_completed": (409, "Stripe does not report the setup checkout as complete."),
    "setup_customer_unknown": (
        404,
        "The setup checkout names no customer of this installation; no card was saved.",
    ),
}
