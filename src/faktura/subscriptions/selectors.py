"""Reads of subscriptions for the back office: search, one subscription with what it billed,
its notices and its history (from the audit log)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from faktura.core.models import AuditEntry
from faktura.subscriptions.models import BilledPeriod, Notice, Plan, Subscription


def subscriptions(*, text: str = "", status: str = "") -> QuerySet[Subscription]:
    """Subscriptions by customer (number, name, e-mail) or plan (code, name), newest first."""
    queryset = Subscription.objects.select_related("customer", "plan", "course")
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(customer__number__iexact=text)
            | Q(customer__name__icontains=text)
            | Q(customer__email__icontains=text)
            | Q(plan__code__iexact=text)
            | Q(plan__name__icontains=text)
            | Q(course__name__icontains=text)
        )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-pk")


def subscription(subscription_id: int) -> Subscription | None:
    return (
        Subscription.objects.select_related(
            "customer", "plan__product", "course", "scheduled_plan", "mandate"
        )
        .filter(pk=subscription_id)
        .first()
    )


def billed_periods(subscription_id: int) -> QuerySet[BilledPeriod]:
    return (
        BilledPeriod.objects.filter(subscription_id=subscription_id)
        .select_related("invoice")
        .order_by("-period_start")
    )


def notices(subscription_id: int) -> QuerySet[Notice]:
    return Notice.objects.filter(subscription_id=subscription_id).order_by("-sent_at", "-pk")


def history(subscription_id: int) -> list[Any]:
    """The audit entries of the subscription, oldest first."""
    return list(
        AuditEntry.objects.filter(object_type="subscription", object_id=str(subscription_id))
        .order_by("created_at", "pk")
        .only("created_at", "action", "actor", "data")
    )


def plans() -> QuerySet[Plan]:
    """Every plan with the number of its subscriptions that have not ended."""
    running = Count("subscriptions", filter=~Q(subscriptions__status=Subscription.Status.ENDED))
    return (
        Plan.objects.select_related("product")
        .annotate(running=running)
        .order_by("-active", "name", "pk")
    )


def active_plans() -> QuerySet[Plan]:
    return Plan.objects.filter(active=True).order_by("name", "pk")
