"""Helpers of the payment and collection tests: finalized invoices, payments, mandates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum

from faktura.core.actors import Actor
from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.payments import selectors
from faktura.payments import services as payments
from faktura.payments.models import Payment
from tests.conftest import TODAY
from tests.invoicing.helpers import line, order

CASHIER = Actor(label="user:kai", roles=frozenset({"cashier"}))
SECOND_CASHIER = Actor(label="user:lena", roles=frozenset({"cashier"}))
SYSTEM = Actor.system("test")
VIEWER = Actor(label="user:vera", roles=frozenset({"viewer"}))
IBAN = "DE89370400440532013000"
OTHER_IBAN = "DE02500105170137075030"


def finalized(customer, actor, price: str = "100.00", quantity: str = "1") -> Invoice:
    """A finalized invoice; net 100.00 at 19 % is 119.00 for business customers."""
    draft = order(customer, actor, line(quantity, price))
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def pay(actor, amount: str, customer=None, *, external_id=None, day: dt.date = TODAY) -> Payment:
    return payments.record_payment(
        actor=actor,
        amount=amount,
        date=day,
        method="transfer",
        source="statement",
        reference="Zahlung",
        payer_name="Beispiel Handel AG",
        payer_iban=IBAN,
        customer_id=customer.pk if customer is not None else None,
        external_id=external_id,
    )


def open_amount(invoice: Invoice) -> Decimal:
    return selectors.open_amounts([invoice.pk])[invoice.pk]


def credit(customer) -> Decimal:
    return selectors.credit_balance(customer.pk)


def counts() -> dict[str, int]:
    """Row counts that a refused operation must leave unchanged."""
    from django_tasks_db.models import DBTaskResult

    from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
    from faktura.payments.models import (
        Allocation,
        Dispute,
        FeeItem,
        PaymentRequest,
        Refund,
        RefundBatch,
        ReturnEvent,
        WriteOff,
    )

    models = [
        AuditEntry,
        Payment,
        Allocation,
        WriteOff,
        PaymentRequest,
        FeeItem,
        ReturnEvent,
        Dispute,
        Refund,
        RefundBatch,
        Mandate,
        DirectDebitBatch,
        DirectDebitItem,
        DBTaskResult,
    ]
    result = {model.__name__: model.objects.count() for model in models}
    result["active_allocations"] = Allocation.objects.filter(reversed_at__isnull=True).count()
    result["allocated_sum"] = str(
        Allocation.objects.filter(reversed_at__isnull=True).aggregate(s=Sum("amount"))["s"]
    )
    return result
