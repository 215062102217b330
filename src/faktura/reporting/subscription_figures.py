"""Subscription figures: MRR at a date, its movement over a period, churn, trials, recovery.

MRR (monthly recurring revenue) at the end of a day is, per customer, the net price of each
plan subscription running that day × its quantity, normalized to a month (a week × 52/12,
a quarter ÷ 3, a half-year ÷ 6, a year ÷ 12), gross plan prices divided by 1 + the
product's rate, less a coupon still in force (percent: that share; amount: the amount per
interval, normalized). It is rounded to cents per customer. Running means: started, past
its trial, not ended (the end day no longer counts), not paused. Courses are not recurring.

The figures are derived from the subscriptions as they stand: the plan, the quantity and the
coupon a subscription has now are taken for its whole life (Faktura keeps no history of
plan changes apart from the documents), and scheduled changes and plan price changes are
not anticipated. A period's movement compares each customer's MRR before the first day with
that after the last day:

* new: nothing before, something after, and no subscription of the customer ended before;
* reactivation: nothing before, something after, and one ended before the period;
* expansion / contraction: more / less than before;
* churn: nothing after; voluntary when the customer gave notice, failed payment when the
  customer was blocked for arrears or handed to collection by the end, other otherwise.

So MRR(start) + new + expansion − contraction − churn + reactivation = MRR(end), exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.utils.translation import gettext as _

from faktura.core.money import ZERO, round_money
from faktura.reporting.tables import Column, Table
from faktura.subscriptions.models import Subscription

_PRICE: DecimalField = DecimalField(max_digits=20, decimal_places=4)
HUNDRED = Decimal(100)
# Months per billing interval, inverted: what one interval's price is per month.
PER_MONTH = {
    "week": Decimal(52) / Decimal(12),
    "month": Decimal(1),
    "quarter": Decimal(1) / Decimal(3),
    "half_year": Decimal(1) / Decimal(6),
    "year": Decimal(1) / Decimal(12),
}


def running_on(day: dt.date) -> Q:
    """Plan subscriptions that earn revenue at the end of ``day``."""
    return (
        Q(plan__isnull=False, starts_on__lte=day)
        & (Q(trial_ends_on__isnull=True) | Q(trial_ends_on__lt=day))
        & (Q(ends_on__isnull=True) | Q(ends_on__gt=day))
        & (Q(paused_from__isnull=True) | Q(paused_from__gt=day))
    )


def _coupon_in_force() -> Case:
    coupon = "discounts__coupon__"
    return Case(
        When(**{f"{coupon}duration": "forever"}, then=Value(True)),
        When(
            Q(**{f"{coupon}duration": "once", "discounts__periods_used__lt": 1}),
            then=Value(True),
        ),
        When(
            Q(
                **{
                    f"{coupon}duration": "repeating",
                    "discounts__periods_used__lt": F(f"{coupon}periods"),
                }
            ),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )


def mrr_by_customer(day: dt.date) -> dict[int, Decimal]:
    """Each customer's MRR at the end of ``day`` (customers without any are left out)."""
    groups = (
        Subscription.objects.filter(running_on(day))
        .order_by()
        .annotate(coupon_on=_coupon_in_force())
        .values(
            "customer_id",
            "plan__interval",
            "plan__price_mode",
            "plan__product__tax_rate__rate",
            "coupon_on",
            "discounts__coupon__kind",
            "discounts__coupon__value",
        )
        .annotate(
            amount=Sum(F("plan__price") * F("quantity"), output_field=_PRICE),
            count=Count("pk"),
        )
    )
    result: dict[int, Decimal] = defaultdict(lambda: Decimal(0))
    for group in groups:
        monthly = Decimal(group["amount"]) * PER_MONTH[group["plan__interval"]]
        if group["plan__price_mode"] == "gross":
            monthly /= 1 + group["plan__product__tax_rate__rate"] / HUNDRED
        if group["coupon_on"]:
            value = group["discounts__coupon__value"]
            if group["discounts__coupon__kind"] == "percent":
                monthly *= 1 - value / HUNDRED
            else:
                per_interval = value * group["count"] * PER_MONTH[group["plan__interval"]]
                monthly = max(monthly - per_interval, Decimal(0))
        result[group["customer_id"]] += monthly
    return {customer: round_money(amount) for customer, amount in result.items() if amount}


def mrr(day: dt.date) -> Decimal:
    """MRR at the end of ``day``."""
    return sum(mrr_by_customer(day).values(), ZERO)


