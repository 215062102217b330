"""Stripe: Checkout Sessions for open invoices, signed webhooks in, refunds.

Webhooks are verified with Stripe's own scheme (``Stripe-Signature: t=…,v1=…``, an
HMAC-SHA256 of ``"{t}.{body}"`` with the endpoint secret) by the official library
*before* the body is parsed (API.md "Webhooks in"). Each event id is stored once
(ProviderEvent, unique): a replayed delivery changes nothing. The event row and what it
books are written in one transaction; the payment services do the booking.

One payment can announce itself twice (``checkout.session.completed`` and
``payment_intent.succeeded``): the payment's ``external_id`` is therefore the payment
intent (``stripe:pi_…``), so it is booked once whichever event comes first.

Saved payment methods are charged off-session (``charge_off_session``): a PaymentIntent
with the same metadata as a checkout, so the same ``payment_intent.succeeded`` handler
books it. A card is saved through a Checkout Session in setup mode; its
``checkout.session.completed`` event (mode ``setup``) names the Faktura customer in its
metadata and the SetupIntent only by id, so the card (brand, last four digits, expiry) is
read back from Stripe before the event's transaction and saved as the customer's way to
pay (``payment_choice.save_card_from_setup``), even when the customer never comes back
to the portal. ``setup_intent.succeeded`` carries the payment method's id but no Faktura
customer and no card details; it is stored and ignored.

Settings: STRIPE_API_BASE (empty: Stripe's own), STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET,
STRIPE_SUCCESS_URL and STRIPE_CANCEL_URL (``{invoice_id}``, ``{invoice_number}`` and Stripe's
``{CHECKOUT_SESSION_ID}`` are filled in).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from faktura.banking.models import ProviderEvent
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import DomainError, InvalidInput, NotFound, StateConflict
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice
from faktura.payments import selectors
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment, SavedPaymentMethod
from faktura.payments.off_session import CardDetails
from faktura.payments.providers import (
    ChargeDeclined,
    CheckoutSession,
    InvalidSignature,
    ProviderNotConfigured,
    ProviderUnavailable,
    WebhookOutcome,
)

logger = logging.getLogger(__name__)

PROVIDER = "stripe"
_SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,250}")
SIGNATURE_HEADER = "Stripe-Signature"
CENT = Decimal("0.01")
# Of an event's object, what is kept with the event (no addresses, cards or e-mails).
_KEPT = (
    "id",
    "object",
    "amount",
    "amount_total",
    "amount_received",
    "amount_refunded",
    "currency",
    "status",
    "payment_status",
    "payment_intent",
    "charge",
    "reason",
    "refunded",
    "client_reference_id",
    "metadata",
    "mode",
)

State = ProviderEvent.State
Handler = Callable[[dict[str, Any], dict[str, Any], Actor], tuple[str, str, dict[str, Any]]]


def _setting(name: str) -> str:
    value = str(getattr(settings, name, "") or "").strip()
    if not value:
        raise ProviderNotConfigured(f"Stripe is not configured: {name} is not set.")
    return value


def make_client(api_key: str) -> Any:
    """The Stripe API client; STRIPE_API_BASE points it elsewhere (tests: a local fake)."""
    base = str(getattr(settings, "STRIPE_API_BASE", "") or "").strip()
    if base:
        return stripe.StripeClient(api_key, base_addresses={"api": base})
    return stripe.StripeClient(api_key)


def to_cents(amount: Decimal) -> int:
    return int((amount.quantize(CENT) * 100).to_integral_value())


def from_cents(value: object) -> Decimal:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{value!r} is not an amount in cents", code="malformed_event")
    return (Decimal(value) / 100).quantize(CENT)


@dataclass(frozen=True, slots=True)
class SetupResult:
    """A payment method saved through a setup checkout."""

    customer_id: int | None  # Faktura's customer the checkout was made for
    provider_customer_id: str
    payment_method_id: str
    label: str
    card: CardDetails | None = None
    customer_number: str = ""  # the customer's number the checkout was made for, if named
    session_id: str = ""


class StripeProvider:
    """The Stripe implementation of ``faktura.payments.providers.PaymentProvider``."""

    name = PROVIDER

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def _api(self) -> Any:
        return self._client or make_client(_setting("STRIPE_SECRET_KEY"))

    def create_checkout(
        self, invoice: Invoice, *, success_url: str = "", cancel_url: str = ""
    ) -> CheckoutSession:
        """A Checkout Session (mode payment, EUR) for the invoice's open amount.

        ``success_url``/``cancel_url``: where Stripe sends the payer back (the portal's
        page of the invoice); empty: STRIPE_SUCCESS_URL / STRIPE_CANCEL_URL.
        """
        amount = selectors.open_amounts([invoice.pk])[invoice.pk]
        number = invoice.number or str(invoice.pk)
        given = {"STRIPE_SUCCESS_URL": success_url, "STRIPE_CANCEL_URL": cancel_url}

        def url(name: str) -> str:
            template = given[name] or _setting(name)
            return template.replace("{invoice_id}", str(invoice.pk)).replace(
                "{invoice_number}", number
            )

        metadata = {"invoice_id": str(invoice.pk), "invoice_number": number}
        params: dict[str, Any] = {
            "mode": "payment",
            "currency": "eur",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": to_cents(amount),
                        "product_data": {"name": f"Rechnung {number}"},
                    },
                }
            ],
            "client_reference_id": str(invoice.pk),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": f"Rechnung {number}"},
            "success_url": url("STRIPE_SUCCESS_URL"),
            "cancel_url": url("STRIPE_CANCEL_URL"),
        }
        email = (invoice.buyer or {}).get("email")
        if email:
            params["customer_email"] = email
        try:
            session = self._api().v1.checkout.sessions.create(
                params=params,
                # The same open amount asked twice gives the same session, not a second one.
                options={"idempotency_key": f"faktura-checkout-{invoice.pk}-{to_cents(amount)}"},
            )
        except stripe.StripeError as error:
            raise ProviderUnavailable(
                f"Stripe did not create the checkout: {error.user_message or error}"
            ) from None
        return CheckoutSession(url=session.url, id=session.id, amount=amount)

    def charge_off_session(
        self, invoice: Invoice, method: SavedPaymentMethod, *, try_number: int = 1
    ) -> str:
        """Charge the invoice's open amount from a saved method; return the payment intent.

        Network; call it outside transactions. The intent carries the checkout's metadata,
        so its ``payment_intent.succeeded`` event books the payment on the invoice. The
        idempotency key (invoice, open amount in cents, method) makes a repeated call
        return the same intent, never a second charge. Raises ChargeDeclined (card
        declined, authentication required: the customer must act) and
        ProviderUnavailable (Stripe unreachable or refusing the request: try later).
        """
        if method.provider != PROVIDER:
            raise InvalidInput(
                f"{method} is not a Stripe payment method.", code="invalid_payment_provider"
            )
        amount = selectors.open_amounts([invoice.pk])[invoice.pk]
        cents = to_cents(amount)
        if cents <= 0:
            raise StateConflict(f"{invoice} is paid already.", code="invoice_already_paid")
        number = invoice.number or str(invoice.pk)
        params: dict[str, Any] = {
            "amount": cents,
            "currency": "eur",
            "customer": method.provider_customer_id,
            "payment_method": method.payment_method_id,
            "off_session": True,
            "confirm": True,
            "description": f"Rechnung {number}",
            "metadata": {"invoice_id": str(invoice.pk), "invoice_number": number},
        }
        # A retry after a decline is a new try: Stripe would answer a reused key with the
        # cached decline.
        key = f"faktura-offsession-{invoice.pk}-{cents}-{method.pk}"
        if try_number > 1:
            key += f"-try{try_number}"
        try:
            intent = self._api().v1.payment_intents.create(
                params=params, options={"idempotency_key": key}
            )
        except stripe.CardError as error:
            raise _declined(error) from None
        except stripe.StripeError as error:
            raise ProviderUnavailable(
                f"Stripe did not charge: {error.user_message or error}"
            ) from None
        status = str(getattr(intent, "status", "") or "")
        if status in ("requires_payment_method", "requires_action", "canceled"):
            # Off-session Stripe answers these as card errors; kept for other API versions.
            raise ChargeDeclined(
                f"Stripe did not charge {invoice}: the payment intent is {status}.",
                error_code=status,
                payment_intent=str(intent.id),
            )
        return str(intent.id)

    def create_customer(self, *, customer_id: int, number: str, name: str, email: str) -> str:
        """A Stripe customer for a Faktura customer (once: the same key gives the same one)."""
        try:
            customer = self._api().v1.customers.create(
                params={
                    "name": name,
                    "email": email,
                    "metadata": {"faktura_customer_id": str(customer_id), "number": number},
                },
                options={"idempotency_key": f"faktura-customer-{customer_id}"},
            )
        except stripe.StripeError as error:
            raise ProviderUnavailable(
                f"Stripe did not create the customer: {error.user_message or error}"
            ) from None
        return str(customer.id)

    def create_setup_checkout(
        self,
        *,
        customer_id: int,
        provider_customer_id: str,
        success_url: str,
        cancel_url: str,
        customer_number: str = "",
    ) -> CheckoutSession:
        """A Checkout Session in setup mode: the customer saves a card, nothing is charged.

        ``success_url`` may contain Stripe's ``{CHECKOUT_SESSION_ID}``. The metadata names
        the Faktura customer (id and number): the webhook saves the card by it.
        """
        metadata = {"faktura_customer_id": str(customer_id)}
        if customer_number:
            metadata["faktura_customer_number"] = customer_number
        try:
            session = self._api().v1.checkout.sessions.create(
                params={
                    "mode": "setup",
                    "currency": "eur",
                    "payment_method_types": ["card"],
                    "customer": provider_customer_id,
                    "client_reference_id": str(customer_id),
                    "metadata": metadata,
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                }
            )
        except stripe.StripeError as error:
            raise ProviderUnavailable(
                f"Stripe did not create the checkout: {error.user_message or error}"
            ) from None
        return CheckoutSession(url=str(session.url), id=str(session.id), amount=ZERO)

    def completed_setup(self, session_id: str) -> SetupResult:
        """What a finished setup checkout saved: the customer, the payment method, a label.

        Raises StateConflict setup_not_completed (not finished, or not a setup checkout),
        ProviderUnavailable.
        """
        try:
            session = self._api().v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["setup_intent.payment_method"]}
            )
        except stripe.InvalidRequestError:
            raise StateConflict(
                f"No setup checkout {session_id}.", code="setup_not_completed"
            ) from None
        except stripe.StripeError as error:
            raise ProviderUnavailable(
                f"Stripe did not answer: {error.user_message or error}"
            ) from None
        data = session.to_dict()
        intent = data.get("setup_intent") or {}
        method = intent.get("payment_method") if isinstance(intent, dict) else None
        if (
            data.get("mode") != "setup"
            or data.get("status") != "complete"
            or not isinstance(method, dict)
        ):
            raise StateConflict(
                f"The setup checkout {session_id} is not complete.", code="setup_not_completed"
            )
        card = CardDetails.from_provider(method.get("card"))
        metadata = data.get("metadata") or {}
        metadata = metadata if isinstance(metadata, dict) else {}
        reference = str(metadata.get("faktura_customer_id") or "")
        return SetupResult(
            customer_id=int(reference) if reference.isdigit() and len(reference) < 19 else None,
            provider_customer_id=str(data.get("customer") or ""),
            payment_method_id=str(method.get("id") or ""),
            label=card.label() if card else "",
            card=card,
            customer_number=str(metadata.get("faktura_customer_number") or "")[:30],
            session_id=str(data.get("id") or session_id),
        )

    def handle_webhook(self, payload: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Verify ``Stripe-Signature`` over the raw body, then apply the event once.

        Raises InvalidSignature (nothing is read or written), ProviderNotConfigured,
        InvalidInput malformed_event (signed, but not a Stripe event).
        """
        secret = _setting("STRIPE_WEBHOOK_SECRET")
        signature = next(
            (v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None
        )
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret)
        except stripe.SignatureVerificationError as error:
            raise InvalidSignature(f"The Stripe signature does not verify: {error}") from None
        except ValueError:
            raise InvalidInput(
                "The signed body is not a Stripe event.", code="malformed_event"
            ) from None
        return apply_event(
            event=event.to_dict(), actor=Actor.system(PROVIDER), fetch_setup=self.completed_setup
        )

    def refund(self, payment: Payment, amount: Decimal) -> str:
        """Ask Stripe to refund ``amount`` of a Stripe payment; the refund event books it."""
        intent = _payment_intent_of(payment)
        if amount <= 0 or amount > payment.amount:
            raise InvalidInput(
                f"amount: {amount} is not between 0.01 and {payment.amount}",
                code="invalid_amount",
                field="amount",
            )
        try:
            refund = self._api().v1.refunds.create(
                params={"payment_intent": intent, "amount": to_cents(amount)}
            )
        except stripe.StripeError as error:
            raise ProviderUnavailable(
                f"Stripe did not refund: {error.user_message or error}"
            ) from None
        return str(refund.id)


