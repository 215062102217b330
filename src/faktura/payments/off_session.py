"""Saved payment methods and charges without the customer present ("off-session").

A customer's card (or other method) saved with Stripe is kept as a ``SavedPaymentMethod``:
only Stripe's ids and a label, never card data. A billing run asks for an invoice to be
charged from it (``request_off_session_charges``, inside the run's transaction); a task
then asks Stripe for the charge outside any transaction (``charge_invoice``). Stripe's
signed ``payment_intent.succeeded`` event books the payment, exactly as after a
checkout; a declined card leaves the invoice open for the dunning run.

A charge is asked with an idempotency key made of the invoice, its open amount and the
method: a task run twice (a worker died after the call) gets the same payment intent
back, never a second charge.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import transaction

from faktura.core import audit, bulk, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments import locks, selectors
from faktura.payments.models import CardRetry, SavedPaymentMethod

if TYPE_CHECKING:
    from faktura.payments.providers import ChargeDeclined

logger = logging.getLogger(__name__)

PROVIDER = SavedPaymentMethod.Provider.STRIPE
# Stripe's ids: a prefix, then letters, digits and underscores (test ids such as
# pm_card_visa have them); Stripe documents at most 255 characters.
_STRIPE_ID = re.compile(r"[A-Za-z0-9_]+")
_MAX_ID = 255
_MAX_LABEL = SavedPaymentMethod._meta.get_field("label").max_length or 100


def _stripe_id(value: object, *, prefix: str, field: str, code: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if (
        len(text) <= len(prefix)
        or len(text) > _MAX_ID
        or not text.startswith(prefix)
        or not _STRIPE_ID.fullmatch(text)
    ):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "…"
        raise InvalidInput(
            f"{field}: {shown} is not a Stripe id ({prefix}…, letters, digits and _, "
            f"at most {_MAX_ID} characters)",
            code=code,
            field=field,
        )
    return text


def _label(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("label: not a text", code="invalid_label", field="label")
    text = value.strip()
    check_text(text, field="label")
    if len(text) > _MAX_LABEL:
        raise InvalidInput(
            f"label: at most {_MAX_LABEL} characters", code="invalid_label", field="label"
        )
    return text


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What a provider tells of a saved card: brand, last four digits, expiry (checked)."""

    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None

    @classmethod
    def from_provider(cls, card: object) -> CardDetails | None:
        """Stripe's ``card`` of a payment method; a value out of shape is left out."""
        if not isinstance(card, dict):
            return None
        brand = str(card.get("brand") or "").strip().lower()
        last4 = str(card.get("last4") or "").strip()
        return cls(
            brand=brand if _BRAND.fullmatch(brand) else "",
            last4=last4 if _LAST4.fullmatch(last4) else "",
            exp_month=_whole(card.get("exp_month"), 1, 12),
            exp_year=_whole(card.get("exp_year"), 2000, 2199),
        )

    def label(self) -> str:
        """ "Visa •••• 4242 (08/29)" for lists and messages (empty without brand and digits)."""
        if not (self.brand or self.last4):
            return ""
        text = f"{self.brand.replace('_', ' ').title()} •••• {self.last4}".strip()
        if self.exp_month is not None and self.exp_year is not None:
            text += f" ({self.exp_month:02d}/{self.exp_year % 100:02d})"
        return text[:_MAX_LABEL]


_BRAND = re.compile(r"[a-z_]{1,20}")
_LAST4 = re.compile(r"[0-9]{4}")


