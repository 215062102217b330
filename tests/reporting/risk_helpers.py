"""A customer with a payment history of known figures (the risk tests' fixture)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.core import clock
from faktura.dunning.models import DunningNotice, DunningPolicy
from faktura.payments import services as payments
from faktura.payments.models import PaymentSettings, ReturnEvent
from tests.payments.helpers import finalized, pay


def at(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))


def paid_late(customer, actor, *, issued: dt.date, paid: dt.date) -> None:
    """A 119.00 invoice issued on ``issued`` (due 14 days later), paid in full on ``paid``."""
    with at(issued):
        invoice = finalized(customer, actor)
    with at(paid):
        payment = pay(actor, "119.00", customer, day=paid)
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
        )


def bad_history(customer, actor) -> None:
    """Paid 10 and 4 days late (7.0 on average → 14 points), 2 returned debits (20),
    1 chargeback (15), dunning level 1 sent (10), 119.00 overdue (10 + 1): 70 points."""
    paid_late(customer, actor, issued=dt.date(2026, 10, 1), paid=dt.date(2026, 10, 25))
    paid_late(customer, actor, issued=dt.date(2026, 10, 1), paid=dt.date(2026, 10, 19))
    with at(dt.date(2026, 10, 20)):
        finalized(customer, actor)  # due 2026-11-03, open: overdue on 2026-11-16
    now = clock.now()
    for n, kind in enumerate(("returned_debit", "returned_debit", "chargeback")):
        ReturnEvent.objects.create(
            kind=kind, customer=customer, consequence="manual", amount=Decimal("119.00"),
            source_reference=f"risk-{customer.pk}-{n}", created_at=now, created_by="test",
        )  # fmt: skip
    DunningNotice.objects.create(
        customer=customer, policy=DunningPolicy.objects.get(is_default=True), level=1,
        level_name="Zahlungserinnerung", notice_date=dt.date(2026, 11, 10),
        deadline=dt.date(2026, 11, 17), consumer=False, status=DunningNotice.Status.SENT,
        principal_total=Decimal("119.00"), fees_total=Decimal("0.00"),
        interest_total=Decimal("0.00"), return_fees_total=Decimal("0.00"),
        total=Decimal("119.00"), created_at=now, created_by="test",
    )  # fmt: skip


def risk_settings(**fields) -> PaymentSettings:
    settings = PaymentSettings.load()
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()
    return settings
