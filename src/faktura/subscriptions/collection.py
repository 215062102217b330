"""How subscription invoices are collected, beyond what the document pipeline does."""

from __future__ import annotations


def request_provider_charges(invoice_ids: list[int]) -> None:
    """Charge the saved provider payment method of each invoice off-session (enqueued)."""
    # Wired to the payment provider's off-session charge when the saved methods land.
    del invoice_ids
