"""Every state change of plans, courses and subscriptions: atomic, locked, audited.

Lock order (shared with invoicing and payments): the customer's row first, then the
subscription. Plans, courses and coupons are the company's master data and are audited
on the company chain; everything about a customer's subscription on the customer's.

Every service that changes what is billed when keeps ``Subscription.next_billing_on``
right (``billing.next_billing_on``), the index the daily billing run reads.

Prorations are written as ``Charge`` rows in the price mode of the customer's invoices
(gross for consumers, net otherwise), rounded to the cent once, so the run bills exactly
the amounts the quote showed. The credit for unused time is taken from what the period
was actually billed at (``BilledPeriod.amount``): a price change or coupon since then
cannot make the credit differ from the charge.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from faktura.catalog.models import Product
from faktura.collection import selectors as collection_selectors
from faktura.collection.models import Mandate
from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.money import (
    AMOUNT_PLACES,
    QUANTITY_PLACES,
    UNIT_PRICE_PLACES,
    ZERO,
    parse_amount,
    parse_decimal,
    round_money,
)
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments.models import SavedPaymentMethod
from faktura.subscriptions import billing, periods, terms
from faktura.subscriptions.models import (
    BilledPeriod,
    BillingSettings,
    Charge,
    Coupon,
    Course,
    CourseInstalment,
    Discount,
    Notice,
    PaymentMethod,
    Plan,
    PriceChange,
    PriceMode,
    Subscription,
)

ONE_DAY = dt.timedelta(days=1)
PLAN_OPERATION = "plan.manage"
SUBSCRIPTION_OPERATION = "subscription.manage"
# What a customer may do with their own subscription in the portal: the ``*_own_*``
# services. Staff front doors (back office, API, commands) call the staff services, which
# need SUBSCRIPTION_OPERATION, so that a route's operation is its service's.
SELF_SERVICE_OPERATION = "subscription.self_service"
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")
HUNDRED = Decimal(100)


# --- small helpers -------------------------------------------------------------------------


def _today() -> dt.date:
    return clock.today()


def _german(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def _date(value: object, *, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise InvalidInput(
            f"{field}: give a date, not a timestamp", code="invalid_date", field=field
        )
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{field}: {value!r} is not a date (YYYY-MM-DD)", code="invalid_date", field=field
        ) from None


def _code(value: str, *, field: str = "code") -> str:
    text = (value or "").strip()
    if not _SLUG.fullmatch(text):
        raise InvalidInput(
            f"{field}: {value!r} is not a code (letters, digits, - and _; at most 50)",
            code="invalid_code",
            field=field,
        )
    return text


def _name(value: str, *, field: str = "name") -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required.", code=f"missing_{field}", field=field)
    if len(text) > 200:
        raise InvalidInput(f"{field}: at most 200 characters", code=f"invalid_{field}", field=field)
    check_text(text, field=field)
    return text


def _price(value: object, *, field: str = "price") -> Decimal:
    return parse_decimal(value, places=UNIT_PRICE_PLACES, field=field)


def _quantity(value: object, *, field: str = "quantity") -> Decimal:
    quantity = parse_decimal(value, places=QUANTITY_PLACES, field=field, allow_negative=True)
    if quantity <= 0:
        raise InvalidInput(
            f"{field}: {quantity} must be above zero", code="invalid_quantity", field=field
        )
    return quantity


def _count(value: object, *, field: str, maximum: int = 32767) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidInput(
            f"{field}: {value!r} is not a whole number from 0 to {maximum}",
            code=f"invalid_{field}",
            field=field,
        )
    return value


def _choice(value: str, choices: Iterable[str], *, code: str, field: str) -> str:
    allowed = list(choices)
    if value not in allowed:
        raise InvalidInput(
            f"{field}: {value!r} is not one of {', '.join(allowed)}", code=code, field=field
        )
    return value


def _product(sku: str, *, field: str = "sku") -> Product:
    product = Product.objects.select_related("tax_rate").filter(sku=sku).first()
    if product is None:
        raise InvalidInput(
            f"{field}: no product with the SKU {sku!r}", code="unknown_product", field=field
        )
    if not product.active:
        raise InvalidInput(
            f"{field}: the product {sku} is inactive", code="product_inactive", field=field
        )
    return product


def _lock_customer(customer_id: int) -> Customer:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.", code="customer_not_found")
    return customer


def _lock_subscription(subscription_id: int) -> tuple[Customer, Subscription]:
    """Lock the customer's row, then the subscription, and read it again under the lock."""
    customer_id = (
        Subscription.objects.filter(pk=subscription_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        raise NotFound(
            f"Subscription {subscription_id} does not exist.", code="subscription_not_found"
        )
    customer = _lock_customer(customer_id)
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan__product__tax_rate", "course")
        .filter(pk=subscription_id, customer_id=customer.pk)
        .first()
    )
    if subscription is None:  # pragma: no cover - moved to another customer meanwhile
        raise NotFound(
            f"Subscription {subscription_id} does not exist.", code="subscription_not_found"
        )
    return customer, subscription


def _plans_of(subscription: Subscription) -> dict[int, Plan]:
    ids = {subscription.plan_id, subscription.scheduled_plan_id} - {None}
    return {p.pk: p for p in Plan.objects.select_related("product__tax_rate").filter(pk__in=ids)}


def _keep_next_billing(subscription: Subscription) -> None:
    subscription.next_billing_on = billing.next_billing_on(subscription, _plans_of(subscription))


def _nothing_left_to_bill(subscription: Subscription) -> bool:
    """Whether every period up to the contract's end is billed (charges aside)."""
    if subscription.plan_id is None:
        return True
    status, subscription.status = subscription.status, Subscription.Status.CANCELLING
    try:
        return billing.next_billing_on(subscription, _plans_of(subscription)) is None
    finally:
        subscription.status = status


def refresh_status(subscription: Subscription, today: dt.date) -> str:
    """Set the status the dates say (and return it); the run may call this too.

    Ended after ``ends_on`` once every period up to it is billed (an ended subscription
    is never billed again, so a last period billed in arrears must go out first);
    cancelling while an end is set; paused as soon as a pause is agreed, also while
    ``paused_from`` still lies ahead (the paid period runs out first); trialing until
    the billing anchor; else active.
    """
    status = Subscription.Status
    if subscription.ends_on is not None and subscription.course_id is None:
        ended = today > subscription.ends_on and _nothing_left_to_bill(subscription)
        subscription.status = status.ENDED if ended else status.CANCELLING
    elif subscription.paused_from is not None:
        subscription.status = status.PAUSED
    elif subscription.trial_ends_on is not None and today <= subscription.trial_ends_on:
        subscription.status = status.TRIALING
    else:
        subscription.status = status.ACTIVE
    return subscription.status


def _record(subscription: Subscription, actor: Actor, action: str, **data: object) -> None:
    audit.record(
        chain=audit.customer_chain(subscription.customer_id),
        actor=actor,
        action=action,
        object_type="subscription",
        object_id=subscription.pk,
        data=data,
    )


def _emit(event_type: str, subscription: Subscription, actor: Actor, **extra: object) -> None:
    """Tell the customer's product (outgoing webhook), inside the caller's transaction."""
    from faktura.webhooks.services import emit, subscription_data

    emit(event_type, {**subscription_data(subscription), **extra}, actor=actor)


def _record_company(
    actor: Actor, action: str, object_type: str, object_id: object, **data: object
) -> None:
    audit.record(
        chain=audit.COMPANY_CHAIN,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data,
    )


def _customer_mode(customer: Customer) -> str:
    return billing.price_mode_for(customer.is_consumer)


def _plan_price(plan: Plan, subscription: Subscription | None, day: dt.date, mode: str) -> Decimal:
    """The plan's price on ``day`` (price changes and consents included), in ``mode``."""
    context = billing.Context.load([subscription] if subscription is not None else [])
    context.plans.setdefault(plan.pk, plan)
    if plan.pk not in context.price_changes:
        context.price_changes[plan.pk] = list(
            PriceChange.objects.filter(plan_id=plan.pk).order_by("effective_from")
        )
    price = context.price_on(plan, subscription.pk if subscription else 0, day)
    return billing.convert_price(
        price, from_mode=plan.price_mode, to_mode=mode, product=plan.product
    )


def plan_price(plan: Plan, subscription: Subscription, day: dt.date) -> Decimal:
    """The plan's price per interval and unit on ``day`` for ``subscription`` (price changes
    and consents included), in the price mode of the customer's invoices."""
    return _plan_price(plan, subscription, day, _customer_mode(subscription.customer))


def _require_plan_subscription(subscription: Subscription) -> Plan:
    if subscription.plan is None:
        raise StateConflict(
            "A course booking has no plan to change, pause or cancel.",
            code="not_a_plan_subscription",
        )
    if subscription.status == Subscription.Status.ENDED:
        raise StateConflict("The subscription has ended.", code="subscription_ended")
    return subscription.plan


def _check_payment_method(
    customer: Customer,
    payment_method: str,
    mandate_id: int | None,
    today: dt.date,
    saved_payment_method_id: int | None = None,
) -> tuple[Mandate | None, SavedPaymentMethod | None]:
    """The mandate or the saved provider payment method the subscription is paid with."""
    if payment_method == PaymentMethod.PROVIDER:
        method = (
            SavedPaymentMethod.objects.filter(
                pk=saved_payment_method_id, customer_id=customer.pk, active=True
            ).first()
            if saved_payment_method_id is not None
            else SavedPaymentMethod.objects.filter(customer_id=customer.pk, active=True)
            .order_by("-pk")
            .first()
        )
        if method is None:
            raise StateConflict(
                f"{customer} has no active saved payment method"
                + (f" {saved_payment_method_id}" if saved_payment_method_id else "")
                + ": save one (Stripe) before choosing online payment.",
                code="saved_payment_method_required",
                field="saved_payment_method_id",
            )
        return None, method
    return _check_mandate(customer, payment_method, mandate_id, today), None


def _check_mandate(
    customer: Customer, payment_method: str, mandate_id: int | None, today: dt.date
) -> Mandate | None:
    _choice(
        payment_method,
        PaymentMethod.values,
        code="invalid_payment_method",
        field="payment_method",
    )
    if payment_method == PaymentMethod.DIRECT_DEBIT:
        if mandate_id is not None:
            mandate = Mandate.objects.filter(pk=mandate_id, customer_id=customer.pk).first()
            if mandate is None or not mandate.is_usable(today):
                raise StateConflict(
                    f"Mandate {mandate_id} is not a usable mandate of {customer}.",
                    code="mandate_required",
                    field="mandate_id",
                )
            return mandate
        mandate = collection_selectors.usable_mandate(customer.pk, on=today)
        if mandate is None:
            raise StateConflict(
                f"{customer} has no usable SEPA mandate: record one before choosing direct debit.",
                code="mandate_required",
                field="payment_method",
            )
        return mandate
    return None


# --- plans, price changes, courses, coupons -------------------------------------------------


def create_plan(
    *,
    actor: Actor,
    code: str,
    name: str,
    sku: str,
    interval: str,
    price: object,
    timing: str = Plan.TimingChoice.IN_ADVANCE,
    price_mode: str = PriceMode.NET,
    setup_fee: object = "0.00",
    trial_days: int = 0,
    minimum_term_months: int = 0,
    notice_value: int = 1,
    notice_unit: str = Plan.NoticeUnit.MONTHS,
    after_minimum_term: str = Plan.AfterMinimumTerm.INDEFINITE,
    renewal_months: int = 12,
    renewal_notice_days: int = 0,
) -> Plan:
    """A new plan (Tarif). Raises InvalidInput for any value it cannot bill or sell."""
    permissions.require(actor, PLAN_OPERATION)
    plan = Plan(
        code=_code(code),
        name=_name(name),
        interval=_choice(
            interval, Plan.IntervalChoice.values, code="invalid_interval", field="interval"
        ),
        timing=_choice(timing, Plan.TimingChoice.values, code="invalid_timing", field="timing"),
        price=_price(price),
        price_mode=_choice(
            price_mode, PriceMode.values, code="invalid_price_mode", field="price_mode"
        ),
        setup_fee=parse_amount(setup_fee, field="setup_fee"),
        trial_days=_count(trial_days, field="trial_days", maximum=366),
        minimum_term_months=_count(minimum_term_months, field="minimum_term_months", maximum=120),
        notice_value=_count(notice_value, field="notice_value", maximum=366),
        notice_unit=_choice(
            notice_unit, Plan.NoticeUnit.values, code="invalid_notice_unit", field="notice_unit"
        ),
        after_minimum_term=_choice(
            after_minimum_term,
            Plan.AfterMinimumTerm.values,
            code="invalid_after_minimum_term",
            field="after_minimum_term",
        ),
        renewal_months=_count(renewal_months, field="renewal_months", maximum=120),
        renewal_notice_days=_count(renewal_notice_days, field="renewal_notice_days", maximum=366),
        created_at=clock.now(),
    )
    if plan.after_minimum_term == Plan.AfterMinimumTerm.RENEWS and (
        plan.renewal_months == 0 or plan.minimum_term_months == 0
    ):
        raise InvalidInput(
            "A renewing contract needs a minimum term and a renewal term of at least a month.",
            code="invalid_renewal_months",
            field="renewal_months",
        )
    with transaction.atomic():
        plan.product = _product(sku)
        if Plan.objects.filter(code=plan.code).exists():
            raise InvalidInput(
                f"The plan code {plan.code} is taken.", code="plan_code_taken", field="code"
            )
        plan.save()
        _record_company(
            actor,
            "plan.created",
            "plan",
            plan.pk,
            code=plan.code,
            price=plan.price,
            price_mode=plan.price_mode,
            interval=plan.interval,
            timing=plan.timing,
        )
    return plan


def schedule_price_change(
    *,
    actor: Actor,
    plan_id: int,
    effective_from: object,
    price: object,
    needs_consent: bool = False,
    notice_days: int = 42,
) -> PriceChange:
    """A new price of a plan from a future date on; at most one change per plan and day."""
    permissions.require(actor, PLAN_OPERATION)
    effective = _date(effective_from, field="effective_from")
    new_price = _price(price)
    days = _count(notice_days, field="notice_days", maximum=366)
    if effective <= _today():
        raise InvalidInput(
            f"effective_from: {_german(effective)} must lie after today.",
            code="effective_date_not_in_future",
            field="effective_from",
        )
    with transaction.atomic():
        plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None:
            raise NotFound(f"Plan {plan_id} does not exist.", code="plan_not_found")
        if PriceChange.objects.filter(plan=plan, effective_from=effective).exists():
            raise StateConflict(
                f"{plan} has a price change on {_german(effective)} already.",
                code="price_change_exists",
                field="effective_from",
            )
        change = PriceChange.objects.create(
            plan=plan,
            effective_from=effective,
            price=new_price,
            needs_consent=bool(needs_consent),
            notice_days=days,
            created_at=clock.now(),
            created_by=actor.label,
        )
        _record_company(
            actor,
            "plan.price_change_scheduled",
            "plan",
            plan.pk,
            effective_from=effective,
            price=new_price,
            needs_consent=change.needs_consent,
        )
    return change


@dataclass(frozen=True)
class InstalmentRequest:
    due_on: object
    amount: object


def create_course(
    *,
    actor: Actor,
    code: str,
    name: str,
    sku: str,
    price: object,
    starts_on: object,
    ends_on: object,
    price_mode: str = PriceMode.GROSS,
    instalments: Sequence[InstalmentRequest | tuple[object, object]] = (),
) -> Course:
    """A course with fixed dates; its instalments (if any) must add up to its price."""
    permissions.require(actor, PLAN_OPERATION)
    start = _date(starts_on, field="starts_on")
    end = _date(ends_on, field="ends_on")
    if end < start:
        raise InvalidInput(
            "The course must not end before it starts.", code="invalid_period", field="ends_on"
        )
    total = parse_amount(price, field="price")
    rows = []
    for number, item in enumerate(instalments, start=1):
        due_on, amount = (item.due_on, item.amount) if isinstance(item, InstalmentRequest) else item
        where = f"instalments[{number - 1}]"
        value = parse_amount(amount, field=f"{where}.amount")
        if value <= 0:
            raise InvalidInput(
                f"{where}.amount must be above zero", code="invalid_amount", field=where
            )
        rows.append((number, _date(due_on, field=f"{where}.due_on"), value))
    if rows and sum((value for *_, value in rows), ZERO) != total:
        raise InvalidInput(
            f"The instalments add up to {sum((v for *_, v in rows), ZERO)}, "
            f"the course costs {total}.",
            code="instalments_do_not_add_up",
            field="instalments",
        )
    course = Course(
        code=_code(code),
        name=_name(name),
        price=total,
        price_mode=_choice(
            price_mode, PriceMode.values, code="invalid_price_mode", field="price_mode"
        ),
        starts_on=start,
        ends_on=end,
        created_at=clock.now(),
    )
    with transaction.atomic():
        course.product = _product(sku)
        if Course.objects.filter(code=course.code).exists():
            raise InvalidInput(
                f"The course code {course.code} is taken.", code="course_code_taken", field="code"
            )
        course.save()
        CourseInstalment.objects.bulk_create(
            CourseInstalment(course=course, number=n, due_on=d, amount=a) for n, d, a in rows
        )
        _record_company(
            actor,
            "course.created",
            "course",
            course.pk,
            code=course.code,
            price=total,
            instalments=[[n, d, a] for n, d, a in rows],
        )
    return course


def create_coupon(
    *,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    value: object,
    duration: str,
    periods: int | None = None,
    plan_ids: Sequence[int] = (),
    redeemable_until: object = None,
) -> Coupon:
    """A coupon: percent (≤ 100) or amount off, once, for ``periods`` periods, or for ever."""
    permissions.require(actor, PLAN_OPERATION)
    _choice(kind, Coupon.Kind.values, code="invalid_coupon", field="kind")
    _choice(duration, Coupon.Duration.values, code="invalid_coupon", field="duration")
    amount = parse_decimal(value, places=AMOUNT_PLACES, field="value")
    if amount <= 0 or (kind == Coupon.Kind.PERCENT and amount > HUNDRED):
        raise InvalidInput(
            f"value: {amount} is not a discount (above 0, at most 100 %)",
            code="invalid_coupon",
            field="value",
        )
    if duration == Coupon.Duration.REPEATING:
        if periods is None or _count(periods, field="periods") == 0:
            raise InvalidInput(
                "A repeating coupon needs a number of periods.",
                code="invalid_coupon",
                field="periods",
            )
    else:
        periods = None
    until = _date(redeemable_until, field="redeemable_until") if redeemable_until else None
    coupon = Coupon(
        code=_code(code),
        name=_name(name),
        kind=kind,
        value=amount,
        duration=duration,
        periods=periods,
        redeemable_until=until,
        created_at=clock.now(),
    )
    with transaction.atomic():
        plans = list(Plan.objects.filter(pk__in=list(plan_ids)))
        if len(plans) != len(set(plan_ids)):
            raise NotFound("A plan of plan_ids does not exist.", code="plan_not_found")
        if Coupon.objects.filter(code=coupon.code).exists():
            raise InvalidInput(
                f"The coupon code {coupon.code} is taken.", code="coupon_code_taken", field="code"
            )
        coupon.save()
        coupon.plans.set(plans)
        _record_company(
            actor,
            "coupon.created",
            "coupon",
            coupon.pk,
            code=coupon.code,
            kind=kind,
            value=amount,
            duration=duration,
            periods=periods,
            plans=sorted(p.code for p in plans),
        )
    return coupon


# --- subscriptions --------------------------------------------------------------------------


def create_subscription(
    *,
    actor: Actor,
    customer_id: int,
    plan_id: int,
    payment_method: str = PaymentMethod.TRANSFER,
    quantity: object = 1,
    starts_on: object = None,
    trial_days: int | None = None,
    mandate_id: int | None = None,
    saved_payment_method_id: int | None = None,
    coupon_code: str | None = None,
    external_reference: str = "",
) -> Subscription:
    """A customer's subscription to a plan; idempotent by ``external_reference``.

    With a trial, billing starts the day after the trial ends (the billing anchor); the
    set-up fee (if any) is due then too. Consumers cannot be bound by terms § 309 Nr. 9
    BGB forbids (``terms_not_allowed_for_consumers``).
    """
    permissions.require(actor, SUBSCRIPTION_OPERATION)
    amount = _quantity(quantity)
    reference = (external_reference or "").strip()
    if len(reference) > 100:
        raise InvalidInput(
            "external_reference: at most 100 characters",
            code="invalid_external_reference",
            field="external_reference",
        )
    check_text(reference, field="external_reference")
    with transaction.atomic():
        customer = _lock_customer(customer_id)
        today = _today()
        if reference:
            existing = Subscription.objects.filter(external_reference=reference).first()
            if existing is not None:
                if existing.customer_id == customer.pk and existing.plan_id == plan_id:
                    return existing
                raise StateConflict(
                    f"The external_reference {reference} belongs to another subscription.",
                    code="subscription_reference_reused",
                    field="external_reference",
                )
        plan = Plan.objects.select_related("product__tax_rate").filter(pk=plan_id).first()
        if plan is None:
            raise NotFound(f"Plan {plan_id} does not exist.", code="plan_not_found")
        if not plan.active:
            raise InvalidInput(f"{plan} is inactive.", code="plan_inactive", field="plan_id")
        if customer.is_consumer:
            violations = plan.contract_terms.violations_for_consumers()
            if violations:
                raise InvalidInput(
                    f"{plan} cannot be sold to consumers (§ 309 Nr. 9 BGB): "
                    + " ".join(violations),
                    code="terms_not_allowed_for_consumers",
                    field="plan_id",
                )
        mandate, saved_method = _check_payment_method(
            customer, payment_method, mandate_id, today, saved_payment_method_id
        )
        start = _date(starts_on, field="starts_on") if starts_on is not None else today
        days = plan.trial_days if trial_days is None else _count(trial_days, field="trial_days")
        trial_end = start + dt.timedelta(days=days - 1) if days > 0 else None
        subscription = Subscription(
            customer=customer,
            plan=plan,
            quantity=amount,
            starts_on=start,
            trial_ends_on=trial_end,
            billing_anchor=trial_end + ONE_DAY if trial_end else start,
            payment_method=payment_method,
            mandate=mandate,
            saved_payment_method=saved_method,
            external_reference=reference,
            created_at=clock.now(),
            created_by=actor.label,
        )
        refresh_status(subscription, today)
        _keep_next_billing(subscription)
        subscription.save()
        if plan.setup_fee > 0:
            Charge.objects.create(
                customer=customer,
                subscription=subscription,
                kind=Charge.Kind.SETUP_FEE,
                product=plan.product,
                name=f"Einrichtungsgebühr: {plan.name}",
                quantity=Decimal(1),
                unit_price=plan.setup_fee,
                price_mode=plan.price_mode,
                due_on=subscription.billing_anchor,
                created_at=clock.now(),
                created_by=actor.label,
            )
        _record(
            subscription,
            actor,
            "subscription.created",
            plan=plan.code,
            quantity=amount,
            starts_on=start,
            trial_ends_on=trial_end,
            billing_anchor=subscription.billing_anchor,
            payment_method=payment_method,
            external_reference=reference,
        )
        if coupon_code:
            _apply_coupon_locked(subscription, coupon_code, actor, today)
        _emit("subscription.created", subscription, actor)
    return subscription


def book_course(
    *,
    actor: Actor,
    customer_id: int,
    course_id: int,
    payment_method: str = PaymentMethod.TRANSFER,
    mandate_id: int | None = None,
    saved_payment_method_id: int | None = None,
    external_reference: str = "",
) -> Subscription:
    """Book a course: one charge per instalment (never due before today), or one for all."""
    permissions.require(actor, SUBSCRIPTION_OPERATION)
    reference = (external_reference or "").strip()
    check_text(reference, field="external_reference")
    with transaction.atomic():
        customer = _lock_customer(customer_id)
        today = _today()
        if reference:
            existing = Subscription.objects.filter(external_reference=reference).first()
            if existing is not None:
                if existing.customer_id == customer.pk and existing.course_id == course_id:
                    return existing
                raise StateConflict(
                    f"The external_reference {reference} belongs to another subscription.",
                    code="subscription_reference_reused",
                    field="external_reference",
                )
        course = Course.objects.select_related("product").filter(pk=course_id).first()
        if course is None:
            raise NotFound(f"Course {course_id} does not exist.", code="course_not_found")
        if not course.active or course.ends_on < today:
            raise InvalidInput(
                f"{course} cannot be booked (inactive or over).",
                code="course_inactive",
                field="course_id",
            )
        mandate, saved_method = _check_payment_method(
            customer, payment_method, mandate_id, today, saved_payment_method_id
        )
        booking = Subscription.objects.create(
            customer=customer,
            course=course,
            quantity=Decimal(1),
            status=Subscription.Status.ACTIVE,
            starts_on=today,
            billing_anchor=today,
            next_billing_on=None,
            payment_method=payment_method,
            mandate=mandate,
            saved_payment_method=saved_method,
            external_reference=reference,
            created_at=clock.now(),
            created_by=actor.label,
        )
        instalments = list(course.instalments.order_by("number"))
        common: dict[str, Any] = {
            "customer": customer,
            "subscription": booking,
            "kind": Charge.Kind.INSTALMENT,
            "product": course.product,
            "quantity": Decimal(1),
            "price_mode": course.price_mode,
            "service_start": course.starts_on,
            "service_end": course.ends_on,
            "created_at": clock.now(),
            "created_by": actor.label,
        }
        if instalments:
            Charge.objects.bulk_create(
                Charge(
                    **common,
                    name=f"{course.name} – Rate {i.number} von {len(instalments)}",
                    unit_price=i.amount,
                    due_on=max(i.due_on, today),
                    instalment=i.number,
                )
                for i in instalments
            )
        else:
            Charge.objects.create(
                **common, name=course.name, unit_price=course.price, due_on=today, instalment=1
            )
        _record(
            booking,
            actor,
            "course.booked",
            course=course.code,
            price=course.price,
            instalments=len(instalments) or 1,
            payment_method=payment_method,
        )
        _emit("subscription.created", booking, actor)
    return booking


# --- changes of plan and quantity -----------------------------------------------------------


@dataclass(frozen=True)
class QuoteLine:
    kind: str
    name: str
    service_start: dt.date | None
    service_end: dt.date | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    """What a change costs: the lines it adds to the next invoice and when it applies.

    ``price_mode`` is the mode of the amounts (that of the customer's invoices).
    ``refund`` is set when the (negative) total is paid back by a credit note against the
    period's invoice instead of waiting for the next invoice.
    """

    applies_on: dt.date
    price_mode: str
    lines: tuple[QuoteLine, ...] = ()
    refund: bool = False

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


@dataclass
class _Change:
    """A computed change: the quote and what to write."""

    quote: Quote
    updates: dict[str, Any] = field(default_factory=dict)
    refund_invoice: Invoice | None = None


def _billed_period(subscription: Subscription, start: dt.date) -> BilledPeriod | None:
    return (
        BilledPeriod.objects.select_related("invoice")
        .filter(subscription=subscription, period_start=start)
        .first()
    )


def _credit_line(billed: BilledPeriod, first_day: dt.date, name: str) -> QuoteLine | None:
    """The unused part of a billed period, from ``first_day`` to its end, as a credit."""
    if first_day > billed.period_end:
        return None
    start = max(first_day, billed.period_start)
    whole = periods.Period(start=billed.period_start, end=billed.period_end, index=0)
    credit = -round_money(periods.prorated(billed.amount, whole, start, billed.period_end))
    if credit == 0:
        return None
    return QuoteLine(
        kind=Charge.Kind.PRORATION_CREDIT,
        name=name,
        service_start=start,
        service_end=billed.period_end,
        quantity=Decimal(1),
        unit_price=credit,
        amount=credit,
    )


def _refunds(settings: BillingSettings, invoice: Invoice | None, *, always: bool = False) -> bool:
    return (
        (always or settings.negative_proration == BillingSettings.NegativeProration.REFUND)
        and invoice is not None
        and invoice.kind == Kind.INVOICE
        and invoice.status == Status.FINALIZED
    )


def _compute_change(
    subscription: Subscription,
    customer: Customer,
    new_plan: Plan,
    new_quantity: Decimal,
    effective: str,
    on: dt.date,
) -> _Change:
    old_plan = subscription.plan
    assert old_plan is not None
    mode = _customer_mode(customer)
    interval = periods.Interval(old_plan.interval)
    timing = periods.Timing(old_plan.timing)
    anchor = subscription.billing_anchor
    same_rhythm = (new_plan.interval, new_plan.timing) == (old_plan.interval, old_plan.timing)
    switch = {"plan": new_plan, "quantity": new_quantity}
    clear_schedule = {
        "scheduled_plan": None,
        "scheduled_quantity": None,
        "scheduled_change_on": None,
    }

    if effective == "next_period":
        current_index = periods.period_index_on(anchor, interval, on) if on >= anchor else -1
        index = max(subscription.next_period_index, current_index + 1)
        change_on = periods.period_start(anchor, interval, index)
        if subscription.ends_on is not None and change_on > subscription.ends_on:
            raise StateConflict(
                f"The contract ends on {_german(subscription.ends_on)}, before the next period.",
                code="change_after_end",
            )
        return _Change(
            Quote(applies_on=change_on, price_mode=mode),
            {
                "scheduled_plan": new_plan if new_plan.pk != old_plan.pk else None,
                "scheduled_quantity": new_quantity,
                "scheduled_change_on": change_on,
            },
        )

    if on < anchor:
        # Nothing has been billed yet (a trial): the new plan simply starts at the anchor.
        return _Change(Quote(applies_on=on, price_mode=mode), {**switch, **clear_schedule})
    current = periods.period_on(anchor, interval, on)
    if subscription.next_period_index < current.index:
        raise StateConflict(
            "Periods before the change are due but not billed yet; run the billing first.",
            code="billing_pending",
        )
    rhythm_reset: dict[str, Any] = {"billing_anchor": on, "next_period_index": 0}

    if timing == periods.Timing.IN_ARREARS:
        lines: list[QuoteLine] = []
        if on > current.start:
            old_price = _plan_price(old_plan, subscription, current.start, mode)
            used = round_money(
                periods.prorated(
                    old_price * subscription.quantity, current, current.start, on - ONE_DAY
                )
            )
            lines.append(
                QuoteLine(
                    kind=Charge.Kind.PRORATION_CHARGE,
                    name=f"Anteilig: {old_plan.name}",
                    service_start=current.start,
                    service_end=on - ONE_DAY,
                    quantity=Decimal(1),
                    unit_price=used,
                    amount=used,
                )
            )
        return _Change(
            Quote(applies_on=on, price_mode=mode, lines=tuple(lines)),
            {**switch, **clear_schedule, **rhythm_reset},
        )

    billed = _billed_period(subscription, current.start)
    if billed is None:
        updates = {**switch, **clear_schedule}
        if not same_rhythm:
            # The new interval counts its periods from the first one not billed.
            updates.update(billing_anchor=current.start, next_period_index=0)
        return _Change(Quote(applies_on=on, price_mode=mode), updates)

    mode = billed.invoice.price_mode or mode
    lines = []
    credit = _credit_line(billed, on, f"Gutschrift nicht genutzte Zeit: {old_plan.name}")
    if credit is not None:
        lines.append(credit)
    updates = {**switch, **clear_schedule}
    if same_rhythm:
        end = min(billed.period_end, current.end)
        if on <= end:
            new_price = _plan_price(new_plan, subscription, on, mode)
            charge = round_money(periods.prorated(new_price * new_quantity, current, on, end))
            if charge:
                lines.append(
                    QuoteLine(
                        kind=Charge.Kind.PRORATION_CHARGE,
                        name=f"Anteilig: {new_plan.name}",
                        service_start=on,
                        service_end=end,
                        quantity=Decimal(1),
                        unit_price=charge,
                        amount=charge,
                    )
                )
    else:
        updates.update(rhythm_reset)
    quote = Quote(applies_on=on, price_mode=mode, lines=tuple(lines))
    if quote.total < 0 and _refunds(BillingSettings.load(), billed.invoice):
        net = QuoteLine(
            kind=Charge.Kind.PRORATION_CREDIT,
            name=f"Erstattung nicht genutzte Zeit: {old_plan.name}",
            service_start=on,
            service_end=billed.period_end,
            quantity=Decimal(1),
            unit_price=quote.total,
            amount=quote.total,
        )
        return _Change(
            Quote(applies_on=on, price_mode=mode, lines=(net,), refund=True),
            updates,
            refund_invoice=billed.invoice,
        )
    return _Change(quote, updates)


def _credit_note_for(
    invoice: Invoice, amount: Decimal, mode: str, plan: Plan, actor: Actor, reason: str
) -> Invoice:
    """Finalize a credit note of ``amount`` (negative, in ``mode``) against ``invoice``.

    ``create_credit_note`` takes the gross amount the customer gets back; a net amount is
    grossed up with the plan's VAT rate first.
    """
    from faktura.invoicing import services as invoicing

    back = -amount
    if mode == PriceMode.NET:
        back = round_money(back * (1 + plan.product.tax_rate.rate / HUNDRED))
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk,
        actor=actor,
        amount=back,
        tax_rate=plan.product.tax_rate.code,
        reason=reason,
    )
    return invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)