def _declined(error: stripe.CardError) -> ChargeDeclined:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    data = body.get("error") or {}
    intent = data.get("payment_intent") or {}
    return ChargeDeclined(
        f"Stripe declined the charge: {error.user_message or error}",
        decline_code=str(data.get("decline_code") or "")[:100],
        error_code=str(error.code or data.get("code") or "")[:100],
        payment_intent=str(intent.get("id") or "")[:255] if isinstance(intent, dict) else "",
    )


def _payment_intent_of(payment: Payment) -> str:
    external = payment.external_id or ""
    if payment.source != Payment.Source.PROVIDER or not external.startswith("stripe:"):
        raise InvalidInput(
            f"Payment {payment.pk} was not made with Stripe.", code="not_a_stripe_payment"
        )
    return external.removeprefix("stripe:")


# --- applying events ----------------------------------------------------------------------


def apply_event(
    *,
    event: dict[str, Any],
    actor: Actor,
    fetch_setup: Callable[[str], SetupResult] | None = None,
) -> WebhookOutcome:
    """Apply one verified Stripe event exactly once (by its id); return what happened.

    The event row and its bookings are one transaction. A booking the payment services
    refuse (unknown invoice currency, nothing left to charge back …) is stored as a
    failed event for a person to look at, and logged; the delivery is still accepted, so
    Stripe does not send it again.

    A completed setup checkout is first read back from Stripe (``fetch_setup``, default
    ``StripeProvider().completed_setup``), outside the transaction: Stripe unreachable
    raises ProviderUnavailable and stores nothing, so Stripe delivers the event again.
    """
    event_id = str(event.get("id") or "")
    kind = str(event.get("type") or "")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not event_id or not kind or not isinstance(obj, dict):
        raise InvalidInput("The event has no id, type or object.", code="malformed_event")
    seen = ProviderEvent.objects.filter(provider=PROVIDER, event_id=event_id).first()
    if seen is not None:
        return WebhookOutcome(event_id, kind, seen.state, replayed=True)
    handler = HANDLERS.get(kind, _not_handled)
    if kind == "checkout.session.completed" and obj.get("mode") == "setup":
        fetched = _fetch_setup(obj, fetch_setup or StripeProvider().completed_setup)
        handler = functools.partial(_setup_completed, fetched=fetched)
    created = event.get("created")
    created_at = dt.datetime.fromtimestamp(created, tz=dt.UTC) if isinstance(created, int) else None
    try:
        with transaction.atomic():
            row = ProviderEvent.objects.create(
                provider=PROVIDER,
                event_id=event_id[:255],
                type=kind[:100],
                state=State.RECORDED,
                livemode=bool(event.get("livemode")),
                object_id=str(obj.get("id") or "")[:255],
                data={key: obj[key] for key in _KEPT if key in obj},
                event_created_at=created_at,
                received_at=clock.now(),
            )
            try:
                with transaction.atomic():
                    state, note, links = handler(obj, event, actor)
            except DomainError as error:
                state, note, links = State.FAILED, f"{error.code}: {error.message}", {}
                logger.warning("Stripe event %s (%s) not applied: %s", event_id, kind, note)
            ProviderEvent.objects.filter(pk=row.pk).update(state=state, note=note[:500], **links)
    except IntegrityError:
        # The same event delivered twice at the same moment: the other delivery applied it.
        seen = ProviderEvent.objects.filter(provider=PROVIDER, event_id=event_id).first()
        if seen is None:
            raise
        return WebhookOutcome(event_id, kind, seen.state, replayed=True)
    return WebhookOutcome(event_id, kind, state, replayed=False)


