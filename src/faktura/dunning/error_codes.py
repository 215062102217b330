"""The stable error codes the dunning services answer with.

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``.
Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "dunning_notice_not_found": (404, "No dunning notice with this id."),
    "dunning_fee_not_found": (404, "No dunning fee with this id."),
    "dunning_notice_not_proposed": (409, "The notice is not a proposal waiting for review."),
    "dunning_fee_not_open": (409, "The fee is paid or waived already."),
    "dunning_reason_required": (422, "Say why (reason)."),
    "invalid_dunning_fee": (422, "A fee needs a customer, a positive amount and a reason."),
    "no_dunning_policy": (422, "No dunning policy applies to the customer."),
    "collection_case_not_found": (404, "No collection case with this id."),
    "collection_layout_not_found": (404, "No collection export layout (or no default)."),
    "collection_case_wrong_status": (409, "The collection case is not in a state for this."),
    "collection_export_immutable": (409, "An archived collection export is never changed."),
    "invalid_collection_layout": (422, "A layout column names an unknown field or format."),
    "no_base_rate": (422, "No base rate is known for a day of the interest period."),
    "dunning_level_not_found": (404, "The policy has no level with this number."),
    "invalid_dunning_level": (422, "A level setting is out of range (days, fees, access)."),
    "unknown_placeholder": (422, "A level text names a placeholder the notices do not fill."),
    "letter_not_ready": (404, "The notice's letter (PDF) is not archived yet."),
    "todo_entry_not_found": (404, "No to-do entry with this id."),
    "todo_entry_done": (409, "The to-do entry is marked done already."),
}
