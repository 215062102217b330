"""The stable error codes the payments services and endpoints answer with.

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``
so that the OpenAPI schema lists them. Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "payment_not_found": (404, "No payment with this id."),
    "payment_request_not_found": (404, "No payment request with this id."),
    "allocation_not_found": (404, "No allocation with this id."),
    "invoice_not_found": (422, "The invoice given in the body does not exist."),
    "invalid_payment_method": (422, "method is transfer, direct_debit, provider or cash."),
    "invalid_payment_source": (422, "source is statement, provider or manual."),
    "payment_date_in_future": (422, "A payment cannot be dated in the future."),
    "invalid_date": (422, "Not a date (YYYY-MM-DD)."),
    "no_allocations": (422, "Name at least one invoice and amount."),
    "duplicate_invoice": (422, "An invoice is named twice in one allocation."),
    "invoices_of_several_customers": (422, "One allocation pays invoices of one customer."),
    "invoice_of_other_customer": (422, "The invoice belongs to another customer."),
    "allocation_exceeds_payment": (409, "More than the payment has left to allocate."),
    "allocation_exceeds_open_amount": (409, "More than the invoice's open amount."),
    "invoice_already_paid": (409, "The invoice has no open amount."),
    "invoice_not_payable": (409, "Only finalized invoices can be paid."),
    "payment_of_other_customer": (409, "The payment belongs to another customer."),
    "credit_reserved": (409, "The money is reserved for a refund."),
    "allocation_already_released": (409, "The allocation was released already."),
    "external_id_reused": (409, "The external id was recorded with another amount."),
    "payment_request_not_pending": (409, "The payment request was decided already."),
    "confirmer_is_requester": (403, "Who entered a payment cannot confirm it."),
    "no_credit": (409, "The customer has no credit."),
    "insufficient_credit": (409, "The customer has less credit."),
    "write_off_exceeds_tolerance": (409, "More than the write-off tolerance."),
    "write_off_exceeds_open_amount": (409, "More than the invoice's open amount."),
    # returned debits, chargebacks, disputes
    "direct_debit_not_found": (422, "No submitted direct debit with this end-to-end id."),
    "dispute_not_found": (404, "No dispute with this id."),
    "return_target_required": (422, "Name the allocation, or the end-to-end id / payment."),
    "source_reference_required": (422, "A return needs the reference of its source."),
    "chargeback_ambiguous": (422, "The payment pays several invoices; name the allocation."),
    "direct_debit_already_returned": (409, "The direct debit was returned already."),
    "nothing_to_charge_back": (409, "The payment has nothing left to charge back."),
    "payment_unassigned": (409, "The payment is not assigned to a customer."),
    "dispute_cleared": (409, "The dispute is cleared already."),
    # saved payment methods, off-session charges
    "invalid_payment_provider": (422, "provider is stripe."),
    "invalid_provider_customer_id": (422, "Not a Stripe customer id (cus_…, at most 255)."),
    "invalid_payment_method_id": (422, "Not a Stripe payment method id (pm_…, at most 255)."),
    "invalid_label": (422, "The label is not a text of at most 100 characters."),
    "saved_payment_method_not_found": (404, "No saved payment method with this id."),
    "payment_method_of_other_customer": (
        409,
        "The saved payment method belongs to another customer.",
    ),
    # refunds
    "refund_not_found": (404, "No refund with this id."),
    "refund_batch_not_found": (404, "No refund file with this id."),
    "iban_required": (422, "No account of the customer is known; give the IBAN."),
    "invalid_execution_date": (422, "The execution date is past or not a business day."),
    "refund_not_pending": (409, "The refund was decided or paid already."),
    "refund_batch_not_open": (409, "The refund file was released or discarded already."),
}
