"""Background entry points of the payments app (run after the recording commit)."""

from __future__ import annotations

import logging

from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def process_return_event(event_id: int) -> None:
    """Hand a returned debit or chargeback to what follows it (notice to the customer).

    Idempotent: it only reads. The dunning run finds open ReturnEvents itself
    (``dunning_processed_at`` is empty); notifications hook in here once they exist.
    """
    from faktura.payments.models import ReturnEvent

    event = ReturnEvent.objects.filter(pk=event_id).first()
    if event is None:
        return
    logger.info(
        "%s %s for customer %s: %s (%s)",
        event.get_kind_display(),
        event.reason_code,
        event.customer_id,
        event.amount,
        event.consequence,
    )


# Stripe unreachable: tried again after 5, 10, 20, 40 minutes, then left to a person
# (the invoice stays open; the failed task is logged by the worker).
CHARGE_ATTEMPTS = 5


@task()
def charge_saved_payment_method(
    invoice_id: int, method_id: int, attempt: int = 1, try_number: int = 1
) -> str:
    """Charge an invoice's open amount from a saved payment method (queued by a billing run).

    Runs outside any transaction; safe to run twice (the charge's idempotency key gives
    the same payment intent back). A paid invoice or an inactive method is skipped. A
    declined card is recorded (``invoice.charge_failed``), the customer is told, and after
    a soft decline the card is tried again on the retry schedule (``try_number``); an
    unreachable Stripe is tried again a few minutes later (``attempt``), a bounded number
    of times.
    """
    from faktura.core import clock
    from faktura.core.actors import Actor
    from faktura.payments import off_session
    from faktura.payments.providers import ProviderUnavailable

    try:
        outcome = off_session.charge_invoice(
            invoice_id=invoice_id,
            method_id=method_id,
            actor=Actor.system("stripe"),
            try_number=try_number,
        )
    except ProviderUnavailable as error:
        if attempt >= CHARGE_ATTEMPTS:
            raise
        logger.warning(
            "Charge of invoice %s: %s; attempt %s of %s",
            invoice_id,
            error.message,
            attempt,
            CHARGE_ATTEMPTS,
        )
        charge_saved_payment_method.using(
            run_after=clock.now() + off_session.retry_delay(attempt)
        ).enqueue(invoice_id, method_id, attempt + 1, try_number)
        return "retry"
    return outcome.state
