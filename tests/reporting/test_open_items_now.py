"""PostgreSQL keeps each invoice's open amount and each payment's unallocated money now
(triggers of migration reporting 0004): whichever service writes, the kept amounts follow,
and `faktura check` names a kept amount that no longer equals its recomputation."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from django.db import connection

from faktura.core.integrity import all_problems
from faktura.invoicing import services as invoicing
from faktura.payments import services as payments
from faktura.reporting.models import InvoiceOpenNow, PaymentCreditNow
from tests.payments.helpers import finalized, pay

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "postgres" not in os.environ.get("DATABASE_URL", ""),
        reason="the amounts are kept by PostgreSQL triggers; SQLite reports read every row",
    ),
]


def _kept(invoice) -> tuple[Decimal, Decimal]:
    row = InvoiceOpenNow.objects.get(invoice=invoice)
    return row.credited, row.open_amount


def test_the_kept_amounts_follow_finalizing_paying_crediting_and_releasing(
    business_customer, actor
):
    invoice = finalized(business_customer, actor)  # 119.00
    assert _kept(invoice) == (Decimal("0.00"), Decimal("119.00"))

    payment = pay(actor, "150.00", business_customer)
    assert PaymentCreditNow.objects.get(payment=payment).unallocated == Decimal("150.00")
    (allocation,) = payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "100.00")], actor=actor
    )
    assert _kept(invoice) == (Decimal("0.00"), Decimal("19.00"))
    assert PaymentCreditNow.objects.get(payment=payment).unallocated == Decimal("50.00")

    credit = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, amount="11.90")
    invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    assert _kept(invoice) == (Decimal("11.90"), Decimal("7.10"))

    payments.write_off(invoice_id=invoice.pk, amount="0.10", reason="Rundung", actor=actor)
    assert _kept(invoice)[1] == Decimal("7.00")

    payments.release_allocation(allocation_id=allocation.pk, actor=actor, reason="Irrtum")
    assert _kept(invoice)[1] == Decimal("107.00")
    assert PaymentCreditNow.objects.get(payment=payment).unallocated == Decimal("150.00")
    assert list(all_problems()) == []


def test_check_names_a_kept_amount_that_differs_from_its_recomputation(business_customer, actor):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "20.00", business_customer)
    with connection.cursor() as cursor:
        # What a write with the triggers bypassed would leave behind.
        cursor.execute(
            "UPDATE reporting_invoiceopennow SET open_amount = 0 WHERE invoice_id = %s",
            [invoice.pk],
        )
        cursor.execute("DELETE FROM reporting_paymentcreditnow WHERE payment_id = %s", [payment.pk])
    assert list(all_problems()) == [
        f"invoice {invoice.number}: the open amount kept for the reports is 0.00, recomputed "
        "119.00; `faktura migrate reporting 0003` and then `faktura migrate` compute them anew.",
        f"payment {payment.pk}: the unallocated amount kept for the reports is missing, "
        "recomputed 20.00; `faktura migrate reporting 0003` and then `faktura migrate` compute "
        "them anew.",
    ]
