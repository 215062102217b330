"""Statement lines booked a chunk per transaction: the same result as one line at a time,
and a crash in the middle of a chunk leaves whole chunks that a re-import completes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from faktura.banking import booking
from faktura.banking.models import BankStatement, BankTransaction
from faktura.core import clock
from faktura.core.errors import DomainError
from faktura.core.models import AuditEntry
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import BOOKING_DAY, import_on
from tests.payments.helpers import credit, finalized, open_amount

pytestmark = pytest.mark.django_db

EVENING = dt.datetime.combine(BOOKING_DAY, dt.time(18, 0), tzinfo=dt.UTC)


def _book_one_by_one(actor) -> None:
    """The booking as it was before the bulk path: one line, one transaction, through
    ``record_payment`` and ``allocate_payment``; a refused line goes to the to-do list."""
    for row in BankTransaction.objects.filter(state="matched").order_by("pk"):
        incoming = booking._incoming(row)
        try:
            with transaction.atomic():
                payment = payments.record_payment(
                    actor=actor,
                    amount=incoming.amount,
                    date=incoming.date,
                    method=incoming.method,
                    source=incoming.source,
                    reference=incoming.reference,
                    payer_name=incoming.payer_name,
                    payer_iban=incoming.payer_iban,
                    customer_id=incoming.customer_id,
                    external_id=incoming.external_id,
                )
                if incoming.allocations:
                    payments.allocate_payment(
                        payment_id=payment.pk,
                        allocations=list(incoming.allocations),
                        actor=actor,
                        overpayment=True,
                    )
                BankTransaction.objects.filter(pk=row.pk).update(
                    state="booked",
                    match_plan=None,
                    payment=payment,
                    customer_id=incoming.customer_id,
                    decided_by=actor.label,
                    decided_at=clock.now(),
                )
        except DomainError as error:
            booking._fail(row, error)


def _snapshot(since: int) -> dict[str, Any]:
    """Everything a booking writes, without the database ids (they differ between runs)."""
    external = dict(Payment.objects.values_list("pk", "external_id"))
    entries = AuditEntry.objects.filter(pk__gt=since).select_related("chain").order_by("pk")
    return {
        "lines": [
            (
                *(r.checksum, r.state, r.note, external.get(r.payment_id), r.customer_id),
                *(r.match_plan, r.suggestions, r.decided_by),
            )
            for r in BankTransaction.objects.order_by("pk")
        ],
        "payments": sorted(
            Payment.objects.values_list(
                "external_id",
                "amount",
                "customer_id",
                "date",
                "method",
                "source",
                "reference",
                "payer_name",
                "payer_iban",
                "created_by",
            ),
            key=str,
        ),
        "allocations": sorted(
            (
                (external[a.payment_id], a.invoice.number, a.amount, a.reversed_at)
                for a in Allocation.objects.select_related("invoice")
            ),
            key=str,
        ),
        "audit": sorted(
            (
                (
                    e.chain.key,
                    e.sequence,
                    e.action,
                    e.object_type,
                    {k: v for k, v in e.data.items() if k != "payment"},
                )
                for e in entries
            ),
            key=lambda entry: (entry[0], entry[1]),
        ),
    }


def _pay_by_hand(actor, invoice, amount: str) -> None:
    payment = payments.record_payment(
        actor=actor,
        amount=amount,
        date=BOOKING_DAY,
        method="cash",
        source="manual",
        customer_id=invoice.customer_id,
    )
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor
    )


class _Rollback(Exception):
    pass


def test_bulk_booking_writes_what_booking_line_by_line_wrote(
    business_customer, consumer, actor, monkeypatch
):
    business = [finalized(business_customer, actor) for _ in range(6)]  # 119.00 each
    private = [finalized(consumer, actor) for _ in range(2)]
    private_total = open_amount(private[0])  # the consumer's prices include the VAT
    assert [i.number for i in business + private][-1] == "RE-2026-00008"
    data = camt(
        [
            transfer("119.00", "Rechnung RE-2026-00001"),  # exact
            transfer("50.00", "Rechnung RE-2026-00002"),  # part
            transfer("130.00", "Rechnung RE-2026-00003"),  # 11.00 more: credit
            transfer("238.00", "RE-2026-00004 RE-2026-00005"),  # two invoices
            transfer("119.00", "Rechnung RE-2026-00006"),  # paid by hand meanwhile
            transfer(f"{private_total}", "Rechnung RE-2026-00007"),  # the other customer
            transfer("50.00", "Rechnung RE-2026-00008"),  # 19.00 left open meanwhile
            transfer("77.77", "Danke", name="Unbekannt"),  # nothing to match
        ]
    )
    with override_settings(FAKTURA_STATEMENT_INLINE_BOOKINGS=0):
        result = import_on(data, actor)
    assert (result.queued, result.unmatched) == (7, 1)
    with clock.frozen(EVENING):
        _pay_by_hand(actor, business[5], "119.00")
        _pay_by_hand(actor, private[1], f"{private_total - Decimal('19.00')}")
        since = AuditEntry.objects.order_by("pk").last().pk
        before = _snapshot(since)
        try:
            with transaction.atomic():
                _book_one_by_one(actor)
                one_by_one = _snapshot(since)
                raise _Rollback
        except _Rollback:
            pass
        assert _snapshot(since) == before
        monkeypatch.setattr(booking, "BOOKING_CHUNK", 4)  # two chunks, customers in both
        moved = booking.book_matched(actor=actor, statement_id=BankStatement.objects.get().pk)

    assert len(moved) == 7
    assert _snapshot(since) == one_by_one
    lines = list(BankTransaction.objects.order_by("pk"))
    assert [line.state for line in lines] == ["booked"] * 4 + ["unmatched"] + ["booked"] * 2 + [
        "unmatched"
    ]
    assert lines[4].note.startswith("invoice_already_paid: ")
    assert lines[4].payment_id is None
    assert [open_amount(i) for i in business + private] == [
        Decimal("0.00"),
        Decimal("69.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert (credit(business_customer), credit(consumer)) == (Decimal("11.00"), Decimal("31.00"))
    assert sorted(str(a) for a in Allocation.objects.values_list("amount", flat=True)) == sorted(
        [
            *("119.00", "119.00", "50.00", "119.00", "119.00", "119.00", "19.00"),
            *(str(private_total - 19), str(private_total)),
        ]
    )
    statement_payments = Payment.objects.filter(source="statement")
    assert statement_payments.count() == 6
    assert AuditEntry.objects.filter(pk__gt=since, action="payment.recorded").count() == 6
    assert AuditEntry.objects.filter(pk__gt=since, action="payment.allocated").count() == 7


def test_a_crash_in_the_middle_of_a_chunk_leaves_whole_chunks_and_a_reimport_books_the_rest(
    business_customer, actor, monkeypatch
):
    invoices = [finalized(business_customer, actor) for _ in range(8)]
    data = camt([transfer("119.00", f"Rechnung {i.number}") for i in invoices])
    monkeypatch.setattr(booking, "BOOKING_CHUNK", 3)
    calls = []

    def crash_in_second_chunk(*, invoice_ids, actor):
        calls.append(sorted(invoice_ids))
        if len(calls) == 2:  # payments and allocations of the chunk are written by now
            raise RuntimeError("killed")

    monkeypatch.setattr(payments, "money_received", crash_in_second_chunk)
    with pytest.raises(RuntimeError, match="killed"):
        import_on(data, actor)

    states = list(BankTransaction.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["booked"] * 3 + ["matched"] * 5
    assert Payment.objects.count() == Allocation.objects.count() == 3
    assert AuditEntry.objects.filter(action="payment.recorded").count() == 3
    assert [open_amount(i) for i in invoices] == [Decimal("0.00")] * 3 + [Decimal("119.00")] * 5
    assert calls == [[i.pk for i in invoices[:3]], [i.pk for i in invoices[3:6]]]

    monkeypatch.setattr(payments, "money_received", lambda **kw: calls.append(kw))
    again = import_on(data, actor)

    assert (again.already_imported, again.new, again.booked) == (True, 0, 5)
    assert again.booked_amount == Decimal("595.00")
    assert set(BankTransaction.objects.values_list("state", flat=True)) == {"booked"}
    assert Payment.objects.count() == Allocation.objects.count() == 8
    lines = BankTransaction.objects.order_by("pk")
    assert sorted(line.payment.external_id for line in lines) == sorted(
        line.checksum for line in lines
    )
    assert [open_amount(i) for i in invoices] == [Decimal("0.00")] * 8
    assert AuditEntry.objects.filter(action="payment.recorded").count() == 8
    assert AuditEntry.objects.filter(action="payment.allocated").count() == 8
    statement = BankStatement.objects.get()
    assert (statement.booked_count, statement.unmatched_count) == (8, 0)

    third = import_on(data, actor)
    assert (third.booked, Payment.objects.count()) == (0, 8)
