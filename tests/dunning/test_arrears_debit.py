"""Arrears collected with the customer's next regular direct debit (dunning policy option)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from faktura.collection import arrears
from faktura.collection import services as collection
from faktura.collection.models import ArrearsDebit, DebitAnnouncement, DirectDebitItem
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.dunning.models import DunningCase, DunningPolicy
from faktura.notifications.models import OutboxMessage
from faktura.payments import services as payments
from faktura.payments.models import PaymentSettings
from tests.banking.debits import IBANS
from tests.collection.helpers import debit_customer, due_invoice
from tests.dunning.helpers import overdue, run
from tests.payments.helpers import finalized, open_amount, pay

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)  # Monday; the tests' frozen clock
TUESDAY = dt.date(2026, 11, 17)


def policy_of(customer) -> DunningPolicy:
    (policy,) = [p for p in DunningPolicy.objects.all() if customer.kind in p.customer_kinds]
    return policy


@pytest.fixture
def in_arrears(business_customer, actor):
    """A business customer whose 119.00 invoice (due 20 Oct, by transfer) got its reminder,
    who then signed a mandate; a regular 59.50 invoice is due for collection on the 17th."""
    PaymentSettings.objects.create(pre_notification_days=1)
    old = overdue(business_customer, actor, due=dt.date(2026, 10, 20))
    assert old.payment_method == "transfer"
    run(TODAY)
    assert DunningCase.objects.get(invoice=old).level == 0
    customer = debit_customer(business_customer, actor, iban=IBANS[0])
    regular = due_invoice(customer, actor, price="50.00")
    return customer, old, regular


def enable(customer, limit: int = 1) -> None:
    from faktura.dunning.services import update_policy

    update_policy(
        policy_id=policy_of(customer).pk,
        actor=Actor.system("test"),
        collect_arrears_by_debit=True,
        arrears_debit_limit=limit,
    )


def announcement_mails() -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(event=OutboxMessage.Event.ARREARS_DEBIT_ANNOUNCED).order_by(
            "pk"
        )
    )


def batch_on(day: dt.date, actor):
    return collection.create_direct_debit_batch(collection_date=day, scheme="CORE", actor=actor)


def amounts(batch) -> list[tuple[str, Decimal, bool]]:
    return list(batch.items.order_by("pk").values_list("end_to_end_id", "amount", "arrears"))


def test_off_by_default_only_the_regular_invoice_is_collected(in_arrears, actor):
    customer, _, regular = in_arrears
    assert policy_of(customer).collect_arrears_by_debit is False
    assert policy_of(customer).arrears_debit_limit == 1
    assert arrears.announce_arrears_debits(actor=actor) == 0
    assert announcement_mails() == []
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch) == [(regular.number, Decimal("59.50"), False)]


def test_arrears_are_announced_and_collected_with_the_next_debit(in_arrears, actor):
    customer, old, regular = in_arrears
    enable(customer)
    assert arrears.announce_arrears_debits(actor=actor) == 1
    announced = ArrearsDebit.objects.get()
    assert (announced.invoice_id, announced.amount, announced.debit_date) == (
        old.pk,
        Decimal("119.00"),
        TUESDAY,
    )
    (mail,) = announcement_mails()
    assert mail.to == [customer.email]
    assert mail.subject == "Vorabankündigung: Lastschrift über 178,50 € am 17.11.2026"
    assert f"Rechnung {old.number}: 119,00 €" in mail.body_text
    assert f"fällige Rechnungen ({regular.number}): 59,50 €" in mail.body_text
    assert "Insgesamt buchen wir am 17.11.2026 178,50 €" in mail.body_text
    # Idempotent: announced once.
    assert arrears.announce_arrears_debits(actor=actor) == 0
    assert len(announcement_mails()) == 1
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch) == [
        (regular.number, Decimal("59.50"), False),
        (old.number, Decimal("119.00"), True),
    ]
    assert batch.control_sum == Decimal("178.50")
    root = etree.fromstring(batch.file_bytes())
    collected = {
        tx.findtext(".//{*}EndToEndId"): tx.findtext(".//{*}InstdAmt")
        for tx in root.iter("{*}DrctDbtTxInf")
    }
    assert collected == {regular.number: "59.50", old.number: "119.00"}
    assert ArrearsDebit.objects.get().item.batch_id == batch.pk


def test_arrears_are_never_collected_before_the_announced_date(in_arrears, actor):
    customer, old, _ = in_arrears
    enable(customer)
    ArrearsDebit.objects.create(
        customer=customer,
        invoice=old,
        amount=Decimal("119.00"),
        debit_date=dt.date(2026, 11, 18),
        announced_at=clock.now(),
        announced_by="test",
    )
    batch = batch_on(TUESDAY, actor)
    assert [a for *_, a in amounts(batch)] == [False]


def test_a_claim_paid_in_part_after_the_announcement_is_collected_for_what_is_open(
    in_arrears, actor
):
    customer, old, _ = in_arrears
    enable(customer)
    arrears.announce_arrears_debits(actor=actor)
    payment = pay(actor, "19.00", customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(old.pk, Decimal("19.00"))], actor=actor
    )
    assert open_amount(old) == Decimal("100.00")
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch)[1] == (old.number, Decimal("100.00"), True)


def test_a_returned_arrears_debit_is_not_retried_and_the_limit_holds(in_arrears, actor):
    customer, old, _ = in_arrears
    enable(customer, limit=1)
    arrears.announce_arrears_debits(actor=actor)
    batch = batch_on(TUESDAY, actor)
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    event = payments.record_returned_debit(
        actor=actor, end_to_end_id=old.number, reason_code="AM04", source_reference="R-1"
    )
    # No AM04 retry of its own for an arrears debit, and the invoice is open again.
    assert DebitAnnouncement.objects.filter(return_event=event).count() == 0
    assert not DirectDebitItem.objects.get(end_to_end_id=old.number).may_retry
    assert open_amount(old) == Decimal("119.00")
    # The next regular invoice (due 1 Dec) does not take the claim again: the limit is 1.
    with clock.frozen(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)):
        due_invoice(customer, actor, price="50.00")
        assert arrears.announce_arrears_debits(actor=actor) == 0
    assert len(announcement_mails()) == 1


def test_a_higher_limit_takes_a_returned_claim_with_a_later_debit_again(in_arrears, actor):
    customer, old, _ = in_arrears
    enable(customer, limit=2)
    arrears.announce_arrears_debits(actor=actor)
    batch = batch_on(TUESDAY, actor)
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    payments.record_returned_debit(
        actor=actor, end_to_end_id=old.number, reason_code="AM04", source_reference="R-1"
    )
    with clock.frozen(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)):
        later = due_invoice(customer, actor, price="20.00")
        assert arrears.announce_arrears_debits(actor=actor) == 1
        second = ArrearsDebit.objects.order_by("-pk").first()
        assert (second.amount, second.debit_date) == (Decimal("119.00"), dt.date(2026, 11, 23))
        again = batch_on(dt.date(2026, 11, 23), actor)
        # The bank's fee of the first return is a cost claim now: it goes with the arrears.
        assert amounts(again) == [
            (later.number, Decimal("23.80"), False),
            (old.number, Decimal("122.00"), True),
        ]
        collection.submit_direct_debit_batch(batch_id=again.pk, actor=actor)
    payments.record_returned_debit(
        actor=actor, end_to_end_id=old.number, reason_code="AM04", source_reference="R-2"
    )
    with clock.frozen(dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)):
        due_invoice(customer, actor, price="20.00")
        assert arrears.announce_arrears_debits(actor=actor) == 0  # twice is the limit


@pytest.mark.parametrize("reason", ["block", "dispute", "handed_over", "not_in_dunning"])
def test_claims_that_must_not_be_collected_are_left_out(in_arrears, actor, reason):
    customer, old, _ = in_arrears
    enable(customer)
    if reason == "block":
        type(customer).objects.filter(pk=customer.pk).update(dunning_block=True)
    elif reason == "dispute":
        from faktura.payments.models import Dispute

        Dispute.objects.create(
            invoice=old,
            customer=customer,
            reason_code="MD06",
            opened_at=clock.now(),
            opened_by="test",
        )
    elif reason == "handed_over":
        DunningCase.objects.filter(invoice=old).update(handed_to_collection=True)
    else:
        DunningCase.objects.filter(invoice=old).delete()
    assert arrears.announce_arrears_debits(actor=actor) == 0
    assert [a for *_, a in amounts(batch_on(TUESDAY, actor))] == [False]


def test_the_option_is_switched_through_the_api_and_checked(company):
    from tests.banking.helpers import api_client

    policy = DunningPolicy.objects.get(is_default=True)
    client = api_client("accountant")
    url = f"/api/v1/dunning-policy/{policy.pk}"
    response = client.patch(
        url,
        {"collect_arrears_by_debit": True, "arrears_debit_limit": 2},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["collect_arrears_by_debit"], body["arrears_debit_limit"]) == (True, 2)
    wrong = client.patch(url, {"arrears_debit_limit": 0}, content_type="application/json")
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_arrears_debit_limit")
    viewer = api_client("viewer", name="viewer")
    refused = viewer.patch(url, {"arrears_debit_limit": 3}, content_type="application/json")
    assert refused.status_code == 403
    policy.refresh_from_db()
    assert (policy.collect_arrears_by_debit, policy.arrears_debit_limit) == (True, 2)


def test_the_announcement_speaks_the_customers_language(in_arrears, actor):
    customer, old, _ = in_arrears
    type(customer).objects.filter(pk=customer.pk).update(language="en")
    enable(customer)
    arrears.announce_arrears_debits(actor=actor)
    (mail,) = announcement_mails()
    assert mail.language == "en"
    assert mail.subject == "Pre-notification: direct debit of €178.50 on 17 November 2026"
    assert f"invoice {old.number}: €119.00" in mail.body_text
    assert f"Invoice {old.number}" in mail.body_html


# --- dunning costs collected with the arrears ---------------------------------------------------

DEBIT_DAY = dt.datetime(2026, 11, 17, 9, tzinfo=dt.UTC)


@pytest.fixture
def with_costs(in_arrears, actor):
    """The customer in arrears also owes a dunning fee of 5.00 (charged by hand) and a bank
    fee of 3.00 for an earlier returned debit."""
    from faktura.dunning.services import add_fee
    from faktura.payments.models import FeeItem

    customer, old, regular = in_arrears
    fee = add_fee(
        customer_id=customer.pk, amount="5.00", reason="Mahngebühr", actor=actor, invoice_id=old.pk
    )
    item = FeeItem.objects.create(
        customer=customer,
        invoice=old,
        amount=Decimal("3.00"),
        reason="Rücklastschriftgebühr AM04",
        created_at=clock.now(),
        created_by="test",
    )
    return customer, old, regular, fee, item


def cost_states(fee, item) -> tuple[bool, str]:
    fee.refresh_from_db()
    item.refresh_from_db()
    return fee.paid_at is not None, item.state


def totals(customer) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    from faktura.payments.account_statement import account_totals

    t = account_totals(customer.pk)
    return t.open_receivables, t.open_fees, t.customer_credit, t.balance


def collect_costs_file(with_costs, actor):
    """Announce, make the file of the 17th and hand it to the bank."""
    arrears.announce_arrears_debits(actor=actor)
    batch = batch_on(TUESDAY, actor)
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    return batch


def test_costs_are_announced_in_the_same_mail_and_counted_in_the_total(with_costs, actor):
    from faktura.collection.models import ArrearsCostDebit

    customer, old, _regular, fee, item = with_costs
    enable(customer)
    assert arrears.announce_arrears_debits(actor=actor) == 1
    (mail,) = announcement_mails()
    assert mail.subject == "Vorabankündigung: Lastschrift über 186,50 € am 17.11.2026"
    assert f"Rechnung {old.number}: 119,00 €" in mail.body_text
    assert "- Mahnkosten: 5,00 €" in mail.body_text
    assert "- Rücklastschriftkosten: 3,00 €" in mail.body_text
    assert "Insgesamt buchen wir am 17.11.2026 186,50 €" in mail.body_text
    assert "Mahnkosten" in mail.body_html
    rows = list(
        ArrearsCostDebit.objects.order_by("pk").values_list(
            "claim_type", "claim_id", "amount", "debit_date", "message_id"
        )
    )
    assert rows == [
        ("dunning_fee", fee.pk, Decimal("5.00"), TUESDAY, mail.pk),
        ("fee_item", item.pk, Decimal("3.00"), TUESDAY, mail.pk),
    ]
    # Announced once.
    assert arrears.announce_arrears_debits(actor=actor) == 0
    assert ArrearsCostDebit.objects.count() == 2


def test_the_costs_ride_on_the_arrears_item_of_the_file(with_costs, actor):
    customer, old, regular, _fee, _item = with_costs
    enable(customer)
    arrears.announce_arrears_debits(actor=actor)
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch) == [
        (regular.number, Decimal("59.50"), False),
        (old.number, Decimal("127.00"), True),
    ]
    assert DirectDebitItem.objects.get(end_to_end_id=old.number).costs_amount == Decimal("8.00")
    assert batch.control_sum == Decimal("186.50")
    root = etree.fromstring(batch.file_bytes())
    collected = {
        tx.findtext(".//{*}EndToEndId"): (tx.findtext(".//{*}InstdAmt"), tx.findtext(".//{*}Ustrd"))
        for tx in root.iter("{*}DrctDbtTxInf")
    }
    assert collected == {
        regular.number: ("59.50", f"Rechnung {regular.number}"),
        old.number: ("127.00", f"Rechnung {old.number} und Mahnkosten"),
    }


def test_costs_paid_meanwhile_are_not_collected_and_never_more_than_announced(with_costs, actor):
    from faktura.dunning.services import add_fee, waive_fee

    customer, old, _, fee, _item = with_costs
    enable(customer)
    arrears.announce_arrears_debits(actor=actor)
    waive_fee(fee_id=fee.pk, reason="Kulanz", actor=actor)
    add_fee(customer_id=customer.pk, amount="7.00", reason="Später", actor=actor)  # not announced
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch)[1] == (old.number, Decimal("122.00"), True)


def test_settlement_pays_the_invoice_and_the_costs(with_costs, actor):
    from faktura.dunning.models import CostAllocation

    customer, old, _regular, fee, item = with_costs
    enable(customer)
    assert totals(customer) == (Decimal("178.50"), Decimal("8.00"), Decimal("0"), Decimal("186.50"))
    batch = collect_costs_file(with_costs, actor)
    with clock.frozen(DEBIT_DAY):
        collection.settle_direct_debit_items(
            batch_id=batch.pk, end_to_end_ids=[old.number], actor=actor
        )
    assert open_amount(old) == Decimal("0.00")
    assert cost_states(fee, item) == (True, "paid")
    payment = DirectDebitItem.objects.get(end_to_end_id=old.number).payment
    assert payment.amount == Decimal("127.00")
    assert sorted(
        CostAllocation.objects.filter(payment=payment).values_list("amount", flat=True)
    ) == [Decimal("3.00"), Decimal("5.00")]
    # Left: the regular invoice, still with the bank; no credit, no open costs.
    assert totals(customer) == (Decimal("59.50"), Decimal("0"), Decimal("0"), Decimal("59.50"))


def test_a_return_reopens_the_costs_and_the_invoice(with_costs, actor):
    from faktura.dunning.models import CostAllocation

    customer, old, _, fee, item = with_costs
    enable(customer)
    batch = collect_costs_file(with_costs, actor)
    with clock.frozen(DEBIT_DAY):
        collection.settle_direct_debit_items(batch_id=batch.pk, actor=actor)
    assert cost_states(fee, item) == (True, "paid")
    with clock.frozen(dt.datetime(2026, 11, 19, 9, tzinfo=dt.UTC)):
        payments.record_returned_debit(
            actor=actor, end_to_end_id=old.number, reason_code="AM04", source_reference="R-1"
        )
    assert open_amount(old) == Decimal("119.00")
    assert cost_states(fee, item) == (False, "open")
    assert not CostAllocation.objects.filter(reversed_at__isnull=True).exists()
    assert CostAllocation.objects.filter(reversed_at__isnull=False).count() == 2
    # 119.00 owed again, the 8.00 costs and the bank's new fee of 3.00; no credit left.
    assert totals(customer) == (
        Decimal("119.00"),
        Decimal("11.00"),
        Decimal("0"),
        Decimal("130.00"),
    )


def test_a_rejected_debit_leaves_the_costs_open(with_costs, actor):
    customer, old, _, fee, item = with_costs
    enable(customer)
    collect_costs_file(with_costs, actor)
    # A pain.002 rejection is recorded as a return of the submitted debit (no payment).
    payments.record_returned_debit(
        actor=actor, end_to_end_id=old.number, reason_code="AC04", source_reference="RJ-1"
    )
    assert cost_states(fee, item) == (False, "open")
    assert open_amount(old) == Decimal("119.00")


def transfer_invoice_in_dunning(customer, actor):
    """A 11.90 invoice by transfer, due on the 18th, with a reminder on the 19th."""
    customers = type(customer).objects.filter(pk=customer.pk)
    with clock.frozen(dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC)):
        customers.update(preferred_payment_method="transfer")
        other = finalized(customer, actor, price="10.00")
        customers.update(preferred_payment_method="direct_debit")
    assert (other.payment_method, other.due_date) == ("transfer", dt.date(2026, 11, 18))
    DunningCase.objects.create(
        invoice=other, customer=customer, level=0, level_reached_on=dt.date(2026, 11, 19)
    )
    return other


def test_each_cost_claim_is_collected_at_most_limit_times(with_costs, actor):
    from faktura.payments.models import FeeItem

    customer, old, _, _fee, _item = with_costs
    enable(customer, limit=1)
    collect_costs_file(with_costs, actor)
    payments.record_returned_debit(
        actor=actor, end_to_end_id=old.number, reason_code="AM04", source_reference="R-1"
    )
    returned_fee = FeeItem.objects.get(return_event__source_reference="R-1")
    # Another overdue invoice (by transfer) in dunning: announced with the next debit,
    # with the bank fee of the return, but not with the costs collected once already.
    other = transfer_invoice_in_dunning(customer, actor)
    with clock.frozen(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)):
        due_invoice(customer, actor, price="20.00")
        assert arrears.announce_arrears_debits(actor=actor) == 1
        mail = announcement_mails()[-1]
        assert f"Rechnung {other.number}: 11,90 €" in mail.body_text
        assert "- Rücklastschriftkosten: 3,00 €" in mail.body_text
        assert "Mahnkosten" not in mail.body_text
        assert f"Rechnung {old.number}" not in mail.body_text  # the invoice's limit too
        again = batch_on(dt.date(2026, 11, 23), actor)
    assert amounts(again)[1] == (other.number, Decimal("14.90"), True)
    assert returned_fee.cost_allocations.count() == 0  # collected, not yet paid


def test_costs_alone_are_not_collected(with_costs, actor):
    from faktura.collection.models import ArrearsCostDebit

    customer, old, regular, fee, item = with_costs
    enable(customer)
    arrears.announce_arrears_debits(actor=actor)
    # The arrears invoice is paid by transfer before the file: the costs have no invoice
    # to ride on and wait; the debit collects the regular invoice only.
    payment = pay(actor, "119.00", customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(old.pk, Decimal("119.00"))], actor=actor
    )
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch) == [(regular.number, Decimal("59.50"), False)]
    assert ArrearsCostDebit.objects.filter(item__isnull=False).count() == 0
    # Nor are costs announced alone.
    with clock.frozen(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)):
        due_invoice(customer, actor, price="20.00")
        assert arrears.announce_arrears_debits(actor=actor) == 0
    assert cost_states(fee, item) == (False, "open")


def test_option_off_collects_no_costs(with_costs, actor):
    from faktura.collection.models import ArrearsCostDebit

    _customer, _, regular, fee, item = with_costs
    assert arrears.announce_arrears_debits(actor=actor) == 0
    batch = batch_on(TUESDAY, actor)
    assert amounts(batch) == [(regular.number, Decimal("59.50"), False)]
    assert ArrearsCostDebit.objects.count() == 0
    assert cost_states(fee, item) == (False, "open")


def test_costs_whose_arrears_were_paid_are_announced_again_with_later_arrears(with_costs, actor):
    from faktura.collection.models import ArrearsCostDebit

    customer, old, _, fee, item = with_costs
    enable(customer)
    arrears.announce_arrears_debits(actor=actor)
    payment = pay(actor, "119.00", customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(old.pk, Decimal("119.00"))], actor=actor
    )
    batch_on(TUESDAY, actor)  # the regular invoice only; the costs wait
    other = transfer_invoice_in_dunning(customer, actor)
    with clock.frozen(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)):
        later = due_invoice(customer, actor, price="20.00")
        assert arrears.announce_arrears_debits(actor=actor) == 1
        mail = announcement_mails()[-1]
        assert "- Mahnkosten: 5,00 €" in mail.body_text
        assert "- Rücklastschriftkosten: 3,00 €" in mail.body_text
        assert "Insgesamt buchen wir am 23.11.2026 43,70 €" in mail.body_text
        again = batch_on(dt.date(2026, 11, 23), actor)
    assert amounts(again) == [
        (later.number, Decimal("23.80"), False),
        (other.number, Decimal("19.90"), True),
    ]
    # The first announcement's rows stay uncollected; the second's ride on the debit.
    assert list(
        ArrearsCostDebit.objects.order_by("pk").values_list("item__end_to_end_id", flat=True)
    ) == [None, None, other.number, other.number]
    assert cost_states(fee, item) == (False, "open")
