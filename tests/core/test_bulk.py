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


def test_insert_with_ids_gives_each_object_its_row_id_once(company):
    now = clock.now()
    earlier = BillingRun.objects.create(
        billing_date=dt.date(2027, 1, 1), started_at=now, started_by="before"
    )
    runs = [
        BillingRun(billing_date=dt.date(2027, 2, day), started_at=now, started_by=f"test {day}")
        for day in (1, 2, 3)
    ]
    bulk.insert(runs, with_ids=True)
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


def test_insert_with_ids_gives_the_objects_the_ids_they_are_stored_under(company):
    now = clock.now()
    runs = [
        BillingRun(billing_date=dt.date(2027, 1, day), started_at=now, started_by=f"run {day}")
        for day in (1, 2, 3)
    ]
    bulk.insert(runs, with_ids=True)
    assert all(run.pk is not None for run in runs)
    stored = dict(BillingRun.objects.values_list("pk", "started_by"))
    assert {run.pk: run.started_by for run in runs} == stored
    later = BillingRun.objects.create(
        billing_date=dt.date(2027, 1, 4), started_at=now, started_by="later"
    )
    assert later.pk not in stored  # the sequence moved past the ids taken


def test_insert_ignoring_conflicts_leaves_out_the_rows_a_unique_constraint_refuses(
    company, business_customer
):
    from faktura.banking.models import BankStatement, BankTransaction

    statement = BankStatement.objects.create(
        account_iban="DE02120300000000202051",
        account_identification="DE02120300000000202051",
        format="camt.053",
        file_sha256="0" * 64,
        imported_by="test",
        imported_at=clock.now(),
    )

    def line(checksum: str, amount: str) -> BankTransaction:
        return BankTransaction(
            statement=statement,
            checksum=checksum,
            booking_date=dt.date(2026, 11, 16),
            value_date=dt.date(2026, 11, 16),
            amount=Decimal(amount),
            direction="credit",
            match_plan={"action": "book", "invoices": [{"id": 1, "amount": "1.00"}]},
            created_at=clock.now(),
        )

    bulk.insert([line("a", "1.00"), line("b", "2.00")], ignore_conflicts=True)
    bulk.insert([line("b", "9.00"), line("c", "3.00")], ignore_conflicts=True)

    stored = dict(BankTransaction.objects.values_list("checksum", "amount"))
    assert stored == {"a": Decimal("1.00"), "b": Decimal("2.00"), "c": Decimal("3.00")}
    assert BankTransaction.objects.get(checksum="c").match_plan == {
        "action": "book",
        "invoices": [{"id": 1, "amount": "1.00"}],
    }
