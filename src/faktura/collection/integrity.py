"""`faktura check`: every stored SEPA file still matches the SHA-256 taken when it was made,
and that SHA-256 is still the one its creation entry in the audit log recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator


def bank_file_problems() -> Iterator[str]:
    from faktura.collection.models import DirectDebitBatch
    from faktura.core.integrity import entries_by_object, merge_by_key, object_key
    from faktura.payments.models import RefundBatch

    for model, label, object_type in (
        (DirectDebitBatch, "direct-debit file", "direct_debit_batch"),
        (RefundBatch, "refund file", "refund_batch"),
    ):
        # A file replaced together with its row's checksum still differs from the checksum
        # its creation entry recorded; a deleted row leaves that entry behind.
        entries = entries_by_object(actions=[f"{object_type}.created"], object_types=[object_type])
        batches = model.objects.order_by("pk").iterator(chunk_size=100)
        for key, recorded, rows in merge_by_key(
            entries,
            batches,
            left_key=lambda entry: object_key(entry["object_id"]),
            right_key=lambda batch: object_key(batch.pk),
        ):
            if not rows:
                entry = recorded[0]
                yield (
                    f"{label} {key[1]}: created according to audit entry #{entry['pk']}, "
                    "but its row is missing (deleted)"
                )
                continue
            batch = rows[0]
            name = f"{label} {batch.pk} ({batch.message_id})"
            if batch.checksum and hashlib.sha256(batch.file_bytes()).hexdigest() != batch.checksum:
                yield f"{name}: content differs from its SHA-256"
            if not recorded:
                if batch.checksum:
                    yield f"{name}: no creation record in the audit log"
                continue
            if recorded[0]["data"].get("checksum") != batch.checksum:
                yield (
                    f"{name}: SHA-256 differs from its creation record (audit entry "
                    f"#{recorded[0]['pk']}; {batch.checksum or 'none'}, recorded "
                    f"{recorded[0]['data'].get('checksum')}): the file was replaced"
                )
