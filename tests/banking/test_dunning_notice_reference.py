"""A statement line quoting a dunning notice's reference pays that notice (§ 367 BGB)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.banking.models import BankTransaction
from faktura.dunning.models import CostAllocation, DunningFee
from faktura.notifications.models import OutboxMessage
from faktura.payments.models import Allocation, Payment
from faktura.payments.selectors import credit_balance
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import import_on
from tests.dunning.helpers import notices, overdue, run
from tests.payments.helpers import open_amount

D = dt.date
E = Decimal

pytestmark = pytest.mark.django_db


def dunned(consumer, actor):
    invoice = overdue(consumer, actor, due=D(2026, 10, 1))
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))  # 1st notice: 100.00 + fee 2.50 + interest 0.36 = 102.86
    return invoice, notices(consumer)[1]


def test_a_line_quoting_the_notice_with_its_total_pays_costs_and_invoice(consumer, actor):
    invoice, notice = dunned(consumer, actor)
    assert notice.total == E("102.86")
    mail = OutboxMessage.objects.filter(to=[consumer.email]).order_by("pk").last()
    assert f"Verwendungszweck: {notice.reference}" in mail.body_text
    import_on(
        camt([transfer("102.86", f"Mahnung {notice.reference}", name="M. Mustermann")]), actor
    )
    line = BankTransaction.objects.get()
    assert (line.state, line.match_method, line.customer_id) == (
        "booked",
        "notice_reference",
        consumer.pk,
    )
    assert line.match_confidence == E("1.000")
    assert open_amount(invoice) == E("0.00")
    assert not DunningFee.objects.filter(customer=consumer, paid_at__isnull=True).exists()
    assert credit_balance(consumer.pk) == E("0.00")


def test_a_partial_line_quoting_the_notice_pays_costs_first(consumer, actor):
    invoice, notice = dunned(consumer, actor)
    import_on(camt([transfer("20.00", notice.reference.replace("-", " "))]), actor)
    payment = Payment.objects.get()
    assert sorted(
        CostAllocation.objects.filter(payment=payment).values_list("amount", flat=True)
    ) == [
        E("0.36"),
        E("2.50"),
    ]
    assert list(Allocation.objects.filter(payment=payment).values_list("amount", flat=True)) == [
        E("17.14")
    ]
    assert open_amount(invoice) == E("82.86")


def test_a_line_naming_the_invoice_pays_the_principal_only(consumer, actor):
    invoice, _ = dunned(consumer, actor)
    import_on(camt([transfer("50.00", invoice.number)]), actor)
    assert BankTransaction.objects.get().match_method == "invoice_number"
    assert open_amount(invoice) == E("50.00")
    assert CostAllocation.objects.count() == 0


def test_a_line_by_amount_and_payer_on_a_dunned_claim_pays_costs_first(consumer, actor):
    invoice, _ = dunned(consumer, actor)
    # Matched by amount and name (no reference): the payer named nothing, § 367 applies.
    import_on(camt([transfer("100.00", "Danke", name="Max Mustermann")]), actor)
    line = BankTransaction.objects.get()
    assert (line.state, line.match_method) == ("booked", "amount_name")
    assert open_amount(invoice) == E("2.86")
    assert CostAllocation.objects.count() == 2


def test_an_unknown_notice_reference_pays_nothing(consumer, actor):
    invoice, _ = dunned(consumer, actor)
    import_on(camt([transfer("30.00", "M-2026-999999")]), actor)
    line = BankTransaction.objects.get()
    assert line.state == "unmatched"
    assert open_amount(invoice) == E("100.00")
    assert CostAllocation.objects.count() == 0
    assert Payment.objects.count() == 0
