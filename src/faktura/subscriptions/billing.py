"""What is due: the invoice lines of a customer's subscriptions and charges up to a date.

Pure reads. The billing run writes what this computes; the preview shows it without
writing. Both therefore come to the same lines and amounts (a preview equals the invoice
the run makes later, as long as nothing changes in between).

Lines are grouped into invoices by customer and billing date: all of a customer's periods
and charges due on one day make one invoice (one direct debit, at most one return fee);
a customer's billing profile may ask for one invoice per subscription instead. A run after
days of downtime makes one invoice per missed billing date, each period with its own dates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from faktura.catalog.models import Product
from faktura.core.money import ZERO, round_money
from faktura.invoicing.drafting import LineRequest
from faktura.subscriptions import periods
from faktura.subscriptions.models import (
    Charge,
    Discount,
    Notice,
    Plan,
    PriceChange,
    Subscription,
)

HUNDRED = Decimal(100)
PRICE_PLACES = Decimal("0.0001")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DueLine:
    """One line to bill: a subscription period or a charge."""

    customer_id: int
    subscription_id: int | None
    billing_date: dt.date
    line: LineRequest
    amount: Decimal  # quantity × price − discount, in the invoice's price mode, rounded
    period: periods.Period | None = None
    charge_id: int | None = None
    discount_id: int | None = None  # the coupon that reduced this period


@dataclass
class SubscriptionAfter:
    """A subscription's state once its due periods are billed (the run writes it back)."""

    subscription_id: int
    plan_id: int | None
    quantity: Decimal
    billing_anchor: dt.date
    next_period_index: int
    scheduled_change_applied: bool = False


@dataclass
class InvoicePlan:
    """The lines of one invoice to be made."""

    customer_id: int
    billing_date: dt.date
    subscription_id: int | None  # set when the customer wants one invoice per subscription
    lines: list[DueLine] = field(default_factory=list)
    payment_method: str = ""

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def service_period(self) -> tuple[dt.date | None, dt.date | None]:
        """BT-73/74: the period all lines share, if they do."""
        spans = {(ln.line.service_date_start, ln.line.service_date_end) for ln in self.lines}
        if len(spans) == 1:
            return next(iter(spans))
        return None, None


def load_plans(plan_ids: Iterable[int]) -> dict[int, Plan]:
    return {
        p.pk: p for p in Plan.objects.select_related("product__tax_rate").filter(pk__in=plan_ids)
    }


def price_mode_for(customer_is_consumer: bool) -> str:
    return "gross" if customer_is_consumer else "net"


def convert_price(price: Decimal, *, from_mode: str, to_mode: str, product: Product) -> Decimal:
    """A plan's price in the invoice's price mode (gross for consumers, net otherwise)."""
    if from_mode == to_mode:
        return price
    factor = 1 + product.tax_rate.rate / HUNDRED
    converted = price / factor if to_mode == "net" else price * factor
    return converted.quantize(PRICE_PLACES)


