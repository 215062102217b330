from __future__ import annotations

from faktura.invoicing.drafting import LineRequest
from faktura.sales.services import place_order


def order(customer, actor, *lines: LineRequest, **kwargs):
    return place_order(customer_id=customer.pk, actor=actor, lines=list(lines), **kwargs)


def line(quantity="1", price="100.00", rate="de-19", name="Beratung", **kwargs) -> LineRequest:
    return LineRequest(quantity=quantity, unit_price=price, tax_rate=rate, name=name, **kwargs)
