"""The dunning run in time-travel scenarios with exact figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.customers.models import Customer
from faktura.dunning import services
from faktura.dunning.models import (
    DunningCase,
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningPolicy,
)
from faktura.notifications.models import OutboxMessage
from faktura.payments.models import Dispute, FeeItem
from faktura.payments.services import allocate_payment
from tests.dunning.helpers import deliver_letters, fees, figures, notices, overdue, run
from tests.payments.helpers import pay

D = dt.date
E = Decimal
DUE = D(2026, 10, 1)

pytestmark = pytest.mark.django_db


def mails(customer) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            event=OutboxMessage.Event.DUNNING_NOTICE, to=[customer.email]
        ).order_by("pk")
    )


def test_consumer_reminder_then_three_notices_with_fees_and_interest(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    principal = invoice.payable_amount
    assert principal == E("100.00")
    assert run(D(2026, 10, 7)).notices_sent == 0  # 6 days: too early
    run(D(2026, 10, 8))  # due + 7: the payment reminder, free
    run(D(2026, 10, 21))  # 13 days after the reminder: too early
    run(D(2026, 10, 22))  # + 14: 1st notice, 2.50, interest 2.10.–22.10. (21 days)
    run(D(2026, 11, 5))  # 2nd notice
    run(D(2026, 11, 19))  # final notice
    run(D(2026, 12, 31))  # nothing after the last level
    assert [figures(n) for n in notices(consumer)] == [
        (0, D(2026, 10, 8), E("100.00"), E("0.00"), E("0.00"), E("100.00")),
        # 100 × 6.27 % × 21 / 365 = 0.3607
        (1, D(2026, 10, 22), E("100.00"), E("2.50"), E("0.36"), E("102.86")),
        # + 2.50; + 14 days 0.2405; earlier fee and interest stay on the notice
        (2, D(2026, 11, 5), E("100.00"), E("5.00"), E("0.60"), E("105.60")),
        (3, D(2026, 11, 19), E("100.00"), E("7.50"), E("0.84"), E("108.34")),
    ]
    assert [n.status for n in notices(consumer)] == ["sent"] * 4
    assert [n.deadline for n in notices(consumer)] == [
        D(2026, 10, 15),
        D(2026, 11, 1),
        D(2026, 11, 15),
        D(2026, 11, 29),
    ]
    assert fees(consumer, "flat_40") == []  # never against a consumer
    assert fees(consumer, "interest") == [
        (E("0.36"), D(2026, 10, 2), D(2026, 10, 22)),
        (E("0.24"), D(2026, 10, 23), D(2026, 11, 5)),
        (E("0.24"), D(2026, 11, 6), D(2026, 11, 19)),
    ]
    sent = mails(consumer)
    assert [m.subject for m in sent] == [
        f"Zahlungserinnerung {invoice.number}",
        f"1. Mahnung {invoice.number}",
        f"2. Mahnung {invoice.number}",
        f"Letzte Mahnung {invoice.number}",
    ]
    assert "Gesamt: 108,34 EUR" in sent[3].body_text
    assert "bis zum 29.11.2026" in sent[3].body_text
    assert "offen 100,00 EUR" in sent[3].body_text
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.level, case.last_notice_on) == (3, D(2026, 11, 19))


def test_business_claim_flat_fee_and_interest_across_a_base_rate_change(business_customer, actor):
    invoice = overdue(business_customer, actor, due=D(2025, 5, 31), price="840.34")
    assert invoice.payable_amount == E("1000.00")
    # The first notice 85 days after the reminder: interest 1.6.–31.8.2025.
    DunningLevel.objects.filter(policy__name="Unternehmen", number=1).update(days=85)
    run(D(2025, 6, 7))
    run(D(2025, 8, 31))
    reminder, first = notices(business_customer)
    assert figures(reminder) == (0, D(2025, 6, 7), E("1000.00"), E("0.00"), E("0.00"), E("1000.00"))
    # 1000 × 11.27 % × 30/365 = 9.26; 1000 × 10.27 % × 62/365 = 17.44; EUR 40 once.
    assert figures(first) == (1, D(2025, 8, 31), E("1000.00"), E("40.00"), E("26.70"), E("1066.70"))
    interest = DunningFee.objects.filter(invoice=invoice, kind="interest").order_by("period_start")
    assert [(f.period_start, f.period_end, f.rate, f.amount) for f in interest] == [
        (D(2025, 6, 1), D(2025, 6, 30), E("11.27"), E("9.26")),
        (D(2025, 7, 1), D(2025, 8, 31), E("10.27"), E("17.44")),
    ]
    run(D(2025, 9, 14))  # 2nd: no second flat fee, no fee for businesses
    second = notices(business_customer)[2]
    assert fees(business_customer, "flat_40") == [(E("40.00"), None, None)]
    assert fees(business_customer, "fee") == []
    # 1000 × 10.27 % × 14/365 = 3.94
    assert figures(second) == (
        2,
        D(2025, 9, 14),
        E("1000.00"),
        E("40.00"),
        E("30.64"),
        E("1070.64"),
    )


def test_partial_payment_lowers_the_next_notice_and_full_payment_stops(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    with clock.frozen(D(2026, 10, 10)):
        paid(invoice, "69.00", actor)
    run(D(2026, 10, 22))
    first = notices(consumer)[1]
    # 31 × 6.27 % × 21/365 = 0.1118 (the open amount on the run date)
    assert figures(first) == (1, D(2026, 10, 22), E("31.00"), E("2.50"), E("0.11"), E("33.61"))
    item = first.items.get()
    assert (item.original_amount, item.paid_amount, item.open_amount) == (
        E("100.00"),
        E("69.00"),
        E("31.00"),
    )
    with clock.frozen(D(2026, 10, 30)):
        paid(invoice, "31.00", actor)
    run(D(2026, 11, 5))
    run(D(2026, 11, 19))
    assert len(notices(consumer)) == 2  # paid: no 2nd notice


def paid(invoice, amount: str, actor) -> None:
    payment = pay(actor, amount, invoice.customer, day=clock.today())
    allocate_payment(payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor)


def test_dunning_block_until_a_date(consumer, actor):
    overdue(consumer, actor, due=DUE)
    Customer.objects.filter(pk=consumer.pk).update(
        dunning_block=True, dunning_block_until=D(2026, 10, 20), dunning_block_reason="Klärung"
    )
    result = run(D(2026, 10, 8))
    assert (result.notices_sent, result.invoices_skipped) == (0, 1)
    run(D(2026, 10, 20))  # the end date still blocks
    assert notices(consumer) == []
    run(D(2026, 10, 21))
    assert [n.level for n in notices(consumer)] == [0]
    Customer.objects.filter(pk=consumer.pk).update(dunning_block_until=None)
    run(D(2026, 11, 30))  # open-ended block
    assert [n.level for n in notices(consumer)] == [0]


def test_disputed_invoice_is_skipped(consumer, actor):
    disputed = overdue(consumer, actor, due=DUE)
    other = overdue(consumer, actor, due=DUE)
    Dispute.objects.create(
        invoice=disputed, customer=consumer, opened_at=clock.now(), opened_by="test"
    )
    run(D(2026, 10, 8))
    (notice,) = notices(consumer)
    assert [i.invoice_id for i in notice.items.all()] == [other.pk]


def test_handed_over_case_is_not_dunned(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    DunningCase.objects.filter(invoice=invoice).update(
        handed_to_collection=True, handed_to_collection_on=D(2026, 10, 9)
    )
    assert run(D(2026, 10, 22)).notices_sent == 0
    assert len(notices(consumer)) == 1


def test_consolidated_notice_lists_three_invoices_and_return_costs(consumer, actor):
    invoices = [
        overdue(consumer, actor, due=D(2026, 9, 20)),
        overdue(consumer, actor, due=D(2026, 9, 25)),
        overdue(consumer, actor, due=DUE),
    ]
    FeeItem.objects.create(
        customer=consumer,
        invoice=invoices[0],
        amount=E("3.00"),
        reason="Rücklastschrift",
        created_at=clock.now(),
    )
    run(D(2026, 10, 8))
    (notice,) = notices(consumer)
    assert [i.invoice_id for i in notice.items.order_by("due_date")] == [i.pk for i in invoices]
    assert (notice.principal_total, notice.return_fees_total, notice.total) == (
        E("300.00"),
        E("3.00"),
        E("303.00"),
    )
    (mail,) = mails(consumer)
    assert mail.subject == "Zahlungserinnerung"
    assert mail.body_text.count("- Rechnung ") == 3
    assert "Rücklastschriftkosten" in mail.body_text


def test_one_notice_per_invoice_when_the_policy_says_so(consumer, actor):
    DunningPolicy.objects.filter(name="Verbraucher").update(one_notice_per_invoice=True)
    overdue(consumer, actor, due=DUE)
    overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    assert [n.items.count() for n in notices(consumer)] == [1, 1]


def test_twice_for_one_date_sends_nothing_new(consumer, actor):
    overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 22))
    again = run(D(2026, 10, 22))
    assert (again.notices_sent, again.fees_charged, again.interest_periods) == (0, 0, 0)
    assert len(notices(consumer)) == 1
    assert len(mails(consumer)) == 1


def test_after_an_outage_one_notice_per_level_not_one_per_day(consumer, actor):
    overdue(consumer, actor, due=DUE)
    # Down from 8 to 12 October; the job catches up each day after the outage.
    for day in range(13, 18):
        run(D(2026, 10, day))
    assert [(n.level, n.notice_date) for n in notices(consumer)] == [(0, D(2026, 10, 13))]
    # A run long after everything: still one level per run, never several at once.
    run(D(2027, 3, 1))
    assert [n.level for n in notices(consumer)] == [0, 1]


def test_review_required_leaves_proposals_until_approved(business_customer, approver, actor):
    DunningLevel.objects.filter(policy__name="Unternehmen").update(review_required=True)
    invoice = overdue(business_customer, actor, due=DUE)
    result = run(D(2026, 10, 8))
    assert (result.notices_sent, result.notices_proposed) == (0, 1)
    (notice,) = notices(business_customer)
    assert notice.status == "proposed"
    assert mails(business_customer) == []
    run(D(2026, 10, 30))  # waiting: no second proposal, no next level
    assert len(notices(business_customer)) == 1
    with clock.frozen(D(2026, 11, 2)):
        services.approve_notice(notice_id=notice.pk, actor=approver)
    deliver_letters()  # the task after the approving commit
    notice.refresh_from_db()
    assert notice.status == "sent"
    assert len(mails(business_customer)) == 1
    # The next level counts from the day it was sent (2.11. + 14).
    run(D(2026, 11, 15))
    assert len(notices(business_customer)) == 1
    run(D(2026, 11, 16))
    assert [n.level for n in notices(business_customer)] == [0, 1]
    assert DunningCase.objects.get(invoice=invoice).level == 1


def test_cancelled_proposal_is_proposed_again_without_its_fees(business_customer, approver, actor):
    DunningLevel.objects.filter(policy__name="Unternehmen").update(review_required=True)
    overdue(business_customer, actor, due=DUE)
    run(D(2026, 10, 8))
    (notice,) = notices(business_customer)
    services.approve_notice(notice_id=notice.pk, actor=approver)
    run(D(2026, 11, 30))
    proposal = DunningNotice.objects.get(level=1)
    assert proposal.fees.filter(kind="flat_40").count() == 1
    services.cancel_notice(notice_id=proposal.pk, actor=approver, reason="Kulanz")
    assert DunningFee.objects.filter(kind="flat_40").count() == 0
    run(D(2026, 12, 1))
    assert DunningNotice.objects.filter(level=1, status="proposed").count() == 1


def test_command_dry_run_writes_nothing_then_the_run_sends(consumer, actor):
    from io import StringIO

    from django.core.management import call_command

    overdue(consumer, actor, due=DUE)
    out = StringIO()
    call_command("dunning_run", "--date", "2026-10-08", "--dry-run", stdout=out)
    assert "K00001 Max Mustermann: Zahlungserinnerung, 1 invoice(s), 100.00 EUR" in out.getvalue()
    assert notices(consumer) == []
    out = StringIO()
    call_command("dunning_run", "--date", "2026-10-08", stdout=out)
    assert "1 notice(s) sent, 0 for review" in out.getvalue()
    assert len(notices(consumer)) == 1


def test_staff_add_and_waive_a_fee_audited(consumer, actor):
    from faktura.core.errors import StateConflict
    from faktura.core.models import AuditEntry

    fee = services.add_fee(
        customer_id=consumer.pk, amount="5.00", reason="Adressermittlung", actor=actor
    )
    assert (fee.kind, fee.amount, fee.is_open) == ("fee", E("5.00"), True)
    services.waive_fee(fee_id=fee.pk, reason="Kulanz", actor=actor)
    fee.refresh_from_db()
    assert (fee.is_open, fee.waived_by, fee.waived_reason) == (False, "user:anna", "Kulanz")
    with pytest.raises(StateConflict):
        services.waive_fee(fee_id=fee.pk, reason="nochmal", actor=actor)
    actions = list(
        AuditEntry.objects.filter(action__startswith="dunning.fee")
        .order_by("created_at", "pk")
        .values_list("action", flat=True)
    )
    assert actions == ["dunning.fee_added", "dunning.fee_waived"]