def _booking_date(event: dict[str, Any]) -> dt.date:
    """The event's day in the company's time zone, never after today."""
    from faktura.core.models import Company

    today = clock.today()
    created = event.get("created")
    if not isinstance(created, int):
        return today
    day = (
        dt.datetime.fromtimestamp(created, tz=dt.UTC)
        .astimezone(ZoneInfo(Company.time_zone_or_default()))
        .date()
    )
    return min(day, today)


def _invoice_of(obj: dict[str, Any]) -> Invoice | None:
    """The invoice the checkout was made for (metadata, or client_reference_id)."""
    metadata = obj.get("metadata") or {}
    reference = metadata.get("invoice_id") or obj.get("client_reference_id") or ""
    if not str(reference).isdigit():
        return None
    invoice = Invoice.objects.filter(pk=int(reference)).first()
    number = metadata.get("invoice_number")
    if invoice is not None and number and invoice.number != number:
        return None  # a checkout of another installation or a tampered reference
    return invoice


def _book(
    *,
    intent: str,
    obj: dict[str, Any],
    event: dict[str, Any],
    amount_field: str,
    actor: Actor,
) -> tuple[str, str, dict[str, Any]]:
    """Record the money of a payment intent once and allocate it to its invoice."""
    currency = str(obj.get("currency") or "").lower()
    if currency != "eur":
        raise InvalidInput(
            f"Stripe paid in {currency.upper() or '?'}; Faktura books EUR only.",
            code="unsupported_currency",
        )
    amount = from_cents(obj.get(amount_field))
    invoice = _invoice_of(obj)
    external_id = f"stripe:{intent}"
    existed = Payment.objects.filter(
        source=Payment.Source.PROVIDER, external_id=external_id
    ).exists()
    details = obj.get("customer_details") or {}
    payment = payments.record_payment(
        actor=actor,
        amount=amount,
        date=_booking_date(event),
        method=Payment.Method.PROVIDER,
        source=Payment.Source.PROVIDER,
        reference=f"Stripe {intent}" + (f" Rechnung {invoice.number}" if invoice else ""),
        payer_name=str(details.get("name") or "")[:200],
        customer_id=invoice.customer_id if invoice else None,
        external_id=external_id,
    )
    links: dict[str, Any] = {"payment_id": payment.pk}
    if invoice is not None:
        links["invoice_id"] = invoice.pk
    if existed:
        return State.RECORDED, f"Payment {payment.pk} was booked by an earlier event.", links
    if invoice is None:
        return State.APPLIED, "No invoice named: the payment waits on the to-do list.", links
    allocated = Allocation.objects.filter(payment=payment, reversed_at__isnull=True).exists()
    open_amount = selectors.open_amounts([invoice.pk])[invoice.pk]
    if not allocated and open_amount > 0:
        payments.allocate_payment(
            payment_id=payment.pk,
            allocations=[(invoice.pk, min(open_amount, amount))],
            actor=actor,
            overpayment=True,
        )
        return State.APPLIED, "", links
    return State.APPLIED, f"{invoice} had nothing open: {amount} is the customer's credit.", links


