"""The stable error codes the collection services and endpoints answer with.

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``
so that the OpenAPI schema lists them. Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "mandate_not_found": (404, "No mandate with this id."),
    "direct_debit_batch_not_found": (404, "No direct-debit file with this id."),
    "invalid_mandate_reference": (422, "1–35 characters of the SEPA character set."),
    "mandate_reference_taken": (422, "Another mandate has this reference."),
    "invalid_scheme": (422, "scheme is CORE or B2B."),
    "invalid_mandate_kind": (422, "kind is recurring or one_off."),
    "mandate_signature_in_future": (422, "A mandate cannot be signed in the future."),
    "b2b_mandate_for_consumer": (422, "Consumers sign CORE mandates only."),
    "collection_date_too_early": (422, "The bank needs the file one business day before."),
    "collection_date_not_business_day": (422, "Collections settle on TARGET2 days only."),
    "invalid_sepa_input": (422, "The data cannot go into a SEPA file."),
    "mandate_not_active": (409, "The mandate is revoked, expired or unusable."),
    "nothing_to_collect": (409, "No invoice is due for collection on this date."),
    "creditor_id_missing": (409, "The company has no creditor identifier."),
    "bank_account_missing": (409, "The company has no bank account."),
    "batch_not_submittable": (409, "The file was submitted or discarded already."),
    "batch_not_discardable": (409, "A submitted file cannot be discarded."),
    "batch_not_settleable": (409, "Only a submitted file can be settled."),
    "batch_not_due": (409, "The collection date has not come yet."),
    "batch_mandate_unusable": (409, "A mandate of the file is no longer usable."),
    "batch_immutable": (409, "A bank file never changes."),
    "direct_debit_not_in_batch": (404, "The file holds no debit with this end-to-end id."),
    "status_report_unknown_message": (404, "The pain.002 answers a file Faktura did not make."),
    "status_report_not_direct_debit": (422, "The pain.002 answers no direct-debit file."),
    "status_report_unknown_debit": (422, "The pain.002 names a debit the file does not hold."),
    "status_report_amount_mismatch": (422, "The pain.002 gives another amount for a debit."),
    "status_report_batch_not_submitted": (409, "The file was never submitted to the bank."),
}