@dataclass
class MrrMovement:
    start: dt.date
    end: dt.date
    mrr_start: Decimal = ZERO  # at the end of the day before ``start``
    mrr_end: Decimal = ZERO
    new: Decimal = ZERO
    expansion: Decimal = ZERO
    contraction: Decimal = ZERO
    churn: Decimal = ZERO
    reactivation: Decimal = ZERO
    churn_by_reason: dict[str, Decimal] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return (
            self.mrr_start
            + self.new
            + self.expansion
            - self.contraction
            - self.churn
            + self.reactivation
            == self.mrr_end
        )


CHURN_REASONS = ("voluntary", "failed_payment", "other")


def _churn_reasons(customer_ids: set[int], end: dt.date) -> dict[int, str]:
    """Why each churned customer left: arrears first, then their own notice."""
    from faktura.access.models import AccessBlock
    from faktura.dunning.models import DunningCase

    if not customer_ids:
        return {}
    end_of_day = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    failed = set(
        Subscription.objects.filter(customer_id__in=customer_ids)
        .filter(
            Exists(
                AccessBlock.objects.filter(
                    customer_id=OuterRef("customer_id"), effect="block", since__lt=end_of_day
                )
            )
            | Exists(
                DunningCase.objects.filter(
                    customer_id=OuterRef("customer_id"),
                    handed_to_collection=True,
                    handed_to_collection_on__lte=end,
                )
            )
        )
        .values_list("customer_id", flat=True)
    )
    gave_notice = set(
        Subscription.objects.filter(
            customer_id__in=customer_ids, notice_received_on__isnull=False
        ).values_list("customer_id", flat=True)
    )
    return {
        customer: "failed_payment"
        if customer in failed
        else "voluntary"
        if customer in gave_notice
        else "other"
        for customer in customer_ids
    }


def mrr_movement(start: dt.date, end: dt.date) -> MrrMovement:
    """How MRR moved from the day before ``start`` to ``end``, customer by customer."""
    before = mrr_by_customer(start - dt.timedelta(days=1))
    after = mrr_by_customer(end)
    movement = MrrMovement(start=start, end=end)
    movement.mrr_start = sum(before.values(), ZERO)
    movement.mrr_end = sum(after.values(), ZERO)
    arrived = set(after) - set(before)
    returning = set(
        Subscription.objects.filter(
            customer_id__in=arrived, plan__isnull=False, ends_on__lt=start
        ).values_list("customer_id", flat=True)
    )
    churned = set(before) - set(after)
    reasons = _churn_reasons(churned, end)
    movement.churn_by_reason = dict.fromkeys(CHURN_REASONS, ZERO)
    counts = dict.fromkeys(
        ("new", "expansion", "contraction", "churn", "reactivation", *CHURN_REASONS), 0
    )
    for customer in set(before) | set(after):
        old, new = before.get(customer, ZERO), after.get(customer, ZERO)
        if not old:
            kind = "reactivation" if customer in returning else "new"
            setattr(movement, kind, getattr(movement, kind) + new)
        elif not new:
            kind = "churn"
            movement.churn += old
            movement.churn_by_reason[reasons[customer]] += old
            counts[reasons[customer]] += 1
        elif new > old:
            kind = "expansion"
            movement.expansion += new - old
        elif new < old:
            kind = "contraction"
            movement.contraction += old - new
        else:
            continue
        counts[kind] += 1
    movement.customers = counts
    return movement


@dataclass(frozen=True)
class TrialConversion:
    trials_ended: int
    converted: int

    @property
    def rate(self) -> Decimal | None:
        if not self.trials_ended:
            return None
        return round_money(Decimal(self.converted) * HUNDRED / self.trials_ended)


def trial_conversion(start: dt.date, end: dt.date) -> TrialConversion:
    """Trials that ended in the period, and how many went on as paid subscriptions."""
    row = Subscription.objects.filter(
        trial_ends_on__gte=start, trial_ends_on__lte=end, plan__isnull=False
    ).aggregate(
        trials=Count("pk"),
        converted=Count("pk", filter=Q(ends_on__isnull=True) | Q(ends_on__gt=F("trial_ends_on"))),
    )
    return TrialConversion(trials_ended=row["trials"], converted=row["converted"])


@dataclass(frozen=True)
class PaymentRecovery:
    failed: int  # card payments declined in the period (one retry record per invoice)
    recovered_by_retries: int  # charged by a later automatic try
    recovered_by_dunning: int  # retries given up, the invoice paid since (dunning, transfer)
    failed_amount: Decimal
    recovered_by_retries_amount: Decimal
    recovered_by_dunning_amount: Decimal

    def share(self, count: int) -> Decimal | None:
        return round_money(Decimal(count) * HUNDRED / self.failed) if self.failed else None


