"""A customer's payment behaviour as a risk score (Bonität): 0 = no concern, 100 = worst.

The score is the sum of five capped parts, computed from the customer's whole history
(docs/risk-and-post.md):

* payment delay: 2 points per day that paid invoices were paid after their due date, on
  average (days rounded down to whole points), at most 30;
* returned debits (Rücklastschriften): 10 points each, at most 30;
* chargebacks: 15 points each, at most 30;
* dunning: 10 points per level of the highest notice sent, at most 30;
* overdue: 10 points when anything is overdue, plus 1 per full 100.00 overdue, at most 30.

The total is capped at 100. The figures are read with one aggregate query each
(``history``); ``score`` is the pure calculation, ``reasons`` are the German lines the
back office and the API show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from faktura.core.money import ZERO

MAX_SCORE = 100
DELAY_POINTS_PER_DAY = 2
RETURNED_DEBIT_POINTS = 10
CHARGEBACK_POINTS = 15
DUNNING_POINTS_PER_LEVEL = 10
OVERDUE_BASE_POINTS = 10
OVERDUE_STEP = Decimal("100.00")
PART_CAP = 30


class DaysBetween(Func):
    """``later − earlier`` in whole days, for two date expressions (SQLite and PostgreSQL)."""

    output_field = IntegerField()
    arity = 2
    # PostgreSQL: date − date is an integer number of days.
    template = "(%(expressions)s)"
    arg_joiner = " - "

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


@dataclass(frozen=True)
class History:
    """The figures of a customer's payment behaviour."""

    paid_invoices: int = 0
    average_days_to_pay: Decimal | None = None  # issue date → last payment
    average_days_late: Decimal | None = None  # due date → last payment, early counts 0
    returned_debits: int = 0
    chargebacks: int = 0
    highest_dunning_level: int = 0
    overdue_amount: Decimal = ZERO
    open_receivables: Decimal = ZERO


@dataclass(frozen=True)
class Risk:
    score: int
    reasons: list[str] = field(default_factory=list)


def history(customer_id: int, *, today: dt.date) -> History:
    """Read the customer's figures: four aggregate queries, whatever the history's length."""
    from faktura.dunning.models import DunningNotice
    from faktura.invoicing.models import Invoice, Kind
    from faktura.invoicing.selectors import with_open_amounts
    from faktura.payments.models import Allocation, ReturnEvent

    invoices = Invoice.objects.filter(customer_id=customer_id, kind=Kind.INVOICE).finalized()
    last_payment = (
        Allocation.objects.filter(invoice=OuterRef("pk"), reversed_at__isnull=True)
        .order_by()
        .values("invoice")
        .annotate(last=Max("payment__date"))
        .values("last")
    )
    paid = (
        with_open_amounts(invoices)
        .filter(open_amount__lte=0, payable_amount__gt=0)
        .annotate(paid_on=Subquery(last_payment, output_field=DateField()))
        .filter(paid_on__isnull=False)
        .aggregate(
            count=Count("pk"),
            to_pay=Avg(DaysBetween(F("paid_on"), F("issue_date"))),
            late=Avg(Greatest(DaysBetween(F("paid_on"), F("due_date")), Value(0))),
        )
    )
    receivables = (
        with_open_amounts(invoices)
        .filter(open_amount__gt=0)
        .aggregate(
            open=Coalesce(Sum("open_amount"), Value(ZERO)),
            overdue=Coalesce(Sum("open_amount", filter=Q(due_date__lt=today)), Value(ZERO)),
        )
    )
    returns = ReturnEvent.objects.filter(customer_id=customer_id).aggregate(
        debits=Count("pk", filter=Q(kind=ReturnEvent.Kind.RETURNED_DEBIT)),
        chargebacks=Count("pk", filter=Q(kind=ReturnEvent.Kind.CHARGEBACK)),
    )
    dunning = DunningNotice.objects.filter(
        customer_id=customer_id, status=DunningNotice.Status.SENT
    ).aggregate(level=Max("level"))
    return History(
        paid_invoices=paid["count"],
        average_days_to_pay=_one_decimal(paid["to_pay"]),
        average_days_late=_one_decimal(paid["late"]),
        returned_debits=returns["debits"],
        chargebacks=returns["chargebacks"],
        highest_dunning_level=dunning["level"] or 0,
        overdue_amount=_money(receivables["overdue"]),
        open_receivables=_money(receivables["open"]),
    )


