"""How subscription invoices are collected, beyond what the document pipeline does.

Direct-debit invoices carry their pre-notification and go into the next batch; transfer
invoices carry payment details and the EPC QR code (both by the document pipeline).
Invoices of subscriptions paid with a saved provider method are charged off-session.
"""

from __future__ import annotations

from faktura.core.actors import Actor
from faktura.payments.off_session import request_off_session_charges
from faktura.subscriptions.models import BilledPeriod, Charge


def request_provider_charges(invoice_ids: list[int], *, actor: Actor) -> None:
    """Queue the off-session charge of each invoice with its subscription's saved method.

    Runs in the finalizing transaction: the charge tasks exist exactly when the invoices do.
    """
    methods: dict[int, int] = {}
    for source in (BilledPeriod, Charge):
        for invoice_id, method_id in (
            source.objects.filter(
                invoice_id__in=invoice_ids,
                subscription__saved_payment_method__isnull=False,
            )
            .values_list("invoice_id", "subscription__saved_payment_method_id")
            .order_by("subscription_id")
        ):
            methods.setdefault(invoice_id, method_id)
    if methods:
        request_off_session_charges(charges=sorted(methods.items()), actor=actor)