def _whole(value: object, low: int, high: int) -> int | None:
    """``value`` if it is a whole number from ``low`` to ``high``, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


def _audit_data(method: SavedPaymentMethod) -> dict[str, object]:
    return {
        "provider": method.provider,
        "provider_customer_id": method.provider_customer_id,
        "payment_method_id": method.payment_method_id,
        "label": method.label,
    }


def save_payment_method(
    *,
    customer_id: int,
    actor: Actor,
    provider_customer_id: str,
    payment_method_id: str,
    label: str | None = "",
    provider: str = PROVIDER,
) -> SavedPaymentMethod:
    """Record a payment method the customer saved with Stripe, to be charged off-session.

    The ids come from Stripe (SetupIntent, Customer Portal …); nothing is asked of Stripe
    here. Saving the same active method again returns it unchanged. Raises InvalidInput
    invalid_payment_provider, invalid_provider_customer_id, invalid_payment_method_id,
    invalid_label, text_not_printable; NotFound customer_not_found; StateConflict
    payment_method_of_other_customer.
    """
    permissions.require(actor, "payment_method.change")
    if provider not in SavedPaymentMethod.Provider.values:
        raise InvalidInput(
            f"provider: {str(provider)[:40]!r} is not stripe",
            code="invalid_payment_provider",
            field="provider",
        )
    cus = _stripe_id(
        provider_customer_id,
        prefix="cus_",
        field="provider_customer_id",
        code="invalid_provider_customer_id",
    )
    pm = _stripe_id(
        payment_method_id, prefix="pm_", field="payment_method_id", code="invalid_payment_method_id"
    )
    text = _label(label)
    with transaction.atomic():
        customer = locks.lock_customer(customer_id, field="customer_id")
        return save_locked(customer, actor=actor, provider=provider, cus=cus, pm=pm, label=text)


def save_locked(
    customer: Customer,
    *,
    actor: Actor,
    provider: str,
    cus: str,
    pm: str,
    label: str,
    card: CardDetails | None = None,
    source: str = "",
) -> SavedPaymentMethod:
    """Save a checked method for ``customer``, whose lock the caller holds.

    ``card``: what the provider told of it; ``source``: what reported it (kept in the
    audit entry, e.g. ``stripe:evt_…``).
    """
    card = card or CardDetails()
    with transaction.atomic():
        text = label
        existing = SavedPaymentMethod.objects.filter(
            provider=provider, payment_method_id=pm, active=True
        ).first()
        if existing is not None:
            if existing.customer_id != customer.pk or existing.provider_customer_id != cus:
                raise StateConflict(
                    f"The payment method {pm} is saved for another customer.",
                    code="payment_method_of_other_customer",
                    field="payment_method_id",
                )
            return existing
        method = SavedPaymentMethod.objects.create(
            customer=customer,
            provider=provider,
            provider_customer_id=cus,
            payment_method_id=pm,
            label=text,
            card_brand=card.brand,
            card_last4=card.last4,
            card_exp_month=card.exp_month,
            card_exp_year=card.exp_year,
            created_at=clock.now(),
            created_by=actor.label,
        )
        data = _audit_data(method)
        if source:
            data["source"] = source
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="payment_method.saved",
            object_type="saved_payment_method",
            object_id=method.pk,
            data=data,
        )
    return method


def deactivate_payment_method(
    *, method_id: int, actor: Actor, reason: str = ""
) -> SavedPaymentMethod:
    """Stop charging a saved payment method (the customer withdrew it, the card expired).

    Charges already queued for it are skipped when they run. Deactivating twice changes
    nothing. Raises NotFound saved_payment_method_not_found; InvalidInput
    text_not_printable.
    """
    permissions.require(actor, "payment_method.change")
    check_text(reason, field="reason")
    customer_id = (
        SavedPaymentMethod.objects.filter(pk=method_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        raise _method_not_found(method_id)
    with transaction.atomic():
        locks.lock_customer(customer_id)
        method = SavedPaymentMethod.objects.select_for_update().get(pk=method_id)
        if not method.active:
            return method
        method.active = False
        method.deactivated_at = clock.now()
        method.deactivated_by = actor.label
        method.save(update_fields=["active", "deactivated_at", "deactivated_by"])
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="payment_method.deactivated",
            object_type="saved_payment_method",
            object_id=method.pk,
            data={**_audit_data(method), "reason": reason.strip()},
        )
    return method


def _method_not_found(method_id: int) -> NotFound:
    return NotFound(
        f"Saved payment method {method_id} does not exist.",
        code="saved_payment_method_not_found",
        field="saved_payment_method",
    )


# --- charges -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChargeRequests:
    """What ``request_off_session_charges`` queued, and what it left out (invoice → why)."""

    queued: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def request_off_session_charges(
    *, charges: Iterable[tuple[int, int]], actor: Actor
) -> ChargeRequests:
    """Queue one off-session charge per (invoice id, saved payment method id).

    For the billing run (Abrechnungslauf): call it INSIDE the run's transaction, after the
    invoices are finalized, with the subscription's ``saved_payment_method``::

        with transaction.atomic():
            ...  # lock, create and finalize the period's invoices
            off_session.request_off_session_charges(
                charges=[(invoice.pk, sub.saved_payment_method_id) for invoice, sub in billed
                         if sub.saved_payment_method_id],
                actor=actor,
            )

    The tasks are queued in that transaction (the database task queue is a table), so they
    exist exactly when the invoices do; they run after the commit, each outside any
    transaction, and never hold the run's locks while Stripe answers. Nothing is asked of
    Stripe here. An invoice that is not a finalized invoice, has nothing open, or whose
    method is inactive is skipped (returned with the reason; the invoice simply stays
    open for transfer or dunning), so one withdrawn card never rolls the run back.
    Raises NotFound saved_payment_method_not_found, StateConflict
    payment_method_of_other_customer (a programming error of the caller).
    """
    from faktura.payments.tasks import charge_saved_payment_method

    permissions.require(actor, "payment.charge_saved_method")
    pairs = list(dict.fromkeys((int(i), int(m)) for i, m in charges))
    if not pairs:
        return ChargeRequests()
    invoices = Invoice.objects.in_bulk([i for i, _ in pairs])
    methods = SavedPaymentMethod.objects.in_bulk([m for _, m in pairs])
    open_amounts = selectors.open_amounts([i for i in invoices])
    result = ChargeRequests()
    entries: list[audit.PendingEntry] = []
    with transaction.atomic():
        for invoice_id, method_id in pairs:
            invoice = invoices.get(invoice_id)
            method = methods.get(method_id)
            if method is None:
                raise _method_not_found(method_id)
            if invoice is not None and method.customer_id != invoice.customer_id:
                raise StateConflict(
                    f"The saved payment method {method_id} is not of the customer of "
                    f"invoice {invoice_id}.",
                    code="payment_method_of_other_customer",
                    field="saved_payment_method",
                )
            reason = _not_chargeable(invoice, method, open_amounts.get(invoice_id))
            if reason:
                result.skipped[invoice_id] = reason
                continue
            assert invoice is not None
            charge_saved_payment_method.enqueue(invoice_id, method_id)
            result.queued.append(invoice_id)
            entries.append(
                audit.PendingEntry(
                    chain=audit.customer_chain(invoice.customer_id),
                    action="invoice.charge_requested",
                    object_type="invoice",
                    object_id=invoice_id,
                    data={
                        "saved_payment_method": method_id,
                        "amount": open_amounts[invoice_id],
                    },
                )
            )
        if entries:
            audit.record_many(actor=actor, entries=entries)
    return result


def _not_chargeable(
    invoice: Invoice | None, method: SavedPaymentMethod, open_amount: Decimal | None
) -> str:
    if invoice is None:
        return "invoice_not_found"
    if invoice.status != Status.FINALIZED or invoice.kind != Kind.INVOICE:
        return "invoice_not_payable"
    if open_amount is None or open_amount <= 0:
        return "invoice_already_paid"
    if invoice.currency != "EUR":
        return "unsupported_currency"
    if not method.active or method.provider != PROVIDER:
        return "saved_payment_method_inactive"
    if selectors.is_disputed(invoice.pk):
        return "invoice_disputed"
    return ""


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What one charge did: ``charged`` (Stripe took it; its event books it), ``declined``
    (the invoice stays open), ``failed`` (the provider is not configured; the invoice stays
    open) or ``skipped`` (nothing was asked of Stripe)."""

    state: str
    invoice_id: int
    reason: str = ""
    payment_intent: str = ""
    next_try_at: dt.datetime | None = None  # a declined card: when it is tried again


