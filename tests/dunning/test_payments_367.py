"""Payments on dunned claims: costs → interest → principal (§ 367 BGB) unless the payer
names an invoice; a notice's reference pays that notice's costs and invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.dunning import services
from faktura.dunning.costs import find_references
from faktura.dunning.models import CostAllocation, DunningFee
from faktura.payments import services as payments
from faktura.payments.models import Allocation, FeeItem
from faktura.payments.selectors import credit_balance
from tests.dunning.helpers import figures, notices, overdue, run
from tests.payments.helpers import counts, finalized, open_amount

D = dt.date
E = Decimal
DUE = D(2026, 10, 1)

pytestmark = pytest.mark.django_db


def manual(actor, amount: str, customer, *, invoice=None, reference: str = "Zahlung", day=None):
    """A manual payment entered by an accountant: booked at once."""
    return payments.request_manual_payment(
        actor=actor,
        amount=amount,
        date=day or clock.today(),
        method="transfer",
        reference=reference,
        customer_id=customer.pk if customer is not None else None,
        invoice_id=invoice.pk if invoice is not None else None,
    )


def open_costs(customer) -> list[tuple[str, Decimal, bool]]:
    """Each dunning fee of the customer: kind, amount, paid."""
    return [
        (f.kind, f.amount, f.paid_at is not None)
        for f in DunningFee.objects.filter(customer=customer).order_by("pk")
    ]


def test_partial_payment_between_levels_allocated_per_367(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))  # 1st notice: fee 2.50, interest 0.36 on 100.00
    first = notices(consumer)[1]
    assert figures(first) == (1, D(2026, 10, 22), E("100.00"), E("2.50"), E("0.36"), E("102.86"))

    # 50.00 without naming an invoice: the fee, then the interest, then 47.14 principal.
    with clock.frozen(D(2026, 10, 25)):
        request = manual(actor, "50.00", consumer)
    assert open_costs(consumer) == [("interest", E("0.36"), True), ("fee", E("2.50"), True)]
    assert sorted(
        CostAllocation.objects.filter(payment=request.payment).values_list("amount", flat=True)
    ) == [E("0.36"), E("2.50")]
    assert list(
        Allocation.objects.filter(payment=request.payment).values_list("amount", flat=True)
    ) == [E("47.14")]
    assert open_amount(invoice) == E("52.86")
    assert credit_balance(consumer.pk) == E("0.00")

    # The 2nd notice shows what is left: 52.86, a new fee, interest on 52.86 for 14 days
    # (52.86 × 6.27 % × 14 / 365 = 0.1271).
    run(D(2026, 11, 5))
    second = notices(consumer)[2]
    assert figures(second) == (2, D(2026, 11, 5), E("52.86"), E("2.50"), E("0.13"), E("55.49"))
    item = second.items.get()
    assert (item.paid_amount, item.open_amount, item.fees, item.interest) == (
        E("47.14"),
        E("52.86"),
        E("0.00"),
        E("0.13"),
    )

    # Naming the invoice: the principal only, the new fee and interest stay open.
    with clock.frozen(D(2026, 11, 6)):
        named = manual(actor, "10.00", consumer, invoice=invoice)
    assert not CostAllocation.objects.filter(payment=named.payment).exists()
    assert open_amount(invoice) == E("42.86")
    assert open_costs(consumer)[2:] == [("interest", E("0.13"), False), ("fee", E("2.50"), False)]

    # Quoting the notice's reference: its costs and its invoice, exactly settled.
    with clock.frozen(D(2026, 11, 7)):
        quoted = manual(actor, "45.49", None, reference=f"Mahnung {second.reference}")
    assert quoted.payment.customer_id == consumer.pk
    assert open_amount(invoice) == E("0.00")
    assert all(paid for _, _, paid in open_costs(consumer))
    assert credit_balance(consumer.pk) == E("0.00")
    run(D(2026, 11, 19))
    assert len(notices(consumer)) == 3  # paid: no final notice


def test_business_claim_flat_fee_then_interest_then_principal(business_customer, actor):
    invoice = overdue(business_customer, actor, due=DUE, price="840.34")
    assert invoice.payable_amount == E("1000.00")
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))  # EUR 40 and 21 days at 10.27 %: 1000 × 10.27 % × 21/365 = 5.91
    first = notices(business_customer)[1]
    assert figures(first) == (1, D(2026, 10, 22), E("1000.00"), E("40.00"), E("5.91"), E("1045.91"))
    with clock.frozen(D(2026, 10, 25)):
        manual(actor, "45.00", business_customer)
    # 40.00 flat fee, 5.00 of the 5.91 interest, nothing of the principal.
    assert open_costs(business_customer) == [
        ("flat_40", E("40.00"), True),
        ("interest", E("5.91"), False),
    ]
    assert open_amount(invoice) == E("1000.00")
    run(D(2026, 11, 5))
    second = notices(business_customer)[2]
    # 0.91 interest left + 1000 × 10.27 % × 14/365 = 3.94; no second flat fee.
    assert figures(second) == (2, D(2026, 11, 5), E("1000.00"), E("0.00"), E("4.85"), E("1004.85"))


def test_returned_debit_fee_is_paid_by_a_payment(consumer, actor):
    invoice = finalized(consumer, actor)
    fee = FeeItem.objects.create(
        customer=consumer, invoice=invoice, amount=E("3.00"), reason="Rücklastschrift",
        created_at=clock.now(),
    )  # fmt: skip
    manual(actor, "50.00", consumer)
    fee.refresh_from_db()
    assert fee.state == FeeItem.State.PAID
    assert open_amount(invoice) == invoice.payable_amount - E("47.00")


def test_a_partial_payment_leaves_the_rest_of_a_cost_open(consumer, actor):
    invoice = finalized(consumer, actor)
    fee = FeeItem.objects.create(
        customer=consumer, invoice=invoice, amount=E("3.00"), reason="Rücklastschrift",
        created_at=clock.now(),
    )  # fmt: skip
    manual(actor, "1.25", consumer)
    fee.refresh_from_db()
    assert fee.state == FeeItem.State.OPEN
    assert list(CostAllocation.objects.values_list("amount", flat=True)) == [E("1.25")]
    assert open_amount(invoice) == invoice.payable_amount
    manual(actor, "1.75", consumer)
    fee.refresh_from_db()
    assert fee.state == FeeItem.State.PAID


def test_a_waived_fee_is_not_paid(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))
    fee = DunningFee.objects.get(customer=consumer, kind="fee")
    services.waive_fee(fee_id=fee.pk, reason="Kulanz", actor=actor)
    with clock.frozen(D(2026, 10, 25)):
        manual(actor, "10.00", consumer)
    fee.refresh_from_db()
    assert (fee.paid_at, fee.allocations.count()) == (None, 0)
    # The interest 0.36 first, then 9.64 principal.
    assert open_amount(invoice) == E("90.36")


def test_without_dunning_costs_an_unnamed_payment_stays_credit(consumer, actor):
    invoice = finalized(consumer, actor)
    manual(actor, "20.00", consumer)
    assert open_amount(invoice) == invoice.payable_amount
    assert credit_balance(consumer.pk) == E("20.00")


def test_unknown_notice_reference_and_negative_amount_change_nothing(consumer, actor):
    overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))
    notice = notices(consumer)[1]
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        manual(actor, "-5.00", consumer, reference=notice.reference)
    assert refused.value.code == "negative_amount"
    assert counts() == before
    assert CostAllocation.objects.count() == 0
    # A reference of no notice (wrong year, unknown id) names nobody: unmatched money.
    wrong = f"M-2025-{notice.pk:06d} M-2026-999999"
    request = manual(actor, "5.00", None, reference=wrong)
    assert request.payment.customer_id is None
    assert CostAllocation.objects.count() == 0
    assert all(not paid for _, _, paid in open_costs(consumer))


def test_references_are_read_as_banks_mangle_them():
    assert find_references("Mahnung M-2026-000123 vom 5.11.") == [(2026, 123)]
    assert find_references("m 2026 000123") == [(2026, 123)]
    assert find_references("M2026000123, M-2026-000123") == [(2026, 123)]
    assert find_references("RE-2026-00001 XM-2026-000123") == []


def test_the_account_statement_shows_dunning_costs_and_their_payment(consumer, actor):
    from faktura.payments.account_statement import account_statement

    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))  # fee 2.50, interest 0.36
    with clock.frozen(D(2026, 10, 25)):
        manual(actor, "50.00", consumer)
    run(D(2026, 11, 5))  # fee 2.50, interest 0.13
    fee = DunningFee.objects.filter(customer=consumer, kind="fee").order_by("pk").last()
    assert fee is not None
    with clock.frozen(D(2026, 11, 6)):
        services.waive_fee(fee_id=fee.pk, reason="Kulanz", actor=actor)
    statement = account_statement(consumer.pk)
    costs = [
        (e.date, e.type, e.amount, e.balance)
        for e in statement.entries
        if e.type.startswith("dunning_cost")
    ]
    # Charged with the notices, paid by the 50.00 (§ 367), the second fee waived.
    assert [(d, t, a) for d, t, a, _b in costs] == [
        (D(2026, 10, 22), "dunning_cost", E("0.36")),
        (D(2026, 10, 22), "dunning_cost", E("2.50")),
        (D(2026, 11, 5), "dunning_cost", E("0.13")),
        (D(2026, 11, 5), "dunning_cost", E("2.50")),
        (D(2026, 11, 6), "dunning_cost_waived", E("-2.50")),
    ]
    totals = statement.totals
    assert totals is not None
    # Owed: 52.86 of the invoice and the 0.13 interest of the 2nd notice.
    assert (totals.open_receivables, totals.open_fees, totals.customer_credit) == (
        open_amount(invoice),
        E("0.13"),
        E("0.00"),
    )
    assert totals.balance == statement.closing_balance == E("52.99")
    assert totals.balance == (
        totals.open_receivables - totals.invoice_credits - totals.customer_credit + totals.open_fees
    )
