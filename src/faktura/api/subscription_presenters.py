"""Turn plans, subscriptions, quotes, previews and runs into API resources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Prefetch, QuerySet

from faktura.api import subscription_schemas as s
from faktura.api.presenters import price, quantity, timestamp
from faktura.api.schemas import InvoiceTaxOut, ServicePeriodOut
from faktura.core.money import format_amount
from faktura.invoicing.models import Invoice
from faktura.subscriptions.models import (
    BilledPeriod,
    BillingIssue,
    BillingRun,
    Charge,
    Coupon,
    Course,
    Discount,
    Plan,
    PriceChange,
    Subscription,
)
from faktura.subscriptions.run import DryRun
from faktura.subscriptions.services import Quote


def _money(value: Any) -> str | None:
    return None if value is None else format_amount(value)


def _period(start: Any, end: Any) -> ServicePeriodOut:
    return ServicePeriodOut(start=start, end=end)


# --- plans, courses, coupons -----------------------------------------------------------------


def plans(queryset: QuerySet[Plan]) -> QuerySet[Plan]:
    return queryset.select_related("product").prefetch_related(
        Prefetch("price_changes", queryset=PriceChange.objects.order_by("effective_from"))
    )


def price_change(obj: PriceChange) -> s.PriceChangeOut:
    return s.PriceChangeOut(
        id=obj.pk,
        effective_from=obj.effective_from,
        price=price(obj.price),
        needs_consent=obj.needs_consent,
        notice_days=obj.notice_days,
        announce_on=obj.announce_on,
        created_at=timestamp(obj.created_at) or "",
    )


def plan(obj: Plan) -> s.PlanOut:
    return s.PlanOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        code=obj.code,
        name=obj.name,
        sku=obj.product.sku,
        interval=obj.interval,  # type: ignore[arg-type]
        timing=obj.timing,  # type: ignore[arg-type]
        price=price(obj.price),
        price_mode=obj.price_mode,  # type: ignore[arg-type]
        setup_fee=format_amount(obj.setup_fee),
        trial_days=obj.trial_days,
        contract_terms=s.ContractTermsOut(
            minimum_term_months=obj.minimum_term_months,
            notice_value=obj.notice_value,
            notice_unit=obj.notice_unit,  # type: ignore[arg-type]
            after_minimum_term=obj.after_minimum_term,  # type: ignore[arg-type]
            renewal_months=obj.renewal_months,
            renewal_notice_days=obj.renewal_notice_days,
        ),
        price_changes=[price_change(c) for c in obj.price_changes.all()],
        active=obj.active,
    )


def plan_list(rows: Iterable[Plan]) -> list[s.PlanOut]:
    return [plan(row) for row in rows]


def courses(queryset: QuerySet[Course]) -> QuerySet[Course]:
    return queryset.select_related("product").prefetch_related("instalments")


def course(obj: Course) -> s.CourseOut:
    return s.CourseOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        code=obj.code,
        name=obj.name,
        sku=obj.product.sku,
        price=format_amount(obj.price),
        price_mode=obj.price_mode,  # type: ignore[arg-type]
        starts_on=obj.starts_on,
        ends_on=obj.ends_on,
        instalments=[
            s.InstalmentOut(number=i.number, due_on=i.due_on, amount=format_amount(i.amount))
            for i in sorted(obj.instalments.all(), key=lambda i: i.number)
        ],
        active=obj.active,
    )


def course_list(rows: Iterable[Course]) -> list[s.CourseOut]:
    return [course(row) for row in rows]


def coupons(queryset: QuerySet[Coupon]) -> QuerySet[Coupon]:
    return queryset.prefetch_related("plans")


def coupon(obj: Coupon) -> s.CouponOut:
    return s.CouponOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        code=obj.code,
        name=obj.name,
        kind=obj.kind,  # type: ignore[arg-type]
        value=format_amount(obj.value),
        duration=obj.duration,  # type: ignore[arg-type]
        periods=obj.periods,
        plans=sorted(p.pk for p in obj.plans.all()),
        redeemable_until=obj.redeemable_until,
        active=obj.active,
    )


def coupon_list(rows: Iterable[Coupon]) -> list[s.CouponOut]:
    return [coupon(row) for row in rows]


# --- subscriptions ---------------------------------------------------------------------------


def subscriptions(queryset: QuerySet[Subscription]) -> QuerySet[Subscription]:
    return queryset.prefetch_related(
        Prefetch("discounts", queryset=Discount.objects.select_related("coupon"))
    ).annotate(
        billed_count=Count("billed_periods", distinct=True),
        last_billed_start=Max("billed_periods__period_start"),
    )


def discount(obj: Discount) -> s.DiscountOut:
    limit = obj.coupon.period_limit
    return s.DiscountOut(
        coupon=obj.coupon.code,
        kind=obj.coupon.kind,  # type: ignore[arg-type]
        value=format_amount(obj.coupon.value),
        duration=obj.coupon.duration,  # type: ignore[arg-type]
        periods_used=obj.periods_used,
        periods_left=None if limit is None else max(0, limit - obj.periods_used),
    )


def _last_billed(obj: Subscription, start: Any) -> s.BilledPeriodOut | None:
    if start is None:
        return None
    billed = BilledPeriod.objects.filter(subscription=obj, period_start=start).first()
    if billed is None:
        return None
    return s.BilledPeriodOut(
        start=billed.period_start,
        end=billed.period_end,
        invoice=billed.invoice_id,
        amount=format_amount(billed.amount),
    )


def subscription(obj: Subscription) -> s.SubscriptionOut:
    """Present one subscription; ``obj`` comes from :func:`subscriptions` or is re-read."""
    if not hasattr(obj, "billed_count"):
        obj = subscriptions(Subscription.objects.filter(pk=obj.pk)).get()
    scheduled = (
        s.ScheduledChangeOut(
            plan=obj.scheduled_plan_id,
            quantity=quantity(obj.scheduled_quantity)
            if obj.scheduled_quantity is not None
            else None,
            on=obj.scheduled_change_on,
        )
        if obj.scheduled_change_on is not None
        else None
    )
    applied = list(obj.discounts.all())
    return s.SubscriptionOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        customer=obj.customer_id,
        plan=obj.plan_id,
        course=obj.course_id,
        status=obj.status,  # type: ignore[arg-type]
        quantity=quantity(obj.quantity),
        starts_on=obj.starts_on,
        trial_ends_on=obj.trial_ends_on,
        billing_anchor=obj.billing_anchor,
        next_billing_on=obj.next_billing_on,
        ends_on=obj.ends_on,
        notice_received_on=obj.notice_received_on,
        paused_from=obj.paused_from,
        scheduled_change=scheduled,
        payment_method=obj.payment_method,  # type: ignore[arg-type]
        mandate=obj.mandate_id,
        saved_payment_method=obj.saved_payment_method_id,
        discount=discount(applied[0]) if applied else None,
        billed_periods=obj.billed_count,  # type: ignore[attr-defined]
        last_billed_period=_last_billed(obj, obj.last_billed_start),  # type: ignore[attr-defined]
        external_reference=obj.external_reference,
    )


def subscription_list(rows: Iterable[Subscription]) -> list[s.SubscriptionOut]:
    return [subscription(row) for row in rows]


def quote(obj: Quote, *, subscription_id: int, preview: bool) -> s.QuoteOut:
    return s.QuoteOut(
        subscription=subscription_id,
        preview=preview,
        applies_on=obj.applies_on,
        price_mode=obj.price_mode,  # type: ignore[arg-type]
        lines=[
            s.QuoteLineOut(
                kind=line.kind,
                name=line.name,
                service_period=_period(line.service_start, line.service_end),
                quantity=quantity(line.quantity),
                unit_price=price(line.unit_price),
                amount=format_amount(line.amount),
            )
            for line in obj.lines
        ],
        total=format_amount(obj.total),
        refund=obj.refund,
    )


def charge(obj: Charge) -> s.ChargeOut:
    return s.ChargeOut(
        id=obj.pk,
        created_at=timestamp(obj.created_at) or "",
        customer=obj.customer_id,
        subscription=obj.subscription_id,
        kind=obj.kind,
        sku=obj.product.sku,
        name=obj.name,
        quantity=quantity(obj.quantity),
        unit_price=price(obj.unit_price),
        price_mode=obj.price_mode,  # type: ignore[arg-type]
        due_on=obj.due_on,
        service_period=_period(obj.service_start, obj.service_end),
        invoice=obj.invoice_id,
    )


# --- previews and runs -----------------------------------------------------------------------


def preview_invoice(invoice: Invoice) -> s.PreviewInvoiceOut:
    """An unsaved invoice of ``preview_billing`` with its figures."""
    lines: list[Any] = invoice.preview_lines  # type: ignore[attr-defined]
    taxes: list[Any] = invoice.preview_taxes  # type: ignore[attr-defined]
    return s.PreviewInvoiceOut(
        customer=invoice.customer_id,
        currency=invoice.currency,
        price_mode=invoice.price_mode,  # type: ignore[arg-type]
        payment_method=invoice.payment_method,
        service_period=_period(invoice.service_date_start, invoice.service_date_end),
        subscriptions=list(getattr(invoice, "preview_subscription_ids", [])),
        lines=[
            s.PreviewLineOut(
                position=line.position,
                sku=line.sku,
                name=line.name,
                quantity=quantity(line.quantity),
                unit_code=line.unit_code,
                unit_price=price(line.unit_price),
                net_unit_price=price(line.net_unit_price),
                discount_amount=format_amount(line.discount_amount),
                net_amount=format_amount(line.net_amount),
                gross_amount=_money(line.gross_amount),
                tax_rate=line.tax_rate_code,
                tax_percent=format_amount(line.tax_rate),
                service_period=_period(line.service_date_start, line.service_date_end),
            )
            for line in lines
        ],
        taxes=[
            InvoiceTaxOut(
                category=t.category,
                rate=format_amount(t.rate),
                taxable_amount=format_amount(t.taxable_amount),
                tax_amount=format_amount(t.tax_amount),
                exemption_reason=t.exemption_reason,
                exemption_reason_code=t.exemption_reason_code,
            )
            for t in taxes
        ],
        line_total=format_amount(invoice.line_total),
        allowance_total=format_amount(invoice.allowance_total),
        tax_basis_total=format_amount(invoice.tax_basis_total),
        tax_total=format_amount(invoice.tax_total),
        grand_total=format_amount(invoice.grand_total),
        payable_amount=format_amount(invoice.payable_amount),
    )


def billing_preview(dry: DryRun) -> s.BillingPreviewOut:
    return s.BillingPreviewOut(
        billing_date=dry.billing_date,
        customers=dry.customers,
        periods=dry.periods,
        charges=dry.charges,
        total=format_amount(dry.total),
        invoices=[preview_invoice(invoice) for invoice in dry.invoices],
        refused=[
            s.RefusedOut(
                customer=customer.pk,
                customer_number=customer.number,
                code=error.code,
                message=error.message,
            )
            for customer, error in dry.refused
        ],
    )


def billing_runs(queryset: QuerySet[BillingRun]) -> QuerySet[BillingRun]:
    return queryset.prefetch_related(
        Prefetch(
            "issues",
            queryset=BillingIssue.objects.select_related("customer").order_by("pk"),
        )
    )


def billing_run(obj: BillingRun) -> s.BillingRunOut:
    return s.BillingRunOut(
        id=obj.pk,
        billing_date=obj.billing_date,
        status=obj.status,  # type: ignore[arg-type]
        started_at=timestamp(obj.started_at) or "",
        finished_at=timestamp(obj.finished_at),
        started_by=obj.started_by,
        periods_found=obj.periods_found,
        charges_found=obj.charges_found,
        invoices_made=obj.invoices_made,
        invoices_finalized=obj.invoices_finalized,
        errors=obj.errors,
        issues=[
            s.BillingIssueOut(
                id=issue.pk,
                customer=issue.customer_id,
                customer_number=issue.customer.number,
                subscription=issue.subscription_id,
                code=issue.code,
                message=issue.message,
                resolved_at=timestamp(issue.resolved_at),
            )
            for issue in obj.issues.all()
        ],
    )


def billing_run_list(rows: Iterable[BillingRun]) -> list[s.BillingRunOut]:
    return [billing_run(row) for row in rows]
