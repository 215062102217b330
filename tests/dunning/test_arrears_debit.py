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
from tests.payments.helpers import open_amount, pay

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
