"""The credit check of an order: credit limit and risk score send it to approval or prepayment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Status
from faktura.sales.models import Order
from tests.conftest import TODAY
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized
from tests.reporting.risk_helpers import at, bad_history, risk_settings

# One unpaid, not yet overdue invoice of 119.00: open receivables, score 0.
OPEN_LINE = "Offene Forderungen 119,00 EUR und Auftrag 119,00 EUR übersteigen das Kreditlimit"


def _with_open_invoice(customer, actor, *, limit: str | None):
    with at(dt.date(2026, 11, 10)):
        finalized(customer, actor)
    customer.credit_limit = Decimal(limit) if limit is not None else None
    customer.save(update_fields=["credit_limit"])


def _order_of(invoice) -> Order:
    return Order.objects.get(pk=invoice.order_id)


def test_an_order_over_the_credit_limit_goes_to_approval(business_customer, actor, approver):
    _with_open_invoice(business_customer, actor, limit="200.00")
    risk_settings(risk_action="approval")

    invoice = order(business_customer, actor, line())

    assert invoice.status == Status.PENDING_APPROVAL
    assert invoice.approval_reasons == ["credit_limit_exceeded"]
    placed = _order_of(invoice)
    assert (placed.risk_decision, placed.risk_score) == ("approval", 0)
    assert placed.risk_reasons == [
        f"{OPEN_LINE} von 200,00 EUR",
        "Keine Auffälligkeiten im Zahlungsverhalten",
    ]
    entry = AuditEntry.objects.filter(action="order.credit_checked").get()
    assert (entry.object_id, entry.data["decision"], entry.data["codes"]) == (
        str(placed.pk),
        "approval",
        ["credit_limit_exceeded"],
    )
    # The approver releases it; then it is finalized like any other.
    invoicing.approve_invoice(invoice_id=invoice.pk, actor=approver)
    assert invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor).is_finalized


def test_an_order_over_the_limit_becomes_prepayment_due_at_once(business_customer, actor):
    risk_settings(risk_action="prepayment")
    _with_open_invoice(business_customer, actor, limit="200.00")
    business_customer.preferred_payment_method = "direct_debit"
    business_customer.save(update_fields=["preferred_payment_method"])

    invoice = order(business_customer, actor, line())

    assert invoice.status == Status.DRAFT
    assert (invoice.payment_term_days, invoice.payment_method) == (0, "transfer")
    assert _order_of(invoice).risk_decision == "prepayment"
    final = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    assert (final.issue_date, final.due_date) == (TODAY, TODAY)


def test_the_default_credit_limit_applies_to_customers_without_their_own(business_customer, actor):
    risk_settings(risk_action="approval", default_credit_limit=Decimal("200.00"))
    _with_open_invoice(business_customer, actor, limit=None)

    invoice = order(business_customer, actor, line())

    assert invoice.approval_reasons == ["credit_limit_exceeded"]
    assert _order_of(invoice).risk_reasons[0] == f"{OPEN_LINE} von 200,00 EUR"


def test_a_customer_above_the_risk_threshold_goes_to_approval(business_customer, actor):
    risk_settings(risk_action="approval", risk_score_threshold=70)
    bad_history(business_customer, actor)

    invoice = order(business_customer, actor, line())

    assert invoice.status == Status.PENDING_APPROVAL
    assert invoice.approval_reasons == ["high_risk_score"]
    placed = _order_of(invoice)
    assert (placed.risk_decision, placed.risk_score) == ("approval", 70)
    assert placed.risk_reasons[0] == "Risikopunkte 70 erreichen die Schwelle von 70"
    assert len(placed.risk_reasons) == 6  # the decision and the score's five parts


def test_a_customer_just_below_the_threshold_and_limit_is_invoiced_normally(
    business_customer, actor
):
    risk_settings(risk_action="approval", risk_score_threshold=71)
    bad_history(business_customer, actor)
    business_customer.credit_limit = Decimal("238.00")  # 119.00 open + 119.00 ordered
    business_customer.save(update_fields=["credit_limit"])

    invoice = order(business_customer, actor, line())

    assert invoice.status == Status.DRAFT
    assert (invoice.approval_reasons, invoice.payment_term_days) == ([], 14)
    placed = _order_of(invoice)
    assert (placed.risk_decision, placed.risk_score) == ("normal", 70)


def test_with_the_setting_none_a_risky_order_is_invoiced_normally(business_customer, actor):
    risk_settings(risk_action="none", risk_score_threshold=10)
    bad_history(business_customer, actor)
    business_customer.credit_limit = Decimal("1.00")
    business_customer.save(update_fields=["credit_limit"])

    invoice = order(business_customer, actor, line())

    assert (invoice.status, invoice.payment_term_days) == (Status.DRAFT, 14)
    placed = _order_of(invoice)
    assert (placed.risk_decision, placed.risk_score, placed.risk_reasons) == ("normal", None, [])
    assert not AuditEntry.objects.filter(action="order.credit_checked").exists()


def test_prepayment_keeps_other_approval_rules(business_customer, actor, company):
    _with_open_invoice(business_customer, actor, limit="200.00")
    company.approval_threshold = Decimal("100.00")
    company.save(update_fields=["approval_threshold"])
    risk_settings(risk_action="prepayment")

    invoice = order(business_customer, actor, line())

    assert (invoice.status, invoice.approval_reasons) == (
        Status.PENDING_APPROVAL,
        ["amount_above_threshold"],
    )
    assert invoice.payment_term_days == 0
