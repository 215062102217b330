"""Product master data changes: parsed, validated, audited on the company chain.

Existing documents keep their own copies of name, price and tax rate; changing a
product only affects what is drafted afterwards. Stock levels change through stock
movements (finalization, restocking credit notes), never through ``update_product``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from faktura.catalog.models import Product, StockMovement, TaxRate
from faktura.core import audit, clock
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound
from faktura.core.money import QUANTITY_PLACES, UNIT_PRICE_PLACES, parse_decimal

EDITABLE_FIELDS = (
    "sku",
    "name",
    "description",
    "unit_code",
    "price_mode",
    "unit_price",
    "tax_rate",
    "kind",
    "track_stock",
    "low_stock_threshold",
    "active",
)
# Only at creation: the opening stock, recorded as a stock movement.
CREATE_ONLY_FIELDS = ("stock_level",)
OPENING_STOCK = "Anfangsbestand"

_CODES = {
    "text_not_printable": "text_not_printable",
    "unique": "duplicate_{field}",
    "blank": "missing_{field}",
    "null": "missing_{field}",
    "required": "missing_{field}",
}


def _parsed(fields: dict[str, Any]) -> dict[str, Any]:
    """Turn API/form values into model values: prices as Decimals, the tax rate by code."""
    values = dict(fields)
    if values.get("unit_price") is not None:
        values["unit_price"] = parse_decimal(
            values["unit_price"], places=UNIT_PRICE_PLACES, field="unit_price"
        )
    for name in ("stock_level", "low_stock_threshold"):
        if values.get(name) is not None:
            values[name] = parse_decimal(values[name], places=QUANTITY_PLACES, field=name)
    if "tax_rate" in values:
        code = values["tax_rate"]
        if isinstance(code, TaxRate):
            code = code.code
        tax_rate = TaxRate.objects.filter(code=code or "", active=True).first()
        if tax_rate is None:
            raise InvalidInput(
                f"tax_rate: no active tax rate {code!r}", code="unknown_tax_rate", field="tax_rate"
            )
        values["tax_rate"] = tax_rate
    for name in ("sku", "name"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    return values


def _validated(product: Product) -> None:
    try:
        product.full_clean()
    except ValidationError as error:
        field, errors = next(iter(error.error_dict.items()))
        code = errors[0].code or "invalid"
        message = " ".join(error.message_dict[field])
        raise InvalidInput(
            f"{field}: {message}",
            code=_CODES.get(code, "invalid_{field}").format(field=field),
            field=field,
        ) from None


def _check_fields(fields: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise InvalidInput(f"Unknown product fields: {', '.join(sorted(unknown))}")


def _audit_value(value: object) -> object:
    if isinstance(value, TaxRate):
        return value.code
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value


def create_product(*, actor: Actor, **fields: Any) -> Product:
    """Create a product; an opening ``stock_level`` is recorded as a stock movement.

    ``kind`` (goods or service) defaults to goods for tracked products, else service.

    Raises InvalidInput (with the field) for a duplicate SKU, an unknown tax rate, a unit
    price with more than four decimals, an unknown unit code.
    """
    _check_fields(fields, EDITABLE_FIELDS + CREATE_ONLY_FIELDS)
    if fields.get("tax_rate") is None:
        raise InvalidInput(
            "tax_rate: a product needs a tax rate", code="tax_rate_required", field="tax_rate"
        )
    if fields.get("unit_price") is None:
        raise InvalidInput(
            "unit_price: a product needs a price", code="invalid_unit_price", field="unit_price"
        )
    values = _parsed(fields)
    if values.get("kind") is None:
        # Only goods have a stock: a tracked product is goods, anything else a service
        # (subscriptions, courses, consulting), the same rule migration 0003 applied.
        values["kind"] = Product.Kind.GOODS if values.get("track_stock") else Product.Kind.SERVICE
    product = Product(**values)
    _validated(product)
    with transaction.atomic():
        product.save()
        if product.stock_level:
            StockMovement.objects.create(
                product=product,
                quantity=product.stock_level,
                document_number=OPENING_STOCK,
                created_at=clock.now(),
            )
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="product.created",
            object_type="product",
            object_id=product.pk,
            data={name: _audit_value(getattr(product, name)) for name in EDITABLE_FIELDS},
        )
    return product


def update_product(*, product_id: int, actor: Actor, **changes: Any) -> Product:
    """Change a product's master data; drafts and documents keep what they copied.

    Locks the product row (stock movements lock it too). Raises NotFound, InvalidInput.
    """
    _check_fields(changes, EDITABLE_FIELDS)
    values = _parsed(changes)
    if not values:
        return get_product(product_id)
    with transaction.atomic():
        try:
            product = Product.objects.select_for_update().get(pk=product_id)
        except Product.DoesNotExist:
            raise NotFound(f"Product {product_id} does not exist.") from None
        before = {name: _audit_value(getattr(product, name)) for name in values}
        for name, value in values.items():
            setattr(product, name, value)
        _validated(product)
        product.save(update_fields=list(values))
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="product.updated",
            object_type="product",
            object_id=product.pk,
            data={
                "before": before,
                "after": {name: _audit_value(getattr(product, name)) for name in values},
            },
        )
    return product


def get_product(product_id: int) -> Product:
    try:
        return Product.objects.select_related("tax_rate").get(pk=product_id)
    except Product.DoesNotExist:
        raise NotFound(f"Product {product_id} does not exist.") from None
