"""The VAT advance return's figures: each category and rate on its Kennzahl (USt 1 A 2026)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.reporting.tables import csv_bytes
from faktura.reporting.vat import kennzahl, vat_summary, vat_summary_table
from tests.invoicing.helpers import line
from tests.reporting.helpers import finalized
from tests.reporting.revenue_fixtures import documents_fixture, products_fixture  # noqa: F401

D = Decimal
OCT_1, NOV_30 = dt.date(2026, 10, 1), dt.date(2026, 11, 30)


@pytest.mark.django_db
def test_each_category_lands_on_its_kennzahl(documents):
    summary = vat_summary(OCT_1, NOV_30)
    assert [
        (r.kennzahl, r.category, r.rate, r.taxable_amount, r.tax_amount) for r in summary.rows
    ] == [
        # 2 × 100 at 19 %, less the credit note of 1 × 100.
        ("81", "S", D("19.00"), D("100.00"), D("19.00")),
        # 50 + 50 at 7 %, less the cancelled consumer's book.
        ("86", "S", D("7.00"), D("50.00"), D("3.50")),
        ("41", "K", D("0.00"), D("698.00"), D("0.00")),  # goods to Vienna
        ("43", "G", D("0.00"), D("349.00"), D("0.00")),  # goods to Zurich
        ("48", "E", D("0.00"), D("80.00"), D("0.00")),
        ("60", "AE", D("0.00"), D("1000.00"), D("0.00")),  # § 13b work in Hamburg
        ("21", "AE", D("0.00"), D("1450.00"), D("0.00")),  # workshop in Vienna
        ("45", "O", D("0.00"), D("1450.00"), D("0.00")),  # workshop in Zurich
    ]
    assert (summary.taxable_total, summary.tax_total) == (D("5177.00"), D("22.50"))
    assert summary.by_kennzahl()["21"] == (D("1450.00"), D("0.00"))


@pytest.mark.django_db
def test_the_form_takes_full_euros_and_other_rates_go_to_kz_35(company, actor, business_customer):
    from faktura.catalog.models import TaxRate

    TaxRate.objects.create(code="de-16", name="16 % USt", category="S", rate=D("16.00"))
    finalized(business_customer, actor, line(price="99.99"), day=dt.date(2026, 11, 2))
    finalized(business_customer, actor, line(price="10.50", rate="de-16"), day=dt.date(2026, 11, 2))
    rows = vat_summary(OCT_1, NOV_30).rows
    assert [(r.kennzahl, r.taxable_amount, r.form_amount, r.tax_amount) for r in rows] == [
        ("81", D("99.99"), D("99"), D("19.00")),
        ("35", D("10.50"), D("10"), D("1.68")),
    ]


@pytest.mark.django_db
def test_the_csv_lists_kennzahl_base_full_euros_and_tax(documents):
    lines = csv_bytes(vat_summary_table(OCT_1, NOV_30)).decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "Kennzahl;Bezeichnung;Kategorie;Satz (%);Bemessungsgrundlage;"
        "Bemessungsgrundlage (volle Euro);Umsatzsteuer"
    )
    assert lines[1] == (
        "81;Steuerpflichtige Umsätze zum Steuersatz von 19 %;S;19,00;100,00;100;19,00"
    )
    assert lines[-1] == ";Summe;;;5177,00;;22,50"
    assert len(lines) == 10


@pytest.mark.django_db
def test_an_empty_period_has_no_rows(company):
    summary = vat_summary(dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    assert (summary.rows, summary.taxable_total) == ([], D("0"))


def test_kennzahlen_of_the_categories():
    assert [
        kennzahl(category, rate, domestic_buyer=domestic)
        for category, rate, domestic in [
            ("S", D("19.00"), True),
            ("S", D("7.00"), True),
            ("S", D("5.50"), True),
            ("Z", D("0"), True),
            ("K", D("0"), False),
            ("G", D("0"), False),
            ("E", D("0"), True),
            ("AE", D("0"), True),
            ("AE", D("0"), False),
            ("O", D("0"), False),
        ]
    ] == ["81", "86", "35", "87", "41", "43", "48", "60", "21", "45"]
