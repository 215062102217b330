"""A credit note or cancellation is not a receivable: applied to its original, or owed back.

Before, corrections showed ``payment_status: "unpaid"`` and their whole total as open, as
if the customer owed them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from faktura.api import presenters
from faktura.invoicing import selectors as invoice_selectors
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice
from faktura.payments import services as payments
from faktura.payments.models import Allocation
from tests.conftest import TODAY
from tests.payments.api_helpers import key_client
from tests.payments.helpers import credit, finalized, open_amount, pay

pytestmark = pytest.mark.django_db


def _credit_note(invoice, actor, **kwargs) -> Invoice:
    draft = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, **kwargs)
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def _shown(document) -> tuple[str, str]:
    resource = presenters.invoice(document, today=TODAY)
    return resource.payment_status, resource.open_amount


def test_a_credit_note_on_an_unpaid_invoice_is_applied_with_nothing_open(business_customer, actor):
    invoice = finalized(business_customer, actor, quantity="2")  # 238.00
    note = _credit_note(invoice, actor, lines=[(1, "1")])  # 119.00
    assert _shown(note) == ("applied", "0.00")
    assert invoice_selectors.settlement(note, today=TODAY) == {
        "open_amount": Decimal("0.00"),
        "payment_status": "applied",
        "overdue": False,
    }
    # The original still subtracts the credit note.
    assert open_amount(invoice) == Decimal("119.00")
    assert _shown(invoice) == ("unpaid", "119.00")


def test_a_cancellation_of_an_unpaid_invoice_is_applied(business_customer, actor):
    invoice = finalized(business_customer, actor)
    cancellation = invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor)
    assert _shown(cancellation) == ("applied", "0.00")
    assert _shown(invoice) == ("cancelled", "0.00")


def test_cancelling_a_paid_invoice_owes_the_money_back_until_it_is_released(
    business_customer, actor
):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    cancellation = invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor)
    assert _shown(cancellation) == ("refund_due", "119.00")
    assert credit(business_customer) == Decimal("0.00")
    # The payment released from the invoice is the customer's credit: nothing owed twice.
    allocation = Allocation.objects.get(invoice=invoice)
    payments.release_allocation(allocation_id=allocation.pk, actor=actor, reason="Storno")
    assert credit(business_customer) == Decimal("119.00")
    assert _shown(cancellation) == ("applied", "0.00")
    assert _shown(invoice) == ("cancelled", "0.00")


def test_a_credit_note_beyond_what_is_open_owes_only_the_difference(business_customer, actor):
    invoice = finalized(business_customer, actor)  # 119.00
    payment = pay(actor, "50.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "50.00")], actor=actor
    )
    first = _credit_note(invoice, actor, amount="40.00")
    assert _shown(first) == ("applied", "0.00")  # 69.00 were open: 29.00 remain
    second = _credit_note(invoice, actor, amount="40.00")
    assert _shown(second) == ("refund_due", "11.00")
    assert open_amount(invoice) == Decimal("-11.00")


def test_the_api_shows_the_correction_status_in_the_resource_and_the_list(
    company, business_customer, actor
):
    api = key_client("anna-api", "accountant")
    invoice = finalized(business_customer, actor)
    cancellation = invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor)
    shown = api.send("GET", f"/invoices/{cancellation.pk}").json()
    assert (shown["payment_status"], shown["open_amount"]) == ("applied", "0.00")
    listed = api.send("GET", "/invoices", {"kind": "cancellation"}).json()["data"]
    assert [(row["id"], row["payment_status"], row["open_amount"]) for row in listed] == [
        (cancellation.pk, "applied", "0.00")
    ]
    schema = api.get("/api/v1/openapi.json").json()["components"]["schemas"]["InvoiceOut"]
    statuses = schema["properties"]["payment_status"]["anyOf"][0]["enum"]
    assert {"applied", "refund_due"} <= set(statuses)
