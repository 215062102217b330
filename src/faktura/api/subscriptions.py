"""/subscriptions: create, change, pause, resume, cancel, terminate; charges, coupons,
consent; and the preview of the next invoice — each write one service call."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from faktura.api import idempotency
from faktura.api import subscription_presenters as presenters
from faktura.api.auth import actor_of, preview_actor_of, read_auth, write_auth
from faktura.api.plans import body_ids
from faktura.api.presenters import page, timestamp
from faktura.api.schemas import ErrorOut, Page
from faktura.api.subscription_schemas import (
    CancelIn,
    ChangeIn,
    ChargeIn,
    ChargeOut,
    ConsentOut,
    CouponApplyIn,
    CustomerChargeIn,
    DiscountApplied,
    NextInvoiceOut,
    NextInvoiceQuery,
    PauseIn,
    QuoteOut,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    TerminateIn,
)
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import NotFound
from faktura.core.money import ZERO, format_amount
from faktura.customers.models import Customer
from faktura.subscriptions import run, services
from faktura.subscriptions.models import Subscription

router = Router(tags=["subscriptions"])
customers_router = Router(tags=["subscriptions"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}
# Ids the body names: the service's not-found code → the body field.
IN_BODY = {"customer_not_found": "customer", "plan_not_found": "plan"}

NEXT_INVOICE_NOTE = (
    "A dry run of the billing run for the customer and the date (``preview_billing``): the "
    "invoices the run would make, unsaved, with lines, VAT breakdown and totals — the same "
    "computation the run then bills with, so the amounts match as long as nothing changes "
    "in between. An invoice holds all of the customer's periods and charges due that day "
    "(one invoice per payment method; per subscription if the customer's billing profile "
    "says so). Empty list when nothing is due. A customer the run could not invoice (e.g. "
    "an address missing) is answered with 422 and the run's error."
)


def _get(subscription_id: int) -> Subscription:
    found = presenters.subscriptions(Subscription.objects.filter(pk=subscription_id)).first()
    if found is None:
        raise NotFound(f"Subscription {subscription_id} does not exist.")
    return found


def _present(subscription_id: int) -> SubscriptionOut:
    return presenters.subscription(_get(subscription_id))


@router.get("", response={200: SubscriptionList, **READ_ERRORS}, auth=read_auth)
def list_subscriptions(
    request: HttpRequest,
    params: Query[Page],
    customer: int | None = None,
    status: Literal["trialing", "active", "paused", "cancelling", "ended"] | None = None,
    plan: int | None = None,
) -> Any:
    """List subscriptions and course bookings in id order; filter by customer, status, plan."""
    queryset = Subscription.objects.all()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if status:
        queryset = queryset.filter(status=status)
    if plan is not None:
        queryset = queryset.filter(plan_id=plan)
    return page(presenters.subscriptions(queryset), params, presenters.subscription_list)


@router.get("/{subscription_id}", response={200: SubscriptionOut, **READ_ERRORS}, auth=read_auth)
def get_subscription(request: HttpRequest, subscription_id: int) -> Any:
    """Status, plan, quantity, dates, scheduled change, payment method, discount, billing."""
    return _present(subscription_id)


@router.post("", response={201: SubscriptionOut, **ERRORS}, auth=write_auth)
def create_subscription(
    request: HttpRequest, payload: SubscriptionIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Subscribe a customer to a plan.

    With a trial, billing starts the day after it ends. ``direct_debit`` needs a usable
    SEPA mandate, ``provider`` an active saved payment method (409). Consumers cannot be
    bound by terms § 309 Nr. 9 BGB forbids (422 terms_not_allowed_for_consumers). A
    repeated ``external_reference`` returns the first subscription.
    """
    actor = actor_of(request)

    def create() -> Any:
        with body_ids(IN_BODY):
            subscription = services.create_subscription(
                actor=actor,
                customer_id=payload.customer,
                plan_id=payload.plan,
                payment_method=payload.payment_method,
                quantity=payload.quantity,
                starts_on=payload.starts_on,
                trial_days=payload.trial_days,
                mandate_id=payload.mandate_id,
                saved_payment_method_id=payload.saved_payment_method_id,
                coupon_code=payload.coupon,
                external_reference=payload.external_reference,
            )
        return _present(subscription.pk)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


def _change(actor: Actor, subscription_id: int, payload: ChangeIn, *, dry_run: bool) -> Any:
    with body_ids({"plan_not_found": "plan"}):
        quote = services.change_subscription(
            actor=actor,
            subscription_id=subscription_id,
            plan_id=payload.plan,
            quantity=payload.quantity,
            effective=payload.effective,
            on=payload.on,
            dry_run=dry_run,
        )
    return presenters.quote(quote, subscription_id=subscription_id, preview=dry_run)


