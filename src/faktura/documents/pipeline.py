"""What happens to a finalized document after its commit: render, archive, deliver."""

from __future__ import annotations


def process(invoice_id: int) -> None:
    """Render and archive the document, then hand it to delivery; safe to run twice."""
    # Filled in by the documents capability (rendering, archive, outbox).
    return None
