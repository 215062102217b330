"""`faktura export datev`: files in the directory, a summary, and clear refusals."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from faktura.dunning.models import DunningFee
from faktura.reporting.models import DatevAccount, DatevSettings
from tests.invoicing.helpers import line
from tests.reporting.datev_month import _final, configure, make_month, on

pytestmark = pytest.mark.django_db

NOVEMBER = ["--from", "2026-11-01", "--to", "2026-11-30"]
BATCH = "EXTF_Buchungsstapel_20261101_20261130.csv"
DEBTORS = "EXTF_Debitoren_20261101_20261130.csv"


def _export(*args: str) -> str:
    out = io.StringIO()
    call_command("export", "datev", *args, stdout=out)
    return out.getvalue()


def _rows(path) -> list[list[str]]:
    return [row.split(";") for row in path.read_bytes().decode("cp1252").split("\r\n")[2:-1]]


def test_the_command_writes_both_files_and_says_what_they_hold(company, actor, approver, tmp_path):
    configure()
    make_month(actor, approver)
    output = _export(*NOVEMBER, "--output", str(tmp_path / "datev"))
    assert sorted(p.name for p in (tmp_path / "datev").iterdir()) == [BATCH, DEBTORS]
    assert "Rechnungen: 6 Buchungen, 2665,50 EUR" in output
    assert "Gutschriften: 1 Buchungen, 23,80 EUR" in output
    assert "Stornos: 1 Buchungen, 53,50 EUR" in output
    assert "Zahlungen: 2 Buchungen, 439,70 EUR" in output
    assert "Ausbuchungen: 2 Buchungen, 0,50 EUR" in output
    assert "14 Buchungen, 2 Debitoren" in output
    assert str(tmp_path / "datev" / BATCH) in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-30", "--to", "2026-11-01"], "invalid_period"),
        (["--from", "2026-11-31", "--to", "2026-12-01"], "--from: '2026-11-31' ist kein Datum"),
        (["--from", "2026-11-01", "--to", "30.11.2026"], "--to: '30.11.2026' ist kein Datum"),
        (["--from", "2026-12-01", "--to", "2027-01-31"], "period_spans_fiscal_years"),
        ([*NOVEMBER, "--chart", "skr05"], "--chart: 'skr05' ist unbekannt"),
        ([*NOVEMBER, "--encoding", "latin-9"], "unknown_encoding"),
    ],
)
def test_broken_input_is_refused_and_nothing_is_written(company, actor, args, message, tmp_path):
    configure()
    with on(2):
        _final_invoice(actor)
    with pytest.raises(CommandError) as error:
        _export(*args, "--output", str(tmp_path / "datev"))
    assert message in str(error.value)
    assert not (tmp_path / "datev").exists()


def _final_invoice(actor):
    from faktura.customers.services import create_customer

    customer = create_customer(
        actor=actor,
        kind="business",
        name="Beispiel Handel AG",
        street="Hafenstraße",
        house_number="5",
        postcode="20457",
        city="Hamburg",
        email="buchhaltung@beispiel.de",
    )
    return _final(customer, actor, line("1", "100.00"))


def test_an_unwritable_directory_is_refused_and_nothing_is_written(company, actor, tmp_path):
    configure()
    with on(2):
        _final_invoice(actor)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(CommandError) as error:
        _export(*NOVEMBER, "--output", str(blocker / "datev"))
    assert "output_not_writable" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_without_consultant_and_client_number_nothing_is_written(company, actor, tmp_path):
    with pytest.raises(CommandError) as error:
        _export(*NOVEMBER, "--output", str(tmp_path / "datev"))
    assert "datev_not_configured" in str(error.value)
    assert "Beraternummer" in str(error.value)
    assert not (tmp_path / "datev").exists()


def test_consultant_and_client_number_may_come_from_the_settings(
    company, actor, settings, tmp_path
):
    settings.FAKTURA_DATEV_CONSULTANT_NUMBER = 1001
    settings.FAKTURA_DATEV_CLIENT_NUMBER = 1
    settings.FAKTURA_DATEV_CHART = "skr04"
    _export(*NOVEMBER, "--output", str(tmp_path))
    header = (tmp_path / BATCH).read_bytes().split(b"\r\n")[0]
    assert b";1001;1;20260101;4;20261101;20261130;" in header
    assert b';"04";' in header


def test_a_fiscal_year_from_july_puts_its_start_into_the_header(company, actor, tmp_path):
    configure(fiscal_year_start_month=7)
    _export(*NOVEMBER, "--output", str(tmp_path))
    assert b";29098;55003;20260701;4;" in (tmp_path / BATCH).read_bytes()
    with pytest.raises(CommandError, match="period_spans_fiscal_years"):
        _export("--from", "2026-06-01", "--to", "2026-07-31", "--output", str(tmp_path))


def test_an_account_of_the_mapping_can_be_changed_with_a_tax_key(company, actor, tmp_path):
    configure()
    with on(2):
        _final_invoice(actor)
    DatevAccount.objects.filter(chart="skr03", purpose="revenue_19").update(
        account=8000, tax_key="3"
    )
    _export(*NOVEMBER, "--output", str(tmp_path))
    [row] = _rows(tmp_path / BATCH)
    assert row[:11] == ["119,00", '"S"', '"EUR"', "", "", "", "10001", "8000", '"3"', "0211",
                        '"RE-2026-00001"']  # fmt: skip


def test_a_deleted_mapping_row_falls_back_to_the_default_account(company, actor, tmp_path):
    configure()
    with on(2):
        _final_invoice(actor)
    DatevAccount.objects.filter(purpose="revenue_19").delete()
    _export(*NOVEMBER, "--output", str(tmp_path), "--chart", "SKR04")
    [row] = _rows(tmp_path / BATCH)
    assert row[6:9] == ["10001", "4400", ""]


def test_debtor_accounts_can_follow_the_customer_id_and_must_stay_in_range(
    company, actor, tmp_path
):
    configure(debtor_account_source="customer_id", debtor_account_start=20000)
    with on(2):
        invoice = _final_invoice(actor)
    _export(*NOVEMBER, "--output", str(tmp_path))
    [row] = _rows(tmp_path / BATCH)
    assert row[6] == str(20000 + invoice.customer_id)
    DatevSettings.objects.update(debtor_account_start=69999)
    with pytest.raises(CommandError, match="debtor_account_out_of_range"):
        _export(*NOVEMBER, "--output", str(tmp_path / "again"))
    assert not (tmp_path / "again").exists()


def test_payments_are_left_out_when_the_office_takes_them_from_the_bank(
    company, actor, approver, tmp_path
):
    configure(export_payments=False)
    make_month(actor, approver)
    output = _export(*NOVEMBER, "--output", str(tmp_path))
    assert "Zahlungen" not in output
    assert "Rücklastschriften" not in output
    assert "11 Buchungen, 2 Debitoren" in output
    assert {row[6] for row in _rows(tmp_path / BATCH)} == {"10001", "10002"}


def test_dunning_fees_interest_and_a_waived_fee_are_booked(company, actor, tmp_path):
    configure()
    with on(2):
        invoice = _final_invoice(actor)
    common = {"customer_id": invoice.customer_id, "invoice": invoice, "created_by": "test"}
    DunningFee.objects.create(
        kind="fee", amount=Decimal("2.50"), level=2,
        created_at=dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC), **common,
    )  # fmt: skip
    DunningFee.objects.create(
        kind="interest", amount=Decimal("1.23"),
        created_at=dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC), **common,
    )  # fmt: skip
    DunningFee.objects.create(
        kind="flat_40", amount=Decimal("40.00"),
        # 23:30 UTC on 30.11. is 1 December in Berlin: next month's.
        created_at=dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), **common,
    )  # fmt: skip
    DunningFee.objects.create(
        kind="fee", amount=Decimal("5.00"), level=3,
        created_at=dt.datetime(2026, 10, 20, 8, tzinfo=dt.UTC),
        waived_at=dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC), **common,
    )  # fmt: skip
    _export(*NOVEMBER, "--output", str(tmp_path))
    assert [row[:14] for row in _rows(tmp_path / BATCH)][1:] == [
        ["2,50", '"S"', '"EUR"', "", "", "", "10001", "2700", "", "2011", '"RE-2026-00001"',
         "", "", '"Mahngebühr Beispiel Handel AG"'],
        ["1,23", '"S"', '"EUR"', "", "", "", "10001", "2650", "", "2011", '"RE-2026-00001"',
         "", "", '"Verzugszinsen Beispiel Handel AG"'],
        ["5,00", '"H"', '"EUR"', "", "", "", "10001", "2700", "", "2111", '"RE-2026-00001"',
         "", "", '"Erlass Mahngebühr Beispiel Handel AG"'],
    ]  # fmt: skip


def test_documents_zip_holds_the_archived_pdfs_named_by_belegfeld_1(company, actor, tmp_path):
    from faktura.documents import pipeline
    from faktura.invoicing import services as invoicing

    configure()
    with on(2):
        invoice = _final_invoice(actor)
    pipeline.process(invoice.pk)
    with on(3):
        invoicing.cancel_invoice(invoice_id=invoice.pk, actor=actor)  # not rendered
    output = _export(*NOVEMBER, "--output", str(tmp_path), "--documents")
    archive = zipfile.ZipFile(tmp_path / "Belege_20261101_20261130.zip")
    assert archive.namelist() == ["RE-2026-00001.pdf"]
    assert archive.read("RE-2026-00001.pdf").startswith(b"%PDF-")
    assert "Ohne archiviertes PDF (nicht im ZIP): GS-2026-00001" in output


def test_the_migration_stores_the_same_default_accounts_as_the_code():
    from importlib import import_module

    from faktura.reporting.datev.accounts import DEFAULT_ACCOUNTS

    migration = import_module("faktura.reporting.migrations.0002_datev")
    assert {
        chart: {str(purpose): number for purpose, number in accounts.items()}
        for chart, accounts in DEFAULT_ACCOUNTS.items()
    } == migration.DEFAULTS
    stored = {(a.chart, a.purpose): a.account for a in DatevAccount.objects.all()}
    assert stored[("skr03", "revenue_19")] == 8400
    assert stored[("skr04", "revenue_reverse_charge")] == 4336
    assert len(stored) == 28
