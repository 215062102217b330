"""The invoice lifecycle through its services: order → draft → approval → finalized → credit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult

from faktura.catalog.models import Product, StockMovement, TaxRate
from faktura.core.audit import verify_chains
from faktura.core.errors import InvalidInput, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.invoicing import selectors
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, InvoiceLine
from faktura.sales.models import Order
from tests.conftest import TODAY
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db


def test_order_becomes_a_draft_with_totals_after_en16931(business_customer, actor):
    invoice = order(
        business_customer,
        actor,
        line("3", "9.99", discount_percent="5"),
        line("1", "4.99", rate="de-7"),
        document_discount_amount="3.00",
    )
    assert invoice.status == "draft"
    assert invoice.number is None
    assert [(li.net_amount, li.tax_rate) for li in invoice.lines.order_by("position")] == [
        (Decimal("28.47"), Decimal("19.00")),
        (Decimal("4.99"), Decimal("7.00")),
    ]
    assert invoice.line_total == Decimal("33.46")
    assert invoice.allowance_total == Decimal("3.00")
    assert invoice.tax_total == Decimal("5.24")
    assert invoice.grand_total == Decimal("35.70")
    assert invoice.buyer["name"] == "Beispiel Handel AG"
    assert invoice.seller["vat_id"] == "DE136695976"


def test_consumer_gross_prices_give_exactly_the_gross_the_customer_saw(consumer, actor):
    invoice = order(consumer, actor, line("3", "9.99"), line("1", "4.99", rate="de-7"))
    assert invoice.price_mode == "gross"
    assert invoice.grand_total == Decimal("34.96")
    taxes = {t.rate: (t.taxable_amount, t.tax_amount) for t in invoice.taxes.all()}
    assert taxes == {
        Decimal("19.00"): (Decimal("25.18"), Decimal("4.79")),
        Decimal("7.00"): (Decimal("4.66"), Decimal("0.33")),
    }


def test_finalization_numbers_dates_and_freezes(business_customer, actor):
    invoice = order(business_customer, actor, line("2", "100.00"))
    invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    assert invoice.number == "RE-2026-00001"
    assert invoice.issue_date == TODAY
    assert invoice.due_date == TODAY + dt.timedelta(days=14)
    assert invoice.service_date_start == invoice.service_date_end == TODAY
    assert invoice.content_hash == invoice.compute_content_hash()
    assert (
        AuditEntry.objects.filter(action="invoice.finalized", object_id=str(invoice.pk)).count()
        == 1
    )
    # Rendering and delivery are enqueued in the same transaction, to run after commit.
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("process_finalized_document")
    assert task.args_kwargs["args"] == [invoice.pk]
    second = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    assert second.number == "RE-2026-00002"


def test_master_data_edits_never_change_a_finalized_document(business_customer, actor):
    from faktura.customers.services import update_customer

    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    update_customer(customer_id=business_customer.pk, actor=actor, name="Umbenannt GmbH")
    invoice.refresh_from_db()
    assert invoice.buyer["name"] == "Beispiel Handel AG"


def test_finalizing_twice_is_refused_and_changes_nothing(business_customer, actor):
    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    entries = AuditEntry.objects.count()
    with pytest.raises(StateConflict) as refused:
        invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
    assert refused.value.code == "invoice_not_draft"
    assert AuditEntry.objects.count() == entries
    assert Invoice.objects.get(pk=invoice.pk).number == "RE-2026-00001"
    assert DBTaskResult.objects.count() == 1


def test_orm_refuses_to_change_or_delete_a_finalized_invoice(business_customer, actor):
    from faktura.core.errors import ImmutableDocument

    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    invoice.grand_total = Decimal("1.00")
    with pytest.raises(ImmutableDocument):
        invoice.save()
    with pytest.raises(ImmutableDocument):
        Invoice.objects.filter(pk=invoice.pk).update(grand_total=Decimal("1.00"))
    with pytest.raises(ImmutableDocument):
        Invoice.objects.get(pk=invoice.pk).delete()
    with pytest.raises(ImmutableDocument):
        Invoice.objects.filter(pk=invoice.pk).delete()
    first_line = InvoiceLine.objects.get(invoice=invoice)
    first_line.net_amount = Decimal("0.01")
    with pytest.raises(ImmutableDocument):
        first_line.save()
    with pytest.raises(ImmutableDocument):
        InvoiceLine.objects.filter(invoice=invoice).update(quantity=5)
    with pytest.raises(ImmutableDocument):
        InvoiceLine.objects.filter(invoice=invoice).delete()
    # A fresh instance with the same pk cannot overwrite it either.
    with pytest.raises(ImmutableDocument):
        Invoice(pk=invoice.pk, customer=business_customer, created_at=invoice.created_at).save()
    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.grand_total == Decimal("119.00")
    assert stored.compute_content_hash() == stored.content_hash


def test_operational_state_may_change_after_finalization(business_customer, actor):
    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    invoice.delivery_status = "sent"
    invoice.save(update_fields=["delivery_status"])
    assert Invoice.objects.get(pk=invoice.pk).delivery_status == "sent"


def test_drafts_can_be_discarded_without_leaving_a_gap(business_customer, actor):
    draft = order(business_customer, actor, line(), external_reference="shop-1")
    invoicing.discard_draft(invoice_id=draft.pk, actor=actor)
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert not Order.objects.exists()
    invoice = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    assert invoice.number == "RE-2026-00001"


def test_a_repeated_external_reference_returns_the_first_invoice(business_customer, actor):
    first = order(business_customer, actor, line(), external_reference="shop-4711")
    again = order(business_customer, actor, line("5"), external_reference="shop-4711")
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert Invoice.objects.count() == 1


def test_automatic_finalization_issues_invoices_straight_from_sales(
    company, business_customer, actor
):
    company.auto_finalize = True
    company.save()
    invoice = order(business_customer, actor, line())
    assert invoice.status == "finalized"
    assert invoice.number == "RE-2026-00001"


# --- approval -----------------------------------------------------------------------------


def test_amount_above_threshold_waits_for_a_second_person(
    company, business_customer, actor, approver
):
    company.approval_threshold = Decimal("500.00")
    company.save()
    small = order(business_customer, actor, line())
    big = order(business_customer, actor, line("10"))
    assert small.status == "draft"
    assert big.status == "pending_approval"
    assert big.approval_reasons == ["amount_above_threshold"]
    with pytest.raises(StateConflict) as refused:
        invoicing.finalize_invoice(invoice_id=big.pk, actor=actor)
    assert refused.value.code == "approval_required"
    approved = invoicing.approve_invoice(invoice_id=big.pk, actor=approver)
    assert approved.status == "approved"
    assert approved.approved_by == "user:bernd"
    finalized = invoicing.finalize_invoice(invoice_id=big.pk, actor=actor)
    assert finalized.number == "RE-2026-00001"


def test_the_creator_cannot_approve_their_own_invoice(company, business_customer, approver):
    company.approval_threshold = Decimal("0")
    company.save()
    own = order(business_customer, approver, line())
    entries = AuditEntry.objects.count()
    with pytest.raises(PermissionRefused) as refused:
        invoicing.approve_invoice(invoice_id=own.pk, actor=approver)
    assert refused.value.code == "approver_is_creator"
    assert Invoice.objects.get(pk=own.pk).status == "pending_approval"
    assert AuditEntry.objects.count() == entries


def test_only_approvers_approve(company, business_customer, actor):
    from faktura.core.actors import Actor

    company.approval_threshold = Decimal("0")
    company.save()
    draft = order(business_customer, actor, line())
    clerk = Actor(label="user:carl", roles=frozenset({"accountant"}))
    with pytest.raises(PermissionRefused) as refused:
        invoicing.approve_invoice(invoice_id=draft.pk, actor=clerk)
    assert refused.value.code == "not_an_approver"


def test_rejection_needs_a_reason_and_is_recorded(company, business_customer, actor, approver):
    company.approval_threshold = Decimal("0")
    company.save()
    draft = order(business_customer, actor, line())
    with pytest.raises(InvalidInput):
        invoicing.reject_invoice(invoice_id=draft.pk, actor=approver, reason="  ")
    rejected = invoicing.reject_invoice(invoice_id=draft.pk, actor=approver, reason="Preis falsch")
    assert rejected.status == "rejected"
    assert rejected.rejection_reason == "Preis falsch"
    with pytest.raises(StateConflict):
        invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    assert (
        AuditEntry.objects.filter(action="invoice.rejected").get().data["reason"] == "Preis falsch"
    )


def test_new_customers_and_manual_invoices_need_approval(
    company, business_customer, actor, approver
):
    from faktura.core import clock
    from faktura.payments.models import Allocation, Payment

    company.approval_for_new_customers = True
    company.approval_for_manual_invoices = True
    company.save()
    first = order(business_customer, actor, line(), source="backoffice")
    assert first.approval_reasons == ["manual_invoice", "new_customer"]
    invoicing.approve_invoice(invoice_id=first.pk, actor=approver)
    first = invoicing.finalize_invoice(invoice_id=first.pk, actor=actor)
    payment = Payment.objects.create(
        customer=business_customer,
        amount=Decimal("119.00"),
        date=TODAY,
        method="transfer",
        source="manual",
        created_by="test",
        created_at=clock.now(),
    )
    Allocation.objects.create(
        payment=payment,
        invoice=first,
        amount=Decimal("119.00"),
        created_at=clock.now(),
        created_by="test",
    )
    assert order(business_customer, actor, line()).status == "draft"


# --- credit notes and cancellations ----------------------------------------------------------


def _finalized(customer, actor, *lines):
    return invoicing.finalize_invoice(invoice_id=order(customer, actor, *lines).pk, actor=actor)


def test_credit_note_for_chosen_lines_and_quantities(business_customer, actor):
    invoice = _finalized(
        business_customer, actor, line("3", "50.00"), line("1", "20.00", rate="de-7")
    )
    credit = invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "2")])
    credit = invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    assert credit.number == "GS-2026-00001"
    assert credit.kind == "credit_note"
    assert credit.type_code == "381"
    assert credit.original_id == invoice.pk
    assert credit.grand_total == Decimal("119.00")
    assert selectors.open_amount(invoice) == Decimal("199.90") - Decimal("119.00")


def test_crediting_more_than_remains_is_refused(business_customer, actor):
    invoice = _finalized(business_customer, actor, line("3", "50.00"))
    invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "2")])
    before = Invoice.objects.count()
    with pytest.raises(StateConflict) as refused:
        invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "2")])
    assert refused.value.code == "credit_exceeds_remaining"
    with pytest.raises(StateConflict) as refused:
        invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, amount="60.00")
    assert refused.value.code == "credit_exceeds_remaining"
    assert Invoice.objects.count() == before


def test_credit_note_for_an_amount(business_customer, actor):
    invoice = _finalized(business_customer, actor, line("1", "100.00"))
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="11.90", reason="Kulanz"
    )
    assert credit.grand_total == Decimal("11.90")
    assert credit.lines.get().name == "Kulanz"


def test_a_long_reason_of_an_amount_credit_names_its_line_in_one_short_line(
    business_customer, actor
):
    invoice = _finalized(business_customer, actor, line("1", "100.00"))
    reason = "Kulanz wegen Lieferverzug\n" + "Details " * 60
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="11.90", reason=reason
    )
    name = credit.lines.get().name
    assert len(name) <= 200
    assert name.startswith("Kulanz wegen Lieferverzug Details Details")
    assert credit.note == reason.strip()  # the whole reason stays on the credit note


def test_cancellation_reverses_the_whole_invoice_and_marks_it(business_customer, actor):
    invoice = _finalized(
        business_customer, actor, line("2", "100.00"), line("1", "10.00", rate="de-7")
    )
    cancellation = invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor, reason="Doppelt")
    assert cancellation.status == "finalized"
    assert cancellation.kind == "cancellation"
    assert cancellation.number == "GS-2026-00001"
    assert cancellation.grand_total == invoice.grand_total
    state = selectors.settlement(invoice, today=TODAY)
    assert state["payment_status"] == "cancelled"
    assert state["open_amount"] == Decimal("0")
    with pytest.raises(StateConflict) as refused:
        invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor)
    assert refused.value.code == "invoice_already_cancelled"


def test_stock_goes_down_on_finalization_and_back_on_restocking_credit(business_customer, actor):
    product = Product.objects.create(
        sku="BUCH-1",
        name="Handbuch",
        unit_price=Decimal("20.0000"),
        tax_rate=TaxRate.objects.get(code="de-7"),
        track_stock=True,
        stock_level=Decimal(10),
    )
    from faktura.invoicing.drafting import LineRequest

    invoice = _finalized(business_customer, actor, LineRequest(quantity="3", sku="BUCH-1"))
    product.refresh_from_db()
    assert product.stock_level == Decimal(7)
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, lines=[(1, "1")], restock=True
    )
    invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
    product.refresh_from_db()
    assert product.stock_level == Decimal(8)
    assert list(
        StockMovement.objects.order_by("pk").values_list("quantity", "document_number")
    ) == [
        (Decimal("-3.0000"), "RE-2026-00001"),
        (Decimal("1.0000"), "GS-2026-00001"),
    ]


# --- derived payment state -----------------------------------------------------------------


def test_open_amount_and_payment_status_follow_allocations(business_customer, actor):
    from faktura.core import clock
    from faktura.payments.models import Allocation, Payment

    invoice = _finalized(business_customer, actor, line("1", "100.00"))
    assert selectors.settlement(invoice, today=TODAY)["payment_status"] == "unpaid"
    payment = Payment.objects.create(
        customer=business_customer,
        amount=Decimal("150.00"),
        date=TODAY,
        method="transfer",
        source="manual",
        created_by="test",
        created_at=clock.now(),
    )
    part = Allocation.objects.create(
        payment=payment,
        invoice=invoice,
        amount=Decimal("100.00"),
        created_at=clock.now(),
        created_by="test",
    )
    assert selectors.settlement(invoice, today=TODAY) == {
        "open_amount": Decimal("19.00"),
        "payment_status": "partially_paid",
        "overdue": False,
    }
    late = invoice.due_date + dt.timedelta(days=1)
    assert selectors.settlement(invoice, today=late)["overdue"] is True
    Allocation.objects.create(
        payment=payment,
        invoice=invoice,
        amount=Decimal("50.00"),
        created_at=clock.now(),
        created_by="test",
    )
    assert selectors.settlement(invoice, today=late)["payment_status"] == "overpaid"
    part.reversed_at = clock.now()
    part.save()
    assert selectors.settlement(invoice, today=TODAY)["open_amount"] == Decimal("69.00")


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "code"),
    [
        ({"price": "10.00001"}, "too_many_decimals"),
        ({"rate": "de-42"}, "unknown_tax_rate"),
        ({"quantity": "0"}, "invalid_quantity"),
        ({"quantity": 1.5}, "invalid_amount"),
        ({"price": "abc"}, "invalid_amount"),
        ({"discount_amount": "1.005"}, "too_many_decimals"),
        ({"discount_percent": "120"}, "invalid_discount"),
        ({"discount_amount": "500.00"}, "invalid_discount"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(business_customer, actor, bad_line, code):
    entries = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as refused:
        order(business_customer, actor, line(**bad_line))
    assert refused.value.code == code
    assert not Order.objects.exists()
    assert not Invoice.objects.exists()
    assert AuditEntry.objects.count() == entries


def test_reverse_charge_needs_the_buyers_vat_id(consumer, actor):
    with pytest.raises(InvalidInput) as refused:
        order(consumer, actor, line(rate="de-reverse-charge"))
    assert refused.value.code == "buyer_vat_id_required"
    assert not Invoice.objects.exists()


def test_small_business_invoices_carry_no_vat(company, business_customer, actor):
    company.small_business = True
    company.save()
    invoice = order(business_customer, actor, line("1", "100.00"))
    tax = invoice.taxes.get()
    assert (tax.category, tax.tax_amount) == ("E", Decimal("0.00"))
    assert "§ 19 UStG" in tax.exemption_reason
    assert invoice.grand_total == Decimal("100.00")


def test_every_change_lands_in_an_intact_audit_chain(business_customer, actor):
    invoice = _finalized(business_customer, actor, line())
    invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor)
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [
        "customer.created",
        "invoice.drafted",
        "invoice.finalized",
        "cancellation.drafted",
        "cancellation.finalized",
    ]
    assert list(verify_chains()) == []


# --- batch finalization ---------------------------------------------------------------------


def test_batch_finalization_numbers_in_id_order_and_records_each_document(
    business_customer, consumer, actor, capsys
):
    from django.core.management import call_command

    drafts = [order(c, actor, line()) for c in (business_customer, consumer, business_customer)]
    finalized = invoicing.finalize_invoices(invoice_ids=[d.pk for d in drafts], actor=actor)
    assert [i.number for i in finalized] == ["RE-2026-00001", "RE-2026-00002", "RE-2026-00003"]
    stored = Invoice.objects.get(pk=drafts[1].pk)
    assert stored.status == "finalized"
    assert stored.due_date == TODAY + dt.timedelta(days=14)
    assert stored.content_hash == stored.compute_content_hash()
    assert AuditEntry.objects.filter(action="invoice.finalized").count() == 3
    assert list(verify_chains()) == []
    call_command("check")
    assert "Integrity check passed" in capsys.readouterr().out
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"] == [[d.pk for d in drafts]]


def test_a_batch_with_one_finalized_invoice_changes_nothing(business_customer, actor):
    done = invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line()).pk, actor=actor
    )
    draft = order(business_customer, actor, line())
    entries = AuditEntry.objects.count()
    with pytest.raises(StateConflict) as refused:
        invoicing.finalize_invoices(invoice_ids=[draft.pk, done.pk], actor=actor)
    assert refused.value.code == "invoice_not_draft"
    assert Invoice.objects.get(pk=draft.pk).status == "draft"
    assert AuditEntry.objects.count() == entries
    assert invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor).number == "RE-2026-00002"


def test_a_draft_that_newly_needs_approval_is_submitted_instead_of_finalized(
    company, business_customer, actor
):
    draft = order(business_customer, actor, line("10"))
    company.approval_threshold = Decimal("500.00")
    company.save()
    submitted = invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)
    assert submitted.status == "pending_approval"
    assert submitted.number is None
    stored = Invoice.objects.get(pk=draft.pk)
    assert (stored.status, stored.approval_reasons) == (
        "pending_approval",
        ["amount_above_threshold"],
    )
    assert AuditEntry.objects.filter(action="invoice.submitted_for_approval").count() == 1


@pytest.mark.parametrize("role", ["viewer", "cashier"])
def test_only_accountants_issue_documents(business_customer, actor, role):
    from faktura.core.actors import Actor
    from faktura.core.errors import PermissionRefused

    draft = order(business_customer, actor, line())
    reader = Actor(label="user:dora", roles=frozenset({role}))
    with pytest.raises(PermissionRefused) as refused:
        invoicing.finalize_invoice(invoice_id=draft.pk, actor=reader)
    assert refused.value.code == "role_required"
    with pytest.raises(PermissionRefused):
        order(business_customer, reader, line())
    assert Invoice.objects.count() == 1
    assert Invoice.objects.get().status == "draft"


def test_an_invoice_paid_in_parts_to_the_cent_counts_as_paid(business_customer, actor):
    # SQLite once computed 23.80 − 22.81 − 0.99 in floating point and saw 3.55e-15 open.
    from faktura.core import clock
    from faktura.payments.models import Allocation, Payment

    invoice = _finalized(business_customer, actor, line("1", "20.00"))
    assert invoice.grand_total == Decimal("23.80")
    for amount in ("22.81", "0.99"):
        payment = Payment.objects.create(
            customer=business_customer,
            amount=Decimal(amount),
            date=TODAY,
            method="transfer",
            source="manual",
            created_by="test",
            created_at=clock.now(),
        )
        Allocation.objects.create(
            payment=payment,
            invoice=invoice,
            amount=Decimal(amount),
            created_at=clock.now(),
            created_by="test",
        )
    paid = selectors.filter_by_payment_state(Invoice.objects.all(), "paid", TODAY)
    assert list(paid.values_list("pk", flat=True)) == [invoice.pk]
    assert not selectors.filter_by_payment_state(Invoice.objects.all(), "open", TODAY).exists()