@dataclass
class Context:
    """What the computation needs beyond the subscriptions, read once for many of them."""

    price_changes: dict[int, list[PriceChange]]  # plan id → changes by effective date
    consents: set[tuple[int, int]]  # (subscription id, price change id) confirmed
    discounts: dict[int, Discount]  # subscription id → discount (with coupon and its plans)
    coupon_plans: dict[int, set[int]]  # coupon id → plan ids (empty: every plan)
    plans: dict[int, Plan]

    @classmethod
    def load(cls, subscriptions: Iterable[Subscription]) -> Context:
        subscriptions = list(subscriptions)
        plan_ids = {s.plan_id for s in subscriptions if s.plan_id} | {
            s.scheduled_plan_id for s in subscriptions if s.scheduled_plan_id
        }
        plans = {
            p.pk: p
            for p in Plan.objects.select_related("product__tax_rate").filter(pk__in=plan_ids)
        }
        changes: dict[int, list[PriceChange]] = defaultdict(list)
        for change in PriceChange.objects.filter(plan_id__in=plan_ids).order_by("effective_from"):
            changes[change.plan_id].append(change)
        ids = [s.pk for s in subscriptions]
        consents = set(
            Notice.objects.filter(
                subscription_id__in=ids, kind=Notice.Kind.PRICE_CHANGE, consented_at__isnull=False
            ).values_list("subscription_id", "price_change_id")
        )
        discounts = {
            d.subscription_id: d
            for d in Discount.objects.select_related("coupon").filter(subscription_id__in=ids)
        }
        coupon_plans: dict[int, set[int]] = defaultdict(set)
        coupon_ids = {d.coupon_id for d in discounts.values()}
        if coupon_ids:
            through = discounts[next(iter(discounts))].coupon.plans.through
            for coupon_id, plan_id in through.objects.filter(coupon_id__in=coupon_ids).values_list(
                "coupon_id", "plan_id"
            ):
                coupon_plans[coupon_id].add(plan_id)
        return cls(
            price_changes=dict(changes),
            consents=consents,
            discounts=discounts,
            coupon_plans=dict(coupon_plans),
            plans=plans,
        )

    def price_on(self, plan: Plan, subscription_id: int, day: dt.date) -> Decimal:
        """The plan's price for a period starting on ``day`` for this subscription."""
        price = plan.price
        for change in self.price_changes.get(plan.pk, []):
            if change.effective_from > day:
                break
            if change.needs_consent and (subscription_id, change.pk) not in self.consents:
                continue
            price = change.price
        return price


def _line_amount(
    quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, discount_amount: Decimal
) -> Decimal:
    gross = round_money(quantity * unit_price)
    return gross - round_money(gross * discount_percent / HUNDRED) - discount_amount


def _period_text(plan: Plan) -> str:
    return plan.name