def _write_lines(
    subscription: Subscription,
    customer: Customer,
    product: Product,
    quote: Quote,
    due_on: dt.date,
    actor: Actor,
    credit_note: Invoice | None = None,
) -> list[Charge]:
    return [
        Charge.objects.create(
            customer=customer,
            subscription=subscription,
            kind=line.kind,
            product=product,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            price_mode=quote.price_mode,
            service_start=line.service_start,
            service_end=line.service_end,
            due_on=due_on,
            credit_note=credit_note,
            created_at=clock.now(),
            created_by=actor.label,
        )
        for line in quote.lines
    ]


def change_subscription(
    *,
    actor: Actor,
    subscription_id: int,
    plan_id: int | None = None,
    quantity: object = None,
    effective: str = "now",
    on: object = None,
    dry_run: bool = False,
) -> Quote:
    """Staff change plan and/or quantity (``subscription.manage``); see ``_change``."""
    return _change(
        SUBSCRIPTION_OPERATION,
        actor=actor,
        subscription_id=subscription_id,
        plan_id=plan_id,
        quantity=quantity,
        effective=effective,
        on=on,
        dry_run=dry_run,
    )


def change_own_subscription(
    *,
    actor: Actor,
    subscription_id: int,
    plan_id: int | None = None,
    quantity: object = None,
    effective: str = "now",
    dry_run: bool = False,
) -> Quote:
    """The customer changes plan or quantity of their own subscription, from today
    (``subscription.self_service``, the portal); see ``_change``."""
    return _change(
        SELF_SERVICE_OPERATION,
        actor=actor,
        subscription_id=subscription_id,
        plan_id=plan_id,
        quantity=quantity,
        effective=effective,
        dry_run=dry_run,
    )


