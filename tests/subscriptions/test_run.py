"""The billing run: exactly one invoice per due period, made in bulk and finalized."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.invoicing.models import Invoice
from faktura.subscriptions.models import BilledPeriod, BillingRun
from faktura.subscriptions.run import preview_billing, run_billing
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("billing-run")
D = dt.date


def bill(day: dt.date) -> BillingRun:
    with clock.frozen(day):
        return run_billing(billing_date=day, actor=SYSTEM)


def test_monthly_in_advance_from_31_january(company, business_customer):
    monthly = plan(price="30.00")
    subscription = subscribe(business_customer, monthly, starts_on=D(2027, 1, 31))
    for day in (D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31)):
        run = bill(day)
        assert (run.periods_found, run.invoices_made, run.invoices_finalized) == (1, 1, 1)
    periods = list(
        BilledPeriod.objects.filter(subscription=subscription)
        .order_by("period_start")
        .values_list("period_start", "period_end")
    )
    assert periods == [
        (D(2027, 1, 31), D(2027, 2, 27)),
        (D(2027, 2, 28), D(2027, 3, 30)),
        (D(2027, 3, 31), D(2027, 4, 29)),
    ]
    invoices = list(Invoice.objects.order_by("pk"))
    assert [i.grand_total for i in invoices] == [Decimal("35.70")] * 3
    assert [i.status for i in invoices] == ["finalized"] * 3
    line = invoices[1].lines.get()
    assert (line.service_date_start, line.service_date_end) == (D(2027, 2, 28), D(2027, 3, 30))
    assert (invoices[1].service_date_start, invoices[1].service_date_end) == (
        D(2027, 2, 28),
        D(2027, 3, 30),
    )


def test_a_second_run_for_the_same_date_makes_nothing(company, business_customer):
    subscribe(business_customer, plan(), starts_on=D(2027, 1, 1))
    assert bill(D(2027, 1, 1)).invoices_made == 1
    again = bill(D(2027, 1, 1))
    assert (again.periods_found, again.invoices_made) == (0, 0)
    assert Invoice.objects.count() == 1


def test_a_run_after_40_days_bills_every_missed_period_once(company, business_customer):
    subscribe(business_customer, plan(price="10.00", interval="week"), starts_on=D(2027, 1, 1))
    bill(D(2027, 1, 1))
    run = bill(D(2027, 2, 10))
    assert run.periods_found == 5  # 8, 15, 22, 29 Jan, 5 Feb
    invoices = Invoice.objects.order_by("pk")[1:]
    assert [inv.lines.get().service_date_start for inv in invoices] == [
        D(2027, 1, 8),
        D(2027, 1, 15),
        D(2027, 1, 22),
        D(2027, 1, 29),
        D(2027, 2, 5),
    ]
    assert bill(D(2027, 2, 10)).periods_found == 0


def test_two_subscriptions_of_one_customer_make_one_invoice(company, business_customer):
    subscribe(business_customer, plan("a", price="30.00"), starts_on=D(2027, 1, 1))
    subscribe(business_customer, plan("b", price="20.00"), starts_on=D(2027, 1, 1), quantity="2")
    run = bill(D(2027, 1, 1))
    assert (run.periods_found, run.invoices_made) == (2, 1)
    invoice = Invoice.objects.get()
    assert invoice.tax_basis_total == Decimal("70.00")
    assert invoice.grand_total == Decimal("83.30")


def test_the_preview_equals_the_invoice_made(company, consumer):
    subscribe(consumer, plan(price="9.99", price_mode="gross"), starts_on=D(2027, 1, 1))
    with clock.frozen(D(2027, 1, 1)):
        preview = preview_billing(billing_date=D(2027, 1, 1), actor=SYSTEM)
    bill(D(2027, 1, 1))
    made = Invoice.objects.get()
    (shown,) = preview.invoices
    assert (shown.grand_total, shown.tax_total) == (made.grand_total, made.tax_total)
    assert made.grand_total == Decimal("9.99")
    assert made.tax_total == Decimal("1.60")


def test_an_unbillable_customer_is_an_issue_and_the_run_goes_on(
    company, business_customer, consumer
):
    subscribe(business_customer, plan(), starts_on=D(2027, 1, 1))
    subscribe(consumer, plan("c", price="9.99", price_mode="gross"), starts_on=D(2027, 1, 1))
    type(consumer).objects.filter(pk=consumer.pk).update(name="Max\x07Mustermann")
    run = bill(D(2027, 1, 1))
    assert (run.invoices_made, run.errors) == (1, 1)
    issue = run.issues.get()
    assert issue.customer_id == consumer.pk
    assert issue.code == "text_not_printable"
    assert not BilledPeriod.objects.filter(subscription__customer=consumer).exists()


def test_faktura_check_names_a_run_that_never_finished(company):
    from faktura.core.integrity import all_problems

    stale = BillingRun.objects.create(
        billing_date=D(2026, 11, 15),
        started_at=clock.now() - dt.timedelta(hours=3),
        started_by="system:billing-run",
    )
    BillingRun.objects.create(
        billing_date=D(2026, 11, 16), started_at=clock.now(), started_by="system:billing-run"
    )
    found = [p for p in all_problems() if "billing run" in p]
    assert len(found) == 1
    assert f"billing run {stale.pk} for 2026-11-15" in found[0]
    assert "faktura billing-run --date 2026-11-15" in found[0]


def test_a_cancelled_subscription_ends_after_its_last_period(company, business_customer):
    from faktura.subscriptions.models import Subscription

    subscription = subscribe(
        business_customer,
        plan(),
        starts_on=D(2027, 1, 1),
        ends_on=D(2027, 1, 31),
        status=Subscription.Status.CANCELLING,
    )
    assert bill(D(2027, 1, 1)).periods_found == 1
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLING
    assert subscription.next_billing_on is None
    bill(D(2027, 2, 1))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ENDED
    assert Invoice.objects.count() == 1