def due_periods(
    subscription: Subscription,
    *,
    through: dt.date,
    context: Context,
    is_consumer: bool,
) -> tuple[list[DueLine], SubscriptionAfter]:
    """The periods of ``subscription`` due on or before ``through`` and not billed yet.

    A change of plan or quantity scheduled for a date applies to the periods starting on
    or after it; periods before it are billed as they were (a catch-up run bills each with
    the terms it had). Periods from ``paused_from`` on and after ``ends_on`` are not due.
    """
    after = SubscriptionAfter(
        subscription_id=subscription.pk,
        plan_id=subscription.plan_id,
        quantity=subscription.quantity,
        billing_anchor=subscription.billing_anchor,
        next_period_index=subscription.next_period_index,
    )
    if subscription.plan_id is None or subscription.status == Subscription.Status.ENDED:
        return [], after
    mode = price_mode_for(is_consumer)
    discount = context.discounts.get(subscription.pk)
    used = discount.periods_used if discount else 0
    lines: list[DueLine] = []
    stop = subscription.ends_on
    if subscription.paused_from is not None:
        before_pause = subscription.paused_from - ONE_DAY
        stop = before_pause if stop is None else min(stop, before_pause)
    change_on = subscription.scheduled_change_on
    while True:
        plan = context.plans[after.plan_id]  # type: ignore[index]
        interval, timing = periods.Interval(plan.interval), periods.Timing(plan.timing)
        segment_stop = stop
        if change_on is not None and not after.scheduled_change_applied:
            before_change = change_on - ONE_DAY
            segment_stop = before_change if stop is None else min(stop, before_change)
        for period in periods.periods_due(
            after.billing_anchor,
            interval,
            timing,
            first_index=after.next_period_index,
            through=through,
            ends_on=segment_stop,
        ):
            whole = periods.period(after.billing_anchor, interval, period.index)
            price = convert_price(
                context.price_on(plan, subscription.pk, period.start),
                from_mode=plan.price_mode,
                to_mode=mode,
                product=plan.product,
            )
            if period.days != whole.days:
                # A period cut short by the contract's end or a pause: its share, by days.
                price = periods.prorated(price, whole, period.start, period.end)
            percent = amount_off = ZERO
            applied_discount = None
            if discount is not None and discount.coupon.active:
                limit = discount.coupon.period_limit
                allowed = context.coupon_plans.get(discount.coupon_id)
                if (limit is None or used < limit) and (not allowed or plan.pk in allowed):
                    applied_discount = discount.pk
                    used += 1
                    if discount.coupon.kind == discount.coupon.Kind.PERCENT:
                        percent = discount.coupon.value
                    else:
                        amount_off = min(discount.coupon.value, round_money(after.quantity * price))
            line = LineRequest(
                quantity=after.quantity,
                sku=plan.product.sku,
                name=_period_text(plan),
                unit_price=price,
                discount_percent=percent if percent else None,
                discount_amount=amount_off if amount_off else None,
                service_date_start=period.start,
                service_date_end=period.end,
            )
            lines.append(
                DueLine(
                    customer_id=subscription.customer_id,
                    subscription_id=subscription.pk,
                    billing_date=period.due_on(timing),
                    line=line,
                    amount=_line_amount(after.quantity, price, percent, amount_off),
                    period=period,
                    discount_id=applied_discount,
                )
            )
            after.next_period_index = period.index + 1
        if (
            change_on is None
            or after.scheduled_change_applied
            or change_on > through
            or (stop is not None and change_on > stop)
        ):
            break
        # The scheduled change takes effect: new plan and quantity from change_on on.
        new_plan = context.plans.get(subscription.scheduled_plan_id or after.plan_id)  # type: ignore[arg-type]
        if subscription.scheduled_quantity is not None:
            after.quantity = subscription.scheduled_quantity
        if new_plan is not None and new_plan.pk != after.plan_id:
            old = context.plans[after.plan_id]  # type: ignore[index]
            after.plan_id = new_plan.pk
            if (new_plan.interval, new_plan.timing) != (old.interval, old.timing):
                after.billing_anchor = change_on
                after.next_period_index = 0
        after.scheduled_change_applied = True
    return lines, after


def due_charges(charges: Iterable[Charge], *, through: dt.date, is_consumer: bool) -> list[DueLine]:
    mode = price_mode_for(is_consumer)
    lines = []
    for charge in charges:
        if (
            charge.invoice_id is not None
            or charge.credit_note_id is not None
            or charge.due_on > through
        ):
            continue
        price = convert_price(
            charge.unit_price, from_mode=charge.price_mode, to_mode=mode, product=charge.product
        )
        # A credit goes on the invoice as a negative quantity of a positive price (BR-27).
        sign = -1 if price < 0 else 1
        lines.append(
            DueLine(
                customer_id=charge.customer_id,
                subscription_id=charge.subscription_id,
                billing_date=charge.due_on,
                line=LineRequest(
                    quantity=sign * charge.quantity,
                    sku=charge.product.sku,
                    name=charge.name,
                    unit_price=sign * price,
                    service_date_start=charge.service_start,
                    service_date_end=charge.service_end,
                    credit=sign < 0,
                ),
                amount=_line_amount(charge.quantity, price, ZERO, ZERO),
                charge_id=charge.pk,
            )
        )
    return lines


