"""Property: allocating, applying credit and releasing only move money, never create or lose it.

For one customer, whatever sequence of payments, allocations (some refused), overpayments,
credit applications and releases happens:

    Σ open amounts − credit = Σ invoice totals − Σ payments

(the customer's balance), every open amount stays between 0 and the invoice total,
and no payment is ever allocated beyond its amount.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from faktura.core.errors import DomainError
from faktura.payments import selectors
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment
from tests.payments.helpers import credit, finalized, open_amount, pay

pytestmark = pytest.mark.django_db

cents = st.integers(min_value=1, max_value=25_000).map(lambda c: Decimal(c) / 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), cents),
        st.tuples(
            st.just("allocate"),
            st.integers(0, 5),
            st.integers(0, 2),
            cents,
            st.booleans(),
        ),
        st.tuples(st.just("apply"), st.integers(0, 2), st.one_of(st.none(), cents)),
        st.tuples(st.just("release"), st.integers(0, 8)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def invoices(business_customer, actor):
    return [
        finalized(business_customer, actor, price="100.00"),  # 119.00
        finalized(business_customer, actor, price="50.00"),  # 59.50
        finalized(business_customer, actor, price="20.00"),  # 23.80
    ]


def _check_balance(customer, invoices) -> None:
    opens = [open_amount(invoice) for invoice in invoices]
    totals = sum((invoice.payable_amount for invoice in invoices), Decimal("0.00"))
    paid = sum((p.amount for p in Payment.objects.filter(customer=customer)), Decimal("0.00"))
    assert sum(opens, Decimal("0.00")) - credit(customer) == totals - paid
    for invoice, amount in zip(invoices, opens, strict=True):
        assert Decimal("0.00") <= amount <= invoice.payable_amount
    assert credit(customer) >= 0
    for payment in Payment.objects.all():
        assert selectors.unallocated_amount(payment.pk) >= 0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_allocations_never_create_or_lose_money(business_customer, actor, invoices, steps):
    with transaction.atomic():
        for step in steps:
            payment_ids = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
            allocation_ids = list(Allocation.objects.order_by("pk").values_list("pk", flat=True))
            try:
                if step[0] == "pay":
                    pay(actor, str(step[1]), business_customer)
                elif step[0] == "allocate" and payment_ids:
                    _, p, i, amount, overpayment = step
                    payments.allocate_payment(
                        payment_id=payment_ids[p % len(payment_ids)],
                        allocations=[(invoices[i].pk, str(amount))],
                        actor=actor,
                        overpayment=overpayment,
                    )
                elif step[0] == "apply":
                    _, i, amount = step
                    payments.apply_credit(
                        customer_id=business_customer.pk,
                        invoice_id=invoices[i].pk,
                        actor=actor,
                        amount=None if amount is None else str(amount),
                    )
                elif step[0] == "release" and allocation_ids:
                    payments.release_allocation(
                        allocation_id=allocation_ids[step[1] % len(allocation_ids)],
                        actor=actor,
                        reason="Test",
                    )
                event(f"{step[0]} done")
            except DomainError as error:
                # A refusal changes nothing; the balance check below proves it.
                event(f"{step[0]} refused: {error.code}")
            _check_balance(business_customer, invoices)
        transaction.set_rollback(True)


# -- corrections: applied to their original, or owed back; never counted twice ------------

correction_operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), cents),
        st.tuples(st.just("allocate"), st.integers(0, 5), st.integers(0, 2), cents),
        st.tuples(st.just("release"), st.integers(0, 8)),
        st.tuples(st.just("credit"), st.integers(0, 2), cents),
        st.tuples(st.just("cancel"), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=10,
)


def _check_corrections(customer, invoices) -> None:
    from faktura.invoicing import selectors as invoice_selectors
    from faktura.invoicing.models import Invoice

    corrections = list(Invoice.objects.finalized().filter(original__in=invoices))
    shares = invoice_selectors.correction_shares(corrections)
    for correction in corrections:
        share = shares[correction.pk]
        # Every credited cent is either set off against the original or owed back.
        assert share.applied + share.refund_due == correction.grand_total
        assert Decimal("0.00") <= share.refund_due <= correction.grand_total
        assert share.status == ("refund_due" if share.refund_due else "applied")
    for invoice in invoices:
        mine = [shares[c.pk].refund_due for c in corrections if c.original_id == invoice.pk]
        # What is owed back is exactly what the original is overpaid by after corrections.
        assert sum(mine, Decimal("0.00")) == max(-open_amount(invoice), Decimal("0.00"))
    owed = sum((max(open_amount(i), Decimal("0.00")) for i in invoices), Decimal("0.00"))
    owed_back = sum((s.refund_due for s in shares.values()), Decimal("0.00"))
    totals = sum((i.payable_amount for i in invoices), Decimal("0.00"))
    corrected = sum((c.grand_total for c in corrections), Decimal("0.00"))
    paid = sum((p.amount for p in Payment.objects.filter(customer=customer)), Decimal("0.00"))
    assert owed - owed_back - credit(customer) == totals - corrected - paid


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=correction_operations)
def test_corrections_never_create_or_lose_money(business_customer, actor, invoices, steps):
    from faktura.invoicing import services as invoicing

    with transaction.atomic():
        for step in steps:
            payment_ids = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
            allocation_ids = list(Allocation.objects.order_by("pk").values_list("pk", flat=True))
            try:
                with transaction.atomic():
                    if step[0] == "pay":
                        pay(actor, str(step[1]), business_customer)
                    elif step[0] == "allocate" and payment_ids:
                        _, p, i, amount = step
                        payments.allocate_payment(
                            payment_id=payment_ids[p % len(payment_ids)],
                            allocations=[(invoices[i].pk, str(amount))],
                            actor=actor,
                            overpayment=True,
                        )
                    elif step[0] == "release" and allocation_ids:
                        payments.release_allocation(
                            allocation_id=allocation_ids[step[1] % len(allocation_ids)],
                            actor=actor,
                            reason="Test",
                        )
                    elif step[0] == "credit":
                        _, i, amount = step
                        note = invoicing.create_credit_note(
                            invoice_id=invoices[i].pk, actor=actor, amount=str(amount)
                        )
                        invoicing.finalize_invoice(invoice_id=note.pk, actor=actor)
                    elif step[0] == "cancel":
                        invoicing.cancel_invoice(invoice_id=invoices[step[1]].pk, actor=actor)
                event(f"{step[0]} done")
            except DomainError as error:
                event(f"{step[0]} refused: {error.code}")
            _check_corrections(business_customer, invoices)
        transaction.set_rollback(True)
