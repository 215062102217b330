"""Returned direct debits from camt.054/053: found, reversed, charged, and never twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils import translation

from faktura.banking.models import BankTransaction
from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
from faktura.payments.models import FeeItem, Payment, ReturnEvent
from tests.banking.camt_builder import camt, debit_batch, returned
from tests.banking.debits import debtors, submitted_batch
from tests.banking.helpers import counts, import_on, states
from tests.payments.helpers import open_amount

pytestmark = pytest.mark.django_db

COLLECTED = dt.date(2026, 11, 17)
LATER = dt.date(2026, 11, 19)


@pytest.fixture
def collected(company, actor):
    """Three debits (119.00, 59.50, 35.70), submitted, booked by the camt.053 of the 17th."""
    batch, debits = submitted_batch(debtors(company, actor, 3), actor, ["100.00", "50.00", "30.00"])
    data = camt([debit_batch([d.credit() for d in debits], booked=COLLECTED)], message_id="S1")
    result = import_on(data, actor, day=COLLECTED)
    assert result.booked == 3
    return batch, debits


def test_an_account_return_makes_the_mandate_unusable(collected, actor):
    _, (first, *_) = collected
    line = returned(first.returned("AC04", fee="3.00"), booked=LATER)
    data = camt([line], kind="054", message_id="R1")
    result = import_on(data, actor, day=LATER)
    assert (result.returns, result.unmatched) == (1, 0)
    event = ReturnEvent.objects.get()
    assert (event.reason_code, event.consequence, event.amount, event.fee_amount) == (
        "AC04",
        "mandate_unusable",
        Decimal("119.00"),
        Decimal("3.00"),
    )
    assert event.source_reference == BankTransaction.objects.get(is_return=True).checksum
    assert event.booking_date == LATER
    assert Mandate.objects.get(pk=first.mandate.pk).status == Mandate.Status.UNUSABLE
    first.customer.refresh_from_db()
    assert first.customer.preferred_payment_method == "transfer"
    assert open_amount(first.invoice) == Decimal("119.00")


def test_a_return_without_end_to_end_id_is_found_by_mandate_and_amount(collected, actor):
    _, (_, second, _) = collected
    line = replace(second.returned("MS03", fee="3.00"), end_to_end_id="")
    result = import_on(camt([returned(line)], kind="054"), actor, day=LATER)
    assert result.returns == 1
    row = BankTransaction.objects.get(is_return=True)
    assert (row.match_method, row.match_confidence) == ("return", Decimal("0.950"))
    assert ReturnEvent.objects.get().invoice_id == second.invoice.pk
    assert open_amount(second.invoice) == Decimal("59.50")
    assert FeeItem.objects.get().amount == Decimal("3.00")


def test_the_same_return_in_the_notice_and_in_the_statement_is_recorded_once(collected, actor):
    _, (first, *_) = collected
    tx = first.returned("AM04", fee="3.00")
    import_on(camt([returned(tx, reference="N-1")], kind="054", message_id="N"), actor, day=LATER)
    before = counts()
    # The statement books the same return with its own reference (another checksum).
    statement = camt([returned(tx, reference="S-1")], message_id="S2")
    result = import_on(statement, actor, day=LATER)
    assert (result.new, result.returns) == (1, 1)
    assert ReturnEvent.objects.count() == before["ReturnEvent"] == 1
    assert FeeItem.objects.count() == before["FeeItem"] == 1
    linked = BankTransaction.objects.filter(is_return=True).values_list("return_event", flat=True)
    assert set(linked) == {ReturnEvent.objects.get().pk}


def test_a_return_faktura_did_not_collect_waits_on_the_to_do_list(collected, actor):
    _, (first, *_) = collected
    foreign = replace(first.returned("AC06"), end_to_end_id="FREMD-4711", mandate="FREMD-M")
    before = counts()
    result = import_on(camt([returned(foreign)], kind="054"), actor, day=LATER)
    assert (result.returns, result.unmatched) == (0, 1)
    line = BankTransaction.objects.get(is_return=True)
    with translation.override("de"):
        assert line.note_text == (
            "Rücklastschrift, zu der Faktura keine Lastschrift findet: bitte prüfen."
        )
    after = counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "BankStatement": 1,
        "BankTransaction": 1,
        "AuditEntry": 1,
    }


def test_returned_before_settlement_then_the_rest_is_booked(company, actor):
    batch, debits = submitted_batch(debtors(company, actor, 3), actor, ["100.00", "50.00", "30.00"])
    rejected = debits[2]
    notice = camt([returned(rejected.returned("AM04"), booked=COLLECTED)], kind="054")
    assert import_on(notice, actor, day=COLLECTED).returns == 1
    event = ReturnEvent.objects.get()
    assert (event.allocation_id, event.payment_id) == (None, None)
    statement = camt([debit_batch([d.credit() for d in debits[:2]], booked=COLLECTED)])
    result = import_on(statement, actor, day=COLLECTED)
    assert (result.booked, result.unmatched) == (2, 0)
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("35.70"),
    ]
    assert Payment.objects.count() == 2


def test_a_file_booked_in_part_is_settled_when_the_missing_debit_is_returned(company, actor):
    batch, debits = submitted_batch(debtors(company, actor, 3), actor, ["100.00", "50.00", "30.00"])
    statement = camt([debit_batch([d.credit() for d in debits[:2]], booked=COLLECTED)])
    first = import_on(statement, actor, day=COLLECTED)
    assert (first.booked, first.unmatched) == (2, 0)
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.PARTLY_SETTLED
    assert Payment.objects.count() == 2
    notice = camt([returned(debits[2].returned("MS03"), booked=COLLECTED)], kind="054")
    second = import_on(notice, actor, day=COLLECTED)
    assert second.returns == 1
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert states() == {"booked": 2, "returned": 1}
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("35.70"),
    ]


def test_credited_and_returned_on_one_statement(company, actor):
    _, debits = submitted_batch(debtors(company, actor, 2), actor, ["100.00", "50.00"])
    statement = camt(
        [
            debit_batch([d.credit() for d in debits], booked=COLLECTED),
            returned(debits[1].returned("AM04", fee="3.00"), booked=COLLECTED),
        ]
    )
    result = import_on(statement, actor, day=COLLECTED)
    assert (result.booked, result.returns) == (1, 2)  # the credit of the returned debit, too
    assert [open_amount(d.invoice) for d in debits] == [Decimal("0.00"), Decimal("59.50")]
    items = DirectDebitItem.objects.order_by("pk").values_list("state", flat=True)
    assert list(items) == ["settled", "returned"]
    assert ReturnEvent.objects.count() == 1
    assert (
        BankTransaction.objects.filter(state="returned").values("return_event").distinct().count()
        == 1
    )


def test_importing_the_returns_again_changes_nothing(collected, actor):
    _, debits = collected
    notice = camt(
        [returned(d.returned("AM04", fee="3.00")) for d in debits[:2]], kind="054", message_id="R"
    )
    import_on(notice, actor, day=LATER)
    before = counts()
    again = import_on(notice, actor, day=dt.date(2026, 11, 20))
    assert (again.already_imported, again.new, again.duplicates) == (True, 0, 2)
    assert counts() == before
