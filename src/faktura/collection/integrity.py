"""`faktura check`: every stored SEPA file still matches the SHA-256 taken when it was made."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator


def bank_file_problems() -> Iterator[str]:
    from faktura.collection.models import DirectDebitBatch
    from faktura.payments.models import RefundBatch

    for model, label in ((DirectDebitBatch, "direct-debit file"), (RefundBatch, "refund file")):
        for batch in model.objects.exclude(checksum="").order_by("pk").iterator(chunk_size=100):
            if hashlib.sha256(batch.file_bytes()).hexdigest() != batch.checksum:
                yield f"{label} {batch.pk} ({batch.message_id}): content differs from its SHA-256"
