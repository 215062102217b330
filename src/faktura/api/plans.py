"""/plans, /courses and /coupons: what subscriptions are sold on — each write one service call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from faktura.api import idempotency
from faktura.api import subscription_presenters as presenters
from faktura.api.auth import actor_of, read_auth, write_auth
from faktura.api.presenters import page
from faktura.api.schemas import ErrorOut, Page
from faktura.api.subscription_schemas import (
    BookingIn,
    CouponIn,
    CouponList,
    CouponOut,
    CourseIn,
    CourseList,
    CourseOut,
    PlanIn,
    PlanList,
    PlanOut,
    PriceChangeIn,
    SubscriptionOut,
)
from faktura.core.errors import DomainError, NotFound
from faktura.subscriptions import services
from faktura.subscriptions.models import Coupon, Course, Plan

plans_router = Router(tags=["plans"])
courses_router = Router(tags=["courses"])
coupons_router = Router(tags=["coupons"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}


# The services name ids as parameters (plan_id); the bodies as fields (plan).
_BODY_FIELDS = {
    "plan_id": "plan",
    "customer_id": "customer",
    "subscription_id": "subscription",
    "plan_ids": "plans",
}


@contextmanager
def body_ids(codes: Mapping[str, str]) -> Iterator[None]:
    """Name the body's field in a refusal about an id the body gave.

    An id from the body that names nothing is a wrong request (422 with the field), not a
    missing resource of the URL (404): ``codes`` maps the service's not-found code to the
    body field.
    """
    try:
        yield
    except DomainError as error:
        if isinstance(error, NotFound) and error.field is None and error.code in codes:
            error.field = codes[error.code]
        elif error.field in _BODY_FIELDS:
            error.field = _BODY_FIELDS[error.field]
        raise


def _plan(plan_id: int) -> PlanOut:
    found = presenters.plans(Plan.objects.filter(pk=plan_id)).first()
    if found is None:
        raise NotFound(f"Plan {plan_id} does not exist.")
    return presenters.plan(found)


def _course(course_id: int) -> CourseOut:
    found = presenters.courses(Course.objects.filter(pk=course_id)).first()
    if found is None:
        raise NotFound(f"Course {course_id} does not exist.")
    return presenters.course(found)


# --- plans -----------------------------------------------------------------------------------


@plans_router.get("", response={200: PlanList, **READ_ERRORS}, auth=read_auth)
def list_plans(request: HttpRequest, params: Query[Page], active: bool | None = None) -> Any:
    """List plans in id order, with their contract terms and price changes."""
    queryset = Plan.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    return page(presenters.plans(queryset), params, presenters.plan_list)


@plans_router.get("/{plan_id}", response={200: PlanOut, **READ_ERRORS}, auth=read_auth)
def get_plan(request: HttpRequest, plan_id: int) -> Any:
    return _plan(plan_id)


@plans_router.post("", response={201: PlanOut, **ERRORS}, auth=write_auth)
def create_plan(
    request: HttpRequest, payload: PlanIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Create a plan (Tarif): price per interval, billed in advance or in arrears.

    Contract terms: a minimum term, the notice period, and what follows the minimum term
    (runs on indefinitely, or renews by ``renewal_months``). Terms § 309 Nr. 9 BGB forbids
    are accepted here but refused when a consumer subscribes.
    """
    actor = actor_of(request)

    def create() -> Any:
        plan = services.create_plan(actor=actor, **payload.model_dump())
        return _plan(plan.pk)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@plans_router.post("/{plan_id}/price-changes", response={201: PlanOut, **ERRORS}, auth=write_auth)
def schedule_price_change(
    request: HttpRequest,
    plan_id: int,
    payload: PriceChangeIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Schedule a new price from ``effective_from`` on; returns the plan with its changes.

    Subscribers are told ``notice_days`` ahead. One change per plan and day (409
    price_change_exists).
    """
    actor = actor_of(request)

    def create() -> Any:
        services.schedule_price_change(actor=actor, plan_id=plan_id, **payload.model_dump())
        return _plan(plan_id)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


# --- courses ---------------------------------------------------------------------------------


@courses_router.get("", response={200: CourseList, **READ_ERRORS}, auth=read_auth)
def list_courses(request: HttpRequest, params: Query[Page], active: bool | None = None) -> Any:
    """List courses in id order, with their instalments."""
    queryset = Course.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    return page(presenters.courses(queryset), params, presenters.course_list)


@courses_router.get("/{course_id}", response={200: CourseOut, **READ_ERRORS}, auth=read_auth)
def get_course(request: HttpRequest, course_id: int) -> Any:
    return _course(course_id)


@courses_router.post("", response={201: CourseOut, **ERRORS}, auth=write_auth)
def create_course(
    request: HttpRequest, payload: CourseIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Create a course with fixed dates; instalments (if any) must add up to its price."""
    actor = actor_of(request)
    fields = payload.model_dump(exclude={"instalments"})
    instalments = [
        services.InstalmentRequest(due_on=i.due_on, amount=i.amount) for i in payload.instalments
    ]

    def create() -> Any:
        course = services.create_course(actor=actor, instalments=instalments, **fields)
        return _course(course.pk)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


@courses_router.post(
    "/{course_id}/bookings", response={201: SubscriptionOut, **ERRORS}, auth=write_auth
)
def book_course(
    request: HttpRequest,
    course_id: int,
    payload: BookingIn,
    idempotency_key: idempotency.KeyHeader = None,
) -> HttpResponse:
    """Book the course for a customer: one charge per instalment (never due before today).

    The booking is a subscription without plan (``course`` set); its charges are billed by
    the billing run. A repeated ``external_reference`` returns the first booking.
    """
    actor = actor_of(request)
    fields = payload.model_dump(exclude={"customer"})

    def create() -> Any:
        with body_ids({"customer_not_found": "customer"}):
            booking = services.book_course(
                actor=actor, customer_id=payload.customer, course_id=course_id, **fields
            )
        return presenters.subscription(booking)

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)


# --- coupons ---------------------------------------------------------------------------------


@coupons_router.get("", response={200: CouponList, **READ_ERRORS}, auth=read_auth)
def list_coupons(
    request: HttpRequest, params: Query[Page], active: bool | None = None, code: str | None = None
) -> Any:
    """List coupons in id order; filter by ``active`` or ``code``."""
    queryset = Coupon.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    if code:
        queryset = queryset.filter(code=code)
    return page(presenters.coupons(queryset), params, presenters.coupon_list)


@coupons_router.post("", response={201: CouponOut, **ERRORS}, auth=write_auth)
def create_coupon(
    request: HttpRequest, payload: CouponIn, idempotency_key: idempotency.KeyHeader = None
) -> HttpResponse:
    """Create a coupon: percent or amount off, once, for ``periods`` periods, or for ever."""
    actor = actor_of(request)
    fields = payload.model_dump(exclude={"plans"})

    def create() -> Any:
        with body_ids({"plan_not_found": "plans"}):
            coupon = services.create_coupon(actor=actor, plan_ids=payload.plans, **fields)
        return presenters.coupon(presenters.coupons(Coupon.objects.filter(pk=coupon.pk)).get())

    return idempotency.respond(request, key=idempotency_key, status=201, create=create)
