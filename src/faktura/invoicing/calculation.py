"""Document totals after EN 16931: pure functions, no database.

Rounding (half-up, to cents) happens only where EN 16931 puts it:
- the line net amount BT-131 (quantity × net price − line allowance),
- each document-level allowance BT-92,
- the VAT amount per category and rate BT-117 = round(BT-116 × BT-119 / 100).
Every total is a sum of rounded parts, so BR-CO-10 … BR-CO-16 hold exactly.

Consumer sales priced gross keep the gross total the customer saw: per VAT category the
net basis is round(gross ÷ (1 + rate)) and the VAT is the difference (BR-CO-17 tolerates
that cent). The line net amounts of the category are then spread so they sum to the basis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from faktura.core.money import ZERO, round_money

HUNDRED = Decimal(100)
PriceMode = Literal["net", "gross"]


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal  # net, or gross (incl. VAT) when the price mode is gross
    tax_category: str
    tax_rate: Decimal
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO  # in the unit price's terms (net or gross)


@dataclass(frozen=True)
class LineResult:
    net_amount: Decimal  # BT-131
    discount_amount: Decimal  # BT-136, net
    net_unit_price: Decimal  # BT-146, up to 4 decimals
    gross_amount: Decimal | None  # the gross line amount the consumer saw (gross mode)


@dataclass(frozen=True)
class AllowanceResult:
    tax_category: str
    tax_rate: Decimal
    amount: Decimal  # BT-92
    base_amount: Decimal  # BT-93
    percent: Decimal | None  # BT-94


@dataclass(frozen=True)
class TaxResult:
    category: str
    rate: Decimal
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineResult, ...]
    allowances: tuple[AllowanceResult, ...]
    tax_breakdown: tuple[TaxResult, ...]
    line_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    tax_basis_total: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    payable_amount: Decimal  # BT-115


class CalculationError(ValueError):
    """The inputs cannot form a valid document (e.g. a discount larger than the line)."""


def _line_amount(line: LineInput) -> tuple[Decimal, Decimal]:
    """Return (amount before discount, discount), both rounded, in the price's own terms."""
    base = round_money(line.quantity * line.unit_price)
    discount = round_money(base * line.discount_percent / HUNDRED) + round_money(
        line.discount_amount
    )
    # A credit line (negative base) takes no discount.
    if discount > max(base, ZERO):
        raise CalculationError(f"The line discount {discount} exceeds the line amount {base}.")
    return base, discount


def _key(line: LineInput) -> tuple[str, Decimal]:
    return (line.tax_category, line.tax_rate)


def _split_document_discount(
    bases: dict[tuple[str, Decimal], Decimal],
    percent: Decimal,
    amount: Decimal,
) -> dict[tuple[str, Decimal], tuple[Decimal, Decimal | None]]:
    """Split a document discount over the VAT categories (each BG-20 needs one category)."""
    result: dict[tuple[str, Decimal], tuple[Decimal, Decimal | None]] = {}
    if percent:
        for key, base in bases.items():
            result[key] = (round_money(base * percent / HUNDRED), percent)
    if amount:
        total = sum(bases.values(), ZERO)
        if amount > total:
            raise CalculationError(
                f"The document discount {amount} exceeds the document amount {total}."
            )
        keys = sorted(bases, key=lambda k: (bases[k], k[1], k[0]))
        remaining = amount
        for index, key in enumerate(keys):
            share = (
                remaining if index == len(keys) - 1 else round_money(amount * bases[key] / total)
            )
            share = min(share, bases[key] - result.get(key, (ZERO, None))[0])
            remaining -= share
            previous, pct = result.get(key, (ZERO, None))
            result[key] = (previous + share, pct if not previous else None)
        if remaining:
            raise CalculationError("The document discount cannot be spread over the categories.")
    for key, (value, _pct) in result.items():
        if value > bases[key]:
            raise CalculationError("The document discount exceeds the amount of a category.")
    return result


def compute_totals(
    lines: list[LineInput],
    *,
    price_mode: PriceMode = "net",
    document_discount_percent: Decimal = ZERO,
    document_discount_amount: Decimal = ZERO,
    prepaid_amount: Decimal = ZERO,
) -> Totals:
    """Compute line amounts, allowances, VAT breakdown and totals of one document."""
    if not lines:
        raise CalculationError("A document needs at least one line.")
    if price_mode == "net":
        return _net_totals(
            lines, document_discount_percent, document_discount_amount, prepaid_amount
        )
    return _gross_totals(lines, document_discount_percent, document_discount_amount, prepaid_amount)


