"""`faktura demo` gives a usable company with documents in every state, and is idempotent."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from faktura.core import clock
from faktura.customers.models import Customer
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice, InvoiceLine
from faktura.payments.models import Payment
from tests.documents.pipeline_helpers import run_tasks

pytestmark = pytest.mark.django_db


def test_demo_data_cover_every_state_and_load_only_once(capsys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("demo")
    counts = (Customer.objects.count(), Invoice.objects.count(), Payment.objects.count())
    call_command("demo")
    assert (Customer.objects.count(), Invoice.objects.count(), Payment.objects.count()) == counts
    assert counts[0] == 50
    assert set(Customer.objects.values_list("kind", flat=True)) == {
        "consumer",
        "business",
        "public_body",
    }
    states = set(Invoice.objects.values_list("kind", "status"))
    assert {
        ("invoice", s) for s in ("draft", "pending_approval", "approved", "rejected", "finalized")
    } <= states
    assert {("credit_note", "finalized"), ("cancellation", "finalized")} <= states
    today = clock.today()
    payment_states = Counter(
        selectors.settlement(invoice, today=today)["payment_status"]
        for invoice in Invoice.objects.finalized().filter(kind="invoice")
    )
    assert {"paid", "partially_paid", "unpaid", "cancelled"} <= set(payment_states)
    # Businesses in Vienna and Paris: the workshop (a service) is reverse charge, the book
    # (goods) an intra-community supply; never K for a service.
    abroad = InvoiceLine.objects.filter(invoice__customer__country__in=["AT", "FR"])
    assert set(abroad.filter(sku="WORKSHOP").values_list("tax_category", flat=True)) == {"AE"}
    assert set(abroad.filter(sku="BUCH-1").values_list("tax_category", flat=True)) == {"K"}
    # No worker has run yet: `check` names the finalized documents, finalized days ago in
    # the demo's history, as stuck before their archive; nothing else is amiss.
    capsys.readouterr()
    with pytest.raises(CommandError):
        call_command("check")
    problems = [line for line in capsys.readouterr().err.splitlines() if "INTEGRITY" in line]
    assert len(problems) == Invoice.objects.finalized().count()
    assert all(": stuck, not archived (rendering never finished)" in p for p in problems)
    # Once a worker has processed the queue, every document is archived and sent.
    run_tasks()
    call_command("check")
    assert "Integrity check passed" in capsys.readouterr().out


def test_demo_direct_debit_customers_have_mandates_and_sepa_batch_writes_a_file(tmp_path, capsys):
    from faktura.collection.models import Mandate

    call_command("demo")
    debtors = Customer.objects.filter(preferred_payment_method="direct_debit")
    assert debtors.count() >= 5
    assert set(Mandate.objects.filter(status="active").values_list("customer", flat=True)) == set(
        debtors.values_list("pk", flat=True)
    )
    capsys.readouterr()
    call_command("sepa-batch", "--date", "2026-11-18", "--scheme", "CORE", "--output", tmp_path)
    files = list(tmp_path.glob("pain008-CORE-20261118-*.xml"))
    assert len(files) == 1
    assert "<NbOfTxs>" in files[0].read_text()
    assert "debits" in capsys.readouterr().out


def test_demo_subscriptions_cover_every_state_and_method_and_load_only_once():
    from faktura.subscriptions.models import (
        BilledPeriod,
        Charge,
        Coupon,
        Course,
        Plan,
        PriceChange,
        Subscription,
    )

    call_command("demo")
    counts = (Subscription.objects.count(), BilledPeriod.objects.count(), Charge.objects.count())
    invoices = Invoice.objects.count()
    call_command("demo")
    assert (
        Subscription.objects.count(),
        BilledPeriod.objects.count(),
        Charge.objects.count(),
    ) == counts
    assert Invoice.objects.count() == invoices

    monthly = Plan.objects.get(code="MITGLIED-MONAT")
    assert (monthly.price, monthly.price_mode, monthly.trial_days) == (
        Decimal("29.00"),
        "gross",
        14,
    )
    assert monthly.contract_terms.violations_for_consumers() == []
    yearly = Plan.objects.get(code="FIRMEN-JAHR")
    assert (yearly.price, yearly.price_mode, yearly.minimum_term_months) == (
        Decimal("990.00"),
        "net",
        12,
    )
    assert (yearly.notice_value, yearly.renewal_months, yearly.renewal_notice_days) == (3, 12, 30)
    assert Plan.objects.get(code="SUPPORT-QUARTAL").timing == "in_arrears"
    change = PriceChange.objects.get(plan=monthly)
    assert change.needs_consent
    assert change.price == Decimal("32.00")
    assert change.effective_from > clock.today() + dt.timedelta(days=42)
    course = Course.objects.get(code="LOHN-2026")
    assert [i.amount for i in course.instalments.order_by("number")] == [Decimal("149.00")] * 3
    coupon = Coupon.objects.get(code="WILLKOMMEN20")
    assert (coupon.value, coupon.periods) == (Decimal("20.00"), 3)
    assert Charge.objects.filter(kind="one_off").exists()

    assert Subscription.objects.count() >= 30
    assert set(Subscription.objects.values_list("status", flat=True)) == {
        "trialing",
        "active",
        "paused",
        "cancelling",
        "ended",
    }
    assert set(Subscription.objects.values_list("payment_method", flat=True)) == {
        "transfer",
        "direct_debit",
        "provider",
    }
    assert Subscription.objects.filter(course=course).count() >= 2
    assert Subscription.objects.filter(discounts__coupon=coupon).exists()
    # Its history is billed: subscription invoices on past days, numbered in date order.
    past = Invoice.objects.filter(billed_periods__isnull=False).distinct()
    assert past.filter(status="finalized", issue_date__lt=clock.today()).count() >= 20
    dated = list(
        Invoice.objects.finalized()
        .filter(kind="invoice")
        .order_by("number")
        .values_list("issue_date", flat=True)
    )
    assert dated == sorted(dated)
    # Every direct debit is paid with the customer's mandate, so sepa-batch takes it.
    debits = Subscription.objects.filter(payment_method="direct_debit")
    assert all(s.mandate_id for s in debits)
    assert set(debits.values_list("customer__preferred_payment_method", flat=True)) == {
        "direct_debit"
    }


def test_demo_billing_run_today_bills_due_periods_once_and_sepa_batch_collects_them(
    tmp_path, capsys
):
    from faktura.collection.models import DirectDebitItem
    from faktura.collection.selectors import planned_debit_date
    from faktura.core.models import AuditEntry
    from faktura.payments.tasks import charge_saved_payment_method
    from faktura.subscriptions.models import BillingRun

    call_command("demo")
    today = clock.today()
    capsys.readouterr()
    call_command("billing-run", "--date", today.isoformat())
    first = BillingRun.objects.filter(billing_date=today).get()
    assert first.periods_found >= 5
    assert first.invoices_finalized == first.invoices_made >= 5
    call_command("billing-run", "--date", today.isoformat())
    second = BillingRun.objects.filter(billing_date=today).exclude(pk=first.pk).get()
    assert (second.periods_found, second.charges_found, second.invoices_made) == (0, 0, 0)

    made = Invoice.objects.filter(billed_periods__run=first).distinct()
    debit = made.filter(payment_method="direct_debit").order_by("pk").first()
    assert debit is not None
    collection_date = planned_debit_date(debit)
    call_command(
        "sepa-batch",
        "--date",
        collection_date.isoformat(),
        "--scheme",
        "CORE",
        "--output",
        tmp_path,
    )
    assert DirectDebitItem.objects.filter(invoice=debit).exists()
    [file] = tmp_path.glob("pain008-CORE-*.xml")
    assert debit.number in file.read_text()

    # The card payments of today's run are queued; without Stripe configured the charge is
    # recorded as failed, the invoice stays open, and the task is not tried again.
    charged = made.filter(payment_method="provider").order_by("pk").first()
    assert charged is not None
    method_id = charged.customer.saved_payment_methods.get().pk
    charge_saved_payment_method.call(charged.pk, method_id)
    failure = AuditEntry.objects.get(action="invoice.charge_failed", object_id=str(charged.pk))
    assert failure.data["error_code"] == "provider_not_configured"
