"""The stable error codes the subscription services answer with.

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``
so that the OpenAPI schema lists them. Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "plan_not_found": (404, "No plan with this id or code."),
    "course_not_found": (404, "No course with this id."),
    "subscription_not_found": (404, "No subscription with this id (of this customer)."),
    "coupon_not_found": (404, "No coupon with this code."),
    "price_change_not_found": (404, "No price change with this id for the subscription's plan."),
    "plan_code_taken": (422, "Another plan has this code."),
    "course_code_taken": (422, "Another course has this code."),
    "coupon_code_taken": (422, "Another coupon has this code."),
    "invalid_code": (422, "Codes are slugs: letters, digits, hyphen, underscore."),
    "invalid_interval": (422, "interval is week, month, quarter, half_year or year."),
    "invalid_timing": (422, "timing is in_advance or in_arrears."),
    "invalid_notice_unit": (422, "notice_unit is days or months."),
    "invalid_after_minimum_term": (422, "after_minimum_term is indefinite or renews."),
    "invalid_payment_method": (422, "payment_method is transfer, direct_debit or provider."),
    "invalid_renewal_months": (422, "A renewing contract needs a minimum and a renewal term."),
    "invalid_external_reference": (422, "external_reference has at most 100 characters."),
    "invalid_effective": (422, "effective is now or next_period."),
    "invalid_coupon": (422, "The coupon's kind, value, duration or periods are not acceptable."),
    "product_inactive": (422, "The product is inactive."),
    "plan_inactive": (422, "The plan is inactive."),
    "course_inactive": (422, "The course is inactive or over."),
    "effective_date_not_in_future": (422, "A price change takes effect after today."),
    "price_change_exists": (409, "The plan has a price change on this day already."),
    "instalments_do_not_add_up": (422, "The instalments do not add up to the course price."),
    "terms_not_allowed_for_consumers": (
        422,
        "The plan's contract terms are not allowed for consumers (§ 309 Nr. 9 BGB).",
    ),
    "mandate_required": (409, "Direct debit needs a usable SEPA mandate of the customer."),
    "saved_payment_method_required": (
        409,
        "Online payment needs an active saved payment method of the customer.",
    ),
    "subscription_reference_reused": (
        409,
        "The external_reference belongs to another customer's or plan's subscription.",
    ),
    "notice_in_future": (422, "Notice cannot be received in the future."),
    "end_before_earliest_allowed": (
        422,
        "The contract cannot end before the earliest end its terms allow.",
    ),
    "not_a_plan_subscription": (409, "A course booking has no plan to change, pause or cancel."),
    "subscription_ended": (409, "The subscription has ended."),
    "subscription_cancelled": (409, "The subscription is cancelled already."),
    "subscription_not_cancelled": (409, "The subscription is not cancelled: nothing to undo."),
    "cancellation_took_effect": (409, "The cancellation took effect already; it cannot be undone."),
    "cancellation_credited": (
        409,
        "The time after the end was credited already; the cancellation cannot be undone.",
    ),
    "invalid_reason": (422, "The reason is longer than 1,000 characters."),
    "subscription_paused": (409, "The subscription is paused."),
    "subscription_not_paused": (409, "The subscription is not paused."),
    "billing_pending": (409, "Periods before the change are due but not billed yet."),
    "change_after_end": (409, "The change would take effect after the contract ends."),
    "nothing_to_change": (422, "Neither plan nor quantity differ from the current ones."),
    "coupon_inactive": (409, "The coupon is inactive."),
    "coupon_expired": (409, "The coupon can no longer be redeemed."),
    "coupon_not_for_plan": (409, "The coupon is not valid for this plan."),
    "discount_exists": (409, "The subscription has a coupon already."),
    "consent_window_closed": (409, "The price change has taken effect; consent comes too late."),
}