@router.post(
    "/{subscription_id}/change-preview", response={200: QuoteOut, **ERRORS}, auth=write_auth
)
def preview_change(request: HttpRequest, subscription_id: int, payload: ChangeIn) -> Any:
    """What ``POST /subscriptions/{id}/change`` with the same body would charge; changes nothing.

    The quote comes from the change itself, run without writing: the change made
    afterwards charges exactly these lines and this total, as long as nothing changes in
    between. Quoting needs the same permission as changing (``subscription.manage``).
    """
    return _change(actor_of(request), subscription_id, payload, dry_run=True)


@router.post("/{subscription_id}/change", response={200: QuoteOut, **ERRORS}, auth=write_auth)
def change_subscription(
    request: HttpRequest,
    subscription_id: int,
    payload: ChangeIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Change plan and/or quantity now (prorated) or from the next period on.

    Returns the quote that was applied: the credit and charge lines added to the
    customer's next invoice (``refund``: the negative total paid back at once by a credit
    note). Ask ``POST /subscriptions/{id}/change-preview`` first to see it. Read the
    subscription again for its new state (``scheduled_change`` for ``next_period``).
    """
    actor = actor_of(request)
    return idempotency.respond(
        request,
        key=idempotency_key,
        status=200,
        create=lambda: _change(actor, subscription_id, payload, dry_run=False),
    )


@router.post("/{subscription_id}/pause", response={200: SubscriptionOut, **ERRORS}, auth=write_auth)
def pause_subscription(
    request: HttpRequest, subscription_id: int, payload: PauseIn | None = None
) -> Any:
    """Pause from the first period not paid yet on or after ``on`` (the paid one runs out)."""
    services.pause_subscription(
        actor=actor_of(request), subscription_id=subscription_id, on=payload.on if payload else None
    )
    return _present(subscription_id)


@router.post(
    "/{subscription_id}/resume", response={200: SubscriptionOut, **ERRORS}, auth=write_auth
)
def resume_subscription(
    request: HttpRequest, subscription_id: int, payload: PauseIn | None = None
) -> Any:
    """Resume on ``on``: a new billing anchor, a full period from then."""
    services.resume_subscription(
        actor=actor_of(request), subscription_id=subscription_id, on=payload.on if payload else None
    )
    return _present(subscription_id)


@router.post(
    "/{subscription_id}/cancel", response={200: SubscriptionOut, **ERRORS}, auth=write_auth
)
def cancel_subscription(
    request: HttpRequest, subscription_id: int, payload: CancelIn | None = None
) -> Any:
    """Record the customer's notice; ``ends_on`` is the earliest end the terms allow.

    A later ``end_on`` is taken as asked; an earlier one is refused with 422
    end_before_earliest_allowed, whose message names the earliest date. What was billed
    beyond the end is credited.
    """
    services.cancel_subscription(
        actor=actor_of(request),
        subscription_id=subscription_id,
        received_on=payload.received_on if payload else None,
        end_on=payload.end_on if payload else None,
    )
    return _present(subscription_id)


@router.post(
    "/{subscription_id}/terminate", response={200: SubscriptionOut, **ERRORS}, auth=write_auth
)
def terminate_subscription(request: HttpRequest, subscription_id: int, payload: TerminateIn) -> Any:
    """End the subscription at once (or on ``on``), whatever the contract terms say."""
    services.terminate_subscription(
        actor=actor_of(request),
        subscription_id=subscription_id,
        reason=payload.reason,
        on=payload.on,
    )
    return _present(subscription_id)


@router.post("/{subscription_id}/charges", response={201: ChargeOut, **ERRORS}, auth=write_auth)
def add_subscription_charge(
    request: HttpRequest,
    subscription_id: int,
    payload: ChargeIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """A one-off amount on the customer's next subscription invoice."""
    actor = actor_of(request)
    customer_id = (
        Subscription.objects.filter(pk=subscription_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        raise NotFound(f"Subscription {subscription_id} does not exist.")

    def create() -> Any:
        charge = services.add_charge(
            actor=actor,
            customer_id=customer_id,
            subscription_id=subscription_id,
            **payload.model_dump(),
        )
        return presenters.charge(charge)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@router.post(
    "/{subscription_id}/coupon", response={200: DiscountApplied, **ERRORS}, auth=write_auth
)
def apply_coupon(request: HttpRequest, subscription_id: int, payload: CouponApplyIn) -> Any:
    """Apply a coupon (one per subscription); an unknown code: 422 coupon_not_found."""
    discount = services.apply_coupon(
        actor=actor_of(request), subscription_id=subscription_id, code=payload.code
    )
    return DiscountApplied(subscription=subscription_id, discount=presenters.discount(discount))


@router.post(
    "/{subscription_id}/price-changes/{price_change_id}/consent",
    response={200: ConsentOut, **ERRORS},
    auth=write_auth,
)
def confirm_price_change(request: HttpRequest, subscription_id: int, price_change_id: int) -> Any:
    """Record the customer's consent to a price change that needs it, before it applies."""
    notice = services.confirm_price_change(
        actor=actor_of(request), subscription_id=subscription_id, price_change_id=price_change_id
    )
    return ConsentOut(
        subscription=subscription_id,
        price_change=price_change_id,
        effective_from=notice.about,
        consented_at=timestamp(notice.consented_at) or "",
    )


# --- previews of the next invoice ----------------------------------------------------------


def next_invoice(
    request: HttpRequest, customer_id: int, billing_date: dt.date, subscription_id: int | None
) -> NextInvoiceOut:
    dry = run.preview_billing(
        billing_date=billing_date, actor=preview_actor_of(request), customer_ids=[customer_id]
    )
    if dry.refused:
        raise dry.refused[0][1]
    invoices = [
        invoice
        for invoice in dry.invoices
        if subscription_id is None
        or subscription_id in getattr(invoice, "preview_subscription_ids", [])
    ]
    return NextInvoiceOut(
        customer=customer_id,
        billing_date=billing_date,
        invoices=[presenters.preview_invoice(invoice) for invoice in invoices],
        total=format_amount(sum((invoice.grand_total for invoice in invoices), ZERO)),
    )


@router.get(
    "/{subscription_id}/next-invoice",
    response={200: NextInvoiceOut, **ERRORS},
    auth=read_auth,
    summary="Preview the subscription's next invoice",
    description="The invoice(s) holding this subscription's lines due on ``date``; creates "
    "nothing. ``date`` defaults to the subscription's ``next_billing_on`` (none: today). The "
    "invoice shows all of the customer's lines due that day, not only this subscription's. "
    + NEXT_INVOICE_NOTE,
)
def subscription_next_invoice(
    request: HttpRequest, subscription_id: int, params: Query[NextInvoiceQuery]
) -> Any:
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(f"Subscription {subscription_id} does not exist.")
    day = params.date or subscription.next_billing_on or clock.today()
    return next_invoice(request, subscription.customer_id, day, subscription_id)


@customers_router.get(
    "/{customer_id}/next-invoice",
    response={200: NextInvoiceOut, **ERRORS},
    auth=read_auth,
    summary="Preview the customer's next subscription invoice",
    description="The invoices the billing run would make for the customer on ``date``; "
    "creates nothing. ``date`` defaults to the earliest ``next_billing_on`` of the customer's "
    "subscriptions (none: today). " + NEXT_INVOICE_NOTE,
)
def customer_next_invoice(
    request: HttpRequest, customer_id: int, params: Query[NextInvoiceQuery]
) -> Any:
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"Customer {customer_id} does not exist.")
    day = params.date or _earliest_billing(customer_id)
    return next_invoice(request, customer_id, day, None)


def _earliest_billing(customer_id: int) -> dt.date:
    dates = [
        d
        for d in Subscription.objects.filter(customer_id=customer_id, next_billing_on__isnull=False)
        .exclude(status=Subscription.Status.ENDED)
        .values_list("next_billing_on", flat=True)
        if d is not None
    ]
    return min(dates) if dates else clock.today()


@customers_router.post(
    "/{customer_id}/charges", response={201: ChargeOut, **ERRORS}, auth=write_auth
)
def add_customer_charge(
    request: HttpRequest,
    customer_id: int,
    payload: CustomerChargeIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """A one-off amount on the customer's next subscription invoice (or today's run).

    Due on the earliest ``next_billing_on`` of the customer's subscriptions, not before
    today.
    """
    actor = actor_of(request)
    fields = payload.model_dump(exclude={"subscription"})

    def create() -> Any:
        with body_ids({"subscription_not_found": "subscription"}):
            charge = services.add_charge(
                actor=actor,
                customer_id=customer_id,
                subscription_id=payload.subscription,
                **fields,
            )
        return presenters.charge(charge)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)
