"""The daily billing run: every period and charge due by a date gets exactly one invoice.

The run works through the customers with something due in chunks. Each chunk is one
transaction: it locks the chunk's customers (id order) and their subscriptions, computes
what is due (``billing``), drafts the invoices in bulk, records every billed period
(unique on subscription and period start: the database refuses a second invoice for a
period) and every billed charge, advances the subscriptions, and finalizes the drafts
that have no review window, all or nothing. A run killed at any point therefore leaves
whole chunks or nothing; the next run finds what is still due and bills it once, with
gapless numbers (taken in the chunk's transaction).

A subscription that cannot be billed (a customer without an address, an inactive
product …) is recorded on the run and as a to-do entry (``BillingIssue``); the run goes
on. Drafts waiting in a review window are finalized by the first run on or after the day
the window ends.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from faktura.access import selectors as access_selectors
from faktura.core import audit, bulk, clock, permissions, run_locks
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput
from faktura.core.models import Company
from faktura.core.money import round_money
from faktura.customers.models import Customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, Status
from faktura.subscriptions import billing, collection, services
from faktura.subscriptions.models import (
    BilledPeriod,
    BillingIssue,
    BillingProfile,
    BillingRun,
    BillingSettings,
    Charge,
    Discount,
    PaymentMethod,
    Subscription,
)

RUNNING_STATES = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAUSED,
    Subscription.Status.CANCELLING,
)
INVOICE_PAYMENT_METHOD: dict[str, str] = {
    PaymentMethod.TRANSFER: "transfer",
    PaymentMethod.DIRECT_DEBIT: "direct_debit",
    PaymentMethod.PROVIDER: "provider",
}

Progress = Callable[[int, int], None]  # customers done, customers in all


@dataclass
class CustomerPlan:
    """What one customer is due: the invoices to make and the subscriptions' new state."""

    customer: Customer
    invoices: list[billing.InvoicePlan]
    held: list[billing.DueLine]
    after: list[billing.SubscriptionAfter]
    subscriptions: list[Subscription]


@dataclass
class ChunkResult:
    periods: int = 0
    charges: int = 0
    invoices: list[Invoice] = field(default_factory=list)
    finalized: int = 0
    issues: list[BillingIssue] = field(default_factory=list)


def customers_due(billing_date: dt.date, customer_ids: list[int] | None = None) -> list[int]:
    """Ids of the customers with a period or a charge possibly due by ``billing_date``."""
    subscriptions = Subscription.objects.filter(
        status__in=RUNNING_STATES, next_billing_on__lte=billing_date
    )
    charges = Charge.objects.filter(
        invoice__isnull=True, credit_note__isnull=True, due_on__lte=billing_date
    )
    if customer_ids is not None:
        subscriptions = subscriptions.filter(customer_id__in=customer_ids)
        charges = charges.filter(customer_id__in=customer_ids)
    ids = set(subscriptions.values_list("customer_id", flat=True))
    ids |= set(charges.values_list("customer_id", flat=True))
    # Access policy "pause": a blocked customer's periods wait, billed once when unblocked.
    return sorted(ids - access_selectors.billing_paused(ids, billing_date))


