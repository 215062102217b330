"""`faktura purge-expired`: archived files go after their retention period, logged and
audited, never while a legal hold protects the customer; `faktura check` stays green."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.models import AuditEntry
from faktura.customers.services import create_customer
from faktura.documents.models import ArchivedDocument, archive_storage
from faktura.dunning.models import NoticeLetter
from faktura.reporting import services
from faktura.reporting.models import PurgedDocument
from tests.documents.pipeline_helpers import run_tasks
from tests.dunning.helpers import overdue, run
from tests.payments.helpers import finalized

pytestmark = pytest.mark.django_db

AFTER_2034 = dt.datetime(2035, 1, 5, 9, tzinfo=dt.UTC)  # 2026's documents kept to 31.12.2034


@pytest.fixture
def held_customer(company, actor):
    return create_customer(
        actor=actor,
        kind="business",
        name="Streitfall GmbH",
        street="Gerichtsweg",
        house_number="2",
        postcode="04109",
        city="Leipzig",
        email="recht@example.org",
    )


def archived(customer, actor, *, price="100.00") -> ArchivedDocument:
    """Finalized, rendered, archived and mailed, as a worker does it."""
    invoice = finalized(customer, actor, price=price)
    run_tasks()
    return ArchivedDocument.objects.get(invoice=invoice, kind="pdf")


@pytest.fixture
def documents(business_customer, consumer, held_customer, actor):
    """Expired in 2035: three invoice archives and the consumer's two dunning letters, plus
    one archive of a held customer; not expired: an invoice of 2027 (kept to 2035)."""
    expired = archived(business_customer, actor)
    dunned = overdue(consumer, actor, due=dt.date(2026, 10, 1))
    run_tasks()
    run(dt.date(2026, 10, 8))
    run(dt.date(2026, 10, 22))
    consumer_archive = archived(consumer, actor, price="20.00")
    held = archived(held_customer, actor, price="30.00")
    services.set_legal_hold(customer_id=held_customer.pk, reason="Betriebsprüfung", actor=actor)
    with clock.frozen(dt.date(2027, 3, 1)):
        current = archived(business_customer, actor, price="40.00")
    letters = list(NoticeLetter.objects.order_by("pk"))
    assert len(letters) == 2
    return {
        "expired": [
            expired,
            ArchivedDocument.objects.get(invoice=dunned, kind="pdf"),
            consumer_archive,
        ],
        "letters": letters,
        "held": held,
        "current": current,
    }


def exists(row) -> bool:
    return archive_storage().exists(row.file.name)


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge-expired", *args, stdout=out)
    return out.getvalue()


def check_passes(capsys) -> tuple[bool, str]:
    try:
        call_command("check")
    except CommandError:
        return False, capsys.readouterr().err
    return True, capsys.readouterr().out


def test_purge_deletes_exactly_the_expired_unheld_files_and_logs_each(documents):
    expired = documents["expired"] + documents["letters"]
    with clock.frozen(AFTER_2034):
        output = purge()
    assert [exists(row) for row in expired] == [False] * 5
    assert exists(documents["held"])
    assert exists(documents["current"])
    assert "Purge for 2035-01-05: 5 file(s) deleted, 1 kept under legal hold." in output
    assert f"kept (legal hold): {documents['held'].file.name}" in output
    log = list(PurgedDocument.objects.order_by("kind", "object_id"))
    assert [(entry.kind, entry.object_id) for entry in log] == [
        *(("dunning_letter", letter.pk) for letter in documents["letters"]),
        *(("invoice_archive", row.pk) for row in documents["expired"]),
    ]
    first = PurgedDocument.objects.get(kind="invoice_archive", object_id=documents["expired"][0].pk)
    assert first.file_name == documents["expired"][0].file.name == "archive/2026/RE-2026-00001.pdf"
    assert first.sha256 == documents["expired"][0].sha256
    assert first.size == documents["expired"][0].size
    assert first.retention_until == dt.date(2034, 12, 31)
    assert first.deleted_at == AFTER_2034
    assert first.deleted_by == "system:purge-expired"
    entries = AuditEntry.objects.filter(action="document.purged").order_by("pk")
    assert entries.count() == 5
    assert entries.filter(object_type="invoice_archive").first().data == {
        "document": "RE-2026-00001.pdf",
        "file": "archive/2026/RE-2026-00001.pdf",
        "sha256": first.sha256,
        "retention_until": "2034-12-31",
    }
    # The archive rows stay: the record that the documents existed, with their hashes.
    assert ArchivedDocument.objects.count() == 5
    assert NoticeLetter.objects.count() == 2


def test_dry_run_lists_and_deletes_nothing(documents):
    with clock.frozen(AFTER_2034):
        output = purge("--dry-run")
    assert f"would delete: {documents['expired'][0].file.name}" in output
    assert "Dry run for 2035-01-05: 5 file(s) would delete, 1 kept under legal hold." in output
    assert all(exists(row) for row in documents["expired"] + documents["letters"])
    assert PurgedDocument.objects.count() == 0
    assert not AuditEntry.objects.filter(action="document.purged").exists()


def test_nothing_is_deleted_before_retention_ends(documents):
    output = purge()  # today, 16.11.2026
    assert "0 file(s) deleted, 0 kept under legal hold" in output
    output = purge("--date", "2026-01-01")
    assert "0 file(s) deleted" in output
    assert PurgedDocument.objects.count() == 0


def test_running_twice_is_harmless(documents):
    with clock.frozen(AFTER_2034):
        purge()
        entries = AuditEntry.objects.count()
        output = purge()
    assert "0 file(s) deleted, 1 kept under legal hold." in output
    assert PurgedDocument.objects.count() == 5
    assert AuditEntry.objects.count() == entries


def test_check_stays_green_after_a_purge_and_still_reports_an_unlogged_loss(documents, capsys):
    with clock.frozen(AFTER_2034):
        purge()
        ok, output = check_passes(capsys)
        assert ok, output
        # Without the deletion log as proof a missing file is still damage.
        archive_storage().delete(documents["current"].file.name)
        ok, output = check_passes(capsys)
    assert not ok
    assert "RE-2027-00001" in output
    assert "the archived file is missing" in output


def test_a_hold_keeps_the_files_until_it_is_cleared(documents, held_customer, actor):
    with clock.frozen(AFTER_2034):
        purge()
        assert exists(documents["held"])
        services.clear_legal_hold(
            customer_id=held_customer.pk, reason="Prüfung abgeschlossen", actor=actor
        )
        output = purge()
    assert not exists(documents["held"])
    assert "1 file(s) deleted, 0 kept under legal hold." in output


def test_an_interrupted_purge_is_finished_by_the_next_run(documents, monkeypatch):
    deleted: list[str] = []
    # The crash between commit and deletion: the files stay.
    monkeypatch.setattr(services, "_delete_file", lambda name: deleted.append(name) or False)
    with clock.frozen(AFTER_2034):
        purge()
        assert len(set(deleted)) == 5
        assert all(exists(row) for row in documents["expired"])
        monkeypatch.undo()
        output = purge()
    assert "5 left over from an interrupted run deleted" in output
    assert not any(exists(row) for row in documents["expired"] + documents["letters"])
    assert PurgedDocument.objects.count() == 5


@pytest.mark.parametrize(
    ("date", "message"),
    [("31.12.2034", "is not a date"), ("2027-01-01", "is in the future")],
)
def test_a_bad_date_is_refused_and_nothing_deleted(documents, date, message):
    with pytest.raises(CommandError, match=message):
        purge("--date", date)
    assert PurgedDocument.objects.count() == 0


def test_only_an_admin_may_purge(documents, actor):
    from faktura.core.errors import PermissionRefused

    with clock.frozen(AFTER_2034), pytest.raises(PermissionRefused):
        services.purge_expired(actor=actor)
    assert PurgedDocument.objects.count() == 0
    assert services.purge_expired(actor=Actor.system("t"), dry_run=True).purged == []
