"""Returned direct debits and chargebacks: fee, reopened invoice, and what the reason code means."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from faktura.collection import services as collection
from faktura.collection.models import DirectDebitItem
from faktura.collection.selectors import direct_debit_snapshot_for
from faktura.core import clock
from faktura.core.audit import verify_chains
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import AuditEntry
from faktura.payments import services as payments
from faktura.payments.models import Dispute, FeeItem, PaymentSettings, ReturnEvent
from faktura.payments.returns import consequence_of
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice
from tests.payments.helpers import counts, credit, open_amount, pay

pytestmark = pytest.mark.django_db

RETURNED_ON = dt.date(2026, 11, 19)


@pytest.fixture
def collected(business_customer, actor):
    """An invoice of 119.00 collected on 2026-11-17 and credited by the bank."""
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    with clock.frozen(TOMORROW):
        collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert open_amount(invoice) == Decimal("0.00")
    return invoice


def _return(invoice, actor, code, reference="camt054:N-1:1", fee="3.00"):
    with clock.frozen(RETURNED_ON):
        return payments.record_returned_debit(
            actor=actor,
            end_to_end_id=invoice.number,
            reason_code=code,
            return_fee=fee,
            source_reference=reference,
            booking_date=RETURNED_ON,
        )


def _next_batch(actor, day=dt.date(2026, 11, 20)):
    with clock.frozen(RETURNED_ON):
        return collection.create_direct_debit_batch(collection_date=day, scheme="CORE", actor=actor)


def test_am04_charges_the_fee_reopens_the_invoice_and_collects_again(
    collected, business_customer, actor
):
    event = _return(collected, actor, "AM04")
    assert (event.kind, event.reason_code, event.consequence) == ("returned_debit", "AM04", "retry")
    assert (event.amount, event.fee_amount) == (Decimal("119.00"), Decimal("3.00"))
    fee = FeeItem.objects.get()
    assert (fee.amount, fee.invoice_id, fee.state) == (Decimal("3.00"), collected.pk, "open")
    assert fee.customer_id == business_customer.pk
    assert fee.reason == "Rücklastschriftsgebühr AM04"
    assert open_amount(collected) == Decimal("119.00")
    assert credit(business_customer) == Decimal("0.00")
    mandate = business_customer.mandates.get()
    assert mandate.status == "active"
    business_customer.refresh_from_db()
    assert business_customer.preferred_payment_method == "direct_debit"
    item = DirectDebitItem.objects.get()
    assert (item.state, item.may_retry, item.return_event_id) == ("returned", True, event.pk)
    assert event.dunning_processed_at is None  # for the dunning run to pick up
    task = DBTaskResult.objects.get(task_path__endswith="process_return_event")
    assert task.args_kwargs["args"] == [event.pk]
    assert AuditEntry.objects.get(action="payment.returned_debit").data["consequence"] == "retry"
    assert list(verify_chains()) == []

    again = _next_batch(actor)
    assert [(i.invoice_id, i.amount) for i in again.items.all()] == [
        (collected.pk, Decimal("119.00"))
    ]


def test_the_same_return_twice_changes_nothing(collected, actor):
    first = _return(collected, actor, "AM04")
    before = counts()
    second = _return(collected, actor, "AM04")
    assert second.pk == first.pk
    assert counts() == before
    assert FeeItem.objects.get().amount == Decimal("3.00")
    # The same debit returned under another reference: refused, nothing written.
    with pytest.raises(StateConflict) as error:
        _return(collected, actor, "AM04", reference="camt054:N-2:1")
    assert error.value.code == "direct_debit_already_returned"
    assert counts() == before


def test_without_a_fee_in_the_file_the_default_is_charged(collected, actor):
    with override_settings(FAKTURA_RETURN_FEE_DEFAULT="4.50"):
        event = _return(collected, actor, "MS03", fee=None)
    assert event.fee_amount == Decimal("4.50")
    assert FeeItem.objects.get().amount == Decimal("4.50")


def test_stored_settings_override_the_default_fee(collected, actor):
    PaymentSettings.objects.update(return_fee_default=Decimal("2.00"))
    with override_settings(FAKTURA_RETURN_FEE_DEFAULT="4.50"):
        event = _return(collected, actor, "MS03", fee=None)
    assert event.fee_amount == Decimal("2.00")


def test_a_zero_fee_charges_nothing(collected, actor):
    event = _return(collected, actor, "MS03", fee="0.00")
    assert event.fee_amount == Decimal("0.00")
    assert not FeeItem.objects.exists()


def test_ac04_makes_the_mandate_unusable_and_the_customer_pay_by_transfer(
    collected, business_customer, actor
):
    event = _return(collected, actor, "AC04")
    assert event.consequence == "mandate_unusable"
    mandate = business_customer.mandates.get()
    assert (mandate.status, mandate.status_reason) == ("unusable", "Rücklastschrift AC04")
    business_customer.refresh_from_db()
    assert business_customer.preferred_payment_method == "transfer"
    assert open_amount(collected) == Decimal("119.00")
    assert DirectDebitItem.objects.get().may_retry is False
    assert _next_batch(actor) is None
    assert direct_debit_snapshot_for(collected) is None
    assert AuditEntry.objects.filter(action="mandate.unusable").count() == 1
    assert AuditEntry.objects.filter(action="customer.updated").count() >= 2


def test_md06_disputes_the_invoice_and_pauses_its_mandate_until_cleared(
    collected, business_customer, actor
):
    event = _return(collected, actor, "MD06")
    assert event.consequence == "dispute"
    dispute = Dispute.objects.get()
    assert (dispute.invoice_id, dispute.reason_code, dispute.return_event_id) == (
        collected.pk,
        "MD06",
        event.pk,
    )
    assert business_customer.mandates.get().status == "active"
    assert open_amount(collected) == Decimal("119.00")
    # The debtor objected to being debited: neither the disputed invoice nor a new one is
    # collected with that mandate while the dispute is open.
    newer = due_invoice(business_customer, actor)
    assert _next_batch(actor) is None
    assert _next_batch(actor, dt.date(2026, 11, 23)) is None
    assert DirectDebitItem.objects.filter(invoice=newer).count() == 0
    with pytest.raises(NotFound):
        payments.clear_dispute(dispute_id=dispute.pk + 1000, actor=actor)
    payments.clear_dispute(dispute_id=dispute.pk, actor=actor, note="Kunde hat zugestimmt")
    with pytest.raises(StateConflict) as error:
        payments.clear_dispute(dispute_id=dispute.pk, actor=actor)
    assert error.value.code == "dispute_cleared"
    # Cleared: a later batch collects both again.
    cleared = _next_batch(actor, dt.date(2026, 11, 23))
    assert sorted((i.invoice_id, i.amount) for i in cleared.items.all()) == [
        (collected.pk, Decimal("119.00")),
        (newer.pk, Decimal("119.00")),
    ]


def test_a_dispute_pauses_only_the_mandate_of_the_returned_debit(
    collected, business_customer, consumer, actor
):
    debit_customer(consumer, actor, iban="DE02500105170137075030")
    other = due_invoice(consumer, actor)
    _return(collected, actor, "MD06")
    newer = due_invoice(business_customer, actor)
    batch = _next_batch(actor)
    assert [i.invoice_id for i in batch.items.all()] == [other.pk]
    assert newer.pk not in [i.invoice_id for i in batch.items.all()]


def test_an_am04_return_does_not_pause_the_mandate(collected, business_customer, actor):
    _return(collected, actor, "AM04")
    newer = due_invoice(business_customer, actor)
    batch = _next_batch(actor)
    assert sorted(i.invoice_id for i in batch.items.all()) == [collected.pk, newer.pk]


@pytest.mark.parametrize(
    ("code", "consequence"),
    [
        ("AM04", "retry"),
        ("MS03", "retry"),
        ("AC01", "mandate_unusable"),
        ("AC04", "mandate_unusable"),
        ("AC06", "mandate_unusable"),
        ("MD01", "mandate_unusable"),
        ("MD07", "mandate_unusable"),
        ("md06", "dispute"),
        ("MS02", "manual"),
        ("", "manual"),
    ],
)
def test_reason_codes(code, consequence):
    assert consequence_of(code) == consequence


def test_a_return_before_settlement_reverses_nothing(business_customer, actor):
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    event = _return(invoice, actor, "AM04")
    assert (event.allocation_id, event.payment_id, event.amount) == (None, None, Decimal("119.00"))
    assert open_amount(invoice) == Decimal("119.00")
    assert credit(business_customer) == Decimal("0.00")
    # Its only debit came back: the file is done, nothing is left to settle.
    batch.refresh_from_db()
    assert batch.status == "returned"
    with clock.frozen(TOMORROW), pytest.raises(StateConflict) as error:
        collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert error.value.code == "batch_not_settleable"
    assert DirectDebitItem.objects.get().state == "returned"
    assert open_amount(invoice) == Decimal("119.00")


def test_unknown_debits_and_missing_references_are_refused(collected, actor):
    before = counts()
    with pytest.raises(NotFound) as error:
        payments.record_returned_debit(
            actor=actor, end_to_end_id="RE-1999-1", reason_code="AM04", source_reference="x"
        )
    assert error.value.code == "direct_debit_not_found"
    with pytest.raises(InvalidInput) as error:
        payments.record_returned_debit(
            actor=actor, end_to_end_id=collected.number, reason_code="AM04", source_reference=" "
        )
    assert error.value.code == "source_reference_required"
    with pytest.raises(InvalidInput) as error:
        payments.record_returned_debit(actor=actor, reason_code="AM04", source_reference="y")
    assert error.value.code == "return_target_required"
    assert counts() == before


def test_a_return_found_by_its_allocation(collected, actor):
    allocation = DirectDebitItem.objects.get().allocation
    event = payments.record_returned_debit(
        actor=actor, allocation_id=allocation.pk, reason_code="MS03", source_reference="mt940:1"
    )
    assert event.allocation_id == allocation.pk
    assert DirectDebitItem.objects.get().state == "returned"
    assert open_amount(collected) == Decimal("119.00")


def test_a_chargeback_reopens_the_invoice_and_disputes_it(business_customer, actor):
    from tests.payments.helpers import finalized

    invoice = finalized(business_customer, actor)
    payment = payments.record_payment(
        actor=actor,
        amount="119.00",
        date=dt.date(2026, 11, 16),
        method="provider",
        source="provider",
        external_id="evt_1",
        customer_id=business_customer.pk,
    )
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    event = payments.record_chargeback(
        actor=actor, payment_id=payment.pk, source_reference="dp_1", reason_code="fraudulent",
        fee="15.00",
    )  # fmt: skip
    assert (event.kind, event.consequence, event.amount) == (
        "chargeback",
        "dispute",
        Decimal("119.00"),
    )
    assert open_amount(invoice) == Decimal("119.00")
    assert credit(business_customer) == Decimal("0.00")
    assert FeeItem.objects.get().amount == Decimal("15.00")
    assert Dispute.objects.get().invoice_id == invoice.pk
    again = payments.record_chargeback(
        actor=actor, payment_id=payment.pk, source_reference="dp_1", reason_code="fraudulent"
    )
    assert again.pk == event.pk
    assert ReturnEvent.objects.count() == 1


def test_a_return_takes_back_money_kept_as_credit_at_settlement(business_customer, actor):
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    # Meanwhile the customer pays by transfer: the collected money becomes credit.
    payments.allocate_payment(
        payment_id=pay(actor, "119.00", business_customer).pk,
        allocations=[(invoice.pk, "119.00")],
        actor=actor,
    )
    with clock.frozen(TOMORROW):
        collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert credit(business_customer) == Decimal("119.00")
    event = _return(invoice, actor, "MS03")
    assert (event.amount, event.allocation_id) == (Decimal("119.00"), None)
    assert event.payment_id == DirectDebitItem.objects.get().payment_id
    assert credit(business_customer) == Decimal("0.00")
    assert open_amount(invoice) == Decimal("0.00")


def test_a_return_after_a_released_allocation_takes_the_money_back(
    collected, business_customer, actor
):
    allocation = DirectDebitItem.objects.get().allocation
    payments.release_allocation(allocation_id=allocation.pk, actor=actor, reason="Versehen")
    assert credit(business_customer) == Decimal("119.00")
    event = _return(collected, actor, "AM04")
    assert event.allocation_id == allocation.pk
    assert credit(business_customer) == Decimal("0.00")
    assert open_amount(collected) == Decimal("119.00")
