"""An import reports what it did itself, not what another import did beside it."""

from __future__ import annotations

import pytest
from django.test import override_settings

from faktura.banking import booking
from faktura.banking.models import BankTransaction
from faktura.payments.models import Payment
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import import_on, summary
from tests.payments.helpers import finalized

pytestmark = pytest.mark.django_db


def test_a_reimport_does_not_report_lines_another_process_booked_meanwhile(
    business_customer, actor, monkeypatch
):
    for _ in range(2):
        finalized(business_customer, actor)
    data = camt([transfer("119.00", f"RE-2026-0000{n}", reference=f"R-{n}") for n in (1, 2)])
    with override_settings(FAKTURA_STATEMENT_INLINE_BOOKINGS=0):
        first = import_on(data, actor)  # the worker is to book both lines
    assert (first.queued, first.booked) == (2, 0)
    # The worker books the lines just before the re-import's own attempt locks them.
    locked_rows, worker_busy = booking._locked_rows, []

    def worker_first(pks):
        if not worker_busy:
            worker_busy.append(pks)
            booking.book_matched(actor=actor, transaction_ids=pks)
            worker_busy.pop()
        return locked_rows(pks)

    monkeypatch.setattr(booking, "_locked_rows", worker_first)

    again = import_on(data, actor)

    assert summary(again) == {
        "transactions": 2,
        "new": 0,
        "duplicates": 2,
        "booked": 0,
        "unmatched": 0,
        "returns": 0,
        "ignored": 0,
        "booked_amount": "0.00",
        "already_imported": True,
    }
    assert Payment.objects.count() == 2
    assert set(BankTransaction.objects.values_list("state", flat=True)) == {"booked"}
