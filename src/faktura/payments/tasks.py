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
