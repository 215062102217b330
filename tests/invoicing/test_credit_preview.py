"""preview_credit_note: the figures create_credit_note would write, without writing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from faktura.core.errors import InvalidInput, PermissionRefused, StateConflict
from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.invoicing.models import Invoice, InvoiceLine, Kind
from tests.invoicing.helpers import line, order
from tests.payments.helpers import VIEWER


@pytest.fixture
def invoice(business_customer, actor):
    draft = order(
        business_customer,
        actor,
        line("3", "33.33", name="Stunde"),
        line("1", "100.00", rate="de-7", name="Buch"),
        document_discount_amount="10.00",
    )
    return invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


@pytest.mark.django_db
def test_the_preview_has_the_figures_of_the_credit_note_and_writes_nothing(invoice, actor):
    rows = (Invoice.objects.count(), InvoiceLine.objects.count(), AuditEntry.objects.count())
    preview = invoicing.preview_credit_note(
        invoice_id=invoice.pk, actor=actor, lines=[(1, "2"), (2, "1")]
    )
    assert rows == (
        Invoice.objects.count(),
        InvoiceLine.objects.count(),
        AuditEntry.objects.count(),
    )
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, lines=[(1, "2"), (2, "1")]
    )
    assert preview.pk is None
    assert (preview.tax_basis_total, preview.tax_total, preview.grand_total) == (
        credit.tax_basis_total,
        credit.tax_total,
        credit.grand_total,
    )
    assert preview.document_discount_amount == credit.document_discount_amount > 0
    assert [(t.rate, t.tax_amount) for t in preview.preview_taxes] == [
        (t.rate, t.tax_amount) for t in credit.taxes.order_by("pk")
    ]
    assert [li.net_amount for li in preview.preview_lines] == [
        li.net_amount for li in credit.lines.order_by("position")
    ]


@pytest.mark.django_db
def test_the_preview_counts_what_was_credited_already(invoice, actor):
    invoicing.create_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "2")])
    assert invoicing.creditable_lines(invoice)[0][1] == Decimal(1)
    with pytest.raises(StateConflict) as refused:
        invoicing.preview_credit_note(invoice_id=invoice.pk, actor=actor, lines=[(1, "2")])
    assert refused.value.code == "credit_exceeds_remaining"
    assert Invoice.objects.filter(kind=Kind.CREDIT_NOTE).count() == 1


@pytest.mark.django_db
def test_a_viewer_gets_no_preview(invoice):
    with pytest.raises(PermissionRefused):
        invoicing.preview_credit_note(invoice_id=invoice.pk, actor=VIEWER, lines=[(1, "1")])


@pytest.mark.django_db
def test_the_preview_of_an_amount_has_the_figures_of_that_credit_note(invoice, actor):
    rows = (Invoice.objects.count(), InvoiceLine.objects.count(), AuditEntry.objects.count())
    preview = invoicing.preview_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="50.00", tax_rate="de-19", reason="Kulanz"
    )
    assert rows == (
        Invoice.objects.count(),
        InvoiceLine.objects.count(),
        AuditEntry.objects.count(),
    )
    credit = invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="50.00", tax_rate="de-19", reason="Kulanz"
    )
    assert (preview.tax_basis_total, preview.tax_total, preview.grand_total) == (
        credit.tax_basis_total,
        credit.tax_total,
        credit.grand_total,
    )
    assert (credit.tax_basis_total, credit.tax_total, credit.grand_total) == (
        Decimal("42.02"),
        Decimal("7.98"),
        Decimal("50.00"),
    )
    assert [li.name for li in preview.preview_lines] == ["Kulanz"]


@pytest.mark.django_db
def test_the_preview_of_an_amount_refuses_what_the_credit_note_would(invoice, actor):
    remaining = invoicing.creditable_amount(invoice)
    assert remaining == invoice.grand_total
    with pytest.raises(InvalidInput) as several:
        invoicing.preview_credit_note(invoice_id=invoice.pk, actor=actor, amount="10.00")
    assert several.value.code == "tax_rate_required"
    invoicing.create_credit_note(
        invoice_id=invoice.pk, actor=actor, amount="20.00", tax_rate="de-7", reason="Kulanz"
    )
    assert invoicing.creditable_amount(invoice) == remaining - Decimal("20.00")
    with pytest.raises(StateConflict) as too_much:
        invoicing.preview_credit_note(
            invoice_id=invoice.pk, actor=actor, amount=str(remaining), tax_rate="de-19"
        )
    assert too_much.value.code == "credit_exceeds_remaining"
    with pytest.raises(InvalidInput) as both:
        invoicing.preview_credit_note(
            invoice_id=invoice.pk, actor=actor, lines=[(1, "1")], amount="1.00"
        )
    assert both.value.code == "invalid_credit"
    assert Invoice.objects.filter(kind=Kind.CREDIT_NOTE).count() == 1
