"""`faktura demo` gives a usable company with documents in every state, and is idempotent."""

from __future__ import annotations

from collections import Counter

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
