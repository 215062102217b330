"""The billing run's review window, its run in the workers, and its command."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.subscriptions import run as billing_run
from faktura.subscriptions.models import BilledPeriod, BillingProfile, BillingRun, BillingSettings
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("billing-run")
D = dt.date


def bill(day: dt.date, **kwargs) -> BillingRun:
    with clock.frozen(day):
        return billing_run.run_billing(billing_date=day, actor=SYSTEM, **kwargs)


def test_review_window_keeps_drafts_until_it_ends(company, business_customer, consumer):
    BillingSettings.objects.create(review_days=3)
    BillingProfile.objects.create(customer=consumer, review_days=0)
    subscribe(business_customer, plan(), starts_on=D(2027, 1, 1))
    subscribe(consumer, plan("c", price="9.99", price_mode="gross"), starts_on=D(2027, 1, 1))
    run = bill(D(2027, 1, 1))
    assert (run.invoices_made, run.invoices_finalized) == (2, 1)
    waiting = Invoice.objects.get(customer=business_customer)
    assert (waiting.status, waiting.number) == ("draft", None)
    assert Invoice.objects.get(customer=consumer).status == "finalized"  # its own window: 0
    assert bill(D(2027, 1, 3)).invoices_finalized == 0  # two days: still in review
    run = bill(D(2027, 1, 4))
    assert (run.invoices_finalized, run.invoices_made) == (1, 0)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.issue_date) == ("finalized", D(2027, 1, 4))
    assert waiting.grand_total == Decimal("35.70")


def test_a_draft_discarded_in_review_is_billed_again(company, business_customer, actor):
    BillingSettings.objects.create(review_days=2)
    subscribe(business_customer, plan(), starts_on=D(2027, 1, 1))
    bill(D(2027, 1, 1))
    draft = Invoice.objects.get()
    with clock.frozen(D(2027, 1, 2)):
        invoicing.discard_draft(invoice_id=draft.pk, actor=actor)
    assert not BilledPeriod.objects.exists()  # the period is free again
    run = bill(D(2027, 1, 2))
    assert (run.periods_found, run.invoices_made) == (1, 1)
    again = Invoice.objects.get()
    assert again.lines.get().service_date_start == D(2027, 1, 1)


def test_a_run_in_the_workers_is_finished_by_its_last_chunk(
    company, business_customer, consumer, settings
):
    settings.FAKTURA_BILLING_CHUNK_CUSTOMERS = 1
    subscribe(business_customer, plan(), starts_on=D(2027, 1, 1))
    subscribe(consumer, plan("c", price="9.99", price_mode="gross"), starts_on=D(2027, 1, 1))
    run = bill(D(2027, 1, 1), in_workers=True)
    assert (run.status, run.chunks_total, run.invoices_made) == ("running", 2, 0)
    tasks = list(
        DBTaskResult.objects.filter(task_path__endswith="bill_customers").order_by("enqueued_at")
    )
    assert len(tasks) == 2
    assert all(t.priority > 0 for t in tasks)  # billed before any document is rendered
    for number, task in enumerate(tasks):
        with clock.frozen(D(2027, 1, 1)):
            billing_run.bill_run_chunk(
                run_id=run.pk,
                billing_date=D(2027, 1, 1),
                chunk=number,
                customer_ids=task.args_kwargs["args"][3],
            )
        run.refresh_from_db()
        assert run.status == ("finished" if number == 1 else "running")
    # A chunk retried after its worker died counts once and bills nothing twice.
    with clock.frozen(D(2027, 1, 1)):
        billing_run.bill_run_chunk(
            run_id=run.pk,
            billing_date=D(2027, 1, 1),
            chunk=0,
            customer_ids=tasks[0].args_kwargs["args"][3],
        )
    run.refresh_from_db()
    assert (run.invoices_made, run.invoices_finalized, sorted(run.chunks_done)) == (2, 2, [0, 1])
    assert Invoice.objects.count() == 2


def test_the_command_bills_and_reports(company, business_customer, capsys):
    subscribe(business_customer, plan(), starts_on=D(2026, 11, 16))
    call_command("billing-run", "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run for 2026-11-16: nothing is written." in out
    assert "1 period(s) and 0 charge(s) due; 1 invoice(s) totalling 35.70 EUR" in out
    assert not Invoice.objects.exists()
    call_command("billing-run")
    out = capsys.readouterr().out
    assert "1 period(s) and 0 charge(s) billed on 1 invoice(s), 1 finalized, 0 error(s)" in out
    call_command("billing-run", "--date", "2026-11-16")
    assert "0 period(s) and 0 charge(s) billed on 0 invoice(s)" in capsys.readouterr().out


def test_the_command_refuses_bad_input(company):
    with pytest.raises(CommandError, match="not a date"):
        call_command("billing-run", "--date", "16.11.2026")
    with pytest.raises(CommandError, match="no customer K-999"):
        call_command("billing-run", "--customer", "K-999")
    assert not BillingRun.objects.exists()
