"""A URL configuration for the API tests of the bank and provider endpoints.

Until api/router.py mounts these routers, the tests serve them from an API of their own,
built exactly like the real one (same parser, same error handlers).
"""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from faktura.api import errors, provider_webhooks, statements
from faktura.api.fields import ApiParser

api = NinjaAPI(
    title="Faktura API (bank tests)",
    version="1.0.0-bank-tests",
    urls_namespace="api-v1-bank-tests",
    parser=ApiParser(),
)
errors.install(api)
api.add_router("/statements", statements.router)
api.add_router("/bank-transactions", statements.transactions_router)
api.add_router("/webhooks", provider_webhooks.router)
api.add_router("/invoices", provider_webhooks.checkout_router)

urlpatterns = [path("api/v1/", api.urls)]
