"""Integrity checks of `faktura check`: audit chains, finalized documents, archived files."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.core.audit import verify_chains
from faktura.core.models import AuditEntry

# Further checks (e.g. the document archive) register themselves here.
EXTRA_CHECKS: list[Callable[[], Iterator[str]]] = []


def finalized_document_problems() -> Iterator[str]:
    """Recompute each finalized document's hash against its row and its finalization record."""
    from faktura.invoicing.models import Invoice

    recorded = {
        entry["object_id"]: entry["data"].get("content_hash")
        for entry in AuditEntry.objects.filter(action__endswith=".finalized").values(
            "object_id", "data"
        )
    }
    documents = (
        Invoice.objects.finalized()
        .prefetch_related("lines", "allowances", "taxes")
        .order_by("pk")
        .iterator(chunk_size=500)
    )
    for invoice in documents:
        name = f"{invoice.get_kind_display()} {invoice.number} (id {invoice.pk})"
        actual = invoice.compute_content_hash()
        expected = recorded.get(str(invoice.pk))
        if expected is None:
            yield f"{name}: no finalization record in the audit log"
        elif actual != expected:
            yield (
                f"{name}: content differs from its finalization record (altered after finalization)"
            )
        elif invoice.content_hash != actual:
            yield f"{name}: stored hash differs from its content"


def all_problems() -> Iterator[str]:
    for problem in verify_chains():
        yield str(problem)
    yield from finalized_document_problems()
    for check in EXTRA_CHECKS:
        yield from check()