def payment_recovery(start: dt.date, end: dt.date) -> PaymentRecovery:
    """Failed card payments of the period and what retries and dunning got back."""
    from faktura.invoicing.models import Invoice
    from faktura.invoicing.selectors import with_open_amounts
    from faktura.payments.models import CardRetry

    first = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    retries = CardRetry.objects.filter(first_declined_at__gte=first, first_declined_at__lt=last)
    settled = with_open_amounts(Invoice.objects.filter(pk=OuterRef("invoice_id"))).filter(
        open_amount__lte=0
    )
    row = (
        retries.order_by()
        .annotate(settled=Exists(settled))
        .aggregate(
            failed=Count("pk"),
            failed_amount=Sum("invoice__payable_amount"),
            by_retries=Count("pk", filter=Q(state=CardRetry.State.CHARGED)),
            by_retries_amount=Sum(
                "invoice__payable_amount", filter=Q(state=CardRetry.State.CHARGED)
            ),
            by_dunning=Count("pk", filter=Q(state=CardRetry.State.EXHAUSTED, settled=True)),
            by_dunning_amount=Sum(
                "invoice__payable_amount", filter=Q(state=CardRetry.State.EXHAUSTED, settled=True)
            ),
        )
    )
    return PaymentRecovery(
        failed=row["failed"],
        recovered_by_retries=row["by_retries"],
        recovered_by_dunning=row["by_dunning"],
        failed_amount=row["failed_amount"] or ZERO,
        recovered_by_retries_amount=row["by_retries_amount"] or ZERO,
        recovered_by_dunning_amount=row["by_dunning_amount"] or ZERO,
    )


def subscription_figures_table(start: dt.date, end: dt.date) -> Table:
    """All figures of the period as one table: figure, count, amount, percent."""
    movement = mrr_movement(start, end)
    trials = trial_conversion(start, end)
    recovery = payment_recovery(start, end)
    counts = movement.customers
    rows: list[tuple[Any, ...]] = [
        ("mrr_start", _("MRR am Vortag des Beginns"), None, movement.mrr_start, None),
        ("new", _("Neu"), counts["new"], movement.new, None),
        ("expansion", _("Erweiterung"), counts["expansion"], movement.expansion, None),
        ("contraction", _("Verringerung"), counts["contraction"], movement.contraction, None),
        ("churn", _("Abgang"), counts["churn"], movement.churn, None),
        (
            "churn_voluntary",
            _("Abgang: gekündigt"),
            counts["voluntary"],
            movement.churn_by_reason["voluntary"],
            None,
        ),
        (
            "churn_failed_payment",
            _("Abgang: Zahlungsausfall"),
            counts["failed_payment"],
            movement.churn_by_reason["failed_payment"],
            None,
        ),
        (
            "churn_other",
            _("Abgang: sonstige"),
            counts["other"],
            movement.churn_by_reason["other"],
            None,
        ),
        ("reactivation", _("Reaktivierung"), counts["reactivation"], movement.reactivation, None),
        ("mrr_end", _("MRR am Ende"), None, movement.mrr_end, None),
        ("trials_ended", _("Beendete Testphasen"), trials.trials_ended, None, None),
        ("trials_converted", _("Davon umgewandelt"), trials.converted, None, trials.rate),
        (
            "payments_failed",
            _("Fehlgeschlagene Kartenzahlungen"),
            recovery.failed,
            recovery.failed_amount,
            None,
        ),
        (
            "recovered_by_retries",
            _("Durch erneute Versuche eingezogen"),
            recovery.recovered_by_retries,
            recovery.recovered_by_retries_amount,
            recovery.share(recovery.recovered_by_retries),
        ),
        (
            "recovered_by_dunning",
            _("Danach bezahlt (Mahnwesen)"),
            recovery.recovered_by_dunning,
            recovery.recovered_by_dunning_amount,
            recovery.share(recovery.recovered_by_dunning),
        ),
    ]
    return Table(
        name=f"abo-kennzahlen-{start.isoformat()}-{end.isoformat()}",
        title=_("Abo-Kennzahlen"),
        columns=(
            Column("key", _("Schlüssel")),
            Column("label", _("Kennzahl")),
            Column("count", _("Anzahl"), "int"),
            Column("amount", _("Betrag (netto/Monat)"), "money"),
            Column("percent", _("Anteil (%)"), "percent"),
        ),
        rows=rows,
    )