def _change(
    operation: str,
    *,
    actor: Actor,
    subscription_id: int,
    plan_id: int | None = None,
    quantity: object = None,
    effective: str = "now",
    on: object = None,
    dry_run: bool = False,
) -> Quote:
    """Change plan and/or quantity now (prorated) or from the next period on.

    ``now`` with the current period billed in advance: a credit for the unused part of
    what was billed and a charge for the new plan over the same days, both due on ``on``
    (a new interval: only the credit, and the new plan starts a full period on ``on``).
    Not billed yet: the plan is switched without proration. In arrears: the used part of
    the old plan is charged and the new plan starts on ``on``. A negative total with the
    setting "refund" is paid back at once by a credit note against the period's invoice.
    ``dry_run`` returns the same quote and writes nothing. A pending scheduled change is
    replaced. ``operation`` is what the caller's front door is (staff or self-service).
    """
    permissions.require(actor, operation)
    _choice(effective, ("now", "next_period"), code="invalid_effective", field="effective")
    new_quantity = _quantity(quantity) if quantity is not None else None
    with transaction.atomic():
        customer, subscription = _lock_subscription(subscription_id)
        permissions.require_own(actor, subscription.customer_id)
        old_plan = _require_plan_subscription(subscription)
        if subscription.paused_from is not None:
            raise StateConflict(
                "Resume the subscription before changing it.", code="subscription_paused"
            )
        today = _today()
        day = _date(on, field="on") if on is not None else today
        new_plan = old_plan
        if plan_id is not None and plan_id != old_plan.pk:
            found = Plan.objects.select_related("product__tax_rate").filter(pk=plan_id).first()
            if found is None:
                raise NotFound(f"Plan {plan_id} does not exist.", code="plan_not_found")
            if not found.active:
                raise InvalidInput(f"{found} is inactive.", code="plan_inactive", field="plan_id")
            if customer.is_consumer and found.contract_terms.violations_for_consumers():
                raise InvalidInput(
                    f"{found} cannot be sold to consumers (§ 309 Nr. 9 BGB): "
                    + " ".join(found.contract_terms.violations_for_consumers()),
                    code="terms_not_allowed_for_consumers",
                    field="plan_id",
                )
            new_plan = found
        quantity_after = new_quantity if new_quantity is not None else subscription.quantity
        if new_plan.pk == old_plan.pk and quantity_after == subscription.quantity:
            raise InvalidInput(
                "Neither plan nor quantity differ from the current ones.",
                code="nothing_to_change",
            )
        planned = _compute_change(subscription, customer, new_plan, quantity_after, effective, day)
        if dry_run:
            return planned.quote
        credit_note = None
        if planned.refund_invoice is not None:
            credit_note = _credit_note_for(
                planned.refund_invoice,
                planned.quote.total,
                planned.quote.price_mode,
                old_plan,
                actor,
                f"Erstattung nicht genutzte Zeit: {old_plan.name}",
            )
        charges = _write_lines(
            subscription, customer, old_plan.product, planned.quote, day, actor, credit_note
        )
        for name, value in planned.updates.items():
            setattr(subscription, name, value)
        refresh_status(subscription, today)
        _keep_next_billing(subscription)
        subscription.save()
        _record(
            subscription,
            actor,
            "subscription.changed" if effective == "now" else "subscription.change_scheduled",
            plan_before=old_plan.code,
            plan=new_plan.code,
            quantity=quantity_after,
            applies_on=planned.quote.applies_on,
            charges=[c.pk for c in charges],
            total=planned.quote.total,
            credit_note=credit_note.number if credit_note else None,
        )
        _emit("subscription.updated", subscription, actor, applies_on=planned.quote.applies_on)
    return planned.quote


