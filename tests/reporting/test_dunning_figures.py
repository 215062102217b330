"""Dunning figures of October and November 2026 from two real dunning ladders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.dunning import services as dunning
from faktura.dunning.models import DunningFee
from faktura.payments.services import allocate_payment
from faktura.reporting.dunning_figures import dunning_figures, dunning_figures_table
from faktura.reporting.tables import csv_bytes
from tests.dunning.helpers import overdue, run
from tests.payments.helpers import CASHIER, pay

pytestmark = pytest.mark.django_db

D = dt.date
E = Decimal
OCT_1, NOV_30 = D(2026, 10, 1), D(2026, 11, 30)


@pytest.fixture
def ladders(consumer, business_customer, actor):
    overdue(consumer, actor, due=D(2026, 10, 1))
    paid_later = overdue(business_customer, actor, due=D(2026, 10, 1))
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))
    payment = pay(CASHIER, str(paid_later.payable_amount), business_customer, day=D(2026, 10, 30))
    allocate_payment(
        payment_id=payment.pk,
        allocations=[(paid_later.pk, str(paid_later.payable_amount))],
        actor=CASHIER,
    )
    run(D(2026, 11, 5))
    run(D(2026, 11, 19))
    flat_fee = DunningFee.objects.get(kind="flat_40")
    dunning.waive_fee(fee_id=flat_fee.pk, reason="Kulanz", actor=actor)


def test_notices_per_level(ladders):
    figures = dunning_figures(OCT_1, NOV_30)
    assert [(n.level, n.notices, n.principal, n.fees, n.interest) for n in figures.notices] == [
        (0, 2, E("219.00"), E("0.00"), E("0.00")),  # both reminders, 100 + 119
        # consumer 2.50 and 0.36; business EUR 40 and 119 × 10.27 % × 21/365 = 0.70
        (1, 2, E("219.00"), E("42.50"), E("1.06")),
        (2, 1, E("100.00"), E("5.00"), E("0.60")),  # the business invoice was paid
        (3, 1, E("100.00"), E("7.50"), E("0.84")),
    ]


def test_costs_charged_paid_and_waived(ladders):
    costs = {c.kind: (c.charged, c.paid, c.waived) for c in dunning_figures(OCT_1, NOV_30).costs}
    assert costs == {
        "fee": (E("7.50"), E("0.00"), E("0.00")),
        "flat_40": (E("40.00"), E("0.00"), E("40.00")),
        "interest": (E("1.54"), E("0.00"), E("0.00")),
    }


def test_recovery_after_each_level(ladders):
    figures = dunning_figures(OCT_1, NOV_30)
    assert [
        (r.level, r.invoices, r.recovered, r.recovered_amount, r.rate) for r in figures.recovery
    ] == [
        (1, 1, 1, E("119.00"), E("100.00")),
        (3, 1, 0, E("0.00"), E("0.00")),
    ]
    assert figures.collection.cases_handed_over == 0
    # Before the period: nothing.
    assert dunning_figures(D(2026, 1, 1), D(2026, 9, 30)).notices == []


def test_the_csv(ladders):
    lines = csv_bytes(dunning_figures_table(OCT_1, NOV_30)).decode("utf-8-sig").splitlines()
    assert lines[0] == "Schlüssel;Kennzahl;Stufe;Anzahl;Betrag;Anteil (%)"
    assert lines[2] == "notices;Versendete Mahnungen;1;2;219,00;"
    assert "flat_40_waived;Verzugspauschale: erlassen;;;40,00;" in lines
    assert lines[-1] == "recovered;Nach dieser Stufe bezahlt;3;0;0,00;0,00"
