"""The subscription services: exact prorations, contract ends, pauses, courses, coupons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.sales.services import place_order
from faktura.subscriptions import services
from faktura.subscriptions.models import (
    BilledPeriod,
    BillingSettings,
    Charge,
    Discount,
    Notice,
    Subscription,
)
from tests.invoicing.helpers import line

pytestmark = pytest.mark.django_db

NOV_1 = dt.date(2026, 11, 1)
NOV_11 = dt.date(2026, 11, 11)  # day 11 of a 30-day period: 20 days remain
NOV_30 = dt.date(2026, 11, 30)
DEC_1 = dt.date(2026, 12, 1)


@pytest.fixture
def product(company, actor):
    from faktura.catalog.services import create_product

    return create_product(
        actor=actor, sku="ABO", name="Mitgliedschaft", unit_price="30.00", tax_rate="de-19"
    )


def plan(actor, code, price, *, interval="month", **kw):
    return services.create_plan(
        actor=actor, code=code, name=code.capitalize(), sku="ABO", interval=interval,
        price=price, **kw,
    )  # fmt: skip


def subscribe(actor, customer, the_plan, **kw):
    kw.setdefault("starts_on", NOV_1)
    return services.create_subscription(
        actor=actor, customer_id=customer.pk, plan_id=the_plan.pk, **kw
    )


def billed(subscription, actor, amount, *, start=NOV_1, end=NOV_30, finalize=False, mode="net"):
    """Record period 0 as billed (what the billing run writes) on a real invoice."""
    draft = place_order(
        customer_id=subscription.customer_id,
        actor=actor,
        lines=[line(price=amount, name="Abo")],
        price_mode=mode,
    )
    invoice = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor) if finalize else draft
    BilledPeriod.objects.create(
        subscription=subscription,
        period_start=start,
        period_end=end,
        period_index=0,
        invoice=invoice,
        amount=Decimal(amount),
    )
    Subscription.objects.filter(pk=subscription.pk).update(next_period_index=1)
    return invoice


def lines_of(quote):
    return [(ln.kind, ln.service_start, ln.service_end, ln.amount) for ln in quote.lines]


def charges_of(subscription):
    return [
        (c.kind, c.service_start, c.service_end, c.quantity * c.unit_price)
        for c in Charge.objects.filter(subscription=subscription).order_by("pk")
    ]


# --- prorations -------------------------------------------------------------------------


def test_an_upgrade_on_day_11_credits_20_00_and_charges_33_33(business_customer, actor, product):
    basic, pro = plan(actor, "basic", "30.00"), plan(actor, "pro", "50.00")
    sub = subscribe(actor, business_customer, basic)
    billed(sub, actor, "30.00")
    change = {"actor": actor, "subscription_id": sub.pk, "plan_id": pro.pk, "on": NOV_11}

    quote = services.change_subscription(**change, dry_run=True)

    expected = [
        ("proration_credit", NOV_11, NOV_30, Decimal("-20.00")),
        ("proration_charge", NOV_11, NOV_30, Decimal("33.33")),
    ]
    assert lines_of(quote) == expected
    assert quote.total == Decimal("13.33")
    assert quote.price_mode == "net"
    assert not Charge.objects.filter(subscription=sub).exists()  # a dry run writes nothing
    assert services.change_subscription(**change) == quote
    assert charges_of(sub) == expected
    credit, charge = Charge.objects.filter(subscription=sub).order_by("pk")
    assert credit.name == "Gutschrift nicht genutzte Zeit: Basic"
    assert charge.name == "Anteilig: Pro"
    assert {credit.due_on, charge.due_on} == {NOV_11}
    sub.refresh_from_db()
    assert (sub.plan_id, sub.next_period_index, sub.next_billing_on) == (pro.pk, 1, DEC_1)


def test_a_gross_consumer_plan_prorates_in_gross(consumer, actor, product):
    small = plan(actor, "small", "9.99", price_mode="gross")
    large = plan(actor, "large", "19.99", price_mode="gross")
    sub = subscribe(actor, consumer, small)
    billed(sub, actor, "9.99", mode="gross")
    quote = services.change_subscription(
        actor=actor, subscription_id=sub.pk, plan_id=large.pk, on=NOV_11
    )
    # 9.99 × 20/30 = 6.66; 19.99 × 20/30 = 13.3266… → 13.33, each rounded once.
    assert [ln.amount for ln in quote.lines] == [Decimal("-6.66"), Decimal("13.33")]
    assert set(Charge.objects.values_list("price_mode", flat=True)) == {"gross"}


def test_a_quantity_change_prorates_the_difference(business_customer, actor, product):
    basic = plan(actor, "basic", "30.00")
    sub = subscribe(actor, business_customer, basic, quantity="2")
    billed(sub, actor, "60.00")
    quote = services.change_subscription(
        actor=actor, subscription_id=sub.pk, quantity="3", on=NOV_11, dry_run=True
    )
    assert [ln.amount for ln in quote.lines] == [Decimal("-40.00"), Decimal("60.00")]


def test_a_downgrade_with_refund_is_paid_back_by_a_credit_note(business_customer, actor, product):
    BillingSettings.objects.create(negative_proration="refund")
    basic, pro = plan(actor, "basic", "30.00"), plan(actor, "pro", "50.00")
    sub = subscribe(actor, business_customer, pro)
    invoice = billed(sub, actor, "50.00", finalize=True)
    change = {"actor": actor, "subscription_id": sub.pk, "plan_id": basic.pk, "on": NOV_11}
    quote = services.change_subscription(**change, dry_run=True)
    assert quote.refund
    assert quote.total == Decimal("-13.33")
    assert services.change_subscription(**change) == quote
    charge = Charge.objects.get(subscription=sub)
    assert charge.unit_price == Decimal("-13.33")
    credit_note = charge.credit_note
    assert credit_note.kind == "credit_note"
    assert credit_note.status == "finalized"
    assert credit_note.original_id == invoice.pk
    assert credit_note.grand_total == Decimal("15.86")  # 13.33 net + 19 % VAT


def test_a_downgrade_with_credit_keeps_both_charges(business_customer, actor, product):
    basic, pro = plan(actor, "basic", "30.00"), plan(actor, "pro", "50.00")
    sub = subscribe(actor, business_customer, pro)
    billed(sub, actor, "50.00", finalize=True)
    services.change_subscription(actor=actor, subscription_id=sub.pk, plan_id=basic.pk, on=NOV_11)
    assert [a for *_, a in charges_of(sub)] == [Decimal("-33.33"), Decimal("20.00")]
    assert not Charge.objects.filter(credit_note__isnull=False).exists()


def test_a_new_interval_credits_and_starts_a_full_period(business_customer, actor, product):
    basic = plan(actor, "basic", "30.00")
    yearly = plan(actor, "yearly", "300.00", interval="year")
    sub = subscribe(actor, business_customer, basic)
    billed(sub, actor, "30.00")
    quote = services.change_subscription(
        actor=actor, subscription_id=sub.pk, plan_id=yearly.pk, on=NOV_11
    )
    assert lines_of(quote) == [("proration_credit", NOV_11, NOV_30, Decimal("-20.00"))]
    sub.refresh_from_db()
    assert (sub.billing_anchor, sub.next_period_index, sub.next_billing_on) == (NOV_11, 0, NOV_11)


def test_an_unbilled_period_switches_without_proration(business_customer, actor, product):
    basic, pro = plan(actor, "basic", "30.00"), plan(actor, "pro", "50.00")
    sub = subscribe(actor, business_customer, basic, starts_on=dt.date(2026, 11, 16))
    quote = services.change_subscription(actor=actor, subscription_id=sub.pk, plan_id=pro.pk)
    assert quote.lines == ()
    sub.refresh_from_db()
    assert sub.plan_id == pro.pk
    assert not Charge.objects.exists()


def test_in_arrears_the_used_days_are_charged_and_the_new_plan_starts(
    business_customer, actor, product
):
    basic = plan(actor, "basic", "30.00", timing="in_arrears")
    pro = plan(actor, "pro", "50.00", timing="in_arrears")
    sub = subscribe(actor, business_customer, basic)
    quote = services.change_subscription(
        actor=actor, subscription_id=sub.pk, plan_id=pro.pk, on=NOV_11
    )
    last = dt.date(2026, 11, 10)
    assert lines_of(quote) == [("proration_charge", NOV_1, last, Decimal("10.00"))]
    sub.refresh_from_db()
    assert (sub.plan_id, sub.billing_anchor, sub.next_period_index) == (pro.pk, NOV_11, 0)
    assert sub.next_billing_on == dt.date(2026, 12, 11)  # in arrears: after the period


def test_a_change_for_the_next_period_is_scheduled(business_customer, actor, product):
    basic, pro = plan(actor, "basic", "30.00"), plan(actor, "pro", "50.00")
    sub = subscribe(actor, business_customer, basic)
    billed(sub, actor, "30.00")
    quote = services.change_subscription(
        actor=actor, subscription_id=sub.pk, plan_id=pro.pk, effective="next_period"
    )
    assert quote.applies_on == DEC_1
    assert quote.lines == ()
    sub.refresh_from_db()
    assert (sub.plan_id, sub.scheduled_plan_id, sub.scheduled_change_on) == (
        basic.pk,
        pro.pk,
        DEC_1,
    )


# --- creating subscriptions -----------------------------------------------------------------


def test_consumers_are_refused_terms_309_forbids(consumer, business_customer, actor, product):
    long = plan(actor, "long", "30.00", minimum_term_months=24, notice_value=3)
    with pytest.raises(InvalidInput) as refused:
        subscribe(actor, consumer, long)
    assert refused.value.code == "terms_not_allowed_for_consumers"
    assert "§ 309 Nr. 9 BGB" in refused.value.message
    assert "Kündigungsfrist darf höchstens einen Monat" in refused.value.message
    assert not Subscription.objects.exists()
    assert subscribe(actor, business_customer, long).status == "active"


def test_a_trial_moves_the_anchor_and_the_setup_fee(business_customer, actor, product):
    basic = plan(actor, "basic", "30.00", trial_days=14, setup_fee="49.00")
    sub = subscribe(actor, business_customer, basic, starts_on=dt.date(2026, 11, 16))
    assert sub.status == "trialing"
    assert sub.trial_ends_on == dt.date(2026, 11, 29)
    assert sub.billing_anchor == sub.next_billing_on == NOV_30
    fee = Charge.objects.get(subscription=sub)
    assert (fee.kind, fee.unit_price, fee.due_on, fee.service_start) == (
        "setup_fee",
        Decimal("49.00"),
        NOV_30,
        None,
    )


def test_direct_debit_needs_a_mandate(business_customer, actor, product):
    basic = plan(actor, "basic", "30.00")
    with pytest.raises(StateConflict) as refused:
        subscribe(actor, business_customer, basic, payment_method="direct_debit")
    assert refused.value.code == "mandate_required"


def test_the_external_reference_makes_creation_idempotent(
    business_customer, consumer, actor, product
):
    basic = plan(actor, "basic", "30.00")
    first = subscribe(actor, business_customer, basic, external_reference="shop-1")
    again = subscribe(actor, business_customer, basic, external_reference="shop-1")
    assert again.pk == first.pk
    assert Subscription.objects.count() == 1
    with pytest.raises(StateConflict) as refused:
        subscribe(actor, consumer, basic, external_reference="shop-1")
    assert refused.value.code == "subscription_reference_reused"


def test_a_price_change_lies_in_the_future_once_per_day(actor, product):
    basic = plan(actor, "basic", "30.00")
    with pytest.raises(InvalidInput) as refused:
        services.schedule_price_change(
            actor=actor, plan_id=basic.pk, effective_from=clock.today(), price="35.00"
        )
    assert refused.value.code == "effective_date_not_in_future"
    services.schedule_price_change(
        actor=actor, plan_id=basic.pk, effective_from=dt.date(2027, 1, 1), price="35.00"
    )
    with pytest.raises(StateConflict) as twice:
        services.schedule_price_change(
            actor=actor, plan_id=basic.pk, effective_from=dt.date(2027, 1, 1), price="36.00"
        )
    assert twice.value.code == "price_change_exists"


def test_a_price_with_five_decimals_is_refused(actor, product):
    with pytest.raises(InvalidInput) as refused:
        plan(actor, "odd", "9.99999")
    assert refused.value.code == "too_many_decimals"


# --- courses --------------------------------------------------------------------------------


def course(actor, instalments=()):
    return services.create_course(
        actor=actor, code="yoga", name="Yoga", sku="ABO", price="300.00",
        starts_on=dt.date(2027, 1, 10), ends_on=dt.date(2027, 3, 28), instalments=instalments,
    )  # fmt: skip


def test_instalments_must_add_up_to_the_course_price(actor, product):
    with pytest.raises(InvalidInput) as refused:
        course(actor, [(dt.date(2027, 1, 1), "100.00"), (dt.date(2027, 2, 1), "100.00")])
    assert refused.value.code == "instalments_do_not_add_up"


def test_a_booking_makes_one_charge_per_instalment(consumer, actor, product):
    yoga = course(
        actor,
        [
            (dt.date(2026, 11, 1), "100.00"),  # before the booking: due at booking
            (dt.date(2027, 1, 1), "100.00"),
            (dt.date(2027, 2, 1), "100.00"),
        ],
    )
    booking = services.book_course(actor=actor, customer_id=consumer.pk, course_id=yoga.pk)
    assert (booking.plan_id, booking.billing_anchor, booking.next_billing_on) == (
        None,
        dt.date(2026, 11, 16),
        None,
    )
    charges = Charge.objects.filter(subscription=booking).order_by("instalment")
    assert [(c.name, c.due_on, c.unit_price) for c in charges] == [
        ("Yoga – Rate 1 von 3", dt.date(2026, 11, 16), Decimal("100.00")),
        ("Yoga – Rate 2 von 3", dt.date(2027, 1, 1), Decimal("100.00")),
        ("Yoga – Rate 3 von 3", dt.date(2027, 2, 1), Decimal("100.00")),
    ]
    assert {(c.kind, c.service_start, c.service_end) for c in charges} == {
        ("instalment", dt.date(2027, 1, 10), dt.date(2027, 3, 28))
    }


def test_a_course_without_instalments_is_charged_at_booking(consumer, actor, product):
    booking = services.book_course(actor=actor, customer_id=consumer.pk, course_id=course(actor).pk)
    charge = Charge.objects.get(subscription=booking)
    assert (charge.due_on, charge.unit_price) == (dt.date(2026, 11, 16), Decimal("300.00"))


# --- cancellation and termination -----------------------------------------------------------


@pytest.fixture
def yearly_contract(business_customer, actor, product):
    terms = plan(actor, "fitness", "30.00", minimum_term_months=12, notice_value=1)
    return subscribe(actor, business_customer, terms, starts_on=dt.date(2026, 2, 1))


def test_notice_in_the_minimum_term_ends_it_with_the_term(yearly_contract, actor):
    sub = services.cancel_subscription(
        actor=actor, subscription_id=yearly_contract.pk, received_on=dt.date(2026, 3, 15)
    )
    assert (sub.ends_on, sub.status, sub.notice_received_on) == (
        dt.date(2027, 1, 31),
        "cancelling",
        dt.date(2026, 3, 15),
    )


def test_an_earlier_end_is_refused_with_the_earliest_date(yearly_contract, actor):
    with pytest.raises(InvalidInput) as refused:
        services.cancel_subscription(
            actor=actor, subscription_id=yearly_contract.pk, end_on=dt.date(2026, 12, 31)
        )
    assert refused.value.code == "end_before_earliest_allowed"
    assert "31.01.2027" in refused.value.message


def test_the_reason_of_a_notice_goes_into_the_audit_entry(yearly_contract, actor):
    with pytest.raises(InvalidInput) as refused:
        services.cancel_subscription(
            actor=actor, subscription_id=yearly_contract.pk, reason="Umzug\x00"
        )
    assert refused.value.code == "text_not_printable"
    assert not AuditEntry.objects.filter(action="subscription.cancelled").exists()
    services.cancel_subscription(
        actor=actor, subscription_id=yearly_contract.pk, reason="  Umzug ins Ausland "
    )
    entry = AuditEntry.objects.get(action="subscription.cancelled")
    assert entry.data["reason"] == "Umzug ins Ausland"


def test_notice_after_the_minimum_term_runs_one_month(yearly_contract, actor):
    with clock.frozen(dt.date(2027, 3, 20)):
        sub = services.cancel_subscription(
            actor=actor, subscription_id=yearly_contract.pk, received_on=dt.date(2027, 3, 10)
        )
    assert sub.ends_on == dt.date(2027, 4, 10)


def test_termination_credits_what_was_billed_beyond_the_end(business_customer, actor, product):
    sub = subscribe(actor, business_customer, plan(actor, "basic", "30.00"))
    billed(sub, actor, "30.00")
    sub = services.terminate_subscription(
        actor=actor, subscription_id=sub.pk, on=dt.date(2026, 11, 10), reason="Umzug"
    )
    assert (sub.status, sub.ends_on, sub.next_billing_on) == ("ended", dt.date(2026, 11, 10), None)
    assert charges_of(sub) == [("proration_credit", NOV_11, NOV_30, Decimal("-20.00"))]
    assert AuditEntry.objects.filter(action="subscription.terminated").count() == 1


# --- pause and resume ------------------------------------------------------------------------


def test_a_pause_waits_for_the_paid_period_and_a_resume_re_anchors(
    business_customer, actor, product
):
    sub = subscribe(actor, business_customer, plan(actor, "basic", "30.00"))
    billed(sub, actor, "30.00")
    sub = services.pause_subscription(actor=actor, subscription_id=sub.pk)
    assert (sub.paused_from, sub.status, sub.next_billing_on) == (DEC_1, "paused", None)
    with pytest.raises(StateConflict):
        services.pause_subscription(actor=actor, subscription_id=sub.pk)
    resumed = dt.date(2027, 1, 10)
    sub = services.resume_subscription(actor=actor, subscription_id=sub.pk, on=resumed)
    assert (sub.billing_anchor, sub.next_period_index, sub.paused_from, sub.status) == (
        resumed,
        0,
        None,
        "active",
    )
    assert sub.next_billing_on == resumed


# --- coupons, one-off charges, consent -------------------------------------------------------


def test_coupon_rules(business_customer, actor, product):
    basic, pro = plan(actor, "basic", "30.00"), plan(actor, "pro", "50.00")
    sub = subscribe(actor, business_customer, basic)
    services.create_coupon(
        actor=actor, code="pro10", name="10 %", kind="percent", value="10", duration="forever",
        plan_ids=[pro.pk],
    )  # fmt: skip
    services.create_coupon(
        actor=actor, code="old", name="alt", kind="amount", value="5.00", duration="once",
        redeemable_until=dt.date(2026, 11, 15),
    )  # fmt: skip
    services.create_coupon(
        actor=actor, code="all", name="3 Monate", kind="percent", value="20",
        duration="repeating", periods=3,
    )  # fmt: skip
    for code, expected in (("pro10", "coupon_not_for_plan"), ("old", "coupon_expired")):
        with pytest.raises(StateConflict) as refused:
            services.apply_coupon(actor=actor, subscription_id=sub.pk, code=code)
        assert refused.value.code == expected
    services.apply_coupon(actor=actor, subscription_id=sub.pk, code="all")
    with pytest.raises(StateConflict) as twice:
        services.apply_coupon(actor=actor, subscription_id=sub.pk, code="all")
    assert twice.value.code == "discount_exists"
    assert Discount.objects.get().coupon.code == "all"


def test_a_one_off_charge_waits_for_the_next_billing_date(business_customer, actor, product):
    sub = subscribe(actor, business_customer, plan(actor, "basic", "30.00"))
    billed(sub, actor, "30.00")
    Subscription.objects.filter(pk=sub.pk).update(next_billing_on=DEC_1)
    charge = services.add_charge(
        actor=actor, customer_id=business_customer.pk, sku="ABO", name="Handtuch", unit_price="4.50"
    )
    assert (charge.kind, charge.due_on, charge.unit_price) == ("one_off", DEC_1, Decimal("4.50"))


def test_consent_to_a_price_change_only_before_it_applies(business_customer, actor, product):
    basic = plan(actor, "basic", "30.00")
    sub = subscribe(actor, business_customer, basic)
    change = services.schedule_price_change(
        actor=actor, plan_id=basic.pk, effective_from=dt.date(2027, 1, 1), price="35.00",
        needs_consent=True,
    )  # fmt: skip
    notice = services.confirm_price_change(
        actor=actor, subscription_id=sub.pk, price_change_id=change.pk
    )
    assert notice.consented_at is not None
    assert Notice.objects.count() == 1
    other = services.schedule_price_change(
        actor=actor, plan_id=basic.pk, effective_from=dt.date(2026, 12, 1), price="33.00"
    )
    with clock.frozen(DEC_1), pytest.raises(StateConflict) as late:
        services.confirm_price_change(actor=actor, subscription_id=sub.pk, price_change_id=other.pk)
    assert late.value.code == "consent_window_closed"


# --- permissions ----------------------------------------------------------------------------

VIEWER = Actor(label="user:vera", user_id=None, roles=frozenset({"viewer"}))
CALLS = {
    "create_plan": {"code": "x", "name": "x", "sku": "ABO", "interval": "month", "price": "1"},
    "schedule_price_change": {"plan_id": 1, "effective_from": "2027-01-01", "price": "1"},
    "create_course": {
        "code": "x",
        "name": "x",
        "sku": "ABO",
        "price": "1",
        "starts_on": "2027-01-01",
        "ends_on": "2027-01-02",
    },
    "create_coupon": {
        "code": "x",
        "name": "x",
        "kind": "percent",
        "value": "1",
        "duration": "once",
    },
    "create_subscription": {"customer_id": 1, "plan_id": 1},
    "book_course": {"customer_id": 1, "course_id": 1},
    "change_subscription": {"subscription_id": 1, "quantity": "2"},
    "pause_subscription": {"subscription_id": 1},
    "resume_subscription": {"subscription_id": 1},
    "cancel_subscription": {"subscription_id": 1},
    "undo_cancellation": {"subscription_id": 1},
    "change_own_subscription": {"subscription_id": 1, "quantity": "2"},
    "pause_own_subscription": {"subscription_id": 1},
    "resume_own_subscription": {"subscription_id": 1},
    "cancel_own_subscription": {"subscription_id": 1},
    "undo_own_cancellation": {"subscription_id": 1},
    "terminate_subscription": {"subscription_id": 1, "reason": "x"},
    "add_charge": {"customer_id": 1, "sku": "ABO"},
    "apply_coupon": {"subscription_id": 1, "code": "x"},
    "confirm_price_change": {"subscription_id": 1, "price_change_id": 1},
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_viewer_is_refused_every_service(company, name):
    with pytest.raises(PermissionRefused) as refused:
        getattr(services, name)(actor=VIEWER, **CALLS[name])
    assert refused.value.code == "permission_denied"
