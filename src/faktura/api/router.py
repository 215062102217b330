"""API v1 (django-ninja): the NinjaAPI instance and its routers."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Faktura API",
    version="1.0.0",
    description="Invoices, customers, products and orders. Money amounts are strings with two "
    "decimals; errors are {code, message, field}.",
    urls_namespace="api-v1",
)
