"""`faktura check` reports tampering done directly in the database, naming the record."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from tests.invoicing.helpers import line, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def finalized(business_customer, actor):
    return invoicing.finalize_invoice(
        invoice_id=order(business_customer, actor, line("2", "100.00")).pk, actor=actor
    )


def run_check(capsys) -> tuple[bool, str]:
    try:
        call_command("check")
    except CommandError:
        return False, capsys.readouterr().err
    return True, capsys.readouterr().out


def test_an_untouched_database_passes(finalized, capsys):
    ok, output = run_check(capsys)
    assert ok
    assert "Integrity check passed" in output


def test_a_finalized_invoice_altered_in_the_database_is_reported(finalized, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoice SET grand_total = 1.00 WHERE id = %s", [finalized.pk]
        )
    ok, output = run_check(capsys)
    assert not ok
    assert f"Rechnung RE-2026-00001 (id {finalized.pk})" in output
    assert "altered after finalization" in output


def test_an_altered_invoice_line_is_reported(finalized, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoiceline SET quantity = 1 WHERE invoice_id = %s", [finalized.pk]
        )
    ok, output = run_check(capsys)
    assert not ok
    assert "RE-2026-00001" in output


def test_altering_row_and_stored_hash_together_is_still_reported(finalized, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoice SET grand_total = 1.00, content_hash = %s WHERE id = %s",
            ["0" * 64, finalized.pk],
        )
    ok, output = run_check(capsys)
    assert not ok
    assert "RE-2026-00001" in output


def test_an_altered_audit_entry_is_reported(finalized, capsys):
    entry = AuditEntry.objects.get(action="invoice.finalized")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET actor = 'user:mallory' WHERE id = %s", [entry.pk]
        )
    ok, output = run_check(capsys)
    assert not ok
    assert f"audit entry #{entry.pk}" in output
    assert "content was altered" in output


def test_a_deleted_audit_entry_is_reported(finalized, capsys):
    entry = AuditEntry.objects.get(action="invoice.drafted")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])
    ok, output = run_check(capsys)
    assert not ok
    assert "sequence gap" in output


def test_the_last_audit_entry_deleted_is_reported(finalized, capsys):
    entry = AuditEntry.objects.order_by("-pk").first()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])
    ok, output = run_check(capsys)
    assert not ok
    assert "entries at the end were deleted" in output


def test_audit_entries_refuse_changes_through_the_orm(finalized):
    from django.core.exceptions import ValidationError

    entry = AuditEntry.objects.first()
    entry.actor = "user:mallory"
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()


def _delete_invoice(invoice_id: int) -> None:
    """Delete a finalized invoice and its parts behind the application's back."""
    with connection.cursor() as cursor:
        for table in (
            "invoicing_invoiceline",
            "invoicing_invoicetax",
            "invoicing_invoiceallowance",
            "reporting_invoiceopennow",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE invoice_id = %s", [invoice_id])  # noqa: S608
        cursor.execute("DELETE FROM invoicing_invoice WHERE id = %s", [invoice_id])


def test_a_deleted_finalized_invoice_is_named_by_its_number(business_customer, actor, capsys):
    invoices = [
        invoicing.finalize_invoice(
            invoice_id=order(business_customer, actor, line("1", "10.00")).pk, actor=actor
        )
        for _ in range(3)
    ]
    deleted = invoices[1]
    entry = AuditEntry.objects.get(action="invoice.finalized", object_id=str(deleted.pk))
    _delete_invoice(deleted.pk)
    ok, output = run_check(capsys)
    assert not ok
    assert (
        f"Rechnung RE-2026-00002 (id {deleted.pk}): finalized according to audit entry "
        f"#{entry.pk}, but the document is missing (deleted)" in output
    )
    assert (
        "number range Rechnung: RE-2026-00002 missing: the counter says 3 numbers were taken "
        "in 2026 (deleted documents)" in output
    )
    assert "RE-2026-00001" not in output
    assert "RE-2026-00003" not in output


def test_a_finalized_invoice_set_back_to_draft_is_reported(finalized, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoice SET status = 'draft' WHERE id = %s", [finalized.pk]
        )
    ok, output = run_check(capsys)
    assert not ok
    assert (
        f"Rechnung RE-2026-00001 (id {finalized.pk}): finalized according to audit entry" in output
    )
    assert "but the document is not finalized (status draft)" in output


def test_a_number_skipped_by_the_counter_is_named(finalized, capsys):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_numbercounter SET last_value = 3 WHERE last_value = 1")
    ok, output = run_check(capsys)
    assert not ok
    assert (
        "number range Rechnung: RE-2026-00002, RE-2026-00003 missing: the counter says 3 numbers "
        "were taken in 2026 (deleted documents)" in output
    )


def test_a_changed_number_pattern_is_no_gap(business_customer, actor, capsys):
    from faktura.core.models import NumberRange

    first = order(business_customer, actor, line("1", "10.00"))
    invoicing.finalize_invoice(invoice_id=first.pk, actor=actor)
    NumberRange.objects.filter(kind="invoice").update(pattern="R{year}/{seq}")
    second = order(business_customer, actor, line("1", "10.00"))
    assert invoicing.finalize_invoice(invoice_id=second.pk, actor=actor).number == "R2026/2"
    ok, output = run_check(capsys)
    assert ok, output


def test_documents_with_allowances_pass_and_an_altered_allowance_is_reported(
    business_customer, actor, capsys
):
    plain = order(business_customer, actor, line("1", "50.00"))
    invoicing.finalize_invoice(invoice_id=plain.pk, actor=actor)
    discounted = order(
        business_customer, actor, line("2", "100.00"), document_discount_percent="10"
    )
    invoice = invoicing.finalize_invoice(invoice_id=discounted.pk, actor=actor)
    assert invoice.allowances.count() == 1
    ok, output = run_check(capsys)
    assert ok, output
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoiceallowance SET reason = 'anders' WHERE invoice_id = %s",
            [invoice.pk],
        )
    ok, output = run_check(capsys)
    assert not ok
    assert f"Rechnung RE-2026-00002 (id {invoice.pk}): content differs" in output
    assert "RE-2026-00001" not in output
