"""`faktura demo` gives a usable company with documents in every state, and is idempotent."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from faktura.core import clock
from faktura.customers.models import Customer
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice
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
