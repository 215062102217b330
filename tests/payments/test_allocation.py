"""Recording and allocating payments, customer credit, releasing, writing off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from faktura.core.audit import verify_chains
from faktura.core.errors import InvalidInput, NotFound, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.invoicing import selectors as invoice_selectors
from faktura.payments import selectors
from faktura.payments import services as payments
from faktura.payments.models import Allocation, Payment, PaymentSettings, WriteOff
from tests.conftest import TODAY
from tests.payments.helpers import CASHIER, VIEWER, counts, credit, finalized, open_amount, pay

pytestmark = pytest.mark.django_db


def test_partial_payment_leaves_the_rest_open(business_customer, actor):
    invoice = finalized(business_customer, actor)
    assert invoice.payable_amount == Decimal("119.00")
    payment = pay(actor, "50.00", business_customer)
    [allocation] = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "50.00")], actor=actor
    )
    assert allocation.amount == Decimal("50.00")
    assert open_amount(invoice) == Decimal("69.00")
    assert selectors.unallocated_amount(payment.pk) == Decimal("0.00")
    assert credit(business_customer) == Decimal("0.00")
    status = invoice_selectors.settlement(invoice, today=TODAY)["payment_status"]
    assert status == "partially_paid"
    entry = AuditEntry.objects.get(action="payment.allocated")
    assert entry.data["amount"] == "50.00"
    assert entry.data["open_before"] == "119.00"
    assert list(verify_chains()) == []


def test_full_payment_settles_the_invoice(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    assert open_amount(invoice) == Decimal("0.00")
    assert invoice_selectors.settlement(invoice, today=TODAY)["payment_status"] == "paid"
    with pytest.raises(StateConflict) as error:
        payments.allocate_payment(
            payment_id=pay(actor, "1.00", business_customer).pk,
            allocations=[(invoice.pk, "1.00")],
            actor=actor,
        )
    assert error.value.code == "invoice_already_paid"


def test_one_payment_pays_two_invoices(business_customer, actor):
    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor, price="50.00")
    payment = pay(actor, "178.50", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk,
        allocations=[(first.pk, "119.00"), (second.pk, "59.50")],
        actor=actor,
    )
    assert (open_amount(first), open_amount(second)) == (Decimal("0.00"), Decimal("0.00"))


def test_overpayment_becomes_credit_that_pays_a_later_invoice(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "150.00", business_customer)
    before = counts()
    with pytest.raises(StateConflict) as error:
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, "150.00")], actor=actor
        )
    assert error.value.code == "allocation_exceeds_open_amount"
    assert counts() == before

    [allocation] = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "150.00")], actor=actor, overpayment=True
    )
    assert allocation.amount == Decimal("119.00")
    assert open_amount(invoice) == Decimal("0.00")
    assert credit(business_customer) == Decimal("31.00")
    assert AuditEntry.objects.get(action="payment.allocated").data["credit_after"] == "31.00"

    later = finalized(business_customer, actor)
    [applied] = payments.apply_credit(
        customer_id=business_customer.pk, invoice_id=later.pk, actor=actor
    )
    assert applied.payment_id == payment.pk
    assert applied.amount == Decimal("31.00")
    assert open_amount(later) == Decimal("88.00")
    assert credit(business_customer) == Decimal("0.00")
    assert AuditEntry.objects.get(action="credit.applied").data["amount"] == "31.00"
    with pytest.raises(StateConflict) as error:
        payments.apply_credit(customer_id=business_customer.pk, invoice_id=later.pk, actor=actor)
    assert error.value.code == "no_credit"


def test_credit_is_applied_from_the_oldest_payments_first(business_customer, actor):
    old = pay(actor, "20.00", business_customer, day=TODAY - dt.timedelta(days=3))
    new = pay(actor, "30.00", business_customer)
    invoice = finalized(business_customer, actor)
    allocations = payments.apply_credit(
        customer_id=business_customer.pk, invoice_id=invoice.pk, actor=actor, amount="25.00"
    )
    assert [(a.payment_id, a.amount) for a in allocations] == [
        (old.pk, Decimal("20.00")),
        (new.pk, Decimal("5.00")),
    ]
    assert credit(business_customer) == Decimal("25.00")
    with pytest.raises(StateConflict) as error:
        payments.apply_credit(
            customer_id=business_customer.pk, invoice_id=invoice.pk, actor=actor, amount="30.00"
        )
    assert error.value.code == "insufficient_credit"


def test_refused_over_allocation_changes_nothing(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "50.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "30.00")], actor=actor
    )
    before = counts()
    with pytest.raises(StateConflict) as error:
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, "20.01")], actor=actor
        )
    assert error.value.code == "allocation_exceeds_payment"
    assert counts() == before
    assert open_amount(invoice) == Decimal("89.00")
    assert selectors.unallocated_amount(payment.pk) == Decimal("20.00")


@pytest.mark.parametrize(
    ("amount", "code"),
    [("0.00", "invalid_amount"), ("-5.00", "negative_amount"), ("1.001", "too_many_decimals")],
)
def test_bad_allocation_amounts_are_refused(business_customer, actor, amount, code):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "50.00", business_customer)
    before = counts()
    with pytest.raises(InvalidInput) as error:
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor
        )
    assert error.value.code == code
    assert counts() == before


def test_invoices_of_two_customers_cannot_share_an_allocation(business_customer, consumer, actor):
    first = finalized(business_customer, actor)
    second = finalized(consumer, actor)
    payment = pay(actor, "300.00")
    with pytest.raises(InvalidInput) as error:
        payments.allocate_payment(
            payment_id=payment.pk,
            allocations=[(first.pk, "10.00"), (second.pk, "10.00")],
            actor=actor,
        )
    assert error.value.code == "invoices_of_several_customers"


def test_unmatched_payment_gets_the_customer_of_the_invoice(business_customer, consumer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "200.00")
    assert selectors.unmatched_payments().get() == payment
    assert credit(business_customer) == Decimal("0.00")
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "200.00")], actor=actor, overpayment=True
    )
    payment.refresh_from_db()
    assert payment.customer_id == business_customer.pk
    assert credit(business_customer) == Decimal("81.00")
    assert not selectors.unmatched_payments().exists()
    with pytest.raises(StateConflict) as error:
        payments.allocate_payment(
            payment_id=payment.pk,
            allocations=[(finalized(consumer, actor).pk, "1.00")],
            actor=actor,
        )
    assert error.value.code == "payment_of_other_customer"


def test_release_allocation_reopens_the_invoice_and_frees_the_money(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "119.00", business_customer)
    [allocation] = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    with pytest.raises(InvalidInput):
        payments.release_allocation(allocation_id=allocation.pk, actor=actor, reason=" ")
    released = payments.release_allocation(
        allocation_id=allocation.pk, actor=actor, reason="falsche Rechnung"
    )
    assert released.reversed_at is not None
    assert open_amount(invoice) == Decimal("119.00")
    assert credit(business_customer) == Decimal("119.00")
    with pytest.raises(StateConflict) as error:
        payments.release_allocation(allocation_id=allocation.pk, actor=actor, reason="noch mal")
    assert error.value.code == "allocation_already_released"


def test_recording_is_idempotent_by_external_id(business_customer, actor):
    first = pay(actor, "10.00", business_customer, external_id="camt:abc")
    before = counts()
    again = pay(actor, "10.00", business_customer, external_id="camt:abc")
    assert again.pk == first.pk
    assert counts() == before
    with pytest.raises(StateConflict) as error:
        pay(actor, "11.00", business_customer, external_id="camt:abc")
    assert error.value.code == "external_id_reused"
    # Another source may use the same id.
    provider = payments.record_payment(
        actor=actor,
        amount="10.00",
        date=TODAY,
        method="provider",
        source="provider",
        external_id="camt:abc",
        customer_id=business_customer.pk,
    )
    assert provider.pk != first.pk


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": 10.5}, "invalid_amount"),
        ({"amount": "10.555"}, "too_many_decimals"),
        ({"amount": "0"}, "invalid_amount"),
        ({"date": TODAY + dt.timedelta(days=1)}, "payment_date_in_future"),
        ({"method": "cheque"}, "invalid_payment_method"),
        ({"source": "rumour"}, "invalid_payment_source"),
        ({"payer_iban": "DE89370400440532013001"}, "invalid_iban"),
    ],
)
def test_bad_payments_are_refused(business_customer, actor, changes, code):
    fields = {
        "amount": "10.00",
        "date": TODAY,
        "method": "transfer",
        "source": "manual",
        "customer_id": business_customer.pk,
    }
    before = counts()
    with pytest.raises(InvalidInput) as error:
        payments.record_payment(actor=actor, **{**fields, **changes})
    assert error.value.code == code
    assert counts() == before


def test_unknown_customer_and_missing_role_are_refused(business_customer):
    with pytest.raises(NotFound) as error:
        payments.record_payment(
            actor=CASHIER,
            amount="1.00",
            date=TODAY,
            method="cash",
            source="manual",
            customer_id=999999,
        )
    assert error.value.code == "customer_not_found"
    with pytest.raises(PermissionRefused):
        payments.record_payment(
            actor=VIEWER, amount="1.00", date=TODAY, method="cash", source="manual"
        )
    assert not Payment.objects.exists()


# --- write-off -------------------------------------------------------------------------------


def test_write_off_within_tolerance_settles_the_invoice(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "118.50", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "118.50")], actor=actor
    )
    entry = payments.write_off(
        invoice_id=invoice.pk, amount="0.50", reason="Bankspesen des Kunden", actor=actor
    )
    assert entry.amount == Decimal("0.50")
    assert open_amount(invoice) == Decimal("0.00")
    assert invoice_selectors.settlement(invoice, today=TODAY)["payment_status"] == "paid"
    assert AuditEntry.objects.get(action="invoice.written_off").data["amount"] == "0.50"


def test_write_off_outside_tolerance_is_refused(business_customer, actor):
    invoice = finalized(business_customer, actor)
    before = counts()
    with pytest.raises(StateConflict) as error:
        payments.write_off(invoice_id=invoice.pk, amount="1.01", reason="Rest", actor=actor)
    assert error.value.code == "write_off_exceeds_tolerance"
    assert counts() == before
    assert open_amount(invoice) == Decimal("119.00")


def test_write_off_tolerance_comes_from_the_settings(business_customer, actor):
    invoice = finalized(business_customer, actor)
    with override_settings(FAKTURA_WRITE_OFF_TOLERANCE="5.00"):
        payments.write_off(invoice_id=invoice.pk, amount="4.00", reason="Kulanz", actor=actor)
    PaymentSettings.objects.create(write_off_tolerance=Decimal("0.10"))
    with pytest.raises(StateConflict):
        payments.write_off(invoice_id=invoice.pk, amount="0.20", reason="Kulanz", actor=actor)
    assert open_amount(invoice) == Decimal("115.00")


def test_write_off_never_exceeds_the_open_amount(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "118.80", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "118.80")], actor=actor
    )
    with pytest.raises(StateConflict) as error:
        payments.write_off(invoice_id=invoice.pk, amount="0.30", reason="Rest", actor=actor)
    assert error.value.code == "write_off_exceeds_open_amount"
    assert not WriteOff.objects.exists()
    assert Allocation.objects.count() == 1
