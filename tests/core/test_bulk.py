"""Bulk row writes: what they write is what the objects held, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import bulk, clock
from faktura.subscriptions.models import BillingRun, Subscription
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db


def test_insert_writes_every_field_as_held(company):
    now = clock.now()
    bulk.insert(
        [
            BillingRun(
                billing_date=dt.date(2027, 1, day),
                started_at=now,
                started_by=f"test {day}",
                periods_found=day,
                chunks_done=[day, "ä"],
            )
            for day in (1, 2)
        ]
    )
    rows = list(BillingRun.objects.order_by("billing_date"))
    assert [(r.billing_date.day, r.started_by, r.periods_found) for r in rows] == [
        (1, "test 1", 1),
        (2, "test 2", 2),
    ]
    assert rows[1].chunks_done == [2, "ä"]
    assert rows[0].started_at == now
    assert rows[0].status == BillingRun.Status.RUNNING


def test_insert_with_set_ids_gives_each_object_its_row_id(company):
    now = clock.now()
    earlier = BillingRun.objects.create(
        billing_date=dt.date(2027, 1, 1), started_at=now, started_by="before"
    )
    runs = [
        BillingRun(billing_date=dt.date(2027, 2, day), started_at=now, started_by=f"test {day}")
        for day in (1, 2, 3)
    ]
    bulk.insert(runs, set_ids=True)
    assert all(run.pk is not None and run.pk > earlier.pk for run in runs)
    assert len({run.pk for run in runs}) == 3
    stored = dict(BillingRun.objects.values_list("pk", "started_by"))
    assert [stored[run.pk] for run in runs] == ["test 1", "test 2", "test 3"]
    # The sequence moved on: the next row does not collide with the ones inserted.
    after = BillingRun.objects.create(
        billing_date=dt.date(2027, 3, 1), started_at=now, started_by="after"
    )
    assert after.pk > max(run.pk for run in runs)


def test_update_fields_writes_only_the_named_fields(company, business_customer):
    monthly = plan()
    first = subscribe(business_customer, monthly, starts_on=dt.date(2027, 1, 1))
    second = subscribe(business_customer, monthly, starts_on=dt.date(2027, 2, 1))
    first.next_period_index, first.next_billing_on, first.quantity = 3, None, Decimal(9)
    second.next_period_index, second.next_billing_on = 7, dt.date(2027, 9, 1)
    assert bulk.update_fields([first, second], ["next_period_index", "next_billing_on"]) == 2
    stored = {s.pk: s for s in Subscription.objects.all()}
    assert (stored[first.pk].next_period_index, stored[first.pk].next_billing_on) == (3, None)
    assert stored[first.pk].quantity == Decimal(1)  # not named, not written
    assert (stored[second.pk].next_period_index, stored[second.pk].next_billing_on) == (
        7,
        dt.date(2027, 9, 1),
    )
    assert bulk.update_fields([], ["status"]) == 0
