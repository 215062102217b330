"""/tax-rates: read only, identified by code (de-19, de-7, …)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from faktura.api import presenters
from faktura.api.auth import read_auth
from faktura.api.schemas import ErrorOut, Page, TaxRateList, TaxRateOut
from faktura.catalog.models import TaxRate
from faktura.core.errors import NotFound

router = Router(tags=["tax rates"])
ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get("", response={200: TaxRateList, **ERRORS}, auth=read_auth)
def list_tax_rates(request: HttpRequest, params: Query[Page], active: bool | None = None) -> Any:
    """List tax rates; use their ``code`` on order lines and products."""
    queryset = TaxRate.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    return presenters.page(queryset, params, lambda rows: [presenters.tax_rate(t) for t in rows])


@router.get("/{code}", response={200: TaxRateOut, **ERRORS}, auth=read_auth)
def get_tax_rate(request: HttpRequest, code: str) -> Any:
    tax_rate = TaxRate.objects.filter(code=code).first()
    if tax_rate is None:
        raise NotFound(f"Tax rate {code!r} does not exist.")
    return presenters.tax_rate(tax_rate)
