"""The daily print batch: the day's paper documents, duplex-ready, once each."""

from __future__ import annotations

import datetime as dt
import io

import pypdf
import pytest
from django.core.management import call_command

from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.core.models import AuditEntry
from faktura.documents import print_batch
from faktura.documents.models import ArchivedDocument, PostalDelivery, PrintBatch
from faktura.dunning.models import DunningNotice
from faktura.invoicing import services as invoicing
from tests.conftest import TODAY
from tests.documents.pipeline_helpers import finalized, run_tasks
from tests.dunning.helpers import overdue, run
from tests.reporting.risk_helpers import at

SYSTEM = Actor.system("test")
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def paper_customer(business_customer):
    business_customer.delivery_by_post = True
    business_customer.save(update_fields=["delivery_by_post"])
    return business_customer


def _pages(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _archived_pages(invoice) -> int:
    document = ArchivedDocument.objects.get(invoice=invoice, kind="pdf")
    return _pages(document.file.read())


@pytest.fixture
def history(paper_customer, consumer, actor):
    """Yesterday's batch printed; today a paper invoice, its cancellation, a dunning letter
    and an e-mail customer's invoice."""
    late = overdue(paper_customer, actor, due=dt.date(2026, 11, 1))
    with at(YESTERDAY):
        printed = finalized(paper_customer, actor)
        run_tasks()
        yesterdays = print_batch.create_print_batch(on=YESTERDAY, actor=SYSTEM)
    today = finalized(paper_customer, actor)
    cancellation = invoicing.cancel_invoice(invoice_id=today.pk, actor=actor, reason="Irrtum")
    by_mail = finalized(consumer, actor)
    run_tasks()
    run(TODAY)
    notice = DunningNotice.objects.get(customer=paper_customer)
    return {
        "late": late,
        "printed": printed,
        "yesterdays": yesterdays,
        "today": today,
        "cancellation": cancellation,
        "by_mail": by_mail,
        "notice": notice,
    }


def test_the_batch_holds_exactly_the_days_paper_documents(history):
    assert [d.document_number for d in history["yesterdays"].deliveries.all()] == [
        history["late"].number,
        history["printed"].number,
    ]

    batch = print_batch.create_print_batch(on=TODAY, actor=SYSTEM)

    deliveries = list(batch.deliveries.order_by("position"))
    numbers = [d.document_number for d in deliveries]
    assert numbers == [
        history["today"].number,
        history["cancellation"].number,
        history["notice"].reference,
    ]
    assert history["by_mail"].number not in numbers
    assert (batch.batch_date, batch.document_count) == (TODAY, 3)
    assert [d.recipient for d in deliveries] == ["Beispiel Handel AG"] * 3


def test_every_document_is_padded_to_an_even_page_count(history):
    batch = print_batch.create_print_batch(on=TODAY, actor=SYSTEM)
    pdf = print_batch.read_batch(batch)

    deliveries = list(batch.deliveries.order_by("position"))
    archived = [_archived_pages(history["today"]), _archived_pages(history["cancellation"])]
    archived.append(_pages(history["notice"].letter.file.read()))
    assert [d.pages for d in deliveries] == [n + n % 2 for n in archived]
    assert all(d.pages % 2 == 0 for d in deliveries)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    cover = 2  # one page of list, one blank back
    assert len(reader.pages) == cover + sum(d.pages for d in deliveries)
    assert batch.sheet_count * 2 == len(reader.pages)
    # Each letter starts on a front page: its first page is its number's first page.
    start = cover
    for delivery in deliveries:
        assert delivery.document_number in reader.pages[start].extract_text()
        start += delivery.pages


def test_the_cover_lists_date_count_recipients_and_numbers(history):
    batch = print_batch.create_print_batch(on=TODAY, actor=SYSTEM)

    reader = pypdf.PdfReader(io.BytesIO(print_batch.read_batch(batch)))
    cover = reader.pages[0].extract_text()
    assert "Druckstapel vom 16.11.2026" in cover
    assert "3 Dokumente" in cover
    assert cover.count("Beispiel Handel AG") == 3
    kinds = ["Rechnung", "Stornorechnung", "Zahlungserinnerung"]
    for position, (delivery, kind) in enumerate(
        zip(batch.deliveries.order_by("position"), kinds, strict=True), 1
    ):
        row = (
            f"{position} Beispiel Handel AG Hafenstraße 5, 20457 Hamburg "
            f"{delivery.document_number} {kind} {delivery.pages}"
        )
        assert row in cover.replace("\n", " ")
    assert history["by_mail"].number not in cover
    assert history["printed"].number not in cover
    assert reader.pages[1].extract_text().strip() == ""  # the cover's blank back


def test_running_twice_makes_no_second_batch(history):
    first = print_batch.create_print_batch(on=TODAY, actor=SYSTEM)
    audited = AuditEntry.objects.filter(action="print_batch.created").count()

    assert print_batch.create_print_batch(on=TODAY, actor=SYSTEM) is None
    assert PrintBatch.objects.count() == 2  # yesterday's and today's
    assert PostalDelivery.objects.filter(batch=first).count() == 3
    assert AuditEntry.objects.filter(action="print_batch.created").count() == audited == 2


def test_the_command_makes_the_batch_of_a_date(history, capsys):
    call_command("print-batch", "--date", "2026-11-16")

    batch = PrintBatch.objects.get(batch_date=TODAY)
    assert batch.document_count == 3
    assert f"Druckstapel-2026-11-16.pdf: 3 Dokumente, {batch.sheet_count} Blatt" in (
        capsys.readouterr().out
    )
    call_command("print-batch", "--date", "2026-11-16")
    assert "Kein Dokument" in capsys.readouterr().out


def test_a_viewer_may_not_make_a_batch(history):
    viewer = Actor(label="user:vera", roles=frozenset({"viewer"}))

    with pytest.raises(PermissionRefused):
        print_batch.create_print_batch(on=TODAY, actor=viewer)
    assert PrintBatch.objects.count() == 1


def test_the_admin_downloads_the_verified_batch(history, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    batch = print_batch.create_print_batch(on=TODAY, actor=SYSTEM)
    user = get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-12345678")
    client.force_login(user)

    page = client.get(reverse("admin:documents_printbatch_change", args=[batch.pk]))
    download = client.get(reverse("admin:documents_printbatch_download", args=[batch.pk]))

    assert history["notice"].reference in page.content.decode()
    assert download.content == print_batch.read_batch(batch)


def test_the_job_makes_the_days_batch_once(history):
    from faktura.scheduling import jobs
    from faktura.scheduling.registry import Occurrence

    occurrence = Occurrence(
        job="print-batch", due_at=dt.datetime(2026, 11, 16, 14, tzinfo=dt.UTC), as_of=TODAY,
        trigger="schedule", attempt=1,
    )  # fmt: skip

    first = jobs.create_print_batch(occurrence)
    again = jobs.create_print_batch(occurrence)

    batch = PrintBatch.objects.get(batch_date=TODAY)
    assert first == {"batch": batch.pk, "documents": 3, "sheets": batch.sheet_count}
    assert again == {"documents": 0}


def test_the_command_refuses_a_malformed_date_and_makes_nothing(company):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"--date: '16\.11\.2026' is not a date"):
        call_command("print-batch", "--date", "16.11.2026")
    assert not PrintBatch.objects.exists()