def _checkout_completed(
    obj: dict[str, Any], event: dict[str, Any], actor: Actor
) -> tuple[str, str, dict[str, Any]]:
    if obj.get("mode") not in (None, "payment"):
        return State.IGNORED, f"Checkout in mode {obj.get('mode')}.", {}
    if obj.get("payment_status") != "paid":
        # Delayed methods (SEPA debit via Stripe) report success later.
        return State.RECORDED, f"Payment status {obj.get('payment_status')}: nothing booked.", {}
    intent = str(obj.get("payment_intent") or obj.get("id"))
    return _book(intent=intent, obj=obj, event=event, amount_field="amount_total", actor=actor)


def _intent_succeeded(
    obj: dict[str, Any], event: dict[str, Any], actor: Actor
) -> tuple[str, str, dict[str, Any]]:
    return _book(
        intent=str(obj.get("id")), obj=obj, event=event, amount_field="amount_received", actor=actor
    )


def _intent_failed(
    obj: dict[str, Any], event: dict[str, Any], actor: Actor
) -> tuple[str, str, dict[str, Any]]:
    error = obj.get("last_payment_error") or {}
    invoice = _invoice_of(obj)
    note = f"Zahlung fehlgeschlagen: {error.get('code') or ''} {error.get('message') or ''}"
    return State.RECORDED, note.strip(), {"invoice_id": invoice.pk} if invoice else {}