def plan_customers(
    customers: list[Customer],
    subscriptions: list[Subscription],
    charges: list[Charge],
    *,
    billing_date: dt.date,
) -> list[CustomerPlan]:
    """What each customer is due by ``billing_date``: pure computation on what was read."""
    context = billing.Context.load(subscriptions)
    profiles = {
        p.customer_id: p
        for p in BillingProfile.objects.filter(customer_id__in=[c.pk for c in customers])
    }
    subs_of: dict[int, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        subs_of[subscription.customer_id].append(subscription)
    charges_of: dict[int, list[Charge]] = defaultdict(list)
    for charge in charges:
        charges_of[charge.customer_id].append(charge)
    plans = []
    for customer in customers:
        lines: list[billing.DueLine] = []
        after = []
        methods: dict[int | None, str] = {}
        for subscription in subs_of[customer.pk]:
            due, state = billing.due_periods(
                subscription,
                through=billing_date,
                context=context,
                is_consumer=customer.is_consumer,
            )
            lines += due
            after.append(state)
            methods[subscription.pk] = INVOICE_PAYMENT_METHOD[subscription.payment_method]
        lines += billing.due_charges(
            charges_of[customer.pk], through=billing_date, is_consumer=customer.is_consumer
        )
        profile = profiles.get(customer.pk)
        invoices, held = billing.group_into_invoices(
            lines,
            per_subscription=bool(profile and profile.invoice_per_subscription),
            payment_methods=methods,
        )
        plans.append(
            CustomerPlan(
                customer=customer,
                invoices=invoices,
                held=held,
                after=after,
                subscriptions=subs_of[customer.pk],
            )
        )
    return plans


def draft_requests(plan: CustomerPlan) -> list[invoicing.DraftRequest]:
    requests = []
    for invoice in plan.invoices:
        start, end = invoice.service_period
        requests.append(
            invoicing.DraftRequest(
                customer=plan.customer,
                lines=[line.line for line in invoice.lines],
                service_date_start=start,
                service_date_end=end,
                payment_method=invoice.payment_method or None,
            )
        )
    return requests


def chunk_customers() -> int:
    """Customers per chunk, i.e. per transaction (``FAKTURA_BILLING_CHUNK_CUSTOMERS``)."""
    return max(1, settings.FAKTURA_BILLING_CHUNK_CUSTOMERS)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _lock_chunk(
    customer_ids: list[int], billing_date: dt.date
) -> tuple[list[Customer], list[Subscription], list[Charge]]:
    customers = list(
        Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk")
    )
    subscriptions = list(
        Subscription.objects.select_for_update()
        .filter(customer_id__in=customer_ids, status__in=RUNNING_STATES, plan__isnull=False)
        .order_by("pk")
    )
    charges = list(
        Charge.objects.select_for_update()
        .select_related("product__tax_rate")
        .filter(
            customer_id__in=customer_ids,
            invoice__isnull=True,
            credit_note__isnull=True,
            due_on__lte=billing_date,
        )
        .order_by("pk")
    )
    return customers, subscriptions, charges


def bill_chunk(
    customer_ids: list[int],
    *,
    billing_date: dt.date,
    run: BillingRun | None,
    actor: Actor,
    review_days: dict[int, int],
    chunk: int | None = None,
) -> ChunkResult:
    """Bill what the customers are due by ``billing_date``; one transaction.

    ``chunk``: the chunk's number in a run done by the workers; it is marked done in the
    same transaction, and the last one finishes the run.
    """
    result = ChunkResult()
    now = clock.now()
    with transaction.atomic():
        customers, subscriptions, charges = _lock_chunk(customer_ids, billing_date)
        plans = plan_customers(customers, subscriptions, charges, billing_date=billing_date)
        requests: list[invoicing.DraftRequest] = []
        owners: list[tuple[CustomerPlan, billing.InvoicePlan]] = []
        for plan in plans:
            for request, invoice in zip(draft_requests(plan), plan.invoices, strict=True):
                requests.append(request)
                owners.append((plan, invoice))
        drafts, refused = invoicing.create_drafts(requests=requests, actor=actor)
        refused_customers = {owners[r.index][0].customer.pk: r.error for r in refused}
        if refused_customers:
            # All of a customer's invoices or none: a later period must not be billed
            # while an earlier one waits.
            orphans = [
                draft.pk
                for draft, (plan, _) in zip(drafts, owners, strict=True)
                if draft is not None and plan.customer.pk in refused_customers
            ]
            if orphans:
                Invoice.objects.filter(pk__in=orphans).delete()
        billed_periods: list[BilledPeriod] = []
        billed_charges: dict[int, tuple[int, Decimal | None]] = {}
        discount_uses: dict[int, int] = defaultdict(int)
        made: list[Invoice] = []
        for draft, (plan, invoice_plan) in zip(drafts, owners, strict=True):
            if draft is None or plan.customer.pk in refused_customers:
                continue
            made.append(draft)
            for line in invoice_plan.lines:
                if line.period is not None and line.subscription_id is not None:
                    billed_periods.append(
                        BilledPeriod(
                            subscription_id=line.subscription_id,
                            period_start=line.period.start,
                            period_end=line.period.end,
                            period_index=line.period.index,
                            invoice=draft,
                            run=run,
                            amount=line.amount,
                        )
                    )
                if line.charge_id is not None:
                    billed_charges[line.charge_id] = (draft.pk, line.amount)
                if line.discount_id is not None:
                    discount_uses[line.discount_id] += 1
        bulk.insert(billed_periods)
        _mark_charges(charges, billed_charges, actor=actor)
        for discount_id, uses in discount_uses.items():
            Discount.objects.filter(pk=discount_id).update(periods_used=F("periods_used") + uses)
        _advance(plans, refused_customers, billing_date=billing_date, actor=actor)
        for customer_id, error in refused_customers.items():
            result.issues.append(_issue(run, customer_id, plans, billing_date, error, now))
        BillingIssue.objects.bulk_create(result.issues)
        ready = [
            draft.pk
            for draft in made
            if draft.status == Status.DRAFT and not review_days.get(draft.customer_id, 0)
        ]
        finalized = (
            invoicing.finalize_invoices(
                invoice_ids=ready,
                actor=actor,
                drafted={draft.pk: draft.drafted_figures for draft in made},  # type: ignore[attr-defined]
            )
            if ready
            else []
        )
        after_finalization(finalized, actor=actor)
        result.periods = len(billed_periods)
        result.charges = len(billed_charges)
        result.invoices = made
        result.finalized = len(finalized)
        if run is not None:
            BillingRun.objects.filter(pk=run.pk).update(
                periods_found=F("periods_found") + result.periods,
                charges_found=F("charges_found") + result.charges,
                invoices_made=F("invoices_made") + len(made),
                invoices_finalized=F("invoices_finalized") + result.finalized,
                errors=F("errors") + len(result.issues),
            )
            if chunk is not None:
                _chunk_done(run.pk, chunk, actor)
    return result


def _chunk_done(run_id: int, chunk: int, actor: Actor) -> None:
    run = BillingRun.objects.select_for_update().get(pk=run_id)
    if chunk in run.chunks_done:
        return  # a retried chunk: counted once
    run.chunks_done = [*run.chunks_done, chunk]
    run.save(update_fields=["chunks_done"])
    if len(run.chunks_done) >= run.chunks_total and run.status == BillingRun.Status.RUNNING:
        _finish(run, actor)


def bill_run_chunk(
    *, run_id: int, billing_date: dt.date, chunk: int, customer_ids: list[int]
) -> ChunkResult:
    """One chunk of a run in the workers (task ``bill_customers``)."""
    run = BillingRun.objects.get(pk=run_id)
    return bill_chunk(
        customer_ids,
        billing_date=billing_date,
        run=run,
        actor=Actor.system("billing-run"),
        review_days=_review_days(customer_ids),
        chunk=chunk,
    )


def _finish(run: BillingRun, actor: Actor) -> None:
    """Mark ``run`` finished and record its figures (inside a transaction)."""
    BillingRun.objects.filter(pk=run.pk).update(
        status=BillingRun.Status.FINISHED, finished_at=clock.now()
    )
    run.refresh_from_db()
    audit.record(
        chain=audit.COMPANY_CHAIN,
        actor=actor,
        action="billing_run.finished",
        object_type="billing_run",
        object_id=run.pk,
        data={
            "billing_date": run.billing_date.isoformat(),
            "periods": run.periods_found,
            "charges": run.charges_found,
            "invoices": run.invoices_made,
            "finalized": run.invoices_finalized,
            "errors": run.errors,
        },
    )


def after_finalization(invoices: list[Invoice], *, actor: Actor) -> None:
    """Collection follows the payment method (in the finalizing transaction)."""
    provider = [invoice.pk for invoice in invoices if invoice.payment_method == "provider"]
    if provider:
        collection.request_provider_charges(provider, actor=actor)


def _mark_charges(
    charges: list[Charge], billed: dict[int, tuple[int, Decimal | None]], *, actor: Actor
) -> None:
    """Point billed charges to their invoice; a credit used only in part is split."""
    by_id = {charge.pk: charge for charge in charges}
    now = clock.now()
    remainders = []
    for charge_id, (invoice_id, amount) in billed.items():
        charge = by_id[charge_id]
        update: dict[str, object] = {"invoice_id": invoice_id}
        whole = round_money(charge.quantity * charge.unit_price)
        if amount is not None and charge.unit_price < 0 and amount != whole:
            # Only ``amount`` of this credit was used: the rest waits as a new charge.
            update.update(quantity=Decimal(1), unit_price=amount)
            remainders.append(
                Charge(
                    customer_id=charge.customer_id,
                    subscription_id=charge.subscription_id,
                    kind=charge.kind,
                    product_id=charge.product_id,
                    name=charge.name,
                    quantity=Decimal(1),
                    unit_price=whole - amount,
                    price_mode=charge.price_mode,
                    service_start=charge.service_start,
                    service_end=charge.service_end,
                    due_on=charge.due_on,
                    created_at=now,
                    created_by=actor.label,
                )
            )
        Charge.objects.filter(pk=charge_id, invoice__isnull=True).update(**update)
    Charge.objects.bulk_create(remainders)


def _advance(
    plans: list[CustomerPlan],
    refused: dict[int, InvalidInput],
    *,
    billing_date: dt.date,
    actor: Actor,
) -> None:
    """Write back each billed subscription's plan, anchor, next period and status."""
    changed = []
    rearranged: set[int] = set()
    before: dict[int, tuple[object, ...]] = {}
    for plan in plans:
        if plan.customer.pk in refused:
            continue
        states = {state.subscription_id: state for state in plan.after}
        for subscription in plan.subscriptions:
            state = states[subscription.pk]
            before[subscription.pk] = (
                subscription.next_period_index,
                subscription.status,
                subscription.next_billing_on,
            )
            subscription.plan_id = state.plan_id
            subscription.quantity = state.quantity
            subscription.billing_anchor = state.billing_anchor
            subscription.next_period_index = state.next_period_index
            if state.scheduled_change_applied:
                rearranged.add(subscription.pk)
                subscription.scheduled_plan_id = None
                subscription.scheduled_quantity = None
                subscription.scheduled_change_on = None
            services.refresh_status(subscription, billing_date)
            changed.append(subscription)
    if not changed:
        return
    ended = [
        s
        for s in changed
        if s.status == Subscription.Status.ENDED and before[s.pk][1] != Subscription.Status.ENDED
    ]
    if ended:
        from faktura.webhooks.services import emit_many, subscription_data

        emit_many([("subscription.ended", subscription_data(s)) for s in ended], actor=actor)
    plans_by_id = billing.load_plans({s.plan_id for s in changed if s.plan_id})
    for subscription in changed:
        subscription.next_billing_on = billing.next_billing_on(subscription, plans_by_id)
    moved = [s for s in changed if s.pk in rearranged]
    # Most subscriptions only move on by a period: three columns, not nine.
    bulk.update_fields(
        [
            s
            for s in changed
            if s.pk not in rearranged
            and before[s.pk] != (s.next_period_index, s.status, s.next_billing_on)
        ],
        ["next_period_index", "status", "next_billing_on"],
    )
    bulk.update_fields(
        moved,
        [
            "plan",
            "quantity",
            "billing_anchor",
            "next_period_index",
            "scheduled_plan",
            "scheduled_quantity",
            "scheduled_change_on",
            "status",
            "next_billing_on",
        ],
    )


def _issue(
    run: BillingRun | None,
    customer_id: int,
    plans: list[CustomerPlan],
    billing_date: dt.date,
    error: InvalidInput,
    now: dt.datetime,
) -> BillingIssue:
    plan = next(p for p in plans if p.customer.pk == customer_id)
    subscription_ids = {
        line.subscription_id for inv in plan.invoices for line in inv.lines if line.subscription_id
    }
    return BillingIssue(
        run=run,
        customer_id=customer_id,
        subscription_id=min(subscription_ids) if subscription_ids else None,
        billing_date=billing_date,
        code=error.code,
        message=str(error),
        created_at=now,
    )


def _review_days(customer_ids: list[int]) -> dict[int, int]:
    default = BillingSettings.load().review_days
    days: dict[int, int] = dict.fromkeys(customer_ids, default)
    for customer_id, override in BillingProfile.objects.filter(
        customer_id__in=customer_ids, review_days__isnull=False
    ).values_list("customer_id", "review_days"):
        days[customer_id] = override or 0
    return days


def release_discarded_draft(invoice: Invoice) -> None:
    """A run's draft discarded in its review window: its periods are due again.

    Called inside ``discard_draft``'s transaction (customer and draft locked). The billed
    periods go with the draft; each subscription steps back to its first period that is no
    longer billed, so the next run bills it again. Its charges lose their invoice and are
    due again by themselves. (A coupon's count of reduced periods is not given back.)
    """
    firsts: dict[int, int] = {}
    for subscription_id, index in BilledPeriod.objects.filter(invoice=invoice).values_list(
        "subscription_id", "period_index"
    ):
        firsts[subscription_id] = min(index, firsts.get(subscription_id, index))
    if not firsts:
        return
    subscriptions = list(
        Subscription.objects.select_for_update().filter(pk__in=firsts).order_by("pk")
    )
    plans = billing.load_plans({s.plan_id for s in subscriptions if s.plan_id})
    for subscription in subscriptions:
        subscription.next_period_index = min(
            subscription.next_period_index, firsts[subscription.pk]
        )
        if subscription.status == Subscription.Status.ENDED:
            subscription.status = Subscription.Status.CANCELLING
        subscription.next_billing_on = billing.next_billing_on(subscription, plans)
    bulk.update_fields(subscriptions, ["next_period_index", "status", "next_billing_on"])


def end_finished_contracts(day: dt.date, *, actor: Actor) -> int:
    """Mark ended the cancelled subscriptions past their end with nothing left to bill.

    The run bills their last period; nothing loads them again afterwards, so their status
    is moved on here (an ended subscription is never billed again).
    """
    from faktura.webhooks.services import emit_many, subscription_data

    with transaction.atomic():
        ending = list(
            Subscription.objects.select_for_update().filter(
                status=Subscription.Status.CANCELLING,
                ends_on__lt=day,
                next_billing_on__isnull=True,
            )
        )
        if not ending:
            return 0
        Subscription.objects.filter(pk__in=[s.pk for s in ending]).update(
            status=Subscription.Status.ENDED
        )
        for subscription in ending:
            subscription.status = Subscription.Status.ENDED
        emit_many([("subscription.ended", subscription_data(s)) for s in ending], actor=actor)
    return len(ending)


def finalize_reviewed(*, billing_date: dt.date, actor: Actor, run: BillingRun | None = None) -> int:
    """Finalize the run drafts whose review window has ended by ``billing_date``.

    Drafts that staff approved, and drafts needing no approval, are finalized; drafts
    still waiting for approval stay. Discarded drafts are gone, and their periods are due
    again.
    """
    candidates = list(
        Invoice.objects.filter(status__in=(Status.DRAFT, Status.APPROVED))
        .filter(Q(billed_periods__isnull=False) | Q(subscription_charges__isnull=False))
        .distinct()
        .values_list("pk", "customer_id", "created_at")
    )
    if not candidates:
        return 0
    days = _review_days(sorted({c for _, c, _ in candidates}))
    zone = ZoneInfo(Company.time_zone_or_default())
    due = [
        pk
        for pk, customer_id, created_at in candidates
        if created_at.astimezone(zone).date() + dt.timedelta(days=days[customer_id]) <= billing_date
    ]
    owners = {pk: customer_id for pk, customer_id, _ in candidates}
    done = 0
    for chunk in _chunks(sorted(due), 100):
        with transaction.atomic():
            # Read again under the customers' locks: a draft finalized or discarded since
            # (by staff, or by a second run of the day) would refuse the whole chunk.
            list(
                Customer.objects.select_for_update()
                .filter(pk__in={owners[pk] for pk in chunk})
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            chunk = list(
                Invoice.objects.filter(
                    pk__in=chunk, status__in=(Status.DRAFT, Status.APPROVED)
                ).values_list("pk", flat=True)
            )
            finalized = invoicing.finalize_invoices(invoice_ids=chunk, actor=actor)
            after_finalization(finalized, actor=actor)
            if run is not None:
                BillingRun.objects.filter(pk=run.pk).update(
                    invoices_finalized=F("invoices_finalized") + len(finalized)
                )
        done += len(finalized)
    return done


RUN_LOCK = 0x46414B  # namespace of the advisory locks that tell a live run from a dead one


def run_billing(
    *,
    billing_date: dt.date,
    actor: Actor,
    progress: Progress | None = None,
    customer_ids: list[int] | None = None,
    in_workers: bool = False,
) -> BillingRun:
    """Bill every period and charge due on or before ``billing_date`` exactly once.

    Idempotent: a second run for the same date finds nothing due and makes nothing; a run
    after days of downtime bills every missed period once, each on the invoice of its own
    billing date. ``customer_ids`` limits the run (tests, a re-run for one customer).

    ``in_workers``: the chunks become tasks (``bill_customers``) that the workers bill in
    parallel; the run is returned while it runs and its last chunk finishes it.
    """
    permissions.require(actor, "billing.run")
    with transaction.atomic():
        # A run of this date still marked running was killed: it is taken over now. One
        # still alive (a second run started meanwhile) goes on and is not marked.
        # Runs in the workers are finished by their last chunk (task leases recover chunks).
        running = BillingRun.objects.filter(
            billing_date=billing_date, status=BillingRun.Status.RUNNING, chunks_total=0
        ).values_list("pk", flat=True)
        BillingRun.objects.filter(pk__in=run_locks.dead(RUN_LOCK, list(running))).update(
            status=BillingRun.Status.FAILED, finished_at=clock.now()
        )
        run = BillingRun.objects.create(
            billing_date=billing_date, started_at=clock.now(), started_by=actor.label
        )
        run_locks.hold(RUN_LOCK, run.pk)
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="billing_run.started",
            object_type="billing_run",
            object_id=run.pk,
            data={"billing_date": billing_date.isoformat()},
        )
    try:
        end_finished_contracts(billing_date, actor=actor)
        finalize_reviewed(billing_date=billing_date, actor=actor, run=run)
        ids = customers_due(billing_date, customer_ids)
        chunks = list(_chunks(ids, chunk_customers()))
        if in_workers and chunks:
            _enqueue_chunks(run, chunks)
            run_locks.release(RUN_LOCK, run.pk)
            return run
        review_days = _review_days(ids)
        done = 0
        for chunk in chunks:
            bill_chunk(
                chunk,
                billing_date=billing_date,
                run=run,
                actor=actor,
                review_days=review_days,
            )
            done += len(chunk)
            if progress is not None:
                progress(done, len(ids))
    except BaseException:
        BillingRun.objects.filter(pk=run.pk).update(
            status=BillingRun.Status.FAILED, finished_at=clock.now()
        )
        run_locks.release(RUN_LOCK, run.pk)
        raise
    with transaction.atomic():
        _finish(run, actor)
    run_locks.release(RUN_LOCK, run.pk)
    return run


def _enqueue_chunks(run: BillingRun, chunks: list[list[int]]) -> None:
    from faktura.subscriptions.tasks import bill_customers

    with transaction.atomic():
        BillingRun.objects.filter(pk=run.pk).update(chunks_total=len(chunks))
        for number, chunk in enumerate(chunks):
            bill_customers.enqueue(run.pk, run.billing_date.isoformat(), number, chunk)
    run.chunks_total = len(chunks)


@dataclass
class DryRun:
    """What a run for a date would make, computed without writing anything."""

    billing_date: dt.date
    customers: int = 0
    periods: int = 0
    charges: int = 0
    invoices: list[Invoice] = field(default_factory=list)
    refused: list[tuple[Customer, InvalidInput]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((invoice.grand_total for invoice in self.invoices), Decimal("0.00"))


def preview_billing(
    *, billing_date: dt.date, actor: Actor, customer_ids: list[int] | None = None
) -> DryRun:
    """The invoices a run for ``billing_date`` would make (unsaved, with their figures).

    The same computation as the run: a preview for one customer and date equals the
    invoice the run then makes, as long as nothing changes in between.
    """
    permissions.require(actor, "billing.preview")
    result = DryRun(billing_date=billing_date)
    ids = customers_due(billing_date, customer_ids)
    for chunk in _chunks(ids, chunk_customers()):
        customers = list(Customer.objects.filter(pk__in=chunk).order_by("pk"))
        subscriptions = list(
            Subscription.objects.filter(
                customer_id__in=chunk, status__in=RUNNING_STATES, plan__isnull=False
            ).order_by("pk")
        )
        charges = list(
            Charge.objects.select_related("product__tax_rate")
            .filter(
                customer_id__in=chunk,
                invoice__isnull=True,
                credit_note__isnull=True,
                due_on__lte=billing_date,
            )
            .order_by("pk")
        )
        plans = plan_customers(customers, subscriptions, charges, billing_date=billing_date)
        for plan in plans:
            requests = draft_requests(plan)
            if not requests:
                continue
            result.customers += 1
            outcomes = invoicing.preview_drafts(requests=requests, actor=actor)
            errors = [o for o in outcomes if isinstance(o, InvalidInput)]
            if errors:
                result.refused.append((plan.customer, errors[0]))
                continue
            for invoice_plan, invoice in zip(plan.invoices, outcomes, strict=True):
                assert isinstance(invoice, Invoice)
                # Which subscriptions' lines the invoice holds (the API shows one's next invoice).
                invoice.preview_subscription_ids = sorted(  # type: ignore[attr-defined]
                    {ln.subscription_id for ln in invoice_plan.lines if ln.subscription_id}
                )
                result.invoices.append(invoice)
                result.periods += sum(1 for ln in invoice_plan.lines if ln.period is not None)
                result.charges += sum(1 for ln in invoice_plan.lines if ln.charge_id is not None)
    return result