# --- pause, resume, end -------------------------------------------------------------------


def pause_subscription(*, actor: Actor, subscription_id: int, on: object = None) -> Subscription:
    """Staff pause a subscription (``subscription.manage``); see ``_pause``."""
    return _pause(SUBSCRIPTION_OPERATION, actor=actor, subscription_id=subscription_id, on=on)


def pause_own_subscription(*, actor: Actor, subscription_id: int) -> Subscription:
    """The customer pauses their own subscription from today (``subscription.self_service``)."""
    return _pause(SELF_SERVICE_OPERATION, actor=actor, subscription_id=subscription_id)


def _pause(
    operation: str, *, actor: Actor, subscription_id: int, on: object = None
) -> Subscription:
    """Pause from the first period not paid yet on or after ``on`` (the paid one runs out).

    Billed in arrears, the pause starts on ``on`` itself: the days used are billed to then.
    The status is ``paused`` from this call on, also while ``paused_from`` lies ahead.
    """
    permissions.require(actor, operation)
    with transaction.atomic():
        _customer, subscription = _lock_subscription(subscription_id)
        permissions.require_own(actor, subscription.customer_id)
        plan = _require_plan_subscription(subscription)
        if subscription.paused_from is not None:
            raise StateConflict("The subscription is paused already.", code="subscription_paused")
        if subscription.ends_on is not None:
            raise StateConflict(
                "A cancelled subscription is not paused.", code="subscription_cancelled"
            )
        today = _today()
        day = _date(on, field="on") if on is not None else today
        anchor = subscription.billing_anchor
        interval = periods.Interval(plan.interval)
        if day < anchor:
            paused_from = anchor
        elif plan.timing == Plan.TimingChoice.IN_ARREARS:
            paused_from = day
        else:
            current = periods.period_on(anchor, interval, day)
            index = max(
                subscription.next_period_index,
                current.index if day == current.start else current.index + 1,
            )
            paused_from = periods.period_start(anchor, interval, index)
        subscription.paused_from = paused_from
        refresh_status(subscription, today)
        _keep_next_billing(subscription)
        subscription.save()
        _record(subscription, actor, "subscription.paused", paused_from=paused_from)
        _emit("subscription.updated", subscription, actor)
    return subscription