def group_into_invoices(
    lines: list[DueLine],
    *,
    per_subscription: bool,
    payment_methods: dict[int | None, str],
) -> tuple[list[InvoicePlan], list[DueLine]]:
    """One invoice per customer, billing date and payment method (or per subscription).

    Credits (negative lines) are used first on the invoice they fall on, as far as its
    charges reach; what they exceed waits for the customer's next invoice (a partly used
    credit is split). Returns the invoices and the credit lines held back.
    """

    # One invoice is paid one way: a subscription paid by transfer must not be debited
    # with another one's mandate, so each payment method gets its own invoice. Lines of
    # no method (charges without a subscription) join one of the date's invoices.
    def split(line: DueLine) -> tuple[dt.date, int | None]:
        return (line.billing_date, line.subscription_id if per_subscription else None)

    methods_of: dict[tuple[dt.date, int | None], set[str]] = {}
    for line in lines:
        method = payment_methods.get(line.subscription_id, "")
        if method:
            methods_of.setdefault(split(line), set()).add(method)
    groups: dict[tuple[dt.date, int | None, str], InvoicePlan] = {}
    for line in sorted(lines, key=lambda ln: (ln.billing_date, ln.subscription_id or 0)):
        method = payment_methods.get(line.subscription_id, "") or min(
            methods_of.get(split(line), {""})
        )
        day, subscription_id = split(line)
        key = (day, subscription_id, method)
        if key not in groups:
            groups[key] = InvoicePlan(
                customer_id=line.customer_id,
                billing_date=line.billing_date,
                subscription_id=key[1],
            )
        groups[key].lines.append(line)
    invoices: list[InvoicePlan] = []
    held: list[DueLine] = []
    for invoice in groups.values():
        invoice.lines = held + invoice.lines
        held = []
        if invoice.total < 0:
            charges = [ln for ln in invoice.lines if ln.amount >= 0]
            credits = [ln for ln in invoice.lines if ln.amount < 0]
            used, held = _use_credit(credits, sum((ln.amount for ln in charges), ZERO))
            invoice.lines = charges + used
        if invoice.lines:
            methods = {payment_methods.get(ln.subscription_id, "") for ln in invoice.lines}
            methods.discard("")
            invoice.payment_method = methods.pop() if len(methods) == 1 else ""
            invoices.append(invoice)
    return invoices, held


def _use_credit(credits: list[DueLine], available: Decimal) -> tuple[list[DueLine], list[DueLine]]:
    """Take as much of ``credits`` (negative lines) as ``available`` (≥ 0) covers.

    A credit line that is only partly used is split: the used part goes on the invoice,
    the remainder is held back for the next one (``charge_id`` marks it for the run).
    """
    used: list[DueLine] = []
    rest: list[DueLine] = []
    left = available
    for credit in credits:
        if left <= 0:
            rest.append(credit)
            continue
        if -credit.amount <= left:
            used.append(credit)
            left += credit.amount
            continue
        part = -left
        used.append(
            replace(
                credit,
                amount=part,
                line=replace(credit.line, quantity=Decimal(-1), unit_price=-part),
            )
        )
        rest.append(replace(credit, amount=credit.amount - part))
        left = ZERO
    return used, rest


def next_billing_on(subscription: Subscription, plans: dict[int, Plan]) -> dt.date | None:
    """The earliest day the run may find something due for ``subscription`` (None: never).

    Early rather than late: a day with nothing due costs the run one look; a day too late
    would bill late. Unbilled charges are found by their own due date.
    """
    if subscription.plan_id is None or subscription.status == Subscription.Status.ENDED:
        return None
    plan = plans[subscription.plan_id]
    interval, timing = periods.Interval(plan.interval), periods.Timing(plan.timing)
    upcoming = periods.period(subscription.billing_anchor, interval, subscription.next_period_index)
    stop = subscription.ends_on
    if subscription.paused_from is not None:
        before_pause = subscription.paused_from - ONE_DAY
        stop = before_pause if stop is None else min(stop, before_pause)
    candidates = []
    if stop is None or upcoming.start <= stop:
        if stop is not None and upcoming.end > stop:
            upcoming = periods.Period(start=upcoming.start, end=stop, index=upcoming.index)
        candidates.append(upcoming.due_on(timing))
    if subscription.scheduled_change_on is not None:
        candidates.append(subscription.scheduled_change_on)
    return min(candidates) if candidates else None