def _payment_of(obj: dict[str, Any]) -> Payment:
    intent = obj.get("payment_intent")
    payment = (
        Payment.objects.filter(source=Payment.Source.PROVIDER, external_id=f"stripe:{intent}")
        .order_by("pk")
        .first()
        if intent
        else None
    )
    if payment is None:
        raise NotFound(
            f"No Stripe payment with payment intent {intent!r} was booked.",
            code="provider_payment_not_found",
        )
    return payment


def _charge_refunded(
    obj: dict[str, Any], event: dict[str, Any], actor: Actor
) -> tuple[str, str, dict[str, Any]]:
    """A refund made in Stripe: the money left, so the allocation is reversed.

    Only full refunds are booked (the payment services reverse whole allocations);
    a partial refund is stored as failed for a person to book.
    """
    payment = _payment_of(obj)
    amount, refunded = from_cents(obj.get("amount")), from_cents(obj.get("amount_refunded"))
    if not obj.get("refunded") or refunded != amount:
        return (
            State.FAILED,
            f"Teilerstattung {refunded} von {amount}: bitte von Hand buchen.",
            {"payment_id": payment.pk},
        )
    event_row = payments.record_chargeback(
        actor=actor,
        source_reference=f"stripe:refund:{obj.get('id')}",
        reason_code="refund",
        payment_id=payment.pk,
        fee=ZERO,
        booking_date=_booking_date(event),
        dispute=False,
    )
    return (
        State.APPLIED,
        f"Erstattet: {round_money(refunded)}",
        {
            "payment_id": payment.pk,
            "return_event_id": event_row.pk,
            "invoice_id": event_row.invoice_id,
        },
    )


