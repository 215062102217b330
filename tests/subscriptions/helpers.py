"""Building blocks of the subscription tests: products, plans and subscriptions as rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.catalog.models import Product, TaxRate
from faktura.core import clock
from faktura.subscriptions import billing
from faktura.subscriptions.models import Plan, Subscription


def product(sku: str = "MEMBER", *, rate: str = "de-19", name: str = "Mitgliedschaft") -> Product:
    existing = Product.objects.filter(sku=sku).first()
    if existing is not None:
        return existing
    return Product.objects.create(
        sku=sku,
        name=name,
        unit_price=Decimal("0"),
        tax_rate=TaxRate.objects.get(code=rate),
        kind="service",
    )


def plan(
    code: str = "monthly",
    *,
    price: str = "30.00",
    interval: str = "month",
    timing: str = "in_advance",
    price_mode: str = "net",
    sku: str = "MEMBER",
    **fields: object,
) -> Plan:
    return Plan.objects.create(
        code=code,
        name=fields.pop("name", f"Mitgliedschaft {code}"),  # type: ignore[arg-type]
        product=product(sku),
        interval=interval,
        timing=timing,
        price=Decimal(price),
        price_mode=price_mode,
        created_at=clock.now(),
        **fields,
    )


def subscribe(
    customer,
    on_plan: Plan,
    *,
    starts_on: dt.date,
    quantity: str = "1",
    anchor: dt.date | None = None,
    **fields: object,
) -> Subscription:
    subscription = Subscription(
        customer=customer,
        plan=on_plan,
        quantity=Decimal(quantity),
        starts_on=starts_on,
        billing_anchor=anchor or starts_on,
        created_at=clock.now(),
        created_by="test",
        **fields,
    )
    subscription.next_billing_on = billing.next_billing_on(subscription, {on_plan.pk: on_plan})
    subscription.save()
    return subscription
