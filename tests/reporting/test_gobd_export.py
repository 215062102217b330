"""`faktura export gobd`: index.xml valid against the GDPdU DTD, every CSV as described."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from faktura.core.models import AuditEntry
from faktura.customers.models import Customer
from faktura.customers.services import create_customer
from faktura.dunning.models import DunningNotice
from faktura.invoicing.models import Invoice, InvoiceLine, InvoiceTax
from faktura.payments.models import Allocation, Payment
from faktura.reporting.gobd import export as gobd_export
from faktura.reporting.gobd import selectors
from tests.reporting.gobd_helpers import a_year_of_business, read_table, tables_of

pytestmark = pytest.mark.django_db

YEAR_2026 = dict(
    start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), end=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
)


@pytest.fixture
def other_customer(company, actor):
    return create_customer(
        actor=actor,
        kind="business",
        name="Altkunde GmbH",
        street="Ring",
        house_number="1",
        postcode="50667",
        city="Köln",
        email="alt@example.org",
    )


@pytest.fixture
def business(business_customer, consumer, actor, other_customer):
    a_year_of_business(business_customer, consumer, actor, other_customer)


def export(tmp_path: Path, year: str = "2026") -> tuple[Path, str]:
    target = tmp_path / "gobd"
    out = io.StringIO()
    call_command("export", "gobd", "--year", year, "--output", str(target), stdout=out)
    return target, out.getvalue()


def expected_counts() -> dict[str, int]:
    """The database's rows of 2026, counted independently of the export's selectors."""
    invoices = Invoice.objects.filter(status="finalized", issue_date__year=2026)
    payments = Payment.objects.filter(date__year=2026)
    notices = DunningNotice.objects.filter(notice_date__year=2026).exclude(status="cancelled")
    customer_ids = (
        set(invoices.values_list("customer_id", flat=True))
        | set(payments.exclude(customer=None).values_list("customer_id", flat=True))
        | set(notices.values_list("customer_id", flat=True))
    )
    return {
        "kunden.csv": len(customer_ids),
        "belege.csv": invoices.count(),
        "belegpositionen.csv": InvoiceLine.objects.filter(invoice__in=invoices).count(),
        "steuern.csv": InvoiceTax.objects.filter(invoice__in=invoices).count(),
        "zahlungen.csv": payments.count(),
        "zuordnungen.csv": Allocation.objects.filter(payment__in=payments).count(),
        "mahnungen.csv": notices.count(),
        "protokoll.csv": AuditEntry.objects.filter(
            created_at__gte=YEAR_2026["start"], created_at__lt=YEAR_2026["end"]
        ).count(),
    }


def test_index_xml_validates_against_the_shipped_gdpdu_dtd(business, tmp_path):
    target, _ = export(tmp_path)
    assert sorted(path.name for path in target.iterdir()) == [
        "belege.csv",
        "belegpositionen.csv",
        "gdpdu-01-09-2004.dtd",
        "index.xml",
        "kunden.csv",
        "mahnungen.csv",
        "protokoll.csv",
        "steuern.csv",
        "zahlungen.csv",
        "zuordnungen.csv",
    ]
    index = etree.parse(str(target / "index.xml"))
    assert index.docinfo.system_url == "gdpdu-01-09-2004.dtd"
    dtd = etree.DTD(str(target / "gdpdu-01-09-2004.dtd"))
    assert dtd.validate(index), dtd.error_log.filter_from_errors()
    # The DTD really constrains: an index without Media is refused.
    broken = etree.fromstring(b"<DataSet><Version>1.0</Version></DataSet>")
    assert not dtd.validate(broken)
    assert index.findtext("DataSupplier/Name") == "Muster Software GmbH"


def test_every_csv_matches_its_description_and_the_database_counts(business, tmp_path):
    target, output = export(tmp_path)
    counts = expected_counts()
    assert counts["kunden.csv"] == 2  # the 2025-only customer is not master data of 2026
    assert counts["belege.csv"] == 7  # 5 invoices, a credit note, a cancellation
    assert counts["mahnungen.csv"] == 2
    assert counts["zuordnungen.csv"] >= 1
    tables = tables_of(target / "index.xml")
    assert [table.findtext("URL") for table in tables] == list(counts)
    for table in tables:
        url = table.findtext("URL")
        assert table.findtext("DecimalSymbol") == ","
        assert table.findtext("DigitGroupingSymbol") == "."
        assert table.findtext("Range/From") == "2"  # line 1: column names
        assert table.findtext("Validity/Range/From") == "01.01.2026"
        assert table.findtext("Validity/Range/To") == "31.12.2026"
        columns = table.findall("VariableLength/VariablePrimaryKey") + table.findall(
            "VariableLength/VariableColumn"
        )
        header, *rows = read_table(target, table)
        assert header == [column.findtext("Name") for column in columns], url
        assert len(rows) == counts[url], url
        assert f"{url}: {counts[url]}" in output
        for row in rows:
            assert len(row) == len(columns), (url, row)
            for value, column in zip(row, columns, strict=True):
                if value == "":
                    continue
                if column.find("Numeric") is not None:
                    accuracy = int(column.findtext("Numeric/Accuracy"))
                    pattern = r"-?\d+" + (rf",\d{{{accuracy}}}" if accuracy else "")
                    assert re.fullmatch(pattern, value), (url, column.findtext("Name"), value)
                elif column.find("Date") is not None:
                    assert column.findtext("Date/Format") == "DD.MM.YYYY"
                    assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", value), (url, value)
                    day, month, year = map(int, value.split("."))
                    assert dt.date(year, month, day), (url, value)


def test_invoice_rows_carry_the_exact_figures_with_decimal_comma(business, tmp_path):
    target, _ = export(tmp_path)
    table = next(t for t in tables_of(target / "index.xml") if t.findtext("URL") == "belege.csv")
    header, *rows = read_table(target, table)
    by_number = {row[header.index("Belegnummer")]: row for row in rows}
    big = Invoice.objects.get(grand_total=Decimal("4407.38"))
    row = by_number[big.number]
    assert row[header.index("Brutto")] == "4407,38"  # 3 × 1234.56 = 3703.68 + 19 % 703.70
    assert row[header.index("Umsatzsteuer")] == "703,70"
    assert row[header.index("Rechnungsdatum")] == "16.11.2026"
    kinds = sorted(row[header.index("Belegart")] for row in rows)
    assert kinds == ["cancellation", "credit_note", *["invoice"] * 5]
    credit_note = Invoice.objects.get(kind="credit_note")
    assert by_number[credit_note.number][header.index("Bezug_Beleg_ID")] == str(
        credit_note.original_id
    )
    lines_file = (target / "belegpositionen.csv").read_bytes()
    assert b";3,0000;C62;1234,5600;0,00;3703,68;S;19,00\r\n" in lines_file


def test_selectors_count_what_the_export_writes(business):
    year = selectors.year_of(2026)
    assert {key: qs(year).count() for key, qs in selectors.QUERYSETS.items()} == dict(
        zip(
            selectors.QUERYSETS,
            expected_counts().values(),
            strict=True,
        )
    )


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("20x6", "Ungültiges Jahr „20x6“"),
        ("1999", "Ungültiges Jahr 1999: erlaubt sind 2000 bis 2026."),
        ("2027", "Ungültiges Jahr 2027: erlaubt sind 2000 bis 2026."),
    ],
)
def test_a_bad_year_is_refused_and_nothing_is_written(business, tmp_path, year, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        export(tmp_path, year)
    assert list(tmp_path.iterdir()) == []


def test_a_file_as_target_is_refused(company, tmp_path):
    (tmp_path / "gobd").write_text("x")
    with pytest.raises(CommandError, match="ist eine Datei, kein Verzeichnis"):
        export(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gobd"]


def test_a_non_empty_directory_is_refused_and_left_alone(company, tmp_path):
    (tmp_path / "gobd").mkdir()
    (tmp_path / "gobd" / "old.csv").write_text("x")
    with pytest.raises(CommandError, match="ist nicht leer"):
        export(tmp_path)
    assert [p.name for p in (tmp_path / "gobd").iterdir()] == ["old.csv"]


def test_a_missing_parent_is_refused(company, tmp_path):
    with pytest.raises(CommandError, match="gibt es nicht"):
        export(tmp_path / "nowhere")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_directory_is_refused(company, tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(
        gobd_export.os,
        "access",
        lambda path, mode: False if Path(path) == tmp_path else real_access(path, mode),
    )
    with pytest.raises(CommandError, match=f"In {tmp_path} darf nicht geschrieben werden"):
        export(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_refused_by_the_file_system(company, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(CommandError, match="darf nicht geschrieben werden"):
        export(locked)
    assert list(locked.iterdir()) == []


def test_a_failure_half_way_leaves_nothing_behind(business, tmp_path, monkeypatch):
    def broken(year):
        yield from ()
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(selectors.ROWS, "payments", broken)
    with pytest.raises(OSError, match="No space left"):
        export(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_directory_is_filled(company, tmp_path):
    (tmp_path / "gobd").mkdir()
    target, output = export(tmp_path)
    assert (target / "index.xml").exists()
    assert "belege.csv: 0" in output
    assert (target / "belege.csv").read_bytes().count(b"\r\n") == 1  # the header only
    assert Customer.objects.count() == 0


def test_the_export_reads_each_table_in_one_query_not_per_row(
    business, tmp_path, django_assert_max_num_queries
):
    # 8 tables + company + time zone + the snapshot's transaction: never one per row.
    with django_assert_max_num_queries(12) as captured:
        export(tmp_path)
    assert len(captured) >= 8
