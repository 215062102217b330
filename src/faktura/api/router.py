"""API v1 (django-ninja): the NinjaAPI instance and its routers."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from faktura.api import access as access_api
from faktura.api import (
    balance,
    billing_runs,
    company,
    customers,
    direct_debit_preview,
    disputes,
    documents,
    errors,
    invoices,
    orders,
    plans,
    print_batches,
    products,
    provider_webhooks,
    refunds,
    reports_receivables,
    reports_revenue,
    statements,
    subscriptions,
    tax_rates,
    todo,
)
from faktura.api import collection as collection_api
from faktura.api import collection_cases as collection_cases_api
from faktura.api import dunning as dunning_api
from faktura.api import instalments as instalments_api
from faktura.api import legal_holds as legal_holds_api
from faktura.api import payments as payments_api
from faktura.api import risk as risk_api
from faktura.api import webhooks as webhooks_api
from faktura.api.fields import ApiParser

DESCRIPTION = """\
Invoices, customers, products and orders for shops, CMS and scripts.

* Authentication: `Authorization: Bearer fk_live_…` (keys are created with
  `faktura createapikey` or in the admin). Read-only keys get 403 `insufficient_scope`
  on writes; unknown or revoked keys get 401 `invalid_api_key`.
* Money is a string with exactly two decimals (`"119.00"`, pattern `^-?[0-9]+\\.[0-9]{2}$`)
  plus `currency`; unit prices have up to four decimals. Money sent as a JSON number, or
  written otherwise (`"1_000.00"`, `"1e2"`, full-width digits, `"5"`), is refused
  (`invalid_amount`; three decimals: `too_many_decimals`). Dates are `YYYY-MM-DD`;
  timestamps ISO 8601 in UTC.
* Request bodies are JSON objects with only the documented fields: another JSON value
  or an unknown (misspelt) field is refused with 422 `validation_error`. A NUL character
  (U+0000) anywhere in the URL, a header or the body is refused with 400 `nul_character`.
* Lists: `{"object": "list", "data": [...], "has_more": …, "next_cursor": …}` in id
  order; pass `next_cursor` as `cursor`; `limit` is 1–200 (default 50).
* Creating requests accept an `Idempotency-Key` header: a retry returns the first
  response instead of creating a second object.
* Errors: `{"code": "invoice_not_draft", "message": "…", "field": null}`. The codes are
  stable; every code is listed under `x-error-codes` of the `ErrorOut` schema.
"""


class FakturaApi(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        errors.document_errors(schema)
        return schema


api = FakturaApi(
    title="Faktura API",
    version="1.0.0",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    parser=ApiParser(),
)
errors.install(api)
api.add_router("/customers", customers.router)
api.add_router("/customers", balance.router)
api.add_router("/customers", risk_api.customers_router)
api.add_router("/print-batches", print_batches.router)
api.add_router("/company", company.router)
api.add_router("/products", products.router)
api.add_router("/tax-rates", tax_rates.router)
api.add_router("/orders", orders.router)
api.add_router("/invoices", invoices.router)
api.add_router("/invoices", documents.router)
api.add_router("/payments", payments_api.router)
api.add_router("/payment-requests", payments_api.requests_router)
api.add_router("/mandates", collection_api.mandates_router)
api.add_router("/direct-debit-batches", collection_api.batches_router)
api.add_router("/direct-debits", direct_debit_preview.router)
api.add_router("/disputes", disputes.disputes_router)
api.add_router("/returned-debits", disputes.returned_debits_router)
api.add_router("/chargebacks", disputes.chargebacks_router)
api.add_router("/fee-items", disputes.fee_items_router)
api.add_router("/refunds", refunds.router)
api.add_router("/statements", statements.router)
api.add_router("/bank-transactions", statements.transactions_router)
api.add_router("/webhooks", provider_webhooks.router)
api.add_router("/invoices", provider_webhooks.checkout_router)
api.add_router("/plans", plans.plans_router)
api.add_router("/courses", plans.courses_router)
api.add_router("/coupons", plans.coupons_router)
api.add_router("/subscriptions", subscriptions.router)
api.add_router("/customers", subscriptions.customers_router)
api.add_router("/billing-runs", billing_runs.router)
api.add_router("/customers", access_api.customers_router)
api.add_router("/access-blocks", access_api.blocks_router)
api.add_router("/customers", legal_holds_api.router)
api.add_router("/webhook-endpoints", webhooks_api.endpoints_router)
api.add_router("/webhook-deliveries", webhooks_api.deliveries_router)
api.add_router("/dunning-policy", dunning_api.policy_router)
api.add_router("/dunning-runs", dunning_api.runs_router)
api.add_router("/dunning-notices", dunning_api.notices_router)
api.add_router("/dunning-fees", dunning_api.fees_router)
api.add_router("/collection-cases", collection_cases_api.cases_router)
api.add_router("/collection-exports", collection_cases_api.exports_router)
api.add_router("/customers", dunning_api.customers_router)
api.add_router("/instalment-agreements", instalments_api.router)
api.add_router("/to-do-entries", todo.router)
api.add_router("/reports", reports_revenue.router)
api.add_router("/reports", reports_receivables.router)
