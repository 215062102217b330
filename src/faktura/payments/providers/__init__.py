"""Online payment providers: a small typed registry (STYLE 6).

A provider creates a checkout for an invoice's open amount, verifies and applies its
webhooks (signature first, each event id once: API.md "Webhooks in"), and refunds.
Providers register a factory under their name; front doors look them up with
``get_provider``. Configured providers only: a provider without its secrets refuses
with ``provider_not_configured``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from faktura.core.errors import DomainError, InvalidInput, NotFound, StateConflict

if TYPE_CHECKING:
    from faktura.core.actors import Actor
    from faktura.invoicing.models import Invoice
    from faktura.payments.models import Payment


class ProviderNotConfigured(DomainError):
    """The provider's secrets are not set (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)."""

    code = "provider_not_configured"
    http_status = 503


class ProviderUnavailable(DomainError):
    """The provider's API refused or could not be reached; nothing was changed here."""

    code = "provider_error"
    http_status = 502


class ChargeDeclined(StateConflict):
    """The provider refused an off-session charge (card declined, authentication needed).

    A business outcome, not an outage: the invoice stays open, nothing is retried.
    """

    code = "charge_declined"
    http_status = 409

    def __init__(
        self,
        message: str,
        *,
        decline_code: str = "",
        error_code: str = "",
        payment_intent: str = "",
    ) -> None:
        super().__init__(message)
        self.decline_code = decline_code or error_code or "declined"
        self.error_code = error_code
        self.payment_intent = payment_intent


class InvalidSignature(InvalidInput):
    """A webhook whose signature does not verify: nothing was read, nothing written."""

    code = "invalid_signature"
    http_status = 400


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """Where to send the customer to pay, and the provider's id of that session."""

    url: str
    id: str
    amount: Decimal
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What a webhook delivery did: the event, its state, and whether it was seen before."""

    event_id: str
    type: str
    state: str
    replayed: bool


class PaymentProvider(Protocol):
    """What Faktura needs of an online payment provider."""

    name: str

    def create_checkout(
        self, invoice: Invoice, *, success_url: str = "", cancel_url: str = ""
    ) -> CheckoutSession:
        """Start a payment of the invoice's open amount (network; outside transactions);
        the payer comes back to ``success_url`` / ``cancel_url`` (empty: the settings')."""
        ...

    def handle_webhook(self, payload: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Verify the signature, then apply the event once (InvalidSignature otherwise)."""
        ...

    def refund(self, payment: Payment, amount: Decimal) -> str:
        """Ask the provider to pay ``amount`` of ``payment`` back; return its refund id.

        The money state changes when the provider's refund event arrives.
        """
        ...


_REGISTRY: dict[str, Callable[[], PaymentProvider]] = {}


def register(name: str, factory: Callable[[], PaymentProvider]) -> None:
    """Make a provider available under ``name`` (idempotent for the same factory)."""
    _REGISTRY[name] = factory


def provider_names() -> tuple[str, ...]:
    _load_builtin()
    return tuple(sorted(_REGISTRY))


def get_provider(name: str) -> PaymentProvider:
    """Return the provider registered as ``name``; NotFound provider_not_found otherwise."""
    _load_builtin()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise NotFound(f"No payment provider {name!r}.", code="provider_not_found")
    return factory()


def _load_builtin() -> None:
    if "stripe" not in _REGISTRY:
        from faktura.payments.providers import stripe_provider

        register("stripe", stripe_provider.StripeProvider)


def online_payment_available(provider: str = "stripe") -> bool:
    """Whether customers can be offered to pay online (the provider's secret is set)."""
    from django.conf import settings

    return provider == "stripe" and bool(str(getattr(settings, "STRIPE_SECRET_KEY", "")).strip())


def create_checkout(
    *,
    invoice_id: int,
    provider: str = "stripe",
    success_url: str = "",
    cancel_url: str = "",
    customer_id: int | None = None,
) -> CheckoutSession:
    """Start an online payment of a finalized invoice's open amount.

    ``customer_id``: the invoice must be this customer's (else invoice_not_found).
    Raises NotFound invoice_not_found, provider_not_found; StateConflict
    invoice_not_payable, invoice_already_paid, invoice_disputed; ProviderNotConfigured;
    ProviderUnavailable. Writes nothing: the payment is booked by the provider's event.
    """
    from faktura.invoicing.models import Invoice, Kind, Status
    from faktura.payments import selectors

    chosen = get_provider(provider)
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or (customer_id is not None and invoice.customer_id != customer_id):
        raise NotFound(f"Invoice {invoice_id} does not exist.", code="invoice_not_found")
    if invoice.status != Status.FINALIZED or invoice.kind != Kind.INVOICE:
        raise StateConflict(
            f"{invoice} is not a finalized invoice; only those can be paid.",
            code="invoice_not_payable",
        )
    if selectors.open_amounts([invoice.pk])[invoice.pk] <= 0:
        raise StateConflict(f"{invoice} is paid already.", code="invoice_already_paid")
    if selectors.is_disputed(invoice.pk):
        raise StateConflict(
            f"{invoice} is disputed; it cannot be paid online until the dispute is cleared.",
            code="invoice_disputed",
        )
    return chosen.create_checkout(invoice, success_url=success_url, cancel_url=cancel_url)


def start_checkout(
    *,
    invoice_id: int,
    actor: Actor,
    success_url: str,
    cancel_url: str,
    provider: str = "stripe",
) -> CheckoutSession:
    """``create_checkout`` for a person: staff with ``payment.checkout``, or a customer in
    the portal for their own invoice only (another customer's is invoice_not_found).

    Raises PermissionRefused and everything ``create_checkout`` raises; writes nothing.
    """
    from faktura.core import permissions

    permissions.require(actor, "payment.checkout")
    return create_checkout(
        invoice_id=invoice_id,
        provider=provider,
        success_url=success_url,
        cancel_url=cancel_url,
        customer_id=actor.customer_id,
    )