def charge_invoice(
    *, invoice_id: int, method_id: int, actor: Actor, try_number: int = 1
) -> ChargeOutcome:
    """Charge an invoice's open amount from a saved method (the task's body).

    Must run outside any transaction: it reads the open amount, asks Stripe, and only
    then writes the audit entry in a short transaction of its own. Raises
    ProviderUnavailable when Stripe cannot be reached (the task tries again later);
    a declined card is an outcome, not an error.
    """
    from faktura.payments.providers import ChargeDeclined, ProviderNotConfigured, get_provider
    from faktura.payments.providers.stripe_provider import StripeProvider

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    method = SavedPaymentMethod.objects.filter(pk=method_id).first()
    if invoice is None or method is None:
        return ChargeOutcome("skipped", invoice_id, "invoice_not_found" if not invoice else "")
    open_amount = selectors.open_amounts([invoice.pk])[invoice.pk]
    reason = _not_chargeable(invoice, method, open_amount)
    if reason:
        logger.debug("Invoice %s is not charged: %s", invoice_id, reason)
        return ChargeOutcome("skipped", invoice_id, reason)
    provider = get_provider(PROVIDER)
    assert isinstance(provider, StripeProvider)
    try:
        intent = provider.charge_off_session(invoice, method, try_number=try_number)
    except ProviderNotConfigured as error:
        # Not a fault of this invoice and no retry helps: recorded, the invoice stays open
        # (transfer or dunning), and the worker goes on.
        logger.warning("Invoice %s is not charged: %s", invoice_id, error)
        _record(
            invoice,
            actor,
            "invoice.charge_failed",
            {
                "saved_payment_method": method.pk,
                "amount": open_amount,
                "error_code": "provider_not_configured",
                "message": str(error)[:300],
            },
        )
        return ChargeOutcome("failed", invoice_id, "provider_not_configured")
    except ChargeDeclined as declined:
        next_try = _after_decline(
            invoice, method, declined, amount=open_amount, try_number=try_number, actor=actor
        )
        return ChargeOutcome(
            "declined",
            invoice_id,
            declined.decline_code,
            declined.payment_intent,
            next_try_at=next_try,
        )
    _record(
        invoice,
        actor,
        "invoice.charge_sent",
        {
            "saved_payment_method": method.pk,
            "amount": open_amount,
            "payment_intent": intent,
            "try": try_number,
        },
    )
    CardRetry.objects.filter(invoice=invoice).update(
        state=CardRetry.State.CHARGED, next_try_at=None, tries=try_number, updated_at=clock.now()
    )
    return ChargeOutcome("charged", invoice_id, payment_intent=intent)


