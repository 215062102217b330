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
    "dunning_policy_not_found": (404, "No dunning policy with this id."),
    "invalid_arrears_debit_limit": (422, "arrears_debit_limit is a whole number from 1 to 10."),
    "unknown_placeholder": (422, "A level text names a placeholder the notices do not fill."),
    "letter_not_ready": (404, "The notice's letter (PDF) is not archived yet."),
    "instalment_agreement_not_found": (404, "No instalment agreement with this id."),
    "instalment_agreement_not_active": (409, "The instalment agreement has ended already."),
    "instalment_schedule_required": (
        422,
        "Give either a number of monthly instalments with the first due date or a schedule.",
    ),
    "invalid_instalment_count": (422, "Between 1 and 60 instalments."),
    "invalid_grace_days": (422, "Between 0 and 60 grace days."),
    "instalment_no_invoices": (422, "An instalment agreement names at least one invoice."),
    "instalment_amount_not_positive": (422, "An instalment is a positive amount."),
    "instalment_dates_not_ascending": (422, "The due dates must be strictly ascending."),
    "instalment_due_in_past": (422, "The first instalment is due before today."),
    "instalment_sum_mismatch": (422, "The instalments do not add up to the open amount."),
    "invoice_of_other_customer": (422, "The invoice belongs to another customer."),
    "invoice_not_open": (409, "The invoice has nothing open (or is no finalized invoice)."),
    "invoice_in_instalment_agreement": (409, "The invoice is in another active agreement."),
    "invoice_in_collection": (409, "The invoice is with the collection agency."),
    "no_instalment_reference": (422, "The payment's reference names no instalment."),
    "instalment_nothing_to_allocate": (
        409,
        "The payment is used up or the agreement's invoices are paid.",
    ),
    "todo_entry_not_found": (404, "No to-do entry with this id."),
    "todo_entry_done": (409, "The to-do entry is marked done already."),
}