def resume_subscription(*, actor: Actor, subscription_id: int, on: object = None) -> Subscription:
    """Staff resume a paused subscription (``subscription.manage``); see ``_resume``."""
    return _resume(SUBSCRIPTION_OPERATION, actor=actor, subscription_id=subscription_id, on=on)


def resume_own_subscription(*, actor: Actor, subscription_id: int) -> Subscription:
    """The customer resumes their own subscription today (``subscription.self_service``)."""
    return _resume(SELF_SERVICE_OPERATION, actor=actor, subscription_id=subscription_id)


def _resume(
    operation: str, *, actor: Actor, subscription_id: int, on: object = None
) -> Subscription:
    """Resume a paused subscription: a new billing anchor on ``on``, a full period from then.

    Resumed before the pause began, nothing is re-anchored: the pause is simply called off.
    A change scheduled during the pause applies from the resumption on.
    """
    permissions.require(actor, operation)
    with transaction.atomic():
        _customer, subscription = _lock_subscription(subscription_id)
        permissions.require_own(actor, subscription.customer_id)
        _require_plan_subscription(subscription)
        if subscription.paused_from is None:
            raise StateConflict("The subscription is not paused.", code="subscription_not_paused")
        today = _today()
        day = _date(on, field="on") if on is not None else today
        paused_from = subscription.paused_from
        if day >= paused_from:
            subscription.billing_anchor = day
            subscription.next_period_index = 0
            if (
                subscription.scheduled_change_on is not None
                and subscription.scheduled_change_on <= day
            ):
                if subscription.scheduled_plan_id is not None:
                    subscription.plan_id = subscription.scheduled_plan_id
                if subscription.scheduled_quantity is not None:
                    subscription.quantity = subscription.scheduled_quantity
                subscription.scheduled_plan = None
                subscription.scheduled_quantity = None
                subscription.scheduled_change_on = None
        subscription.paused_from = None
        refresh_status(subscription, today)
        _keep_next_billing(subscription)
        subscription.save()
        _record(
            subscription,
            actor,
            "subscription.resumed",
            paused_from=paused_from,
            billing_anchor=subscription.billing_anchor,
        )
        _emit("subscription.updated", subscription, actor)
    return subscription


