"""Manual payments confirmed by a second person; refunds of credit through a pain.001 file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
from lxml import etree

from faktura.core.errors import InvalidInput, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.payments import services as payments
from faktura.payments.models import Payment, PaymentRequest, PaymentSettings, Refund, RefundBatch
from tests.conftest import TODAY
from tests.payments.helpers import (
    CASHIER,
    IBAN,
    SECOND_CASHIER,
    counts,
    credit,
    finalized,
    open_amount,
    pay,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmation_required(company):
    return PaymentSettings.objects.create(require_payment_confirmation=True)


def _cash(actor, invoice, amount="119.00"):
    return payments.request_manual_payment(
        actor=actor,
        amount=amount,
        date=TODAY,
        method="cash",
        reference="Kasse",
        invoice_id=invoice.pk,
    )


def test_without_the_setting_a_manual_payment_is_booked_at_once(business_customer, actor):
    invoice = finalized(business_customer, actor)
    request = _cash(CASHIER, invoice)
    assert request.status == "confirmed"
    assert request.payment.amount == Decimal("119.00")
    assert request.payment.source == "manual"
    assert open_amount(invoice) == Decimal("0.00")


def test_cashier_booking_waits_for_a_second_person(
    business_customer, actor, approver, confirmation_required
):
    invoice = finalized(business_customer, actor)
    request = _cash(CASHIER, invoice, amount="150.00")
    assert request.status == "pending"
    assert request.payment is None
    assert not Payment.objects.exists()
    assert open_amount(invoice) == Decimal("119.00")

    before = counts()
    with pytest.raises(PermissionRefused) as error:
        payments.confirm_payment_request(request_id=request.pk, actor=CASHIER)
    assert error.value.code == "confirmer_is_requester"
    with pytest.raises(PermissionRefused) as error:
        payments.confirm_payment_request(request_id=request.pk, actor=SECOND_CASHIER)
    assert error.value.code == "permission_denied"
    assert counts() == before

    confirmed = payments.confirm_payment_request(request_id=request.pk, actor=approver)
    assert confirmed.status == "confirmed"
    assert confirmed.decided_by == "user:bernd"
    assert confirmed.payment.amount == Decimal("150.00")
    assert open_amount(invoice) == Decimal("0.00")
    assert credit(business_customer) == Decimal("31.00")
    assert AuditEntry.objects.filter(action="payment_request.confirmed").count() == 1
    with pytest.raises(StateConflict) as error:
        payments.confirm_payment_request(request_id=request.pk, actor=actor)
    assert error.value.code == "payment_request_not_pending"


def test_an_accountant_books_without_confirmation(business_customer, actor, confirmation_required):
    invoice = finalized(business_customer, actor)
    assert _cash(actor, invoice).status == "confirmed"


def test_a_rejected_request_books_nothing(business_customer, actor, confirmation_required):
    invoice = finalized(business_customer, actor)
    request = _cash(CASHIER, invoice)
    with pytest.raises(InvalidInput):
        payments.reject_payment_request(request_id=request.pk, actor=actor, reason="")
    rejected = payments.reject_payment_request(
        request_id=request.pk, actor=actor, reason="Kein Beleg"
    )
    assert rejected.status == PaymentRequest.Status.REJECTED
    assert not Payment.objects.exists()
    assert open_amount(invoice) == Decimal("119.00")


def test_bad_input_is_refused_before_a_request_exists(business_customer, actor):
    invoice = finalized(business_customer, actor)
    with pytest.raises(InvalidInput) as error:
        _cash(CASHIER, invoice, amount="10.001")
    assert error.value.code == "too_many_decimals"
    assert not PaymentRequest.objects.exists()


# --- refunds ----------------------------------------------------------------------------------


@pytest.fixture
def credited_customer(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "150.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "150.00")], actor=actor, overpayment=True
    )
    return business_customer


def _xsd(name: str) -> etree.XMLSchema:
    path = Path(sepaxml.__file__).parent / "schemas" / f"{name}.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def test_refund_is_approved_batched_and_released_by_a_second_person(
    credited_customer, actor, approver
):
    refund = payments.refund_credit(customer_id=credited_customer.pk, actor=actor)
    assert refund.amount == Decimal("31.00")
    assert refund.iban == IBAN  # the account the customer paid from
    assert credit(credited_customer) == Decimal("0.00")

    with pytest.raises(PermissionRefused) as error:
        payments.approve_refund(refund_id=refund.pk, actor=actor)
    assert error.value.code in ("not_an_approver", "approver_is_creator")
    payments.approve_refund(refund_id=refund.pk, actor=approver)

    batch = payments.create_refund_batch(actor=actor)
    assert batch is not None
    assert (batch.transaction_count, batch.control_sum) == (1, Decimal("31.00"))
    xml = batch.file_bytes()
    root = etree.fromstring(xml)
    assert _xsd("pain.001.001.09").validate(root)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
    assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == f"FAKTURA-RF-{batch.pk:06d}"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "31.00"
    assert root.findtext(".//p:EndToEndId", namespaces=ns) == f"ERSTATTUNG-{refund.pk}"
    assert payments.create_refund_batch(actor=actor) is None

    with pytest.raises(PermissionRefused):
        payments.release_refund_batch(batch_id=batch.pk, actor=actor)
    payments.release_refund_batch(batch_id=batch.pk, actor=approver)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PAID
    assert RefundBatch.objects.get().file_bytes() == xml
    assert credit(credited_customer) == Decimal("0.00")


def test_a_rejected_refund_is_credit_again(credited_customer, actor, approver):
    refund = payments.refund_credit(
        customer_id=credited_customer.pk, actor=actor, amount="20.00", iban=IBAN
    )
    assert credit(credited_customer) == Decimal("11.00")
    with pytest.raises(StateConflict) as error:
        payments.refund_credit(customer_id=credited_customer.pk, actor=actor, amount="12.00")
    assert error.value.code == "insufficient_credit"
    payments.reject_refund(refund_id=refund.pk, actor=approver, reason="Kunde will verrechnen")
    assert credit(credited_customer) == Decimal("31.00")


def test_money_reserved_for_a_refund_cannot_be_allocated(credited_customer, actor):
    payments.refund_credit(customer_id=credited_customer.pk, actor=actor)
    later = finalized(credited_customer, actor)
    payment = credited_customer.payments.get()
    with pytest.raises(StateConflict) as error:
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(later.pk, "10.00")], actor=actor
        )
    assert error.value.code == "credit_reserved"
    with pytest.raises(StateConflict) as error:
        payments.apply_credit(customer_id=credited_customer.pk, invoice_id=later.pk, actor=actor)
    assert error.value.code == "no_credit"


def test_discarded_refund_file_frees_its_refunds(credited_customer, actor, approver):
    refund = payments.refund_credit(customer_id=credited_customer.pk, actor=actor)
    payments.approve_refund(refund_id=refund.pk, actor=approver)
    batch = payments.create_refund_batch(actor=actor)
    payments.discard_refund_batch(batch_id=batch.pk, actor=actor)
    refund.refresh_from_db()
    assert (refund.status, refund.batch_id) == ("approved", None)
    second = payments.create_refund_batch(actor=actor)
    assert second.pk != batch.pk
    with pytest.raises(StateConflict) as error:
        payments.release_refund_batch(batch_id=batch.pk, actor=approver)
    assert error.value.code == "refund_batch_not_open"
