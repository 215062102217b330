"""What `faktura check` says about the document pipeline: documents it could not finish."""

from __future__ import annotations

from collections.abc import Iterator


def blocked_documents() -> Iterator[str]:
    """Name every finalized document blocked from delivery, with the first line of its error.

    A blocked document (failed validation or rendering) waits for staff: a code or data fix,
    then ``faktura process-documents --blocked``. Faktura runs unattended, so `check` names
    it instead of staying green (DESIGN invariant 9).
    """
    from faktura.documents.services import BLOCKED
    from faktura.invoicing.models import Invoice

    blocked = (
        Invoice.objects.finalized()
        .filter(delivery_status=BLOCKED)
        .order_by("pk")
        .values_list("pk", "kind", "number", "delivery_error")
    )
    for pk, kind, number, error in blocked.iterator(chunk_size=500):
        first = error.strip().splitlines()[0] if error.strip() else "no reason recorded"
        yield (
            f"{kind} {number} (id {pk}): blocked, neither archived nor sent: {first} "
            "(fix, then `faktura process-documents --blocked`)"
        )
