"""Customer master data changes: numbered, validated, audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound
from faktura.core.models import NumberRange
from faktura.core.numbering import take_next_number
from faktura.customers.models import Customer

EDITABLE_FIELDS = (
    "kind",
    "name",
    "contact_name",
    "street",
    "house_number",
    "postcode",
    "city",
    "country",
    "email",
    "additional_emails",
    "phone",
    "language",
    "vat_id",
    "leitweg_id",
    "xrechnung_syntax",
    "payment_term_days",
    "preferred_payment_method",
    "dunning_block",
    "dunning_block_until",
    "dunning_block_reason",
    "account_manager_id",
    "credit_limit",
    "delivery_by_post",
)


def _validated(customer: Customer) -> None:
    try:
        customer.full_clean(exclude=["number"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise InvalidInput(
            f"{field}: {' '.join(messages)}",
            code=(
                f"invalid_{field}"
                if error.error_dict[field][0].code in (None, "invalid")
                else error.error_dict[field][0].code
            )
            if hasattr(error, "error_dict")
            else "invalid_customer",
            field=field,
        ) from None


def create_customer(*, actor: Actor, **fields: Any) -> Customer:
    """Create a customer with the next number of the customer range.

    Raises InvalidInput (with the field) for a bad VAT ID, Leitweg-ID, e-mail …;
    PermissionRefused without the role for ``customer.create``.
    """
    permissions.require(actor, "customer.create")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown customer fields: {', '.join(sorted(unknown))}")
    customer = Customer(**fields, created_at=clock.now())
    _validated(customer)
    with transaction.atomic():
        customer.number = take_next_number(NumberRange.Kind.CUSTOMER, on=clock.today())
        customer.save()
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="customer.created",
            object_type="customer",
            object_id=customer.pk,
            data={"number": customer.number, "name": customer.name},
        )
    return customer


def update_customer(*, customer_id: int, actor: Actor, **changes: Any) -> Customer:
    """Change master data of a customer; existing documents keep their own copies."""
    permissions.require(actor, "customer.change")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown customer fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        try:
            customer = Customer.objects.select_for_update().get(pk=customer_id)
        except Customer.DoesNotExist:
            raise NotFound(f"Customer {customer_id} does not exist.") from None
        before = {name: getattr(customer, name) for name in changes}
        for name, value in changes.items():
            setattr(customer, name, value)
        _validated(customer)
        after = {name: getattr(customer, name) for name in changes}
        customer.save()
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="customer.updated",
            object_type="customer",
            object_id=customer.pk,
            data={"before": before, "after": after},
        )
    return customer


# What a customer may change of their own master data in the portal: where invoices go.
CONTACT_FIELDS = (
    "contact_name",
    "street",
    "house_number",
    "postcode",
    "city",
    "country",
    "email",
    "additional_emails",
)


def change_own_contact(*, customer_id: int, actor: Actor, **changes: Any) -> Customer:
    """Change the billing address and e-mail addresses of the actor's own customer account.

    The same validation as every master data change; documents keep their own copies.
    Locks the customer; audited as ``customer.contact_changed`` (nothing when nothing
    changed). Raises PermissionRefused (not ``portal.change_contact``, another customer's
    account), InvalidInput (a field outside CONTACT_FIELDS, a bad value, with its field),
    NotFound.
    """
    permissions.require(actor, "portal.change_contact")
    permissions.require_own(actor, customer_id)
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Not changeable in the portal: {', '.join(sorted(unknown))}", code="field_not_allowed"
        )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(f"Customer {customer_id} does not exist.")
        before = {name: getattr(customer, name) for name in changes}
        for name, value in changes.items():
            setattr(customer, name, value.strip() if isinstance(value, str) else value)
        _validated(customer)
        after = {name: getattr(customer, name) for name in changes}
        changed = [name for name in changes if before[name] != after[name]]
        if not changed:
            return customer
        customer.save(update_fields=[*changed, "updated_at"])
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="customer.contact_changed",
            object_type="customer",
            object_id=customer.pk,
            data={
                "before": {name: before[name] for name in changed},
                "after": {name: after[name] for name in changed},
            },
        )
    return customer