def _credit_overhang(
    subscription: Subscription,
    customer: Customer,
    plan: Plan,
    ends_on: dt.date,
    today: dt.date,
    actor: Actor,
) -> list[Charge]:
    """Credit what was billed for days after ``ends_on``.

    By credit note with "refund", or when the customer gets no further invoice to use
    the credit on.
    """
    settings = BillingSettings.load()
    mode = _customer_mode(customer)
    # A credit kept for the next invoice would never be paid out to a customer who gets
    # none: what was paid for the time after the end is then refunded by a credit note.
    next_invoice_ahead = (
        Subscription.objects.filter(customer=customer, plan__isnull=False, ends_on__isnull=True)
        .exclude(pk=subscription.pk)
        .exclude(status=Subscription.Status.ENDED)
        .exists()
    )
    written: list[Charge] = []
    for billed in (
        BilledPeriod.objects.select_related("invoice")
        .filter(subscription=subscription, period_end__gt=ends_on)
        .order_by("period_start")
    ):
        line = _credit_line(billed, ends_on + ONE_DAY, f"Gutschrift nach Vertragsende: {plan.name}")
        if line is None:
            continue
        quote = Quote(applies_on=today, price_mode=billed.invoice.price_mode or mode, lines=(line,))
        credit_note = None
        if _refunds(settings, billed.invoice, always=not next_invoice_ahead):
            credit_note = _credit_note_for(
                billed.invoice, line.amount, quote.price_mode, plan, actor, line.name
            )
        written += _write_lines(
            subscription, customer, plan.product, quote, today, actor, credit_note
        )
    return written


