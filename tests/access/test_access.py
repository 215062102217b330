"""Access: blocked by a returned debit and a chargeback, lifted at once by every booking path.

Each lifting test reads the status right after the one call that books the money (no
further call, no task run in between) and finds the ``access.claims_paid`` entry on the
customer's audit chain: the block ended in the booking's transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from faktura.access import events, selectors, services
from faktura.access.models import AccessBlock, AccessSettings
from faktura.core import audit, clock
from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.payments import services as payments
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import PAYER_IBAN, import_on
from tests.payments.helpers import CASHIER, finalized, open_amount, pay

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def audit_actions(customer) -> list[str]:
    return list(
        AuditEntry.objects.filter(chain__key=audit.customer_chain(customer.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def paid_and_returned(customer, actor):
    """An invoice of 119.00 paid by direct debit (allocated) and returned AM04."""
    invoice = finalized(customer, actor)
    payment = pay(actor, "119.00", customer)
    (allocation,) = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    payments.record_returned_debit(
        actor=actor, reason_code="AM04", source_reference="camt054:R1", allocation_id=allocation.pk
    )
    return invoice


@pytest.fixture
def listened():
    calls: list[tuple[int, str, str, list[str]]] = []

    def listener(customer_id, old, new, reasons):
        calls.append((customer_id, old, new, [r["reason"] for r in reasons]))

    events.ACCESS_CHANGED.append(listener)
    yield calls
    events.ACCESS_CHANGED.remove(listener)


# --- blocked -------------------------------------------------------------------------------


def test_a_returned_debit_blocks_the_customer_about_its_invoice(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    assert open_amount(invoice) == Decimal("119.00")
    assert selectors.status(business_customer.pk) == "blocked"
    (reason,) = selectors.reasons(business_customer.pk)
    assert (reason["reason"], reason["effect"], reason["by"], reason["invoices"]) == (
        "returned_debit",
        "block",
        "user:anna",
        ["RE-2026-00001"],
    )
    assert reason["why"] == "Rücklastschrift AM04 RE-2026-00001"
    # Blocked in the return's own transaction: its audit entry right after the return's.
    assert audit_actions(business_customer)[-2:] == ["payment.returned_debit", "access.blocked"]


def test_a_chargeback_blocks_with_the_configured_effect(business_customer, actor):
    AccessSettings.objects.create(chargeback_effect="restrict")
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    assert selectors.status(business_customer.pk) == "active"
    payments.record_chargeback(
        actor=actor, source_reference="dp_1", payment_id=payment.pk, reason_code="fraudulent"
    )
    assert selectors.status(business_customer.pk) == "restricted"
    (block,) = AccessBlock.objects.all()
    assert (block.reason, block.effect, list(block.invoices.all())) == (
        "chargeback",
        "restrict",
        [invoice],
    )


def test_the_same_return_recorded_twice_and_the_same_block_do_not_stack(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    services.block(
        customer_id=business_customer.pk,
        reason="returned_debit",
        effect="block",
        invoice_ids=[invoice.pk],
        actor=SYSTEM,
    )
    services.block(
        customer_id=business_customer.pk,
        reason="dunning_level",
        level=2,
        effect="restrict",
        invoice_ids=[invoice.pk],
        actor=SYSTEM,
    )
    services.block(
        customer_id=business_customer.pk,
        reason="dunning_level",
        level=2,
        effect="restrict",
        invoice_ids=[invoice.pk],
        actor=SYSTEM,
    )
    assert sorted(AccessBlock.objects.values_list("reason", "level")) == [
        ("dunning_level", 2),
        ("returned_debit", None),
    ]


# --- lifted at once by every booking path ---------------------------------------------------


def test_a_statement_import_lifts_the_block_in_the_booking(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    data = camt(
        [transfer("119.00", "Rechnung RE-2026-00001", name="Beispiel Handel AG", iban=PAYER_IBAN)],
        message_id="STMT-ACCESS",
    )
    result = import_on(data, actor, filename="2026-11-17.xml")
    assert result.booked == 1
    assert open_amount(invoice) == Decimal("0.00")
    assert selectors.status(business_customer.pk) == "active"
    block = AccessBlock.objects.get()
    assert (block.end_reason, block.ended_by) == ("paid", "user:anna")
    actions = audit_actions(business_customer)
    last_allocation = len(actions) - 1 - actions[::-1].index("payment.allocated")
    assert actions[last_allocation + 1] == "access.claims_paid"


def test_a_stripe_webhook_lifts_the_block_in_the_booking(business_customer, actor):
    from tests.payments.test_stripe import STRIPE, deliver, event, session_completed

    invoice = paid_and_returned(business_customer, actor)
    with override_settings(**STRIPE):
        outcome = deliver(event("checkout.session.completed", session_completed(invoice)))
    assert outcome.state == "applied"
    assert selectors.status(business_customer.pk) == "active"
    assert AccessBlock.objects.get().end_reason == "paid"
    assert audit_actions(business_customer)[-2:] == ["payment.allocated", "access.claims_paid"]


def test_a_manual_payment_lifts_the_block_in_the_booking(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    payments.request_manual_payment(
        actor=actor, amount="119.00", date=clock.today(), method="cash", invoice_id=invoice.pk
    )
    assert selectors.status(business_customer.pk) == "active"
    assert "access.claims_paid" in audit_actions(business_customer)[-3:]


def test_a_cashiers_payment_lifts_it_too_without_the_access_operation(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    payment = pay(CASHIER, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=CASHIER
    )
    assert AccessBlock.objects.get().ended_by == "user:kai"


def test_a_partial_payment_does_not_lift(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    payments.request_manual_payment(
        actor=actor, amount="100.00", date=clock.today(), method="cash", invoice_id=invoice.pk
    )
    assert open_amount(invoice) == Decimal("19.00")
    assert selectors.status(business_customer.pk) == "blocked"
    payments.request_manual_payment(
        actor=actor, amount="19.00", date=clock.today(), method="cash", invoice_id=invoice.pk
    )
    assert selectors.status(business_customer.pk) == "active"


def test_a_block_about_two_claims_ends_only_when_both_are_paid(business_customer, actor):
    first, second = finalized(business_customer, actor), finalized(business_customer, actor)
    services.block(
        customer_id=business_customer.pk,
        reason="dunning_level",
        level=3,
        effect="block",
        invoice_ids=[first.pk, second.pk],
        actor=SYSTEM,
    )
    payment = pay(actor, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(first.pk, "119.00")], actor=actor
    )
    assert selectors.status(business_customer.pk) == "blocked"
    payment = pay(actor, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(second.pk, "119.00")], actor=actor
    )
    assert selectors.status(business_customer.pk) == "active"


def test_a_manual_block_without_claims_stays_until_lifted(business_customer, actor):
    invoice = finalized(business_customer, actor)
    block = services.block(
        customer_id=business_customer.pk,
        reason="manual",
        effect="block",
        why="Missbrauch des Zugangs",
        actor=actor,
    )
    payments.request_manual_payment(
        actor=actor, amount="119.00", date=clock.today(), method="cash", invoice_id=invoice.pk
    )
    assert selectors.status(business_customer.pk) == "blocked"
    services.lift(block_id=block.pk, actor=actor, why="geklärt")
    assert selectors.status(business_customer.pk) == "active"
    with pytest.raises(StateConflict) as ended:
        services.lift(block_id=block.pk, actor=actor, why="nochmal")
    assert ended.value.code == "access_block_ended"


def test_staff_actions_need_access_manage(business_customer):
    with pytest.raises(PermissionRefused):
        services.block(
            customer_id=business_customer.pk,
            reason="manual",
            effect="block",
            why="x",
            actor=CASHIER,
        )
    assert not AccessBlock.objects.exists()


# --- override ------------------------------------------------------------------------------


def test_an_override_wins_until_its_date_or_until_revoked(business_customer, actor, listened):
    paid_and_returned(business_customer, actor)
    until = clock.today() + dt.timedelta(days=3)
    allowed = services.override(
        customer_id=business_customer.pk, until=until, why="Zahlung zugesagt", actor=actor
    )
    assert selectors.status(business_customer.pk) == "active"
    assert [r["reason"] for r in selectors.reasons(business_customer.pk)] == ["returned_debit"]
    assert selectors.status(business_customer.pk, until) == "active"
    assert selectors.status(business_customer.pk, until + dt.timedelta(days=1)) == "blocked"
    services.revoke_override(override_id=allowed.pk, actor=actor, why="Zusage gebrochen")
    assert selectors.status(business_customer.pk) == "blocked"
    assert [(old, new) for _, old, new, _ in listened] == [
        ("active", "blocked"),
        ("blocked", "active"),
        ("active", "blocked"),
    ]
    assert audit_actions(business_customer)[-1] == "access.override_revoked"


# --- the hook ------------------------------------------------------------------------------


def test_the_listeners_hear_exactly_the_status_changes(business_customer, actor, listened):
    invoice = paid_and_returned(business_customer, actor)
    assert listened == [(business_customer.pk, "active", "blocked", ["returned_debit"])]
    # A second reason that does not change the status is not an event.
    services.block(
        customer_id=business_customer.pk,
        reason="dunning_level",
        level=1,
        effect="restrict",
        invoice_ids=[invoice.pk],
        actor=SYSTEM,
    )
    assert len(listened) == 1
    payment = pay(actor, "100.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "100.00")], actor=actor
    )
    assert len(listened) == 1  # partly paid: nothing changes
    payment = pay(actor, "19.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "19.00")], actor=actor
    )
    assert listened[1:] == [(business_customer.pk, "blocked", "active", [])]


def test_a_failing_listener_rolls_the_block_back(business_customer, actor):
    def broken(*args):
        raise RuntimeError("receiver down")

    events.ACCESS_CHANGED.append(broken)
    try:
        with pytest.raises(RuntimeError):
            services.block(
                customer_id=business_customer.pk,
                reason="manual",
                effect="block",
                why="Test",
                actor=actor,
            )
    finally:
        events.ACCESS_CHANGED.remove(broken)
    assert not AccessBlock.objects.exists()


def test_credit_applied_and_a_small_write_off_lift_it_too(business_customer, actor):
    invoice = paid_and_returned(business_customer, actor)
    pay(actor, "118.50", business_customer)  # unallocated: the customer's credit
    payments.apply_credit(customer_id=business_customer.pk, invoice_id=invoice.pk, actor=actor)
    assert (open_amount(invoice), selectors.status(business_customer.pk)) == (
        Decimal("0.50"),
        "blocked",
    )
    payments.write_off(invoice_id=invoice.pk, amount="0.50", reason="Rundung", actor=actor)
    assert selectors.status(business_customer.pk) == "active"
    assert audit_actions(business_customer)[-2:] == ["invoice.written_off", "access.claims_paid"]


def test_a_credit_note_that_settles_the_claim_lifts_it_too(business_customer, actor):
    from faktura.invoicing import services as invoicing

    invoice = paid_and_returned(business_customer, actor)
    part = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="19.00", tax_rate="de-19", reason="Kulanz"
    )
    invoicing.finalize_invoice(invoice_id=part.pk, actor=actor)
    assert (open_amount(invoice), selectors.status(business_customer.pk)) == (
        Decimal("100.00"),
        "blocked",
    )
    rest = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="100.00", tax_rate="de-19", reason="Storno"
    )
    invoicing.finalize_invoice(invoice_id=rest.pk, actor=actor)
    assert (open_amount(invoice), selectors.status(business_customer.pk)) == (
        Decimal("0.00"),
        "active",
    )
    assert "access.claims_paid" in audit_actions(business_customer)[-3:]
