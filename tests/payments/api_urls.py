"""A test URLconf mounting the payment and collection routers on their own API.

The routers are registered in faktura.api.router by the lead; this keeps their tests
independent of that registration (ninja routers may be mounted on several APIs).
"""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from faktura.api import errors
from faktura.api.collection import batches_router, mandates_router
from faktura.api.fields import ApiParser
from faktura.api.payments import requests_router, router

api = NinjaAPI(
    title="Faktura API (payments test)",
    version="1.0.0",
    urls_namespace="api-v1-payments-test",
    parser=ApiParser(),
)
errors.install(api)
api.add_router("/payments", router)
api.add_router("/payment-requests", requests_router)
api.add_router("/mandates", mandates_router)
api.add_router("/direct-debit-batches", batches_router)

urlpatterns = [path("api/v1/", api.urls)]
