"""The dunning letter: PDF/A with the notice's figures, archived once, checked, mailed."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from faktura.core import integrity
from faktura.customers.services import update_customer
from faktura.dunning import letter
from faktura.dunning.models import NoticeLetter
from faktura.notifications.models import OutboxMessage
from faktura.notifications.services import build_email
from tests.dunning.helpers import notices, overdue, run

D = dt.date
DUE = D(2026, 10, 1)

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(text.replace("\xa0", " ").split())


def archived_pdf(notice) -> bytes:
    row = NoticeLetter.objects.get(notice=notice)
    with row.file.storage.open(row.file.name, "rb") as handle:
        return handle.read()


def first_notice(customer, actor):
    invoice = overdue(customer, actor, due=DUE)
    run(D(2026, 10, 8))
    run(D(2026, 10, 22))
    return invoice, notices(customer)[1]


def test_first_notice_letter_shows_invoices_fees_interest_deadline_and_iban(consumer, actor):
    invoice, notice = first_notice(consumer, actor)
    pdf = archived_pdf(notice)
    assert pdf.startswith(b"%PDF-")
    xmp = PdfReader(BytesIO(pdf)).xmp_metadata
    assert xmp is not None
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp.stream.get_data()  # PDF/A-3a as invoices
    text = text_of(pdf)
    assert "1. Mahnung" in text
    assert invoice.number in text
    assert "100,00 €" in text  # original and open amount
    assert "2,50 €" in text  # the level's fee
    # 100 × 6.27 % × 21 / 365: the basis of the interest, per period
    assert "02.10.2026 – 22.10.2026, 21 Tage × 6,27 % auf 100,00 € = 0,36 €" in text
    assert "102,86 €" in text  # total
    assert "bis zum 01.11.2026" in text  # the new deadline as a date
    assert "DE02 1203 0000 0000 2020 51" in text
    assert "rechnung@muster-software.de" in text  # contact for disputes


def test_english_letter(consumer, actor):
    update_customer(customer_id=consumer.pk, actor=actor, language="en")
    invoice, notice = first_notice(consumer, actor)
    text = text_of(archived_pdf(notice))
    assert "First reminder" in text
    assert invoice.number in text
    assert "21 days × 6.27% on €100.00 = €0.36" in text
    assert "by 01/11/2026" in text or "by 1 November 2026" in text or "01.11.2026" in text
    assert "€102.86" in text


def test_archive_row_matches_the_file_and_check_finds_an_altered_file(consumer, actor):
    _invoice, notice = first_notice(consumer, actor)
    row = NoticeLetter.objects.get(notice=notice)
    pdf = archived_pdf(notice)
    assert row.sha256 == hashlib.sha256(pdf).hexdigest()
    assert row.size == len(pdf)
    assert not [p for p in letter.letter_problems()]
    path = row.file.storage.path(row.file.name)
    with open(path, "r+b") as handle:
        handle.seek(200)
        handle.write(b"X")
    problems = [p for check in integrity.EXTRA_CHECKS for p in check()]
    assert any(row.filename in p and "altered" in p for p in problems)


def test_the_notice_mail_carries_the_letter_once(consumer, actor):
    _invoice, notice = first_notice(consumer, actor)
    notice.refresh_from_db()
    message = OutboxMessage.objects.get(pk=notice.message_id)
    email = build_email(message)
    (attachment,) = email.attachments
    assert attachment[0] == letter.archive_name(notice).rsplit("/", 1)[1]
    assert attachment[1] == archived_pdf(notice)
    # A repeated task (crash after the mail was queued) sends and archives nothing twice.
    letter.deliver(notice.pk)
    assert NoticeLetter.objects.filter(notice=notice).count() == 1
    assert OutboxMessage.objects.filter(event="dunning_notice").count() == 2  # reminder + 1st


def test_a_lost_task_is_found_by_the_sweep(consumer, actor):
    from faktura.dunning.run import run_dunning
    from tests.dunning.helpers import SYSTEM

    overdue(consumer, actor, due=DUE)
    run_dunning(on=D(2026, 10, 8), actor=SYSTEM)  # the task never ran
    (notice,) = notices(consumer)
    assert notice.status == "sent"
    assert notice.message_id is None
    assert letter.undelivered() == [notice.pk]
    assert letter.resume_letters(older_than=dt.timedelta(0)) == 1
    letter.deliver(notice.pk)
    assert letter.undelivered() == []
    assert Decimal(notice.total) == Decimal("100.00")


def test_the_letter_is_tagged_pdf_a_3a_and_pdf_ua_with_heading_table_and_qr_text(consumer, actor):
    from tests.documents.tagged_pdf import PDFA_CONFORMANCE, PDFA_PART, PDFUA, structure

    _invoice, notice = first_notice(consumer, actor)
    found = structure(archived_pdf(notice))
    assert found.marked
    assert found.lang == "de"
    assert found.title.startswith("1. Mahnung")
    assert found.top == ["Document"]
    assert found.headings == ["H1"]
    assert found.roles["Table"] == 1
    assert found.roles["TH"] >= 5
    assert all(found.figure_alts)
    assert found.xmp == {PDFUA: "1", PDFA_PART: "3", PDFA_CONFORMANCE: "A"}