def _net_totals(
    lines: list[LineInput], percent: Decimal, amount: Decimal, prepaid: Decimal
) -> Totals:
    results: list[LineResult] = []
    bases: dict[tuple[str, Decimal], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        base, discount = _line_amount(line)
        net = base - discount
        results.append(LineResult(net, discount, line.unit_price, None))
        bases[_key(line)] += net
    allowances = _split_document_discount(dict(bases), percent, amount)
    breakdown = []
    allowance_results = []
    for key in sorted(bases, key=lambda k: (-k[1], k[0])):
        category, rate = key
        allowance, allowance_pct = allowances.get(key, (ZERO, None))
        if allowance:
            allowance_results.append(
                AllowanceResult(category, rate, allowance, bases[key], allowance_pct)
            )
        taxable = bases[key] - allowance
        breakdown.append(TaxResult(category, rate, taxable, round_money(taxable * rate / HUNDRED)))
    return _sum_up(results, allowance_results, breakdown, prepaid)


def _gross_totals(
    lines: list[LineInput], percent: Decimal, amount: Decimal, prepaid: Decimal
) -> Totals:
    gross_by_line: list[tuple[Decimal, Decimal]] = []
    gross_sums: dict[tuple[str, Decimal], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        base, discount = _line_amount(line)
        gross_by_line.append((base, discount))
        gross_sums[_key(line)] += base - discount
    gross_allowances = _split_document_discount(dict(gross_sums), percent, amount)

    line_nets: list[Decimal] = [ZERO] * len(lines)
    breakdown: list[TaxResult] = []
    allowance_results: list[AllowanceResult] = []
    for key in sorted(gross_sums, key=lambda k: (-k[1], k[0])):
        category, rate = key
        divisor = 1 + rate / HUNDRED
        members = [i for i, line in enumerate(lines) if _key(line) == key]
        # The net lines of the category sum to round(gross ÷ (1 + rate)): the largest
        # line absorbs the rounding difference of the others.
        category_net = round_money(gross_sums[key] / divisor)
        for i in members:
            base, discount = gross_by_line[i]
            line_nets[i] = round_money((base - discount) / divisor)
        difference = category_net - sum((line_nets[i] for i in members), ZERO)
        if difference:
            largest = max(members, key=lambda i: (line_nets[i], -i))
            line_nets[largest] += difference
        gross_allowance, _percent = gross_allowances.get(key, (ZERO, None))
        remaining_gross = gross_sums[key] - gross_allowance
        taxable = round_money(remaining_gross / divisor)
        if gross_allowance:
            allowance_results.append(
                # No percentage (BT-94) here: it applies to the gross, not to the net base.
                AllowanceResult(category, rate, category_net - taxable, category_net, None)
            )
        breakdown.append(TaxResult(category, rate, taxable, remaining_gross - taxable))

    results = []
    for i, line in enumerate(lines):
        base, discount = gross_by_line[i]
        divisor = 1 + line.tax_rate / HUNDRED
        net_price = (line.unit_price / divisor).quantize(Decimal("0.0001"))
        net_discount = round_money(discount / divisor)
        results.append(LineResult(line_nets[i], net_discount, net_price, base - discount))
    return _sum_up(results, allowance_results, breakdown, prepaid)


def _sum_up(
    lines: list[LineResult],
    allowances: list[AllowanceResult],
    breakdown: list[TaxResult],
    prepaid: Decimal,
) -> Totals:
    line_total = sum((r.net_amount for r in lines), ZERO)  # BR-CO-10
    allowance_total = sum((a.amount for a in allowances), ZERO)  # BR-CO-11
    tax_basis_total = line_total - allowance_total  # BR-CO-13
    tax_total = sum((t.tax_amount for t in breakdown), ZERO)  # BR-CO-14
    grand_total = tax_basis_total + tax_total  # BR-CO-15
    return Totals(
        lines=tuple(lines),
        allowances=tuple(allowances),
        tax_breakdown=tuple(breakdown),
        line_total=line_total,
        allowance_total=allowance_total,
        tax_basis_total=tax_basis_total,
        tax_total=tax_total,
        grand_total=grand_total,
        payable_amount=grand_total - prepaid,  # BR-CO-16
    )