def _set_end(subscription: Subscription, ends_on: dt.date) -> None:
    subscription.ends_on = ends_on
    if subscription.scheduled_change_on is not None and subscription.scheduled_change_on > ends_on:
        subscription.scheduled_plan = None
        subscription.scheduled_quantity = None
        subscription.scheduled_change_on = None
    if subscription.paused_from is not None and subscription.paused_from > ends_on:
        subscription.paused_from = None


def cancel_subscription(
    *,
    actor: Actor,
    subscription_id: int,
    received_on: object = None,
    end_on: object = None,
    reason: str = "",
) -> Subscription:
    """Staff record the customer's notice (``subscription.manage``); see ``_cancel``."""
    return _cancel(
        SUBSCRIPTION_OPERATION,
        actor=actor,
        subscription_id=subscription_id,
        received_on=received_on,
        end_on=end_on,
        reason=reason,
    )


def cancel_own_subscription(
    *, actor: Actor, subscription_id: int, end_on: object = None, reason: str = ""
) -> Subscription:
    """The customer gives notice on their own subscription, received today
    (``subscription.self_service``: the portal, the cancellation button); see ``_cancel``."""
    return _cancel(
        SELF_SERVICE_OPERATION,
        actor=actor,
        subscription_id=subscription_id,
        end_on=end_on,
        reason=reason,
    )


def _cancel(
    operation: str,
    *,
    actor: Actor,
    subscription_id: int,
    received_on: object = None,
    end_on: object = None,
    reason: str = "",
) -> Subscription:
    """The customer's notice: the contract ends at the earliest end its terms allow.

    A later ``end_on`` is taken as asked; an earlier one is refused with the earliest
    possible date. What was billed beyond the end is credited. ``reason`` (the customer's
    words, optional) goes into the audit log.
    """
    permissions.require(actor, operation)
    why = (reason or "").strip()
    if len(why) > 1000:
        raise InvalidInput("reason: at most 1000 characters", code="invalid_reason", field="reason")
    check_text(why, field="reason", multiline=True)
    with transaction.atomic():
        customer, subscription = _lock_subscription(subscription_id)
        permissions.require_own(actor, subscription.customer_id)
        plan = _require_plan_subscription(subscription)
        if subscription.ends_on is not None:
            raise StateConflict(
                f"The subscription ends on {_german(subscription.ends_on)} already.",
                code="subscription_cancelled",
            )
        today = _today()
        received = _date(received_on, field="received_on") if received_on is not None else today
        if received > today:
            raise InvalidInput(
                "received_on: notice cannot be received in the future.",
                code="notice_in_future",
                field="received_on",
            )
        earliest = terms.earliest_end(
            plan.contract_terms, start=subscription.starts_on, notice_received=received
        )
        ends_on = earliest
        if end_on is not None:
            asked = _date(end_on, field="end_on")
            if asked < earliest:
                raise InvalidInput(
                    f"Der Vertrag kann frühestens zum {_german(earliest)} enden.",
                    code="end_before_earliest_allowed",
                    field="end_on",
                )
            ends_on = asked
        _set_end(subscription, ends_on)
        subscription.notice_received_on = received
        credits = _credit_overhang(subscription, customer, plan, ends_on, today, actor)
        refresh_status(subscription, today)
        _keep_next_billing(subscription)
        subscription.save()
        _record(
            subscription,
            actor,
            "subscription.cancelled",
            notice_received_on=received,
            ends_on=ends_on,
            earliest_end=earliest,
            credits=[c.pk for c in credits],
            **({"reason": why} if why else {}),
        )
        _emit("subscription.cancelled", subscription, actor, notice_received_on=received)
    return subscription


def earliest_end(subscription: Subscription, *, received_on: dt.date | None = None) -> dt.date:
    """The day the contract would end on notice received ``received_on`` (default today)."""
    if subscription.plan is None:
        raise StateConflict(
            "A course booking has no plan to change, pause or cancel.",
            code="not_a_plan_subscription",
        )
    return terms.earliest_end(
        subscription.plan.contract_terms,
        start=subscription.starts_on,
        notice_received=received_on or _today(),
    )


def undo_cancellation(*, actor: Actor, subscription_id: int) -> Subscription:
    """Staff take a notice back (``subscription.manage``); see ``_undo_cancellation``."""
    return _undo_cancellation(SUBSCRIPTION_OPERATION, actor=actor, subscription_id=subscription_id)


def undo_own_cancellation(*, actor: Actor, subscription_id: int) -> Subscription:
    """The customer takes back their own notice (``subscription.self_service``)."""
    return _undo_cancellation(SELF_SERVICE_OPERATION, actor=actor, subscription_id=subscription_id)


def _undo_cancellation(operation: str, *, actor: Actor, subscription_id: int) -> Subscription:
    """Take a notice back before the contract has ended: the subscription runs on.

    Refused once the end date has passed (``cancellation_took_effect``), for a
    subscription without notice (``subscription_not_cancelled``) and when the time after
    the end was already credited on an invoice or a credit note (``cancellation_credited``:
    staff must correct that by hand). Credits for that time not billed yet are removed.
    A pause or a change the notice called off stays called off.
    """
    permissions.require(actor, operation)
    with transaction.atomic():
        _customer, subscription = _lock_subscription(subscription_id)
        permissions.require_own(actor, subscription.customer_id)
        _require_plan_subscription(subscription)
        ends_on = subscription.ends_on
        if ends_on is None:
            raise StateConflict(
                "The subscription is not cancelled.", code="subscription_not_cancelled"
            )
        today = _today()
        if today > ends_on:
            raise StateConflict(
                f"The contract ended on {_german(ends_on)}; the notice cannot be taken back.",
                code="cancellation_took_effect",
            )
        credits = Charge.objects.filter(
            subscription=subscription,
            kind=Charge.Kind.PRORATION_CREDIT,
            service_start__gt=ends_on,
        )
        if credits.filter(Q(invoice__isnull=False) | Q(credit_note__isnull=False)).exists():
            raise StateConflict(
                "The time after the end has been credited already.",
                code="cancellation_credited",
            )
        removed = list(credits.values_list("pk", flat=True))
        credits.delete()
        notice_received_on = subscription.notice_received_on
        subscription.ends_on = None
        subscription.notice_received_on = None
        refresh_status(subscription, today)
        _keep_next_billing(subscription)
        subscription.save()
        _record(
            subscription,
            actor,
            "subscription.cancellation_undone",
            ends_on_before=ends_on,
            notice_received_on=notice_received_on,
            credits_removed=removed,
        )
        _emit("subscription.updated", subscription, actor)
    return subscription


