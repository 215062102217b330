"""Receivables reports with exact figures: open items and aging as of a date, DSO, payment
history, overdue by dunning level, cash-in forecast.

One customer's story (business customer, 19 % VAT, payment term 14 days):

* 2026-08-01 invoice A 119.00 (due 08-15); 2026-09-01 payment 50.00 allocated to A;
* 2026-10-01 invoice B 59.50 (due 10-15);
* 2026-11-10 invoice C 23.80 (due 11-24);
* 2026-11-12 payment 100.00: 59.50 to B, 40.50 stays credit;
* 2026-11-14 credit note 10.00 on A.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.dunning.models import DunningCase
from faktura.invoicing import services as invoicing
from faktura.payments import services as payments
from faktura.reporting import open_items, receivables
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice
from tests.payments.helpers import finalized, pay

pytestmark = pytest.mark.django_db
D = Decimal


def on(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC))


@pytest.fixture
def story(business_customer, actor):
    with on(dt.date(2026, 8, 1)):
        a = finalized(business_customer, actor, price="100.00")
    with on(dt.date(2026, 9, 1)):
        p1 = pay(actor, "50.00", business_customer, day=dt.date(2026, 9, 1))
        payments.allocate_payment(payment_id=p1.pk, allocations=[(a.pk, "50.00")], actor=actor)
    with on(dt.date(2026, 10, 1)):
        b = finalized(business_customer, actor, price="50.00")
    with on(dt.date(2026, 11, 10)):
        c = finalized(business_customer, actor, price="20.00")
    with on(dt.date(2026, 11, 12)):
        p2 = pay(actor, "100.00", business_customer, day=dt.date(2026, 11, 12))
        payments.allocate_payment(payment_id=p2.pk, allocations=[(b.pk, "59.50")], actor=actor)
    with on(dt.date(2026, 11, 14)):
        draft = invoicing.create_credit_note(
            invoice_id=a.pk, actor=actor, amount="10.00", tax_rate="de-19"
        )
        note = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    return {"a": a, "b": b, "c": c, "p1": p1, "p2": p2, "note": note}


def _rows(day):
    return [
        (i.kind, i.reference, str(i.amount), str(i.open_amount), i.days_overdue)
        for i in open_items.open_items(day)
    ]


def test_open_items_at_a_past_date_ignore_what_came_later(story):
    a, b = story["a"], story["b"]
    assert _rows(dt.date(2026, 10, 31)) == [
        ("invoice", a.number, "119.00", "69.00", 77),
        ("invoice", b.number, "59.50", "59.50", 16),
    ]
    # The day before the first payment: all of A.
    assert _rows(dt.date(2026, 8, 31)) == [("invoice", a.number, "119.00", "119.00", 16)]
    # Before anything was issued: nothing.
    assert _rows(dt.date(2026, 7, 31)) == []


def test_open_items_today_count_the_credit_note_and_the_unallocated_payment(story):
    a, c = story["a"], story["c"]
    assert _rows(dt.date(2026, 11, 16)) == [
        ("invoice", a.number, "119.00", "59.00", 93),
        ("invoice", c.number, "23.80", "23.80", 0),
        ("payment", "Zahlung", "-100.00", "-40.50", 0),
    ]


def test_a_credit_note_beyond_the_open_amount_is_an_item_owed_back(story, actor):
    a = story["a"]
    draft = invoicing.create_credit_note(
        invoice_id=a.pk, actor=actor, amount="100.00", tax_rate="de-19"
    )
    note = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    rows = _rows(dt.date(2026, 11, 16))
    # A claimed 59.00 after the first note: the second (100.00) owes 41.00 back.
    assert ("credit_note", note.number, "-100.00", "-41.00", 0) in rows
    assert not any(r[1] == a.number for r in rows)
    assert sum(D(r[3]) for r in rows) == D("-57.70")  # 23.80 − 41.00 − 40.50


def _buckets(aging):
    return {b.key: (str(b.amount), b.count) for b in aging.buckets}


def test_aging_puts_items_into_buckets_by_days_past_due(story):
    (past,) = open_items.aging(dt.date(2026, 10, 31))
    assert _buckets(past) == {
        "not_due": ("0.00", 0),
        "days_1_30": ("59.50", 1),
        "days_31_60": ("0.00", 0),
        "days_61_90": ("69.00", 1),
        "over_90": ("0.00", 0),
        "credits": ("0.00", 0),
    }
    assert (past.total, past.count) == (D("128.50"), 2)
    (today,) = open_items.aging(dt.date(2026, 11, 16))
    assert _buckets(today) == {
        "not_due": ("23.80", 1),
        "days_1_30": ("0.00", 0),
        "days_31_60": ("0.00", 0),
        "days_61_90": ("0.00", 0),
        "over_90": ("59.00", 1),
        "credits": ("-40.50", 1),
    }
    assert today.total == D("42.30")


def test_bucket_edges_are_exact(business_customer, actor):
    # Due 2026-11-16 is not yet overdue that day; due 30 days before is 1–30, 31 days 31–60.
    for issued in (dt.date(2026, 11, 2), dt.date(2026, 10, 3), dt.date(2026, 10, 2)):
        with on(issued):
            finalized(business_customer, actor)
    (aging,) = open_items.aging(dt.date(2026, 11, 16))
    assert _buckets(aging)["not_due"] == ("119.00", 1)
    assert _buckets(aging)["days_1_30"] == ("119.00", 1)
    assert _buckets(aging)["days_31_60"] == ("119.00", 1)


def test_aging_per_customer_sums_to_the_total(story, consumer, actor):
    with on(dt.date(2026, 6, 1)):
        finalized(consumer, actor, price="10.00")  # gross for consumers, 168 days past due
    rows = open_items.aging(dt.date(2026, 11, 16), by_customer=True)
    (total,) = open_items.aging(dt.date(2026, 11, 16))
    assert [r.customer_name for r in rows] == ["Beispiel Handel AG", "Max Mustermann"]
    assert _buckets(rows[1])["over_90"] == ("10.00", 1)
    assert sum(r.total for r in rows) == total.total == D("52.30")


def test_dso_is_receivables_over_revenue_times_days(story):
    figure = receivables.dso(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    # 128.50 / 59.50 × 31 = 66.949…
    assert (figure.receivables, figure.revenue, figure.days) == (D("128.50"), D("59.50"), 31)
    assert figure.dso == D("66.9")
    november = receivables.dso(dt.date(2026, 11, 1), dt.date(2026, 11, 16))
    # revenue 23.80 − 10.00 credited; receivables 59.00 + 23.80
    assert (november.revenue, november.receivables, november.dso) == (
        D("13.80"),
        D("82.80"),
        D("96.0"),
    )
    assert receivables.dso(dt.date(2026, 1, 1), dt.date(2026, 1, 31)).dso is None


def test_dso_refuses_a_period_ending_before_it_starts(story):
    from faktura.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        receivables.dso(dt.date(2026, 11, 2), dt.date(2026, 11, 1))
    assert refused.value.code == "invalid_period"


def test_payment_history_averages_days_from_issue_and_due_date(story):
    history = receivables.payment_history(story["a"].customer_id)
    assert (history.payment_count, history.payment_total) == (2, D("150.00"))
    assert history.allocation_count == 2
    # A: 08-01 → 09-01 = 31 days (17 after due); B: 10-01 → 11-12 = 42 days (28 after due).
    assert history.average_days_from_issue == D("36.5")
    assert history.average_days_after_due == D("22.5")
    assert (history.returned_debit_count, history.chargeback_count) == (0, 0)


def test_payment_history_counts_returned_debits(story, actor):
    from faktura.payments.models import Allocation
    from faktura.payments.returns import record_returned_debit

    allocation = Allocation.objects.get(payment=story["p2"])
    record_returned_debit(
        actor=actor,
        reason_code="AM04",
        source_reference="R-1",
        allocation_id=allocation.pk,
        return_fee="3.00",
    )
    history = receivables.payment_history(story["a"].customer_id)
    assert (history.returned_debit_count, history.returned_debit_total) == (1, D("59.50"))
    # The reversed allocation no longer counts as paid.
    assert history.allocation_count == 1
    assert history.average_days_from_issue == D("31.0")


def test_overdue_by_customer_and_dunning_level(story, consumer, actor):
    with on(dt.date(2026, 6, 1)):
        old = finalized(consumer, actor, price="10.00")
        other = finalized(consumer, actor, price="20.00")
    DunningCase.objects.create(
        invoice=old, customer=consumer, level=2, level_reached_on=dt.date(2026, 10, 1)
    )
    rows = receivables.overdue_by_level(dt.date(2026, 11, 16))
    assert [(r.customer_name, r.level, r.count, str(r.open_amount)) for r in rows] == [
        ("Beispiel Handel AG", 0, 1, "59.00"),
        ("Max Mustermann", 0, 1, "20.00"),
        ("Max Mustermann", 2, 1, "10.00"),
    ]
    assert other.pk


def test_cash_forecast_by_due_date_and_scheduled_direct_debit(story, consumer, actor, company):
    from faktura.collection import services as collection
    from faktura.payments.models import PaymentSettings

    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(consumer, actor)
    debited = due_invoice(consumer, actor, price="10.00")  # gross 10.00, due today
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    assert batch is not None
    assert batch.items.get().invoice_id == debited.pk
    forecast = receivables.cash_forecast(dt.date(2026, 11, 16), weeks=2)
    periods = forecast.periods
    assert [(p.start, p.end, str(p.due_invoices), str(p.direct_debits)) for p in periods] == [
        (dt.date(2026, 11, 16), dt.date(2026, 11, 22), "0.00", "10.00"),
        (dt.date(2026, 11, 23), dt.date(2026, 11, 29), "23.80", "0.00"),
    ]
    assert forecast.overdue == D("59.00")
    months = receivables.cash_forecast(dt.date(2026, 11, 16), months=2)
    assert [(p.start, p.end, p.total) for p in months.periods] == [
        (dt.date(2026, 11, 16), dt.date(2026, 11, 30), D("33.80")),
        (dt.date(2026, 12, 1), dt.date(2026, 12, 31), D("0.00")),
    ]
