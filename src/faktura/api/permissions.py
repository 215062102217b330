"""Which operation of the permission matrix each writing API route is.

The key's owner must be allowed the operation (``core.permissions``), checked when the
key is authenticated, before the body is read or anything is looked up: a refused key
gets 403 with the matrix's code and nothing else happens. The services check again.
Every POST/PATCH/PUT/DELETE route of the OpenAPI schema has a row (a test checks it);
``None`` marks a route that no API key calls (a provider's signed webhook).
"""

from __future__ import annotations

import re

from django.http import HttpRequest

ROUTE_OPERATIONS: dict[str, str | None] = {
    "POST /customers": "customer.create",
    "PATCH /customers/{customer_id}": "customer.change",
    "POST /customers/{customer_id}/balance/send": "account_statement.send",
    "POST /customers/{customer_id}/legal-hold": "retention.legal_hold",
    "POST /customers/{customer_id}/legal-hold/clear": "retention.legal_hold",
    "POST /products": "product.create",
    "PATCH /products/{product_id}": "product.change",
    "POST /orders": "invoice.create_draft",
    "DELETE /invoices/{invoice_id}": "invoice.discard",
    "POST /invoices/{invoice_id}/finalize": "invoice.finalize",
    "POST /invoices/{invoice_id}/approve": "invoice.approve",
    "POST /invoices/{invoice_id}/reject": "invoice.approve",
    "POST /invoices/{invoice_id}/cancel": "invoice.correct",
    "POST /invoices/{invoice_id}/credit-notes": "invoice.correct",
    "POST /invoices/{invoice_id}/send": "invoice.send",
    "POST /invoices/{invoice_id}/checkout": "payment.checkout",
    "POST /payments": "payment.record",
    "POST /payments/{payment_id}/allocations": "payment.record",
    "POST /payments/{payment_id}/allocations/{allocation_id}/release": (
        "payment.release_allocation"
    ),
    "POST /payments/{payment_id}/chargebacks": "payment.return",
    "POST /disputes/{dispute_id}/clear": "payment.return",
    "POST /payment-requests/{request_id}/confirm": "payment.confirm",
    "POST /payment-requests/{request_id}/reject": "payment.confirm",
    "POST /mandates": "mandate.change",
    "POST /mandates/{mandate_id}/revoke": "mandate.change",
    "POST /direct-debit-batches": "direct_debit.create",
    "POST /direct-debit-batches/{batch_id}/submit": "direct_debit.create",
    "POST /direct-debit-batches/{batch_id}/discard": "direct_debit.create",
    "POST /direct-debit-batches/status-reports": "statement.import",
    "POST /statements": "statement.import",
    "POST /bank-transactions/assign-to-invoice": "bank_transaction.assign",
    "POST /bank-transactions/{transaction_id}/assign": "bank_transaction.assign",
    "POST /bank-transactions/{transaction_id}/ignore": "bank_transaction.assign",
    "POST /webhooks/stripe": None,
    "POST /plans": "plan.manage",
    "POST /plans/{plan_id}/price-changes": "plan.manage",
    "POST /courses": "plan.manage",
    "POST /courses/{course_id}/bookings": "subscription.manage",
    "POST /coupons": "plan.manage",
    "POST /subscriptions": "subscription.manage",
    "POST /subscriptions/{subscription_id}/change": "subscription.manage",
    "POST /subscriptions/{subscription_id}/change-preview": "subscription.manage",
    "POST /subscriptions/{subscription_id}/pause": "subscription.manage",
    "POST /subscriptions/{subscription_id}/resume": "subscription.manage",
    "POST /subscriptions/{subscription_id}/cancel": "subscription.manage",
    "POST /subscriptions/{subscription_id}/terminate": "subscription.manage",
    "POST /subscriptions/{subscription_id}/charges": "subscription.manage",
    "POST /subscriptions/{subscription_id}/coupon": "subscription.manage",
    "POST /subscriptions/{subscription_id}/price-changes/{price_change_id}/consent": (
        "subscription.manage"
    ),
    "POST /customers/{customer_id}/charges": "subscription.manage",
    "POST /billing-runs": "billing.run",
    "POST /customers/{customer_id}/access/blocks": "access.manage",
    "POST /customers/{customer_id}/access/override": "access.manage",
    "POST /access-blocks/{block_id}/lift": "access.manage",
    "PATCH /dunning-policy/{policy_id}": "master_data.change",
    "PATCH /dunning-policy/{policy_id}/levels/{number}": "master_data.change",
    "POST /dunning-runs": "dunning.run",
    "POST /dunning-notices/{notice_id}/approve": "dunning.approve",
    "POST /dunning-notices/{notice_id}/cancel": "dunning.approve",
    "POST /dunning-fees": "dunning.fee",
    "POST /dunning-fees/{fee_id}/waive": "dunning.fee",
    "POST /collection-cases/{case_id}/approve": "collection.approve",
    "POST /collection-cases/{case_id}/recall": "collection.approve",
    "POST /collection-cases/{case_id}/write-off": "collection.approve",
    "POST /collection-cases/{case_id}/agency-payments": "collection.export",
    "POST /collection-exports": "collection.export",
    "POST /instalment-agreements": "dunning.instalments",
    "POST /instalment-agreements/{agreement_id}/cancel": "dunning.instalments",
    "PUT /customers/{customer_id}/dunning-block": "customer.change",
    "POST /to-do-entries/{entry_id}/done": "todo.done",
    "POST /webhook-endpoints": "webhook.manage",
    "PATCH /webhook-endpoints/{endpoint_id}": "webhook.manage",
    "DELETE /webhook-endpoints/{endpoint_id}": "webhook.manage",
    "POST /webhook-endpoints/{endpoint_id}/rotate-secret": "webhook.manage",
    "POST /webhook-deliveries/{delivery_id}/redeliver": "webhook.manage",
}

# Routes the gate leaves to the service, because the service's four-eyes answer comes first:
# who entered a payment hears ``confirmer_is_requester``, not that their role lacks it.
SERVICE_DECIDES = frozenset(
    {
        "POST /payment-requests/{request_id}/confirm",
        "POST /payment-requests/{request_id}/reject",
    }
)

_PREFIX = "api/v1"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_key(request: HttpRequest) -> str | None:
    """``POST /invoices/{invoice_id}/approve`` for the route the request resolved to."""
    match = request.resolver_match
    if match is None or not match.route:
        return None
    route = _CONVERTER.sub(r"{\1}", match.route).strip("/")
    if route.startswith(_PREFIX):
        route = route[len(_PREFIX) :]
    return f"{request.method} /{route.strip('/')}".rstrip("/")


def operation_of(request: HttpRequest) -> str | None:
    """The operation the gate checks for the request's route (None: the service decides)."""
    key = route_key(request)
    if key is None or key in SERVICE_DECIDES:
        return None
    return ROUTE_OPERATIONS.get(key)
