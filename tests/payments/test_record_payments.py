"""record_payments: many payments in one transaction, by the rules of the single services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from faktura.core.errors import PermissionRefused
from faktura.core.models import AuditEntry
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment
from tests.conftest import TODAY
from tests.payments.helpers import VIEWER, counts, credit, finalized, open_amount

pytestmark = pytest.mark.django_db


def incoming(key: int, amount: str, customer, *invoices, external_id=None, **kw):
    return payments.IncomingPayment(
        key=key,
        amount=amount,
        date=kw.pop("date", TODAY),
        method="transfer",
        source="statement",
        reference=f"Zahlung {key}",
        customer_id=customer.pk if customer is not None else None,
        external_id=external_id or f"line-{key}",
        allocations=tuple(invoices),
        **kw,
    )


def test_each_entry_is_checked_on_its_own_and_the_others_are_booked(
    business_customer, consumer, actor, monkeypatch
):
    first, second = finalized(business_customer, actor), finalized(business_customer, actor)
    other = finalized(consumer, actor)
    received = []

    def money_received(*, invoice_ids, actor):
        received.append((sorted(invoice_ids), transaction.get_connection().in_atomic_block))

    monkeypatch.setattr(payments, "money_received", money_received)
    result = payments.record_payments(
        actor=actor,
        overpayment=True,
        payments=[
            incoming(1, "100.00", business_customer, (first.pk, Decimal("100.00"))),
            incoming(2, "50.00", business_customer, (first.pk, Decimal("50.00"))),  # 19.00 open
            incoming(3, "10.00", business_customer, date=TODAY + dt.timedelta(days=1)),
            incoming(4, "119.00", business_customer, (other.pk, Decimal("119.00"))),
            incoming(5, "5.00", business_customer, (first.pk, Decimal("5.00"))),  # paid by 2
            incoming(6, "20.00", None),  # nobody's yet
            incoming(7, "119.00", business_customer, (second.pk, "119.00"), (second.pk, "1")),
        ],
    )

    assert sorted(result.payments) == [1, 2, 6]
    assert {key: error.code for key, error in result.refused.items()} == {
        3: "payment_date_in_future",
        4: "payment_of_other_customer",
        5: "invoice_already_paid",
        7: "duplicate_invoice",
    }
    assert received == [([first.pk], True)]
    assert (open_amount(first), open_amount(second)) == (Decimal("0.00"), Decimal("119.00"))
    assert credit(business_customer) == Decimal("31.00")
    assert result.payments[6].customer_id is None
    assert sorted(Payment.objects.values_list("external_id", "amount")) == [
        ("line-1", Decimal("100.00")),
        ("line-2", Decimal("50.00")),
        ("line-6", Decimal("20.00")),
    ]
    assert sorted(Allocation.objects.values_list("amount", flat=True)) == [
        Decimal("19.00"),
        Decimal("100.00"),
    ]
    allocated = AuditEntry.objects.filter(action="payment.allocated").order_by("pk")
    assert [
        (e.data["amount"], e.data["open_before"], e.data["credit_after"]) for e in allocated
    ] == [
        ("100.00", "119.00", "0.00"),
        ("19.00", "19.00", "31.00"),
    ]
    assert AuditEntry.objects.filter(action="payment.recorded").count() == 3


def test_the_same_entries_again_write_nothing(business_customer, actor):
    invoice = finalized(business_customer, actor)
    entries = [incoming(1, "119.00", business_customer, (invoice.pk, Decimal("119.00")))]
    first = payments.record_payments(actor=actor, payments=entries)
    before = counts()

    again = payments.record_payments(actor=actor, payments=entries)

    assert again.payments[1].pk == first.payments[1].pk
    assert counts() == before
    changed = payments.record_payments(
        actor=actor, payments=[incoming(1, "118.00", business_customer)]
    )
    assert changed.refused[1].code == "external_id_reused"
    assert counts() == before


def test_a_payment_recorded_before_without_allocation_is_allocated(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payments.record_payment(
        actor=actor,
        amount="119.00",
        date=TODAY,
        method="transfer",
        source="statement",
        external_id="line-1",
    )
    result = payments.record_payments(
        actor=actor,
        payments=[incoming(1, "119.00", business_customer, (invoice.pk, Decimal("119.00")))],
    )
    assert Payment.objects.count() == 1
    assert result.payments[1].customer_id == business_customer.pk
    assert open_amount(invoice) == Decimal("0.00")
    assert credit(business_customer) == Decimal("0.00")


def test_a_viewer_may_not_book(business_customer, actor):
    invoice = finalized(business_customer, actor)
    before = counts()
    with pytest.raises(PermissionRefused):
        payments.record_payments(
            actor=VIEWER,
            payments=[incoming(1, "119.00", business_customer, (invoice.pk, Decimal("119.00")))],
        )
    assert counts() == before
