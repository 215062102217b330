"""/products: list, get, create, update — through catalog.services."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.schemas import ErrorOut, Page, ProductIn, ProductList, ProductOut, ProductPatch
from faktura.catalog import services
from faktura.core.errors import NotFound

router = Router(tags=["products"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _present(product_id: int) -> Any:
    product = presenters.products().filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"Product {product_id} does not exist.")
    return presenters.product(product)


@router.get("", response={200: ProductList, **ERRORS}, auth=read_auth)
def list_products(
    request: HttpRequest,
    params: Query[Page],
    sku: str | None = None,
    active: bool | None = None,
) -> Any:
    """List products in id order; filter by SKU or active flag."""
    queryset = presenters.products()
    if sku:
        queryset = queryset.filter(sku=sku)
    if active is not None:
        queryset = queryset.filter(active=active)
    return presenters.page(queryset, params, lambda rows: [presenters.product(p) for p in rows])


@router.get("/{product_id}", response={200: ProductOut, **ERRORS}, auth=read_auth)
def get_product(request: HttpRequest, product_id: int) -> Any:
    return _present(product_id)


@router.post("", response={201: ProductOut, **ERRORS}, auth=write_auth)
def create_product(
    request: HttpRequest, payload: ProductIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Create a product; ``unit_price`` has up to 4 decimals, ``tax_rate`` is a code.

    An opening ``stock_level`` of a tracked product is booked as a stock movement.
    """
    actor = actor_of(request)

    def create() -> Any:
        product = services.create_product(actor=actor, **payload.model_dump(exclude_unset=True))
        return _present(product.pk)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@router.patch("/{product_id}", response={200: ProductOut, **ERRORS}, auth=write_auth)
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch) -> Any:
    """Change the fields sent; drafts and documents keep the prices they copied."""
    services.update_product(
        product_id=product_id, actor=actor_of(request), **payload.model_dump(exclude_unset=True)
    )
    return _present(product_id)
