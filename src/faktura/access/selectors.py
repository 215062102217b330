"""Reading a customer's access: status, reasons, override, and what a subscription paid for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from faktura.access.models import AccessBlock, AccessOverride, AccessSettings, Effect, Status
from faktura.core import clock


def active_blocks(customer_id: int) -> QuerySet[AccessBlock]:
    return AccessBlock.objects.filter(customer_id=customer_id, ended_at__isnull=True)


def _override_filter(today: dt.date) -> Q:
    return Q(revoked_at__isnull=True) & (Q(until__isnull=True) | Q(until__gte=today))


def active_override(customer_id: int, today: dt.date | None = None) -> AccessOverride | None:
    """The override that lets the customer in today (the latest, if staff gave several)."""
    day = today or clock.today()
    return (
        AccessOverride.objects.filter(_override_filter(day), customer_id=customer_id)
        .order_by("-created_at", "-pk")
        .first()
    )


def status_of(effects: Iterable[str], *, overridden: bool) -> str:
    """block beats restrict beats active; an override lets the customer in (pure)."""
    if overridden:
        return Status.ACTIVE
    found = set(effects)
    if Effect.BLOCK in found:
        return Status.BLOCKED
    if Effect.RESTRICT in found:
        return Status.RESTRICTED
    return Status.ACTIVE


def status(customer_id: int, today: dt.date | None = None) -> str:
    effects = active_blocks(customer_id).values_list("effect", flat=True)
    if not effects:
        return Status.ACTIVE
    return status_of(effects, overridden=active_override(customer_id, today) is not None)


def reasons(customer_id: int) -> list[dict[str, Any]]:
    """The active block reasons, oldest first, with the numbers of the invoices they name."""
    rows = active_blocks(customer_id).prefetch_related("invoices").order_by("since", "pk")
    return [
        {
            "block": block.pk,
            "reason": block.reason,
            "level": block.level,
            "effect": block.effect,
            "since": block.since,
            "by": block.created_by,
            "why": block.why,
            "invoices": sorted(i.number or f"#{i.pk}" for i in block.invoices.all()),
        }
        for block in rows
    ]


def billing_paused(customer_ids: Iterable[int], today: dt.date | None = None) -> set[int]:
    """Of ``customer_ids``, those whose subscriptions the billing run skips today.

    Only with the setting "pause": a customer blocked (not merely restricted) and not let
    in by an override. Its periods stay unbilled and are billed by the first run after it
    is unblocked, each once (a period is marked billed only with its invoice).
    """
    if AccessSettings.load().subscriptions_while_blocked != AccessSettings.WhileBlocked.PAUSE:
        return set()
    day = today or clock.today()
    blocked = set(
        AccessBlock.objects.filter(
            customer_id__in=list(customer_ids), ended_at__isnull=True, effect=Effect.BLOCK
        ).values_list("customer_id", flat=True)
    )
    if not blocked:
        return set()
    allowed = set(
        AccessOverride.objects.filter(_override_filter(day), customer_id__in=blocked).values_list(
            "customer_id", flat=True
        )
    )
    return blocked - allowed


def paid_through(subscription: Any) -> dt.date | None:
    """The last day of the subscription's billed periods paid without a gap (inclusive).

    Periods are walked from the first; the first period whose invoice is not finalized
    and paid in full stops the walk. ``None``: no period paid yet. The customer's
    product may let the customer use what it paid for until this day, blocked or not.
    """
    from faktura.invoicing.models import Status as InvoiceStatus
    from faktura.payments.selectors import open_amounts
    from faktura.subscriptions.models import BilledPeriod

    periods = list(
        BilledPeriod.objects.filter(subscription=subscription)
        .order_by("period_start")
        .values("period_end", "invoice_id", "invoice__status")
    )
    if not periods:
        return None
    open_ = open_amounts(sorted({p["invoice_id"] for p in periods}))
    through = None
    for period in periods:
        paid = (
            period["invoice__status"] == InvoiceStatus.FINALIZED
            and open_.get(period["invoice_id"], 0) <= 0
        )
        if not paid:
            break
        through = period["period_end"]
    return through
