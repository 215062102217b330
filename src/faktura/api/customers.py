"""/customers: list, get, create, update — through customers.services."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from faktura.api import idempotency, presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.schemas import CustomerIn, CustomerList, CustomerOut, CustomerPatch, ErrorOut, Page
from faktura.core.errors import NotFound
from faktura.core.money import parse_amount
from faktura.customers import services
from faktura.customers.models import Customer

router = Router(tags=["customers"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _get(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return customer


def _fields(payload: CustomerPatch) -> dict[str, Any]:
    fields = payload.model_dump(exclude_unset=True)
    if fields.get("credit_limit") is not None:
        fields["credit_limit"] = parse_amount(fields["credit_limit"], field="credit_limit")
    return fields


@router.get("", response={200: CustomerList, **ERRORS}, auth=read_auth)
def list_customers(
    request: HttpRequest,
    params: Query[Page],
    email: str | None = None,
    number: str | None = None,
) -> Any:
    """List customers in id order; filter by e-mail (case-insensitive) or customer number."""
    queryset = Customer.objects.all()
    if email:
        queryset = queryset.filter(email__iexact=email)
    if number:
        queryset = queryset.filter(number=number)
    return presenters.page(queryset, params, presenters.customer_list)


@router.get("/{customer_id}", response={200: CustomerOut, **ERRORS}, auth=read_auth)
def get_customer(request: HttpRequest, customer_id: int) -> Any:
    return presenters.customer(_get(customer_id))


@router.post("", response={201: CustomerOut, **ERRORS}, auth=write_auth)
def create_customer(
    request: HttpRequest,
    payload: CustomerIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Create a customer with the next customer number.

    A bad VAT ID, Leitweg-ID or e-mail is refused with 422 and the field.
    """
    actor = actor_of(request)
    return idempotency.respond(
        request,
        key=idempotency_key,
        status=201,
        create=lambda: presenters.customer(
            services.create_customer(actor=actor, **_fields(payload))
        ),
    )


@router.patch("/{customer_id}", response={200: CustomerOut, **ERRORS}, auth=write_auth)
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    """Change the fields sent; documents already issued keep their copy of the data."""
    customer = services.update_customer(
        customer_id=customer_id, actor=actor_of(request), **_fields(payload)
    )
    return presenters.customer(customer)
