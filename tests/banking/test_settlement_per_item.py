"""A direct-debit file is settled item by item, as the bank's statements credit it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.banking.models import BankTransaction
from faktura.collection.models import DirectDebitBatch, DirectDebitItem
from faktura.core.models import AuditEntry
from faktura.payments.models import Allocation, Payment
from tests.banking.camt_builder import Tx, camt, debit_batch, returned
from tests.banking.debits import debtors, submitted_batch
from tests.banking.helpers import import_on, states
from tests.payments.helpers import open_amount

pytestmark = pytest.mark.django_db

FIRST = dt.date(2026, 11, 17)
SECOND = dt.date(2026, 11, 18)


@pytest.fixture
def submitted(company, actor):
    """Three debits (119.00, 59.50, 35.70) in one submitted file."""
    return submitted_batch(debtors(company, actor, 3), actor, ["100.00", "50.00", "30.00"])


def item_states() -> list[str]:
    return list(DirectDebitItem.objects.order_by("pk").values_list("state", flat=True))


def test_two_statements_each_settle_their_part_of_the_file(submitted, actor):
    batch, debits = submitted
    first = camt([debit_batch([debits[0].credit()], booked=FIRST)], message_id="S1")
    assert import_on(first, actor, day=FIRST).booked == 1
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.PARTLY_SETTLED
    assert item_states() == ["settled", "submitted", "submitted"]
    payment = Payment.objects.get()
    assert (payment.amount, payment.date, payment.method) == (
        Decimal("119.00"),
        FIRST,
        "direct_debit",
    )
    assert Allocation.objects.get().invoice_id == debits[0].invoice.pk
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("0.00"),
        Decimal("59.50"),
        Decimal("35.70"),
    ]
    second = camt([debit_batch([d.credit() for d in debits[1:]], booked=SECOND)], message_id="S2")
    assert import_on(second, actor, day=SECOND).booked == 2
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert item_states() == ["settled"] * 3
    assert sorted(Payment.objects.values_list("date", "amount")) == [
        (FIRST, Decimal("119.00")),
        (SECOND, Decimal("35.70")),
        (SECOND, Decimal("59.50")),
    ]
    assert [open_amount(d.invoice) for d in debits] == [Decimal("0.00")] * 3
    actions = AuditEntry.objects.filter(object_type="direct_debit_batch").values_list(
        "action", flat=True
    )
    assert list(actions.order_by("pk"))[-2:] == [
        "direct_debit_batch.partly_settled",
        "direct_debit_batch.settled",
    ]
    # The same statement again books nothing twice.
    assert import_on(second, actor, day=SECOND).already_imported
    assert Payment.objects.count() == 3


def collective(amount: str, reference: str, day: dt.date = FIRST):
    """One booking for the whole file, without the single debits (camt Btch)."""
    return debit_batch(
        [Tx(amount=amount, remittance=f"SEPA-Sammler {reference}")], booked=day, batch=reference
    )


def test_a_collective_booking_settles_every_debit_still_with_the_bank(submitted, actor):
    batch, debits = submitted
    result = import_on(camt([collective("214.20", batch.message_id)]), actor, day=FIRST)
    assert result.booked == 1
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert item_states() == ["settled"] * 3
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [
        Decimal("35.70"),
        Decimal("59.50"),
        Decimal("119.00"),
    ]
    assert [open_amount(d.invoice) for d in debits] == [Decimal("0.00")] * 3


def test_a_collective_booking_after_a_return_settles_the_rest_only(submitted, actor):
    batch, debits = submitted
    notice = camt([returned(debits[1].returned("AM04"), booked=FIRST)], kind="054")
    assert import_on(notice, actor, day=FIRST).returns == 1
    # The bank books the file less the returned debit: 119.00 + 35.70.
    result = import_on(camt([collective("154.70", batch.message_id)]), actor, day=FIRST)
    assert result.booked == 1
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert item_states() == ["settled", "returned", "settled"]
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("0.00"),
        Decimal("59.50"),
        Decimal("0.00"),
    ]
    assert Payment.objects.count() == 2


def test_a_collective_booking_of_the_wrong_total_waits(submitted, actor):
    batch, _ = submitted
    result = import_on(camt([collective("200.00", batch.message_id)]), actor, day=FIRST)
    assert (result.booked, result.unmatched) == (0, 1)
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SUBMITTED
    assert Payment.objects.count() == 0
    assert BankTransaction.objects.get().state == "unmatched"


def test_a_debit_returned_before_settlement_is_never_settled(submitted, actor):
    batch, debits = submitted
    notice = camt([returned(debits[0].returned("MS03"), booked=FIRST)], kind="054")
    import_on(notice, actor, day=FIRST)
    # A later statement still lists the returned debit among the credits.
    statement = camt([debit_batch([d.credit() for d in debits], booked=SECOND)], message_id="S")
    result = import_on(statement, actor, day=SECOND)
    assert result.booked == 2
    assert item_states() == ["returned", "settled", "settled"]
    assert states() == {"booked": 2, "returned": 1, "unmatched": 1}
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert open_amount(debits[0].invoice) == Decimal("119.00")