def _dispute_created(
    obj: dict[str, Any], event: dict[str, Any], actor: Actor
) -> tuple[str, str, dict[str, Any]]:
    """A chargeback: the allocation is reversed, the fee charged, the invoice disputed."""
    payment = _payment_of(obj)
    event_row = payments.record_chargeback(
        actor=actor,
        source_reference=f"stripe:dispute:{obj.get('id')}",
        reason_code=str(obj.get("reason") or "")[:35],
        payment_id=payment.pk,
        booking_date=_booking_date(event),
        dispute=True,
    )
    return (
        State.APPLIED,
        "",
        {
            "payment_id": payment.pk,
            "return_event_id": event_row.pk,
            "invoice_id": event_row.invoice_id,
        },
    )


def _fetch_setup(
    obj: dict[str, Any], fetch: Callable[[str], SetupResult]
) -> SetupResult | DomainError:
    """The card a completed setup checkout saved, asked of Stripe (network, no transaction).

    A checkout Stripe does not report as complete is returned as the refusal to store;
    InvalidInput malformed_event for a session id out of shape; ProviderUnavailable and
    ProviderNotConfigured are raised (nothing is stored: Stripe delivers again).
    """
    session_id = obj.get("id")
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise InvalidInput(
            "The setup checkout's id is not a Checkout Session id.", code="malformed_event"
        )
    try:
        return fetch(session_id)
    except (ProviderUnavailable, ProviderNotConfigured):
        raise
    except DomainError as error:
        return error


def _setup_completed(
    obj: dict[str, Any],
    event: dict[str, Any],
    actor: Actor,
    *,
    fetched: SetupResult | DomainError,
) -> tuple[str, str, dict[str, Any]]:
    """A card saved through a setup checkout becomes the customer's way to pay."""
    from faktura.subscriptions import payment_choice

    if isinstance(fetched, DomainError):
        raise fetched
    reference = (obj.get("metadata") or {}) if isinstance(obj.get("metadata"), dict) else {}
    if str(reference.get("faktura_customer_id") or "") != str(fetched.customer_id or ""):
        raise NotFound(
            "The event and Stripe's checkout name different customers.",
            code="setup_customer_unknown",
        )
    created = event.get("created")
    outcome = payment_choice.save_card_from_setup(
        actor=actor,
        setup=fetched,
        source=f"stripe:{event.get('id')}",
        reported_at=dt.datetime.fromtimestamp(created, tz=dt.UTC)
        if isinstance(created, int)
        else None,
    )
    customer = outcome.method.customer.number
    if outcome.result == "known":
        return State.RECORDED, f"Karte {outcome.method} von {customer} war schon bekannt.", {}
    if outcome.result == "newer":
        return (
            State.RECORDED,
            f"{customer} hat seitdem die Karte {outcome.method} hinterlegt; nichts geändert.",
            {},
        )
    return State.APPLIED, f"Karte {outcome.method} für {customer} hinterlegt und gewählt.", {}


def _not_handled(
    obj: dict[str, Any], event: dict[str, Any], actor: Actor
) -> tuple[str, str, dict[str, Any]]:
    return State.IGNORED, "", {}


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
}
