"""The subscription part of `faktura demo`: plans, a course, a coupon and ~35 subscriptions.

The subscriptions are started, paused, cancelled and billed day by day in the demo's
history, interleaved with the demo's orders (``DemoSubscriptions.on_day``), so invoice
numbers and issue dates rise together. Periods due on the demo's "today" are left for
the user's `faktura billing-run`. Loaded once: when the demo plans exist, nothing here
runs again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

from faktura.catalog.models import Product, TaxRate
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.money import round_money
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice
from faktura.subscriptions import run, services
from faktura.subscriptions.models import Coupon, Course, PaymentMethod, Plan, Subscription
from faktura.subscriptions.periods import add_months

MONTHLY = "MITGLIED-MONAT"
YEARLY = "FIRMEN-JAHR"
QUARTERLY = "SUPPORT-QUARTAL"
COURSE = "LOHN-2026"
COUPON = "WILLKOMMEN20"

# sku, name, description, unit, price mode, price
PRODUCTS = [
    (
        "ABO-FIRMA",
        "Firmenmitgliedschaft",
        "Jährliche Mitgliedschaft für Unternehmen, bis zu 5 Plätze",
        "ANN",
        "net",
        "990.0000",
    ),
    (
        "SUPPORT-Q",
        "Support-Pauschale",
        "Fachlicher Support nach Aufwand, abgerechnet je Quartal",
        "LS",
        "net",
        "450.0000",
    ),
    (
        "KURS-LOHN",
        "Online-Lehrgang Lohnbuchhaltung",
        "12 Wochen, Live-Termine und Zertifikat",
        "C62",
        "gross",
        "447.0000",
    ),
]

# What one customer's subscription looks like: the plan, how its dates lie relative to
# the demo's today, and what happens to it in the demo's history.
Shape = str
CONSUMER_SHAPES: list[Shape] = [
    "due_today",
    "trialing",
    "active",
    "coupon",
    "paused",
    "cancelling",
    "ended",
    "due_today",
]
BUSINESS_SHAPES: list[Shape] = [
    "yearly",
    "monthly_due_today",
    "quarterly_due_today",
    "yearly_cancelling",
    "yearly_trialing",
    "paused",
    "ended",
    "quarterly",
]
DUE_TODAY = {"due_today", "coupon", "monthly_due_today", "quarterly_due_today"}
PAYMENT_METHODS = {
    "direct_debit": PaymentMethod.DIRECT_DEBIT,
    "provider": PaymentMethod.PROVIDER,
}
# Days after the issue date on which the demo's history sees an invoice paid.
PAID_AFTER = {"provider": 0, "direct_debit": 14, "transfer": 9}

Action = Callable[[], object]


@dataclass
class _Pending:
    invoice_id: int
    pay_on: dt.date
    method: str


class DemoSubscriptions:
    """Loads the subscription demo into the day-by-day history of `faktura demo`."""

    def __init__(self, *, today: dt.date, actor: Actor, history: bool) -> None:
        self.today = today
        self.actor = actor
        self.history = history
        self.system = Actor.system("billing-run")
        self.actions: dict[dt.date, list[Action]] = defaultdict(list)
        self.pending: list[_Pending] = []
        self.plans: dict[str, Plan] = {}
        self.course: Course | None = None
        self.first_day = today - dt.timedelta(days=120)

    @staticmethod
    def loaded() -> bool:
        return Plan.objects.filter(code=MONTHLY).exists()

    # --- master data ------------------------------------------------------------------------

    def _products(self) -> None:
        rates = {t.code: t for t in TaxRate.objects.all()}
        for sku, name, description, unit, mode, price in PRODUCTS:
            Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "description": description,
                    "unit_code": unit,
                    "price_mode": mode,
                    "unit_price": Decimal(price),
                    "tax_rate": rates["de-19"],
                    "kind": "service",
                },
            )

    def _master_data(self) -> None:
        self._products()
        actor = self.actor
        self.plans[MONTHLY] = services.create_plan(
            actor=actor,
            code=MONTHLY,
            name="Mitgliedschaft monatlich",
            sku="ABO-BASIS",
            interval=Plan.IntervalChoice.MONTH,
            price="29.00",
            price_mode="gross",
            trial_days=14,
            # No minimum term, one month's notice: lawful for consumers (§ 309 Nr. 9 BGB).
            notice_value=1,
            notice_unit=Plan.NoticeUnit.MONTHS,
        )
        self.plans[YEARLY] = services.create_plan(
            actor=actor,
            code=YEARLY,
            name="Firmenmitgliedschaft jährlich",
            sku="ABO-FIRMA",
            interval=Plan.IntervalChoice.YEAR,
            price="990.00",
            price_mode="net",
            minimum_term_months=12,
            notice_value=3,
            notice_unit=Plan.NoticeUnit.MONTHS,
            after_minimum_term=Plan.AfterMinimumTerm.RENEWS,
            renewal_months=12,
            renewal_notice_days=30,
        )
        self.plans[QUARTERLY] = services.create_plan(
            actor=actor,
            code=QUARTERLY,
            name="Support-Pauschale quartalsweise (nachträglich)",
            sku="SUPPORT-Q",
            interval=Plan.IntervalChoice.QUARTER,
            timing=Plan.TimingChoice.IN_ARREARS,
            price="450.00",
            price_mode="net",
            notice_value=1,
            notice_unit=Plan.NoticeUnit.MONTHS,
        )
        services.create_coupon(
            actor=actor,
            code=COUPON,
            name="Willkommensrabatt 20 % für 3 Monate",
            kind=Coupon.Kind.PERCENT,
            value="20",
            duration=Coupon.Duration.REPEATING,
            periods=3,
            plan_ids=[self.plans[MONTHLY].pk],
        )
        start = self.today - dt.timedelta(days=30)
        self.course = services.create_course(
            actor=actor,
            code=COURSE,
            name="Online-Lehrgang Lohnbuchhaltung",
            sku="KURS-LOHN",
            price="447.00",
            price_mode="gross",
            starts_on=start,
            ends_on=start + dt.timedelta(days=90),
            instalments=[
                (start, "149.00"),
                (self.today, "149.00"),
                (self.today + dt.timedelta(days=30), "149.00"),
            ],
        )

    # --- the plan of the history -----------------------------------------------------------

    def prepare(self, customers: list[Customer]) -> None:
        """Create the master data and schedule every subscription's story."""
        with self._at(self.first_day):
            self._master_data()
        consumers = [c for c in customers if c.kind == "consumer"][:16]
        businesses = [c for c in customers if c.kind == "business" and c.country == "DE"][:16]
        for group, shapes in ((consumers, CONSUMER_SHAPES), (businesses, BUSINESS_SHAPES)):
            due_today_methods: set[str] = set()
            counter = 0
            for customer in group:
                method = customer.preferred_payment_method
                if method in PAYMENT_METHODS and method not in due_today_methods:
                    # Every way of paying has a period due today, so `billing-run` and
                    # `sepa-batch` show each.
                    shape = shapes[0] if shapes is CONSUMER_SHAPES else shapes[1]
                else:
                    shape = shapes[counter % len(shapes)]
                    counter += 1
                if shape in DUE_TODAY:
                    due_today_methods.add(method)
                self._schedule(customer, shape, len(self.actions))
        # A town hall (XRechnung) pays support in arrears; a firm in Vienna (reverse charge).
        for customer in [c for c in customers if c.kind == "public_body"][:1]:
            self._schedule(customer, "quarterly", 1)
        for customer in [c for c in customers if c.country != "DE"][:1]:
            self._schedule(customer, "yearly", 2)
        course_takers = [c for c in consumers if c.preferred_payment_method == "transfer"][:3]
        for number, customer in enumerate(course_takers, start=1):
            self.actions[self.today - dt.timedelta(days=40 + number)].append(
                self._booking(customer, number)
            )

    def _method(self, customer: Customer) -> str:
        return PAYMENT_METHODS.get(customer.preferred_payment_method, PaymentMethod.TRANSFER)

    def _schedule(self, customer: Customer, shape: Shape, seed: int) -> None:
        today = self.today
        months = 1 + seed % 3
        plan, trial, coupon = MONTHLY, 14, None
        if shape in ("due_today", "monthly_due_today"):
            anchor = add_months(today, -months)
            trial = 14 if shape == "due_today" else 0
        elif shape == "coupon":
            anchor, coupon = add_months(today, -2), COUPON
        elif shape == "trialing":
            anchor = today + dt.timedelta(days=8 - seed % 5)
        elif shape == "active":
            anchor = add_months(today, -months) + dt.timedelta(days=9)
        elif shape == "paused":
            anchor, trial = add_months(today, -3) + dt.timedelta(days=4), 0
        elif shape == "cancelling":
            anchor = add_months(today, -2) + dt.timedelta(days=2)
        elif shape == "ended":
            anchor, trial = today - dt.timedelta(days=115), 0
        elif shape == "yearly":
            plan, trial, anchor = YEARLY, 0, today - dt.timedelta(days=100 - seed % 30)
        elif shape == "yearly_cancelling":
            plan, trial, anchor = YEARLY, 0, today - dt.timedelta(days=60)
        elif shape == "yearly_trialing":
            plan, anchor = YEARLY, today + dt.timedelta(days=11)
        elif shape == "quarterly_due_today":
            plan, trial, anchor = QUARTERLY, 0, add_months(today, -3)
        elif shape == "quarterly":
            plan, trial, anchor = QUARTERLY, 0, today - dt.timedelta(days=110)
        else:
            raise ValueError(shape)
        start = anchor - dt.timedelta(days=trial)
        start = max(start, self.first_day)
        reference = f"demo-abo-{customer.number}"
        method = self._method(customer)
        holder: dict[str, Subscription] = {}

        def create() -> None:
            saved_id = None
            if method == PaymentMethod.PROVIDER:
                saved_id = self._saved_method(customer)
            holder["subscription"] = services.create_subscription(
                actor=self.actor,
                customer_id=customer.pk,
                plan_id=self.plans[plan].pk,
                payment_method=method,
                starts_on=start,
                trial_days=(anchor - start).days,
                saved_payment_method_id=saved_id,
                coupon_code=coupon,
                external_reference=reference,
            )

        self.actions[start].append(create)
        if shape == "paused":
            self.actions[today - dt.timedelta(days=12)].append(
                lambda: services.pause_subscription(
                    actor=self.actor, subscription_id=holder["subscription"].pk
                )
            )
        elif shape in ("cancelling", "yearly_cancelling"):
            self.actions[today - dt.timedelta(days=4 + seed % 10)].append(
                lambda: services.cancel_subscription(
                    actor=self.actor, subscription_id=holder["subscription"].pk
                )
            )
        elif shape == "ended":
            # Ended by staff at the end of its second paid month: nothing is credited.
            last_day = add_months(anchor, 2) - dt.timedelta(days=1)
            self.actions[last_day].append(
                lambda: services.terminate_subscription(
                    actor=self.actor,
                    subscription_id=holder["subscription"].pk,
                    reason="Kunde ist umgezogen, Vertrag einvernehmlich beendet",
                    on=last_day,
                )
            )

    def _saved_method(self, customer: Customer) -> int:
        from faktura.payments.services import save_payment_method

        return save_payment_method(
            customer_id=customer.pk,
            actor=self.actor,
            provider_customer_id=f"cus_demo{customer.pk:04d}",
            payment_method_id=f"pm_demo{customer.pk:04d}",
            label="Visa •••• 4242",
        ).pk

    def _booking(self, customer: Customer, number: int) -> Action:
        def book() -> None:
            assert self.course is not None
            services.book_course(
                actor=self.actor,
                customer_id=customer.pk,
                course_id=self.course.pk,
                payment_method=self._method(customer),
                external_reference=f"demo-kurs-{customer.number}",
            )

        return book

    # --- the history, day by day ---------------------------------------------------------

    def _at(self, day: dt.date) -> AbstractContextManager[None]:
        # Before the day's orders (10:00 UTC), so numbers rise with the issue dates.
        if self.history:
            return clock.frozen(dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC))
        return nullcontext()

    def on_day(self, day: dt.date) -> None:
        """Do the day's actions, bill what is due and book the payments that came in."""
        with self._at(day):
            for action in self.actions.pop(day, []):
                action()
            if not self.history:
                return
            self._pay_due(day)
            if run.customers_due(day):
                billing = run.run_billing(billing_date=day, actor=self.system)
                self._remember(billing.pk, day)

    def finish(self) -> None:
        """Everything left for today: actions, the price change, a one-off charge."""
        for day in sorted(self.actions):
            for action in self.actions[day]:
                action()
        self.actions.clear()
        effective = add_months(self.today.replace(day=1), 3)
        services.schedule_price_change(
            actor=self.actor,
            plan_id=Plan.objects.get(code=MONTHLY).pk,
            effective_from=effective,
            price="32.00",
            needs_consent=True,
        )
        business = (
            Subscription.objects.filter(
                plan__code=MONTHLY, customer__kind="business", next_billing_on=self.today
            )
            .order_by("pk")
            .first()
        )
        if business is not None:
            services.add_charge(
                actor=self.actor,
                customer_id=business.customer_id,
                subscription_id=business.pk,
                sku="BERATUNG",
                name="Einrichtungsberatung Mitgliederportal",
                quantity="2",
            )

    def _remember(self, run_id: int, day: dt.date) -> None:
        invoices = (
            Invoice.objects.filter(billed_periods__run_id=run_id, status="finalized")
            .distinct()
            .values_list("pk", "payment_method")
        )
        for number, (pk, method) in enumerate(invoices):
            if method == "transfer" and (pk + number) % 4 == 0:
                continue  # some transfers stay open, the older ones overdue
            self.pending.append(
                _Pending(pk, day + dt.timedelta(days=PAID_AFTER.get(method, 9)), method)
            )

    def _pay_due(self, day: dt.date) -> None:
        from faktura.invoicing import selectors
        from faktura.payments.services import allocate_payment, record_payment

        due = [p for p in self.pending if p.pay_on <= day]
        self.pending = [p for p in self.pending if p.pay_on > day]
        for item in due:
            invoice = Invoice.objects.get(pk=item.invoice_id)
            amount = round_money(
                Decimal(str(selectors.settlement(invoice, today=day)["open_amount"]))
            )
            if amount <= 0:
                continue
            payment = record_payment(
                actor=self.actor,
                amount=amount,
                date=day,
                method=item.method,
                source="manual",
                reference=f"{invoice.number} Abo",
                payer_name=invoice.buyer.get("name", ""),
                customer_id=invoice.customer_id,
                external_id=f"demo-{invoice.number}",
            )
            allocate_payment(
                payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=self.actor
            )