def _record(invoice: Invoice, actor: Actor, action: str, data: dict[str, object]) -> None:
    with transaction.atomic():
        locks.lock_customer(invoice.customer_id)
        audit.record(
            chain=audit.customer_chain(invoice.customer_id),
            actor=actor,
            action=action,
            object_type="invoice",
            object_id=invoice.pk,
            data=data,
        )


def retry_delay(attempt: int) -> dt.timedelta:
    """How long a charge waits after Stripe could not be reached (5, 10, 20, 40 min)."""
    return dt.timedelta(minutes=5 * 2 ** max(attempt - 1, 0))


# Decline codes after which trying the same card again cannot succeed (Stripe's list of
# decline codes): the customer must pay otherwise or save another method.
HARD_DECLINES = frozenset(
    {
        "authentication_required",  # the customer must confirm: a retry without them fails
        "card_not_supported",
        "currency_not_supported",
        "expired_card",
        "fraudulent",
        "incorrect_number",
        "invalid_account",
        "invalid_number",
        "lost_card",
        "new_account_information_available",
        "pickup_card",
        "restricted_card",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "stolen_card",
        "stop_payment_order",
        "transaction_not_allowed",
    }
)


def retry_days() -> list[int]:
    """Days after the first decline on which a card is tried again (FAKTURA_CARD_RETRY_DAYS)."""
    from django.conf import settings

    raw = str(getattr(settings, "FAKTURA_CARD_RETRY_DAYS", "3,7,14"))
    return sorted({int(part) for part in raw.split(",") if part.strip()})


def is_hard_decline(decline_code: str) -> bool:
    return decline_code in HARD_DECLINES


