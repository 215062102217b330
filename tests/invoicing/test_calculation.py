"""EN 16931 totals rules BR-CO-10 … BR-CO-17 hold for arbitrary lines and discounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faktura.invoicing.calculation import CalculationError, LineInput, compute_totals

RATES = [
    ("S", Decimal("19.00")),
    ("S", Decimal("7.00")),
    ("Z", Decimal("0.00")),
    ("E", Decimal("0.00")),
]
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=4)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)


@st.composite
def line_inputs(draw):
    category, rate = draw(st.sampled_from(RATES))
    return LineInput(
        quantity=draw(quantities),
        unit_price=draw(prices),
        tax_category=category,
        tax_rate=rate,
        discount_percent=draw(st.one_of(st.just(Decimal(0)), percents)),
    )


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def assert_business_rules(totals, lines, price_mode):
    # Every amount has at most two decimals.
    for amount in (
        totals.line_total,
        totals.allowance_total,
        totals.tax_basis_total,
        totals.tax_total,
        totals.grand_total,
        totals.payable_amount,
    ):
        assert amount == cents(amount)
    assert totals.line_total == sum(r.net_amount for r in totals.lines)  # BR-CO-10
    assert totals.allowance_total == sum(a.amount for a in totals.allowances)  # BR-CO-11
    assert totals.tax_basis_total == totals.line_total - totals.allowance_total  # BR-CO-13
    assert totals.tax_total == sum(t.tax_amount for t in totals.tax_breakdown)  # BR-CO-14
    assert totals.grand_total == totals.tax_basis_total + totals.tax_total  # BR-CO-15
    assert totals.payable_amount == totals.grand_total  # BR-CO-16 (nothing prepaid)
    for tax in totals.tax_breakdown:
        members = [
            r
            for r, li in zip(totals.lines, lines, strict=True)
            if (li.tax_category, li.tax_rate) == (tax.category, tax.rate)
        ]
        allowances = [
            a for a in totals.allowances if (a.tax_category, a.tax_rate) == (tax.category, tax.rate)
        ]
        # BR-S-08 / BR-Z-08 / BR-E-08: taxable amount per category from its lines.
        assert tax.taxable_amount == sum(r.net_amount for r in members) - sum(
            a.amount for a in allowances
        )
        exact = cents(tax.taxable_amount * tax.rate / 100)
        if price_mode == "net":
            assert tax.tax_amount == exact  # BR-CO-17 exactly
        else:
            assert abs(tax.tax_amount - exact) <= Decimal("0.01")  # BR-CO-17 tolerance


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(line_inputs(), min_size=1, max_size=12),
    document_percent=st.one_of(st.just(Decimal(0)), percents),
    price_mode=st.sampled_from(["net", "gross"]),
)
def test_totals_rules_hold_for_any_lines_and_percent_discounts(lines, document_percent, price_mode):
    totals = compute_totals(
        lines, price_mode=price_mode, document_discount_percent=document_percent
    )
    assert_business_rules(totals, lines, price_mode)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(line_inputs(), min_size=1, max_size=8),
    share=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=3),
    price_mode=st.sampled_from(["net", "gross"]),
)
def test_totals_rules_hold_for_document_discount_amounts(lines, share, price_mode):
    undiscounted = compute_totals(lines, price_mode=price_mode)
    base = undiscounted.line_total if price_mode == "net" else undiscounted.grand_total
    discount = cents(base * share)
    totals = compute_totals(lines, price_mode=price_mode, document_discount_amount=discount)
    assert_business_rules(totals, lines, price_mode)
    if price_mode == "net":
        assert totals.allowance_total == discount


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(line_inputs(), min_size=1, max_size=12))
def test_gross_prices_keep_the_gross_total_the_customer_saw(lines):
    totals = compute_totals(lines, price_mode="gross")
    seen = sum(
        cents(li.quantity * li.unit_price)
        - cents(cents(li.quantity * li.unit_price) * li.discount_percent / 100)
        for li in lines
    )
    assert totals.grand_total == seen


def test_a_discount_larger_than_the_line_is_refused():
    with pytest.raises(CalculationError):
        compute_totals(
            [
                LineInput(
                    Decimal(1), Decimal("10"), "S", Decimal(19), discount_amount=Decimal("10.01")
                )
            ]
        )


def test_known_values_of_a_mixed_rate_invoice():
    totals = compute_totals(
        [
            LineInput(Decimal("2"), Decimal("49.995"), "S", Decimal("19")),
            LineInput(Decimal("1"), Decimal("12.50"), "S", Decimal("7")),
        ],
        document_discount_percent=Decimal("10"),
    )
    assert [t.taxable_amount for t in totals.tax_breakdown] == [Decimal("89.99"), Decimal("11.25")]
    assert [t.tax_amount for t in totals.tax_breakdown] == [Decimal("17.10"), Decimal("0.79")]
    assert totals.grand_total == Decimal("119.13")