def terminate_subscription(
    *, actor: Actor, subscription_id: int, reason: str, on: object = None
) -> Subscription:
    """Staff end a subscription at once (or on ``on``), whatever the contract terms say."""
    permissions.require(actor, SUBSCRIPTION_OPERATION)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("A termination needs a reason.", code="reason_required", field="reason")
    check_text(text, field="reason", multiline=True)
    with transaction.atomic():
        customer, subscription = _lock_subscription(subscription_id)
        plan = _require_plan_subscription(subscription)
        today = _today()
        day = _date(on, field="on") if on is not None else today
        if subscription.ends_on is not None and subscription.ends_on <= day:
            raise StateConflict(
                f"The subscription ends on {_german(subscription.ends_on)} already.",
                code="subscription_cancelled",
            )
        if day < subscription.starts_on:
            day = subscription.starts_on
        _set_end(subscription, day)
        credits = _credit_overhang(subscription, customer, plan, day, today, actor)
        refresh_status(subscription, today)
        if day <= today and _nothing_left_to_bill(subscription):
            # Ended at once; with a period still to bill (in arrears) the run ends it after.
            subscription.status = Subscription.Status.ENDED
        _keep_next_billing(subscription)
        subscription.save()
        _record(
            subscription,
            actor,
            "subscription.terminated",
            ends_on=day,
            reason=text,
            credits=[c.pk for c in credits],
        )
        _emit("subscription.cancelled", subscription, actor)
        if subscription.status == Subscription.Status.ENDED:
            _emit("subscription.ended", subscription, actor)
    return subscription


# --- one-off charges, coupons, consent ----------------------------------------------------


def add_charge(
    *,
    actor: Actor,
    customer_id: int,
    sku: str,
    subscription_id: int | None = None,
    name: str | None = None,
    quantity: object = 1,
    unit_price: object = None,
    price_mode: str | None = None,
) -> Charge:
    """A one-off amount on the customer's next subscription invoice (or today's run)."""
    permissions.require(actor, SUBSCRIPTION_OPERATION)
    amount = _quantity(quantity)
    price = _price(unit_price, field="unit_price") if unit_price is not None else None
    if price_mode is not None:
        _choice(price_mode, PriceMode.values, code="invalid_price_mode", field="price_mode")
    label = _name(name) if name is not None else None
    with transaction.atomic():
        customer = _lock_customer(customer_id)
        subscription = None
        if subscription_id is not None:
            subscription = (
                Subscription.objects.select_for_update()
                .filter(pk=subscription_id, customer_id=customer.pk)
                .first()
            )
            if subscription is None:
                raise NotFound(
                    f"Subscription {subscription_id} of {customer} does not exist.",
                    code="subscription_not_found",
                    field="subscription_id",
                )
        product = _product(sku)
        today = _today()
        next_dates = [
            d
            for d in Subscription.objects.filter(customer=customer, next_billing_on__isnull=False)
            .exclude(status=Subscription.Status.ENDED)
            .values_list("next_billing_on", flat=True)
            if d is not None
        ]
        due_on = max(min(next_dates), today) if next_dates else today
        charge = Charge.objects.create(
            customer=customer,
            subscription=subscription,
            kind=Charge.Kind.ONE_OFF,
            product=product,
            name=label or product.name,
            quantity=amount,
            unit_price=price if price is not None else product.unit_price,
            price_mode=price_mode or product.price_mode,
            due_on=due_on,
            created_at=clock.now(),
            created_by=actor.label,
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="charge.added",
            object_type="charge",
            object_id=charge.pk,
            data={
                "subscription": subscription_id,
                "sku": product.sku,
                "quantity": amount,
                "unit_price": charge.unit_price,
                "price_mode": charge.price_mode,
                "due_on": due_on,
            },
        )
    return charge


def _apply_coupon_locked(
    subscription: Subscription, code: str, actor: Actor, today: dt.date
) -> Discount:
    coupon = Coupon.objects.filter(code=(code or "").strip()).first()
    if coupon is None:
        raise NotFound(f"No coupon with the code {code!r}.", code="coupon_not_found", field="code")
    if not coupon.active:
        raise StateConflict(f"The coupon {coupon.code} is inactive.", code="coupon_inactive")
    if coupon.redeemable_until is not None and today > coupon.redeemable_until:
        raise StateConflict(
            f"The coupon {coupon.code} could be redeemed until {_german(coupon.redeemable_until)}.",
            code="coupon_expired",
        )
    allowed = set(coupon.plans.values_list("pk", flat=True))
    if subscription.plan_id is None or (allowed and subscription.plan_id not in allowed):
        raise StateConflict(
            f"The coupon {coupon.code} is not valid for this plan.", code="coupon_not_for_plan"
        )
    if Discount.objects.filter(subscription=subscription).exists():
        raise StateConflict("The subscription has a coupon already.", code="discount_exists")
    discount = Discount.objects.create(
        subscription=subscription, coupon=coupon, created_at=clock.now()
    )
    _record(subscription, actor, "subscription.coupon_applied", coupon=coupon.code)
    return discount


def apply_coupon(*, actor: Actor, subscription_id: int, code: str) -> Discount:
    """Apply a coupon to a subscription: one per subscription, within its plans and dates."""
    permissions.require(actor, SUBSCRIPTION_OPERATION)
    with transaction.atomic():
        _customer, subscription = _lock_subscription(subscription_id)
        if subscription.status == Subscription.Status.ENDED:
            raise StateConflict("The subscription has ended.", code="subscription_ended")
        return _apply_coupon_locked(subscription, code, actor, _today())


def confirm_price_change(*, actor: Actor, subscription_id: int, price_change_id: int) -> Notice:
    """Record the customer's consent to a price change, before it takes effect."""
    permissions.require(actor, SUBSCRIPTION_OPERATION)
    with transaction.atomic():
        _customer, subscription = _lock_subscription(subscription_id)
        plan_ids = {subscription.plan_id, subscription.scheduled_plan_id} - {None}
        change = PriceChange.objects.filter(pk=price_change_id, plan_id__in=plan_ids).first()
        if change is None:
            raise NotFound(
                f"Price change {price_change_id} is not one of this subscription's plan.",
                code="price_change_not_found",
            )
        if _today() >= change.effective_from:
            raise StateConflict(
                f"The new price applies since {_german(change.effective_from)}; "
                "consent had to come before.",
                code="consent_window_closed",
            )
        now = clock.now()
        notice = (
            Notice.objects.select_for_update()
            .filter(
                subscription=subscription,
                kind=Notice.Kind.PRICE_CHANGE,
                about=change.effective_from,
            )
            .first()
        )
        if notice is None:
            notice = Notice(
                subscription=subscription,
                kind=Notice.Kind.PRICE_CHANGE,
                about=change.effective_from,
                price_change=change,
                sent_at=now,
            )
        if notice.consented_at is None:
            notice.consented_at = now
            notice.price_change = change
            notice.save()
            _record(
                subscription,
                actor,
                "subscription.price_change_consented",
                price_change=change.pk,
                effective_from=change.effective_from,
                price=change.price,
            )
    return notice