def _after_decline(
    invoice: Invoice,
    method: SavedPaymentMethod,
    declined: ChargeDeclined,
    *,
    amount: Decimal,
    try_number: int,
    actor: Actor,
) -> dt.datetime | None:
    """Record a declined try; plan the next one (soft declines only) and tell the customer.

    One transaction: the retry record, the next try's task, the audit entry and the mail
    exist together or not at all. Returns when the card is tried again (None: never).
    """
    from faktura.notifications import customer_mail
    from faktura.notifications import services as outbox
    from faktura.notifications.models import OutboxMessage
    from faktura.payments.tasks import charge_saved_payment_method

    now = clock.now()
    days = retry_days()
    hard = is_hard_decline(declined.decline_code)
    with transaction.atomic():
        customer = locks.lock_customer(invoice.customer_id)
        retry = CardRetry.objects.select_for_update().filter(invoice=invoice).first()
        if retry is None:
            retry = CardRetry(invoice=invoice, method=method, first_declined_at=now)
        # Counted from the first decline: a late try does not push the later ones back.
        next_try = (
            retry.first_declined_at + dt.timedelta(days=days[try_number - 1])
            if not hard and try_number <= len(days)
            else None
        )
        retry.method = method
        retry.tries = try_number
        retry.last_decline_code = declined.decline_code
        retry.hard_decline = hard
        retry.next_try_at = next_try
        retry.state = CardRetry.State.RETRYING if next_try else CardRetry.State.EXHAUSTED
        retry.updated_at = now
        retry.save()
        if next_try is not None:
            charge_saved_payment_method.using(run_after=next_try).enqueue(
                invoice.pk, method.pk, 1, try_number + 1
            )
        audit.record(
            chain=audit.customer_chain(invoice.customer_id),
            actor=actor,
            action="invoice.charge_failed",
            object_type="invoice",
            object_id=invoice.pk,
            data={
                "saved_payment_method": method.pk,
                "amount": amount,
                "decline_code": declined.decline_code,
                "error_code": declined.error_code,
                "payment_intent": declined.payment_intent,
                "message": declined.message[:300],
                "try": try_number,
                "hard_decline": hard,
                "next_try_at": next_try,
            },
        )
        ctx = customer_mail.base_context(customer) | _failed_payment_facts(
            invoice, method, amount, next_try, lang=customer_mail.language_of(customer)
        )
        mail = customer_mail.message(customer, OutboxMessage.Event.PAYMENT_FAILED, ctx, actor=actor)
        if mail is not None:
            outbox.queue_messages_locked([mail])
    return next_try


def _failed_payment_facts(
    invoice: Invoice,
    method: SavedPaymentMethod,
    amount: Decimal,
    next_try: dt.datetime | None,
    *,
    lang: str,
) -> dict[str, object]:
    from django.conf import settings

    from faktura.core.models import Company
    from faktura.documents.pdf import texts

    zone = ZoneInfo(Company.time_zone_or_default())
    bank = (invoice.seller or {}).get("bank") or {}
    pay_url = str(getattr(settings, "FAKTURA_PAYMENT_URL", "") or "")
    return {
        "document_title": "Zahlung fehlgeschlagen" if lang == "de" else "Payment failed",
        "number": invoice.number or "",
        "amount": texts.money(amount, invoice.currency, lang).replace(texts.NBSP, " "),
        "card": str(method),
        "next_try": texts.date(next_try.astimezone(zone).date(), lang) if next_try else "",
        "pay_url": pay_url.replace("{invoice_number}", invoice.number or "").replace(
            "{invoice_id}", str(invoice.pk)
        ),
        "iban": bank.get("iban", ""),
        "account_holder": bank.get("account_holder", ""),
    }


def card_retries_pending(invoice_ids: Iterable[int]) -> set[int]:
    """Of ``invoice_ids``, those whose card is still to be tried again: not dunned yet."""
    return set(
        CardRetry.objects.filter(
            bulk.column_in(CardRetry, "invoice", list(invoice_ids)),
            state=CardRetry.State.RETRYING,
        ).values_list("invoice_id", flat=True)
    )


def check_stripe_ids(provider_customer_id: object, payment_method_id: object) -> tuple[str, str]:
    """Stripe's customer and payment method ids, checked (InvalidInput otherwise)."""
    return (
        _stripe_id(
            provider_customer_id,
            prefix="cus_",
            field="provider_customer_id",
            code="invalid_provider_customer_id",
        ),
        _stripe_id(
            payment_method_id,
            prefix="pm_",
            field="payment_method_id",
            code="invalid_payment_method_id",
        ),
    )


def deactivate_locked(method: SavedPaymentMethod, *, actor: Actor, reason: str) -> None:
    """Deactivate a method of a customer whose lock the caller holds (audited)."""
    if not method.active:
        return
    method.active = False
    method.deactivated_at = clock.now()
    method.deactivated_by = actor.label
    method.save(update_fields=["active", "deactivated_at", "deactivated_by"])
    audit.record(
        chain=audit.customer_chain(method.customer_id),
        actor=actor,
        action="payment_method.deactivated",
        object_type="saved_payment_method",
        object_id=method.pk,
        data={**_audit_data(method), "reason": reason},
    )
