"""Subscriptions told as stories: the customer acts on one day, the billing run on another.

Every step runs under the frozen clock of its day, through the services and
``run_billing`` only; the tests read what was made and compare exact amounts, service
periods, invoice dates and numbers. Unless a story says otherwise the customer is a
business (net prices, 19 % VAT on top) and the plan is billed monthly in advance.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.documents.pipeline import build_einvoice, snapshot_of
from faktura.invoicing.models import Invoice
from faktura.subscriptions import services
from faktura.subscriptions.models import (
    BillingSettings,
    Charge,
    Subscription,
)
from faktura.subscriptions.run import preview_billing, run_billing

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("billing-run")
STAFF = Actor(label="user:anna", user_id=None, roles=frozenset({"accountant"}))
D = dt.date


# --- the vocabulary of the stories ------------------------------------------------------------


@pytest.fixture
def member(company):
    """The product every plan here sells: a membership at 19 % VAT."""
    from faktura.catalog.services import create_product

    with clock.frozen(D(2026, 11, 16)):
        return create_product(
            actor=STAFF,
            sku="ABO",
            name="Mitgliedschaft",
            unit_price="0.00",
            tax_rate="de-19",
            kind="service",
        )


def M(value: str) -> Decimal:
    return Decimal(value)


def on(day: dt.date, call, /, **kwargs):
    """``call`` as if on ``day``."""
    with clock.frozen(day):
        return call(actor=STAFF, **kwargs)


def new_plan(code: str, price: str, **fields):
    fields.setdefault("interval", "month")
    with clock.frozen(D(2026, 11, 16)):
        return services.create_plan(
            actor=STAFF, code=code, name=f"Tarif {code}", sku="ABO", price=price, **fields
        )


def subscribe(day: dt.date, customer, plan, **fields) -> Subscription:
    fields.setdefault("starts_on", day)
    return on(day, services.create_subscription, customer_id=customer.pk, plan_id=plan.pk, **fields)


def bill(day: dt.date) -> list[Invoice]:
    """Run the billing of ``day`` on ``day``; the invoices it made, in number order."""
    before = set(Invoice.objects.values_list("pk", flat=True))
    with clock.frozen(day):
        run_billing(billing_date=day, actor=SYSTEM)
    return list(Invoice.objects.exclude(pk__in=before).order_by("pk"))


def lines(invoice: Invoice) -> list[tuple[str, dt.date | None, dt.date | None, Decimal]]:
    return [
        (ln.name, ln.service_date_start, ln.service_date_end, ln.net_amount)
        for ln in invoice.lines.order_by("position")
    ]


def totals(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    return invoice.tax_basis_total, invoice.tax_total, invoice.grand_total


def reload(subscription: Subscription) -> Subscription:
    return Subscription.objects.get(pk=subscription.pk)


# --- 1. month ends -------------------------------------------------------------------------


def test_monthly_in_advance_from_31_january_keeps_coming_back_to_the_31st(
    member, business_customer
):
    """A membership starting on 31 January 2027 is billed on 31 Jan, 28 Feb and 31 Mar.

    Periods are counted from the anchor, so February's short month does not pull the
    billing day to the 28th for ever: the March invoice is dated the 31st again. Each
    invoice carries its period as the line's and the invoice's Leistungszeitraum, and
    the runs in between make nothing.
    """
    plan = new_plan("monthly", "30.00")
    subscribe(D(2027, 1, 31), business_customer, plan)

    (jan,) = bill(D(2027, 1, 31))
    assert bill(D(2027, 2, 27)) == []
    (feb,) = bill(D(2027, 2, 28))
    assert bill(D(2027, 3, 30)) == []
    (mar,) = bill(D(2027, 3, 31))

    assert [lines(i) for i in (jan, feb, mar)] == [
        [("Tarif monthly", D(2027, 1, 31), D(2027, 2, 27), M("30.00"))],
        [("Tarif monthly", D(2027, 2, 28), D(2027, 3, 30), M("30.00"))],
        [("Tarif monthly", D(2027, 3, 31), D(2027, 4, 29), M("30.00"))],
    ]
    assert [i.issue_date for i in (jan, feb, mar)] == [
        D(2027, 1, 31),
        D(2027, 2, 28),
        D(2027, 3, 31),
    ]
    assert [totals(i) for i in (jan, feb, mar)] == [(M("30.00"), M("5.70"), M("35.70"))] * 3
    assert [(i.service_date_start, i.service_date_end) for i in (jan, feb, mar)] == [
        (D(2027, 1, 31), D(2027, 2, 27)),
        (D(2027, 2, 28), D(2027, 3, 30)),
        (D(2027, 3, 31), D(2027, 4, 29)),
    ]
    assert [i.number for i in (jan, feb, mar)] == [
        "RE-2027-00001",
        "RE-2027-00002",
        "RE-2027-00003",
    ]
    assert [i.status for i in (jan, feb, mar)] == ["finalized"] * 3


def test_monthly_from_31_january_in_a_leap_year(member, business_customer):
    """In 2028 February has 29 days: the second period starts on 29 February."""
    plan = new_plan("monthly", "30.00")
    subscribe(D(2028, 1, 31), business_customer, plan)
    (jan,) = bill(D(2028, 1, 31))
    assert bill(D(2028, 2, 28)) == []
    (feb,) = bill(D(2028, 2, 29))
    (mar,) = bill(D(2028, 3, 31))
    assert [lines(i)[0][1:3] for i in (jan, feb, mar)] == [
        (D(2028, 1, 31), D(2028, 2, 28)),
        (D(2028, 2, 29), D(2028, 3, 30)),
        (D(2028, 3, 31), D(2028, 4, 29)),
    ]


# --- 2., 3. other intervals ---------------------------------------------------------------


def test_yearly_plan_is_billed_once_a_year(member, business_customer):
    """A yearly plan from 1 March 2027: one invoice for the whole year, the next a year later.

    The year runs to 29 February 2028 (a leap year); no monthly run in between bills
    anything.
    """
    plan = new_plan("yearly", "360.00", interval="year")
    subscribe(D(2027, 3, 1), business_customer, plan)
    (first,) = bill(D(2027, 3, 1))
    assert lines(first) == [("Tarif yearly", D(2027, 3, 1), D(2028, 2, 29), M("360.00"))]
    assert totals(first) == (M("360.00"), M("68.40"), M("428.40"))
    for month in range(4, 13):
        assert bill(D(2027, month, 1)) == []
    assert bill(D(2028, 2, 29)) == []
    (second,) = bill(D(2028, 3, 1))
    assert lines(second) == [("Tarif yearly", D(2028, 3, 1), D(2029, 2, 28), M("360.00"))]
    assert second.issue_date == D(2028, 3, 1)


def test_quarterly_in_arrears_is_billed_the_day_after_the_quarter(member, business_customer):
    """Billed in arrears, the first quarter is invoiced on 1 April, when it was rendered."""
    plan = new_plan("quarterly", "90.00", interval="quarter", timing="in_arrears")
    subscribe(D(2027, 1, 1), business_customer, plan)
    assert bill(D(2027, 1, 1)) == []
    assert bill(D(2027, 3, 31)) == []
    (q1,) = bill(D(2027, 4, 1))
    assert lines(q1) == [("Tarif quarterly", D(2027, 1, 1), D(2027, 3, 31), M("90.00"))]
    assert totals(q1) == (M("90.00"), M("17.10"), M("107.10"))
    assert q1.issue_date == D(2027, 4, 1)
    assert bill(D(2027, 6, 30)) == []
    (q2,) = bill(D(2027, 7, 1))
    assert lines(q2) == [("Tarif quarterly", D(2027, 4, 1), D(2027, 6, 30), M("90.00"))]


# --- 4. trial ---------------------------------------------------------------------------------


def test_trial_then_first_invoice_with_the_setup_fee(member, business_customer):
    """14 days' trial from 1 January: nothing is billed until the 15th.

    The first invoice, on 15 January, bills the first full month from the end of the
    trial and the set-up fee (which has no service period of its own).
    """
    plan = new_plan("trial", "30.00", trial_days=14, setup_fee="25.00")
    subscription = subscribe(D(2027, 1, 1), business_customer, plan)
    assert subscription.status == "trialing"
    assert bill(D(2027, 1, 1)) == []
    assert bill(D(2027, 1, 14)) == []
    (first,) = bill(D(2027, 1, 15))
    assert lines(first) == [
        ("Tarif trial", D(2027, 1, 15), D(2027, 2, 14), M("30.00")),
        ("Einrichtungsgebühr: Tarif trial", None, None, M("25.00")),
    ]
    assert totals(first) == (M("55.00"), M("10.45"), M("65.45"))
    assert reload(subscription).status == "active"
    (second,) = bill(D(2027, 2, 15))
    assert lines(second) == [("Tarif trial", D(2027, 2, 15), D(2027, 3, 14), M("30.00"))]


# --- 5.–7. changes ----------------------------------------------------------------------------


def test_upgrade_mid_period_is_prorated_to_the_cent(member, business_customer):
    """Upgrade from 29.00 to 49.00 on 18 April, 13 of April's 30 days left.

    The unused 13/30 of the 29.00 billed come back (−12.57, 18–30 Apr) and the new plan
    is charged for the same days (49 × 13/30 = 21.23). The run of 18 April bills both
    lines at once; from 1 May the new price applies in full.
    """
    basic = new_plan("basic", "29.00")
    pro = new_plan("pro", "49.00")
    subscription = subscribe(D(2027, 4, 1), business_customer, basic)
    (april,) = bill(D(2027, 4, 1))
    assert totals(april) == (M("29.00"), M("5.51"), M("34.51"))

    quote = on(D(2027, 4, 18), services.change_subscription, subscription_id=subscription.pk,
               plan_id=pro.pk)  # fmt: skip
    assert quote.total == M("8.66")

    (change,) = bill(D(2027, 4, 18))
    assert lines(change) == [
        (
            "Gutschrift nicht genutzte Zeit: Tarif basic",
            D(2027, 4, 18),
            D(2027, 4, 30),
            M("-12.57"),
        ),
        ("Anteilig: Tarif pro", D(2027, 4, 18), D(2027, 4, 30), M("21.23")),
    ]
    assert totals(change) == (M("8.66"), M("1.65"), M("10.31"))
    assert (change.issue_date, change.status) == (D(2027, 4, 18), "finalized")
    # The credit is a negative quantity at a positive price: BR-27 forbids a negative BT-146.
    assert [(ln.quantity, ln.net_unit_price) for ln in change.lines.order_by("position")] == [
        (M("-1"), M("12.57")),
        (M("1"), M("21.23")),
    ]
    _, report = build_einvoice(snapshot_of(change))
    assert report.errors == ()
    (may,) = bill(D(2027, 5, 1))
    assert lines(may) == [("Tarif pro", D(2027, 5, 1), D(2027, 5, 31), M("49.00"))]


def test_downgrade_at_period_end(member, business_customer):
    """A downgrade asked for on 18 April takes effect on 1 May: April stays as billed.

    No proration and no invoice on the day of the request; May is billed at the lower
    price.
    """
    basic = new_plan("basic", "29.00")
    pro = new_plan("pro", "49.00")
    subscription = subscribe(D(2027, 4, 1), business_customer, pro)
    (april,) = bill(D(2027, 4, 1))
    quote = on(D(2027, 4, 18), services.change_subscription, subscription_id=subscription.pk,
               plan_id=basic.pk, effective="next_period")  # fmt: skip
    assert (quote.applies_on, quote.lines) == (D(2027, 5, 1), ())
    assert bill(D(2027, 4, 18)) == []
    assert bill(D(2027, 4, 30)) == []
    (may,) = bill(D(2027, 5, 1))
    assert lines(may) == [("Tarif basic", D(2027, 5, 1), D(2027, 5, 31), M("29.00"))]
    assert totals(may) == (M("29.00"), M("5.51"), M("34.51"))
    assert lines(april) == [("Tarif pro", D(2027, 4, 1), D(2027, 4, 30), M("49.00"))]
    assert reload(subscription).plan_id == basic.pk


def test_quantity_change_mid_period(member, business_customer):
    """Two seats at 10.00 become five on 21 April (10 of 30 days left).

    Credit 20.00 × 10/30 = −6.67, charge 5 × 10.00 × 10/30 = 16.67: the run of that day
    bills 10.00 net; May bills five seats.
    """
    plan = new_plan("seats", "10.00")
    subscription = subscribe(D(2027, 4, 1), business_customer, plan, quantity=2)
    (april,) = bill(D(2027, 4, 1))
    assert totals(april) == (M("20.00"), M("3.80"), M("23.80"))
    on(D(2027, 4, 21), services.change_subscription, subscription_id=subscription.pk, quantity=5)
    (change,) = bill(D(2027, 4, 21))
    assert lines(change) == [
        ("Gutschrift nicht genutzte Zeit: Tarif seats", D(2027, 4, 21), D(2027, 4, 30), M("-6.67")),
        ("Anteilig: Tarif seats", D(2027, 4, 21), D(2027, 4, 30), M("16.67")),
    ]
    assert totals(change) == (M("10.00"), M("1.90"), M("11.90"))
    (may,) = bill(D(2027, 5, 1))
    assert lines(may) == [("Tarif seats", D(2027, 5, 1), D(2027, 5, 31), M("50.00"))]
    assert may.lines.get().quantity == M("5")


# --- 8. pause -------------------------------------------------------------------------------


def test_pause_and_resume(member, business_customer):
    """Paused on 10 February (the paid February runs out), resumed on 15 April.

    No invoice on 1 March or 1 April; the resumption day is the new anchor, so the next
    invoices come on 15 April and 15 May, each for a full month from the 15th.
    """
    plan = new_plan("monthly", "30.00")
    subscription = subscribe(D(2027, 1, 1), business_customer, plan)
    bill(D(2027, 1, 1))
    bill(D(2027, 2, 1))
    paused = on(D(2027, 2, 10), services.pause_subscription, subscription_id=subscription.pk)
    assert paused.paused_from == D(2027, 3, 1)
    assert bill(D(2027, 3, 1)) == []
    assert bill(D(2027, 4, 1)) == []
    on(D(2027, 4, 15), services.resume_subscription, subscription_id=subscription.pk)
    (resumed,) = bill(D(2027, 4, 15))
    assert lines(resumed) == [("Tarif monthly", D(2027, 4, 15), D(2027, 5, 14), M("30.00"))]
    assert bill(D(2027, 5, 1)) == []
    (may,) = bill(D(2027, 5, 15))
    assert lines(may) == [("Tarif monthly", D(2027, 5, 15), D(2027, 6, 14), M("30.00"))]
    assert Invoice.objects.count() == 4


# --- 9. cancellation ------------------------------------------------------------------------


def test_notice_in_time_ends_with_the_minimum_term(member, business_customer):
    """Twelve months' minimum term from 1 January 2027, three months' notice.

    Notice received on 30 September reaches the end of the minimum term (§ 188 (2) BGB:
    30 Sep + 3 months = 30 December ≤ 31 December): the contract ends on 31 December
    2027. December is billed in full, January 2028 no more, and the subscription ends.
    """
    plan = new_plan("term", "30.00", minimum_term_months=12, notice_value=3)
    subscription = subscribe(D(2027, 1, 1), business_customer, plan)
    for month in range(1, 10):
        bill(D(2027, month, 1))
    cancelled = on(D(2027, 9, 30), services.cancel_subscription, subscription_id=subscription.pk)
    assert cancelled.ends_on == D(2027, 12, 31)
    assert cancelled.status == "cancelling"
    for month in (10, 11):
        bill(D(2027, month, 1))
    (december,) = bill(D(2027, 12, 1))
    assert lines(december) == [("Tarif term", D(2027, 12, 1), D(2027, 12, 31), M("30.00"))]
    assert bill(D(2028, 1, 1)) == []
    assert bill(D(2028, 2, 1)) == []
    assert Invoice.objects.count() == 12
    assert reload(subscription).status == "ended"


def test_late_notice_ends_mid_period_and_the_last_period_is_prorated(member, business_customer):
    """The same contract, notice received on 15 October 2027: too late for 31 December.

    After the minimum term the contract runs on indefinitely, so it ends when the notice
    period has run: 15 October + 3 months = 15 January 2028 (§ 188 (2) BGB). The customer
    owes January only up to and including the 15th: the last invoice bills 1–15 January,
    15/31 of 30.00 = 14.52, and nothing follows.
    """
    plan = new_plan("term", "30.00", minimum_term_months=12, notice_value=3)
    subscription = subscribe(D(2027, 1, 1), business_customer, plan)
    for month in range(1, 11):
        bill(D(2027, month, 1))
    cancelled = on(D(2027, 10, 15), services.cancel_subscription, subscription_id=subscription.pk)
    assert cancelled.ends_on == D(2028, 1, 15)
    bill(D(2027, 11, 1))
    (december,) = bill(D(2027, 12, 1))
    assert lines(december)[0][3] == M("30.00")
    (january,) = bill(D(2028, 1, 1))
    assert lines(january) == [("Tarif term", D(2028, 1, 1), D(2028, 1, 15), M("14.52"))]
    assert totals(january) == (M("14.52"), M("2.76"), M("17.28"))
    assert bill(D(2028, 1, 16)) == []
    assert bill(D(2028, 2, 1)) == []
    assert reload(subscription).status == "ended"


# --- 10. price change -----------------------------------------------------------------------


def test_scheduled_price_change(member, business_customer):
    """30.00 become 35.00 from 1 April, announced on 5 January (42 days' notice kept).

    February and March are billed at the old price, April at the new one.
    """
    plan = new_plan("monthly", "30.00")
    subscribe(D(2027, 1, 1), business_customer, plan)
    bill(D(2027, 1, 1))
    on(D(2027, 1, 5), services.schedule_price_change, plan_id=plan.pk,
       effective_from=D(2027, 4, 1), price="35.00")  # fmt: skip
    feb, mar, apr = (bill(D(2027, m, 1))[0] for m in (2, 3, 4))
    assert [lines(i)[0][3] for i in (feb, mar, apr)] == [M("30.00"), M("30.00"), M("35.00")]
    assert totals(apr) == (M("35.00"), M("6.65"), M("41.65"))


def test_price_change_needing_consent(member, business_customer, consumer):
    """A price change that needs consent applies only to the subscriber who consented.

    Both subscribe at 30.00 net (the consumer sees 35.70 gross); the new price of 35.00
    from 1 April needs consent. The consumer consents on 10 March and pays 41.65 gross
    from April; the business customer never consents and keeps paying 30.00.
    """
    plan = new_plan("monthly", "30.00")
    subscribe(D(2027, 1, 1), business_customer, plan)
    agreeing = subscribe(D(2027, 1, 1), consumer, plan)
    bill(D(2027, 1, 1))
    change = on(D(2027, 1, 5), services.schedule_price_change, plan_id=plan.pk,
                effective_from=D(2027, 4, 1), price="35.00", needs_consent=True)  # fmt: skip
    on(D(2027, 3, 10), services.confirm_price_change, subscription_id=agreeing.pk,
       price_change_id=change.pk)  # fmt: skip
    march = {i.customer_id: i for i in bill(D(2027, 3, 1))}
    april = {i.customer_id: i for i in bill(D(2027, 4, 1))}
    assert march[business_customer.pk].grand_total == M("35.70")
    assert march[consumer.pk].grand_total == M("35.70")
    assert april[business_customer.pk].grand_total == M("35.70")
    assert april[consumer.pk].grand_total == M("41.65")


# --- 11. course -----------------------------------------------------------------------------


def test_course_in_three_instalments(member, consumer):
    """A 300.00 course (1 February – 30 April), paid in three instalments of 100.00.

    Booked on 20 January, nothing is billed that day; on 1 February, 1 March and 1 April
    one invoice each, every line with the course's Leistungszeitraum.
    """
    course = on(D(2027, 1, 10), services.create_course, code="yoga", name="Yogakurs",
                sku="ABO", price="300.00", starts_on=D(2027, 2, 1), ends_on=D(2027, 4, 30),
                instalments=[(D(2027, 2, 1), "100.00"), (D(2027, 3, 1), "100.00"),
                             (D(2027, 4, 1), "100.00")])  # fmt: skip
    on(D(2027, 1, 20), services.book_course, customer_id=consumer.pk, course_id=course.pk)
    assert bill(D(2027, 1, 20)) == []
    invoices = [bill(D(2027, m, 1)) for m in (2, 3, 4)]
    assert [len(i) for i in invoices] == [1, 1, 1]
    assert [i[0].issue_date for i in invoices] == [D(2027, 2, 1), D(2027, 3, 1), D(2027, 4, 1)]
    assert [
        [(ln.name, ln.service_date_start, ln.service_date_end, ln.gross_amount)
         for ln in i[0].lines.all()]
        for i in invoices
    ] == [
        [(f"Yogakurs – Rate {n} von 3", D(2027, 2, 1), D(2027, 4, 30), M("100.00"))]
        for n in (1, 2, 3)
    ]  # fmt: skip
    assert [totals(i[0]) for i in invoices] == [(M("84.03"), M("15.97"), M("100.00"))] * 3
    assert bill(D(2027, 5, 1)) == []


# --- 12. gross prices -----------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "total", "vat"), [(1, "9.99", "1.60"), (3, "29.97", "4.79")])
def test_gross_consumer_price_stays_exact(member, consumer, quantity, total, vat):
    """9.99 gross a month for a consumer: every invoice is exactly 9.99 (VAT 1.60).

    The price is not turned into a rounded net price and back: three seats are 29.97,
    not 3 × 8.39 × 1.19 = 29.95.
    """
    plan = new_plan("app", "9.99", price_mode="gross")
    subscribe(D(2027, 1, 1), consumer, plan, quantity=quantity)
    invoices = [bill(D(2027, m, 1))[0] for m in (1, 2, 3)]
    assert [(i.grand_total, i.tax_total) for i in invoices] == [(M(total), M(vat))] * 3
    assert [i.price_mode for i in invoices] == ["gross"] * 3


# --- 13. two subscriptions, one charge --------------------------------------------------------


def test_two_subscriptions_and_a_one_off_charge_make_one_invoice(member, business_customer):
    """Two plans of one customer are billed on one invoice; a charge added on 10 January
    waits for it (1 February) instead of making an invoice of its own."""
    from faktura.catalog.services import create_product

    with clock.frozen(D(2027, 1, 1)):
        create_product(actor=STAFF, sku="SETUP", name="Einweisung", unit_price="50.00",
                       tax_rate="de-19", kind="service")  # fmt: skip
    a = subscribe(D(2027, 1, 1), business_customer, new_plan("a", "30.00"))
    subscribe(D(2027, 1, 1), business_customer, new_plan("b", "20.00"), quantity=2)
    (january,) = bill(D(2027, 1, 1))
    assert totals(january) == (M("70.00"), M("13.30"), M("83.30"))
    charge = on(D(2027, 1, 10), services.add_charge, customer_id=business_customer.pk,
                sku="SETUP", subscription_id=a.pk)  # fmt: skip
    assert charge.due_on == D(2027, 2, 1)
    assert bill(D(2027, 1, 10)) == []
    (february,) = bill(D(2027, 2, 1))
    assert lines(february) == [
        ("Tarif a", D(2027, 2, 1), D(2027, 2, 28), M("30.00")),
        ("Einweisung", None, None, M("50.00")),
        ("Tarif b", D(2027, 2, 1), D(2027, 2, 28), M("40.00")),
    ]
    assert totals(february) == (M("120.00"), M("22.80"), M("142.80"))
    assert Charge.objects.get(pk=charge.pk).invoice_id == february.pk


# --- 14. coupon -------------------------------------------------------------------------------


def test_coupon_for_three_periods(member, business_customer):
    """20 % off for three periods: January to March cost 24.00, April the full 30.00."""
    plan = new_plan("monthly", "30.00")
    on(D(2026, 12, 1), services.create_coupon, code="WELCOME", name="Willkommen",
       kind="percent", value="20", duration="repeating", periods=3)  # fmt: skip
    subscribe(D(2027, 1, 1), business_customer, plan, coupon_code="WELCOME")
    invoices = [bill(D(2027, m, 1))[0] for m in (1, 2, 3, 4, 5)]
    assert [lines(i)[0][3] for i in invoices] == [M("24.00")] * 3 + [M("30.00")] * 2
    assert [i.grand_total for i in invoices] == [M("28.56")] * 3 + [M("35.70")] * 2
    assert invoices[0].lines.get().discount_percent == M("20")


# --- 15. negative proration -----------------------------------------------------------------


def test_downgrade_mid_period_becomes_credit_on_the_next_invoice(member, business_customer):
    """Downgrade from 49.00 to 29.00 on 18 April (13 of 30 days left), setting "credit".

    Credit 49 × 13/30 = −21.23, charge 29 × 13/30 = 12.57: 8.66 in the customer's
    favour. The charge of the day is covered by the credit (an invoice of 0.00 that
    documents the change); the 8.66 left are used first on the May invoice:
    29.00 − 8.66 = 20.34 net.
    """
    BillingSettings.objects.create(negative_proration="credit")
    basic = new_plan("basic", "29.00")
    pro = new_plan("pro", "49.00")
    subscription = subscribe(D(2027, 4, 1), business_customer, pro)
    bill(D(2027, 4, 1))
    quote = on(D(2027, 4, 18), services.change_subscription, subscription_id=subscription.pk,
               plan_id=basic.pk)  # fmt: skip
    assert (quote.total, quote.refund) == (M("-8.66"), False)
    (change,) = bill(D(2027, 4, 18))
    assert lines(change) == [
        ("Anteilig: Tarif basic", D(2027, 4, 18), D(2027, 4, 30), M("12.57")),
        ("Gutschrift nicht genutzte Zeit: Tarif pro", D(2027, 4, 18), D(2027, 4, 30), M("-12.57")),
    ]
    assert totals(change) == (M("0.00"), M("0.00"), M("0.00"))
    assert change.status == "finalized"
    _, report = build_einvoice(snapshot_of(change))
    assert report.errors == ()
    (may,) = bill(D(2027, 5, 1))
    assert lines(may) == [
        ("Gutschrift nicht genutzte Zeit: Tarif pro", D(2027, 4, 18), D(2027, 4, 30), M("-8.66")),
        ("Tarif basic", D(2027, 5, 1), D(2027, 5, 31), M("29.00")),
    ]
    assert totals(may) == (M("20.34"), M("3.86"), M("24.20"))
    (june,) = bill(D(2027, 6, 1))
    assert totals(june) == (M("29.00"), M("5.51"), M("34.51"))


def test_downgrade_mid_period_refunded_by_credit_note(member, business_customer):
    """The same downgrade with the setting "refund": the 8.66 net (10.31 gross) come back
    at once by a credit note against April's invoice; no invoice on 18 April, May at the
    new price in full."""
    BillingSettings.objects.create(negative_proration="refund")
    basic = new_plan("basic", "29.00")
    pro = new_plan("pro", "49.00")
    subscription = subscribe(D(2027, 4, 1), business_customer, pro)
    (april,) = bill(D(2027, 4, 1))
    quote = on(D(2027, 4, 18), services.change_subscription, subscription_id=subscription.pk,
               plan_id=basic.pk)  # fmt: skip
    assert (quote.total, quote.refund) == (M("-8.66"), True)
    credit_note = Invoice.objects.get(original=april)
    assert (credit_note.kind, credit_note.status) == ("credit_note", "finalized")
    assert (credit_note.number, credit_note.issue_date) == ("GS-2027-00001", D(2027, 4, 18))
    assert totals(credit_note) == (M("8.66"), M("1.65"), M("10.31"))
    assert [ln.net_amount for ln in credit_note.lines.all()] == [M("8.66")]
    assert bill(D(2027, 4, 18)) == []
    (may,) = bill(D(2027, 5, 1))
    assert lines(may) == [("Tarif basic", D(2027, 5, 1), D(2027, 5, 31), M("29.00"))]
    assert totals(may) == (M("29.00"), M("5.51"), M("34.51"))


# --- 16. preview ----------------------------------------------------------------------------


def test_the_preview_equals_the_invoice_made_later(member, business_customer, consumer):
    """On 25 January staff preview the run of 1 February for the business customer:
    two subscriptions (one with a coupon of 10.00 off), a change from three seats to four
    from February on and a one-off charge. The run of 1 February makes exactly that
    invoice: lines, totals, VAT."""
    on(D(2026, 12, 1), services.create_coupon, code="TEN", name="Zehn", kind="amount",
       value="10.00", duration="forever")  # fmt: skip
    a = subscribe(D(2027, 1, 1), business_customer, new_plan("a", "33.33"), coupon_code="TEN")
    b = subscribe(D(2027, 1, 1), business_customer, new_plan("b", "12.50"), quantity=3)
    subscribe(D(2027, 1, 1), consumer, new_plan("c", "9.99", price_mode="gross"))
    bill(D(2027, 1, 1))
    on(D(2027, 1, 25), services.change_subscription, subscription_id=b.pk, quantity=4,
       effective="next_period")  # fmt: skip
    on(D(2027, 1, 25), services.add_charge, customer_id=business_customer.pk, sku="ABO",
       subscription_id=a.pk, name="Zusatzleistung", unit_price="17.17")  # fmt: skip
    with clock.frozen(D(2027, 1, 25)):
        preview = preview_billing(
            billing_date=D(2027, 2, 1), actor=SYSTEM, customer_ids=[business_customer.pk]
        )
    (shown,) = preview.invoices
    made = next(i for i in bill(D(2027, 2, 1)) if i.customer_id == business_customer.pk)

    def figures(lines_, taxes):
        return (
            [(ln.name, ln.quantity, ln.net_unit_price, ln.net_amount, ln.service_date_start,
              ln.service_date_end) for ln in lines_],
            sorted((t.rate, t.taxable_amount, t.tax_amount) for t in taxes),
        )  # fmt: skip

    assert figures(shown.preview_lines, shown.preview_taxes) == figures(
        made.lines.order_by("position"), made.taxes.all()
    )
    assert totals(shown) == totals(made)
    # 33.33 − 10.00 + 17.17 + 4 × 12.50 = 90.50; 19 % of it 17.195, rounded once
    assert totals(made) == (M("90.50"), M("17.20"), M("107.70"))


# --- 17. catch-up -----------------------------------------------------------------------------


def test_catch_up_after_an_outage(member, business_customer):
    """The run of 5 January was the last before an outage of 40 days.

    On 14 February one run bills every missed period once: the weekly plan's 12, 19, 26
    January, 2 and 9 February and the monthly plan's 5 February, one invoice per billing
    date, each with its own period, numbered without gaps. A second run that day makes
    nothing.
    """
    subscribe(D(2027, 1, 5), business_customer, new_plan("monthly", "30.00"))
    subscribe(D(2027, 1, 5), business_customer, new_plan("weekly", "10.00", interval="week"))
    (first,) = bill(D(2027, 1, 5))
    assert totals(first) == (M("40.00"), M("7.60"), M("47.60"))
    caught_up = bill(D(2027, 2, 14))
    assert [lines(i) for i in caught_up] == [
        [("Tarif weekly", D(2027, 1, 12), D(2027, 1, 18), M("10.00"))],
        [("Tarif weekly", D(2027, 1, 19), D(2027, 1, 25), M("10.00"))],
        [("Tarif weekly", D(2027, 1, 26), D(2027, 2, 1), M("10.00"))],
        [("Tarif weekly", D(2027, 2, 2), D(2027, 2, 8), M("10.00"))],
        [("Tarif monthly", D(2027, 2, 5), D(2027, 3, 4), M("30.00"))],
        [("Tarif weekly", D(2027, 2, 9), D(2027, 2, 15), M("10.00"))],
    ]
    assert [i.number for i in [first, *caught_up]] == [f"RE-2027-0000{n}" for n in range(1, 8)]
    # An invoice is dated the day it is issued, not the missed billing date.
    assert {i.issue_date for i in caught_up} == {D(2027, 2, 14)}
    assert bill(D(2027, 2, 14)) == []
    assert bill(D(2027, 2, 15)) == []


# --- beyond the list: an end before the paid period runs out ------------------------------


def test_termination_mid_year_refunds_the_unused_time(member, business_customer):
    """Staff terminate a yearly contract (365.00, paid on 1 January) on 15 September.

    16 September to 31 December (107 of 365 days) were paid and will not be rendered:
    107.00 net. With the setting "credit" that amount would wait for the customer's next
    invoice, but none will come: a credit that is never paid out would keep money the
    customer is owed (§ 812 BGB). So it is refunded at once by a credit note against the
    yearly invoice, and no run bills anything after.
    """
    yearly = new_plan("yearly", "365.00", interval="year")
    subscription = subscribe(D(2027, 1, 1), business_customer, yearly)
    (year,) = bill(D(2027, 1, 1))
    on(D(2027, 9, 15), services.terminate_subscription, subscription_id=subscription.pk,
       reason="Vertragsverletzung")  # fmt: skip
    assert reload(subscription).status == "ended"
    credit_note = Invoice.objects.get(original=year)
    assert (credit_note.kind, credit_note.issue_date) == ("credit_note", D(2027, 9, 15))
    assert totals(credit_note) == (M("107.00"), M("20.33"), M("127.33"))
    assert bill(D(2027, 9, 15)) == []
    assert bill(D(2028, 1, 1)) == []


def test_termination_credit_waits_for_the_next_invoice_of_another_subscription(
    member, business_customer
):
    """The same termination for a customer with a second, monthly subscription: the
    107.00 are used first on that subscription's next invoice (1 October: 3 × 30.00 −
    107.00 would be negative, so 90.00 of the credit are used and 17.00 wait for
    November)."""
    yearly = new_plan("yearly", "365.00", interval="year")
    subscription = subscribe(D(2027, 1, 1), business_customer, yearly)
    subscribe(D(2027, 1, 1), business_customer, new_plan("seats", "30.00"), quantity=3)
    for month in range(1, 10):
        bill(D(2027, month, 1))
    on(D(2027, 9, 15), services.terminate_subscription, subscription_id=subscription.pk,
       reason="Vertragsverletzung")  # fmt: skip
    assert not Invoice.objects.filter(kind="credit_note").exists()
    assert bill(D(2027, 9, 15)) == []
    (october,) = bill(D(2027, 10, 1))
    assert lines(october) == [
        ("Tarif seats", D(2027, 10, 1), D(2027, 10, 31), M("90.00")),
        ("Gutschrift nach Vertragsende: Tarif yearly", D(2027, 9, 16), D(2027, 12, 31),
         M("-90.00")),
    ]  # fmt: skip
    assert totals(october) == (M("0.00"), M("0.00"), M("0.00"))
    (november,) = bill(D(2027, 11, 1))
    assert lines(november) == [
        ("Gutschrift nach Vertragsende: Tarif yearly", D(2027, 9, 16), D(2027, 12, 31),
         M("-17.00")),
        ("Tarif seats", D(2027, 11, 1), D(2027, 11, 30), M("90.00")),
    ]  # fmt: skip
    assert totals(november) == (M("73.00"), M("13.87"), M("86.87"))


def test_consumer_upgrade_is_prorated_in_gross_prices(member, consumer):
    """A consumer upgrades from 9.99 to 19.99 gross on 18 April (13 of 30 days left).

    A consumer's invoice states gross prices, so the proration is computed on them:
    credit 9.99 × 13/30 = −4.33, charge 19.99 × 13/30 = 8.66; the invoice of the day is
    exactly 4.33 gross (3.64 net, 0.69 VAT), May exactly 19.99.
    """
    basic = new_plan("basic", "9.99", price_mode="gross")
    pro = new_plan("pro", "19.99", price_mode="gross")
    subscription = subscribe(D(2027, 4, 1), consumer, basic)
    bill(D(2027, 4, 1))
    on(D(2027, 4, 18), services.change_subscription, subscription_id=subscription.pk,
       plan_id=pro.pk)  # fmt: skip
    (change,) = bill(D(2027, 4, 18))
    assert [(ln.quantity, ln.gross_amount) for ln in change.lines.order_by("position")] == [
        (M("-1"), M("-4.33")),
        (M("1"), M("8.66")),
    ]
    assert totals(change) == (M("3.64"), M("0.69"), M("4.33"))
    (may,) = bill(D(2027, 5, 1))
    assert (may.grand_total, may.tax_total) == (M("19.99"), M("3.19"))


def test_upgrade_in_arrears_bills_the_used_days_and_starts_anew(member, business_customer):
    """Billed in arrears, nothing of April is paid when the customer upgrades on 16 April.

    The 15 days used on the old plan are billed by the run of that day (30.00 × 15/30 =
    15.00, 1–15 April); the new plan counts its months from 16 April and its first month
    is billed on 16 May. April is never billed a second time.
    """
    small = new_plan("small", "30.00", timing="in_arrears")
    large = new_plan("large", "60.00", timing="in_arrears")
    subscription = subscribe(D(2027, 4, 1), business_customer, small)
    on(D(2027, 4, 16), services.change_subscription, subscription_id=subscription.pk,
       plan_id=large.pk)  # fmt: skip
    (used,) = bill(D(2027, 4, 16))
    assert lines(used) == [("Anteilig: Tarif small", D(2027, 4, 1), D(2027, 4, 15), M("15.00"))]
    assert bill(D(2027, 5, 1)) == []
    (first,) = bill(D(2027, 5, 16))
    assert lines(first) == [("Tarif large", D(2027, 4, 16), D(2027, 5, 15), M("60.00"))]
    assert totals(first) == (M("60.00"), M("11.40"), M("71.40"))


def test_cancelled_quarter_in_arrears_bills_the_days_to_the_end(member, business_customer):
    """A quarterly contract billed in arrears, one month's notice received on 10 April.

    It ends on 10 May (§ 188 (2) BGB). The quarter is cut there: on 11 May the run bills
    1 April – 10 May, 40 of the quarter's 91 days (90.00 × 40/91 = 39.56), and the
    subscription has ended; nothing is billed on 1 July.
    """
    plan = new_plan("quarterly", "90.00", interval="quarter", timing="in_arrears")
    subscription = subscribe(D(2027, 1, 1), business_customer, plan)
    bill(D(2027, 4, 1))
    cancelled = on(D(2027, 4, 10), services.cancel_subscription, subscription_id=subscription.pk)
    assert cancelled.ends_on == D(2027, 5, 10)
    assert bill(D(2027, 5, 10)) == []
    (last,) = bill(D(2027, 5, 11))
    assert lines(last) == [("Tarif quarterly", D(2027, 4, 1), D(2027, 5, 10), M("39.56"))]
    assert totals(last) == (M("39.56"), M("7.52"), M("47.08"))
    assert reload(subscription).status == "ended"
    assert bill(D(2027, 7, 1)) == []


def test_catch_up_bills_each_missed_period_with_its_own_terms(member, business_customer):
    """Nothing ran from 1 January to 10 April. Meanwhile a coupon (50 % for two periods)
    and a price change (40.00 from 1 March) applied: the catch-up bills January and
    February at 15.00, March and April at 40.00, one invoice per period, as the runs of
    those days would have."""
    plan = new_plan("monthly", "30.00")
    on(D(2026, 12, 1), services.create_coupon, code="HALF", name="Halber Preis",
       kind="percent", value="50", duration="repeating", periods=2)  # fmt: skip
    subscribe(D(2027, 1, 1), business_customer, plan, coupon_code="HALF")
    on(D(2027, 1, 5), services.schedule_price_change, plan_id=plan.pk,
       effective_from=D(2027, 3, 1), price="40.00")  # fmt: skip
    caught_up = bill(D(2027, 4, 10))
    assert [lines(i)[0][1:] for i in caught_up] == [
        (D(2027, 1, 1), D(2027, 1, 31), M("15.00")),
        (D(2027, 2, 1), D(2027, 2, 28), M("15.00")),
        (D(2027, 3, 1), D(2027, 3, 31), M("40.00")),
        (D(2027, 4, 1), D(2027, 4, 30), M("40.00")),
    ]
    (may,) = bill(D(2027, 5, 1))
    assert lines(may)[0][3] == M("40.00")


def test_the_preview_shows_a_held_credit_as_the_run_uses_it(member, business_customer):
    """After the downgrade of 18 April (setting "credit") 8.66 wait for May: the preview
    of 1 May, made on 25 April, shows the May invoice the run then makes, credit line
    (a negative quantity) included."""
    basic = new_plan("basic", "29.00")
    pro = new_plan("pro", "49.00")
    subscription = subscribe(D(2027, 4, 1), business_customer, pro)
    bill(D(2027, 4, 1))
    on(D(2027, 4, 18), services.change_subscription, subscription_id=subscription.pk,
       plan_id=basic.pk)  # fmt: skip
    bill(D(2027, 4, 18))
    with clock.frozen(D(2027, 4, 25)):
        (shown,) = preview_billing(billing_date=D(2027, 5, 1), actor=SYSTEM).invoices
    (may,) = bill(D(2027, 5, 1))
    assert [(ln.quantity, ln.net_amount) for ln in shown.preview_lines] == [
        (ln.quantity, ln.net_amount) for ln in may.lines.order_by("position")
    ]
    assert totals(shown) == totals(may) == (M("20.34"), M("3.86"), M("24.20"))
