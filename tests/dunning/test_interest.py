"""Default interest (§ 288 BGB), the flat fee and the § 367 order: exact figures."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from faktura.core.money import round_money
from faktura.dunning.interest import (
    default_begins,
    interest_periods,
    rate_on,
    surcharge,
)
from faktura.payments.claims import COSTS, INTEREST, CostClaim, OpenInvoice, plan

# The table the data migration writes: the figures below are those of the database.
RATES = importlib.import_module("faktura.dunning.migrations.0002_base_rates").RATES

D = dt.date


def test_business_claim_split_at_the_base_rate_change():
    periods = interest_periods(
        principal=Decimal("1000.00"),
        start=D(2025, 6, 1),
        end=D(2025, 8, 31),
        consumer=False,
        rates=RATES,
    )
    assert [(p.start, p.end, p.days, p.rate, p.amount) for p in periods] == [
        # 1000 × 11.27 % × 30 / 365 = 9.2630…
        (D(2025, 6, 1), D(2025, 6, 30), 30, Decimal("11.27"), Decimal("9.26")),
        # 1000 × 10.27 % × 62 / 365 = 17.4443…
        (D(2025, 7, 1), D(2025, 8, 31), 62, Decimal("10.27"), Decimal("17.44")),
    ]


def test_consumer_rate_is_base_plus_five_and_unchanged_into_2026():
    periods = interest_periods(
        principal=Decimal("119.00"),
        start=D(2025, 12, 20),
        end=D(2026, 1, 10),
        consumer=True,
        rates=RATES,
    )
    # 1 January 2026 "changes" to the same 1.27 %: two lines, the same rate.
    assert [(p.days, p.rate, p.amount) for p in periods] == [
        (12, Decimal("6.27"), Decimal("0.25")),  # 119 × 6.27 % × 12 / 365 = 0.2453
        (10, Decimal("6.27"), Decimal("0.20")),  # 0.2044
    ]


def test_default_begins_the_day_after_the_due_date():
    assert default_begins(D(2026, 10, 1)) == D(2026, 10, 2)
    assert surcharge(consumer=True) == 5
    assert surcharge(consumer=False) == 9


def test_nothing_for_an_empty_span_or_no_principal():
    assert (
        interest_periods(
            principal=Decimal("10"),
            start=D(2026, 1, 2),
            end=D(2026, 1, 1),
            consumer=True,
            rates=RATES,
        )
        == []
    )
    assert (
        interest_periods(
            principal=Decimal("0"),
            start=D(2026, 1, 1),
            end=D(2026, 2, 1),
            consumer=True,
            rates=RATES,
        )
        == []
    )


@given(
    principal=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    start=st.dates(min_value=D(2023, 1, 1), max_value=D(2026, 12, 31)),
    days=st.integers(min_value=1, max_value=1500),
    consumer=st.booleans(),
)
def test_periods_cover_every_day_once_and_each_is_rounded(principal, start, days, consumer):
    end = start + dt.timedelta(days=days - 1)
    periods = interest_periods(
        principal=principal, start=start, end=end, consumer=consumer, rates=RATES
    )
    assert periods[0].start == start
    assert periods[-1].end == end
    assert sum(p.days for p in periods) == days
    for before, after in itertools.pairwise(periods):
        assert after.start == before.end + dt.timedelta(days=1)
        assert after.start.month in (1, 7)
        assert after.start.day == 1
    for p in periods:
        assert p.rate == rate_on(p.start, RATES) + (5 if consumer else 9)
        assert p.amount == round_money(principal * p.rate * p.days / Decimal(36500))
    # Splitting never changes the total by more than half a cent per period.
    whole = sum(principal * p.rate * p.days / Decimal(36500) for p in periods)
    assert abs(sum(p.amount for p in periods) - whole) <= Decimal("0.005") * len(periods)


def _claims(amounts: list[Decimal], kinds: list[bool]) -> list[CostClaim]:
    return [
        CostClaim(key=("dunning_fee", n), kind=INTEREST if interest else COSTS, customer_id=1,
                  open_amount=amount)
        for n, (amount, interest) in enumerate(zip(amounts, kinds, strict=False))
    ]  # fmt: skip


money = st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2)


@given(
    amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("3000"), places=2),
    costs=st.lists(st.tuples(money, st.booleans()), max_size=5),
    invoices=st.lists(st.tuples(money, st.integers(0, 60)), max_size=4),
)
def test_367_order_costs_interest_principal(amount, costs, invoices):
    claims = _claims([c for c, _ in costs], [i for _, i in costs])
    open_invoices = [
        OpenInvoice(id=n, due_date=dt.date(2026, 10, 1) + dt.timedelta(days=days),
                    open_amount=owed)
        for n, (owed, days) in enumerate(invoices)
    ]  # fmt: skip
    result = plan(amount, costs=claims, invoices=open_invoices)
    paid = {claim.key: part for claim, part in result.costs}
    to_invoices = dict(result.invoices)
    assert (
        sum(paid.values(), Decimal(0)) + sum(to_invoices.values(), Decimal(0)) + (result.rest)
        == amount
    )
    assert result.rest >= 0
    for claim in claims:
        assert paid.get(claim.key, Decimal(0)) <= claim.open_amount
    # A later class (interest, then principal, then credit) only gets money when every
    # earlier one is settled; principal oldest due first.
    costs_settled = all(paid.get(c.key, 0) == c.open_amount for c in claims if c.kind == COSTS)
    interest_settled = all(paid.get(c.key, 0) == c.open_amount for c in claims)
    if any(paid.get(c.key, 0) > 0 for c in claims if c.kind == INTEREST):
        assert costs_settled
    if any(to_invoices.values()):
        assert interest_settled
    by_due = sorted(open_invoices, key=lambda i: (i.due_date, i.id))
    for earlier, later in itertools.pairwise(by_due):
        if to_invoices.get(later.id, 0) > 0:
            assert to_invoices.get(earlier.id, 0) == earlier.open_amount
    if result.rest > 0:
        assert all(to_invoices.get(i.id, 0) == i.open_amount for i in open_invoices)


def test_367_partial_payment():
    claims = _claims([Decimal("1.01"), Decimal("42.50")], [True, False])
    invoice = OpenInvoice(id=9, due_date=dt.date(2026, 10, 1), open_amount=Decimal("119.00"))
    result = plan(Decimal("50.00"), costs=claims, invoices=[invoice])
    assert [(c.kind, part) for c, part in result.costs] == [
        (COSTS, Decimal("42.50")),
        (INTEREST, Decimal("1.01")),
    ]
    assert (result.invoices, result.rest) == ([(9, Decimal("6.49"))], Decimal("0.00"))