def _one_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score(figures: History) -> Risk:
    """The score and its reasons for ``figures`` (pure; the formula in the module doc)."""
    parts: list[tuple[int, str]] = []
    if figures.average_days_late:
        points = int(
            (figures.average_days_late * DELAY_POINTS_PER_DAY).to_integral_value(ROUND_DOWN)
        )
        parts.append(
            (
                points,
                _(
                    "Zahlt im Schnitt %(late)s Tage nach Fälligkeit "
                    "(%(days)s Tage nach Rechnungsdatum, %(count)s bezahlte Rechnungen)"
                )
                % {
                    "late": _day_text(figures.average_days_late),
                    "days": _day_text(figures.average_days_to_pay or Decimal(0)),
                    "count": figures.paid_invoices,
                },
            )
        )
    if figures.returned_debits:
        parts.append(
            (
                figures.returned_debits * RETURNED_DEBIT_POINTS,
                _("%(count)s Rücklastschrift(en)") % {"count": figures.returned_debits},
            )
        )
    if figures.chargebacks:
        parts.append(
            (
                figures.chargebacks * CHARGEBACK_POINTS,
                _("%(count)s Rückbelastung(en) (Chargeback)") % {"count": figures.chargebacks},
            )
        )
    if figures.highest_dunning_level:
        parts.append(
            (
                figures.highest_dunning_level * DUNNING_POINTS_PER_LEVEL,
                _("Höchste erreichte Mahnstufe: %(level)s")
                % {"level": figures.highest_dunning_level},
            )
        )
    if figures.overdue_amount > 0:
        steps = int((figures.overdue_amount / OVERDUE_STEP).to_integral_value(ROUND_DOWN))
        parts.append(
            (
                OVERDUE_BASE_POINTS + steps,
                _("Überfällig offen: %(amount)s EUR")
                % {"amount": german_amount(figures.overdue_amount)},
            )
        )
    total = 0
    reasons = []
    for points, text in parts:
        capped = min(points, PART_CAP)
        total += capped
        reasons.append(_("%(text)s: +%(points)s Punkte") % {"text": text, "points": capped})
    if not reasons:
        reasons.append(_("Keine Auffälligkeiten im Zahlungsverhalten"))
    return Risk(score=min(total, MAX_SCORE), reasons=reasons)


def german_amount(value: Decimal) -> str:
    """``1234.5`` → ``1.234,50`` (German thousands and decimal separators)."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _day_text(days: Decimal) -> str:
    return str(days).replace(".", ",")


def customer_risk(customer_id: int, *, today: dt.date) -> tuple[History, Risk]:
    """The customer's figures and their score."""
    figures = history(customer_id, today=today)
    return figures, score(figures)


@dataclass(frozen=True)
class CreditLimit:
    """The limit orders are checked against, where it comes from, and what is left."""

    limit: Decimal | None
    source: str  # customer | default | none
    open_receivables: Decimal
    available: Decimal | None
    threshold: int
    risky: bool
    reasons: list[str] = field(default_factory=list)


def credit_limit(customer_id: int, *, today: dt.date) -> tuple[Risk, CreditLimit]:
    """The customer's score and credit limit (own, else the payment settings' default),
    with German lines saying why an order would be held."""
    from faktura.customers.models import Customer
    from faktura.payments.models import PaymentSettings

    settings = PaymentSettings.load()
    own = Customer.objects.filter(pk=customer_id).values_list("credit_limit", flat=True).first()
    figures, assessed = customer_risk(customer_id, today=today)
    if own is not None:
        limit, source = own, "customer"
    elif settings.default_credit_limit is not None:
        limit, source = settings.default_credit_limit, "default"
    else:
        limit, source = None, "none"
    reasons = []
    available = limit - figures.open_receivables if limit is not None else None
    if available is not None and available < 0:
        reasons.append(
            _("Offene Forderungen %(open)s EUR übersteigen das Kreditlimit von %(limit)s EUR")
            % {
                "open": german_amount(figures.open_receivables),
                "limit": german_amount(limit),  # type: ignore[arg-type]
            }
        )
    risky = assessed.score >= settings.risk_score_threshold
    if risky:
        reasons.append(
            _("Risikopunkte %(score)s erreichen die Schwelle von %(threshold)s")
            % {"score": assessed.score, "threshold": settings.risk_score_threshold}
        )
    return assessed, CreditLimit(
        limit=limit,
        source=source,
        open_receivables=figures.open_receivables,
        available=available,
        threshold=settings.risk_score_threshold,
        risky=risky,
        reasons=reasons,
    )
