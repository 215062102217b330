"""Payment providers: /webhooks/{provider} in, and /invoices/{id}/checkout to pay online.

Mounted by api/router.py:

    api.add_router("/webhooks", provider_webhooks.router)
    api.add_router("/invoices", provider_webhooks.checkout_router)

A webhook has no API key: the provider's signature over the raw body is its
authentication, checked before anything is parsed (API.md "Webhooks in"). A bad
signature is answered 400 ``invalid_signature`` and nothing is written; a replayed event
is answered 200 and changes nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from faktura.api.auth import actor_of, write_auth
from faktura.api.fields import MoneyOut
from faktura.api.schemas import ErrorOut
from faktura.core.money import format_amount
from faktura.payments import providers
from faktura.payments.providers import error_codes

router = Router(tags=["webhooks"])
checkout_router = Router(tags=["payments"])

ERROR_CODES = error_codes.ERROR_CODES  # merged into api.errors.ERROR_CODES
CHECKOUT_ERRORS: dict[int, Any] = dict.fromkeys((401, 403, 404, 409, 422, 502, 503), ErrorOut)


class WebhookAck(Schema):
    received: Literal[True] = True
    event: str
    type: str
    state: str = Field(description="applied, recorded, ignored or failed")
    replayed: bool = Field(description="The event was received before; nothing changed now")


class CheckoutOut(Schema):
    id: str = Field(description="The provider's id of the checkout session")
    object: Literal["checkout_session"] = "checkout_session"
    provider: str
    url: str = Field(description="Send the customer here to pay")
    invoice: int
    amount: MoneyOut
    currency: str


@router.post(
    "/stripe",
    response={200: WebhookAck, 400: ErrorOut, 422: ErrorOut, 502: ErrorOut, 503: ErrorOut},
    auth=None,
)
def stripe_webhook(request: HttpRequest) -> Any:
    """Stripe events (Stripe-Signature verified): payments, failures, refunds, disputes,
    cards saved through a setup checkout (502 when Stripe cannot be asked for the card:
    nothing is stored, Stripe delivers the event again)."""
    outcome = providers.get_provider("stripe").handle_webhook(request.body, request.headers)
    return WebhookAck(
        event=outcome.event_id, type=outcome.type, state=outcome.state, replayed=outcome.replayed
    )


@checkout_router.post(
    "/{invoice_id}/checkout",
    response={201: CheckoutOut, **CHECKOUT_ERRORS},
    auth=write_auth,
)
def create_checkout(
    request: HttpRequest, invoice_id: int, provider: Literal["stripe"] = "stripe"
) -> Any:
    """Start an online payment of the invoice's open amount; returns where to send the payer.

    Nothing is booked now: the provider's webhook books the payment when it succeeds.
    """
    # The service for a person (payment.checkout, as the route): empty URLs are the
    # settings' STRIPE_SUCCESS_URL / STRIPE_CANCEL_URL.
    session = providers.start_checkout(
        invoice_id=invoice_id,
        actor=actor_of(request),
        success_url="",
        cancel_url="",
        provider=provider,
    )
    return Status(
        201,
        CheckoutOut(
            id=session.id,
            provider=provider,
            url=session.url,
            invoice=invoice_id,
            amount=format_amount(session.amount),
            currency=session.currency,
        ),
    )
