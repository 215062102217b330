"""Net revenue by month, product, tax rate and customer kind, for fixture documents.

October and November 2026: a mixed 19 %/7 % invoice, a consumer's book, a reverse-charge
workshop and an intra-community supply for Vienna, an export and a service for Zurich,
domestic reverse charge (§ 13b (5) UStG), an exempt supply, a credit note and a
cancellation. Documents outside the period do not count.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faktura.invoicing.drafting import LineRequest
from faktura.invoicing.models import Invoice, InvoiceTax, Kind
from faktura.reporting.revenue import DOCUMENT_ALLOWANCES, revenue, revenue_table, total
from faktura.reporting.tables import csv_bytes
from tests.invoicing.helpers import line
from tests.reporting.helpers import cancel, credit, finalized
from tests.reporting.revenue_fixtures import documents_fixture, products_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

D = Decimal
OCT_1, NOV_30 = dt.date(2026, 10, 1), dt.date(2026, 11, 30)


def _net(rows):
    return {row.key: row.net for row in rows}


def test_revenue_by_month_is_invoices_less_credit_notes_and_cancellations(documents):
    rows = revenue(OCT_1, NOV_30, "month")
    # October: 200 + 50 + 50; November: 1450 + 698 + 349 + 1450 + 1000 + 80 − 100 − 50.
    assert _net(rows) == {"2026-10": D("300.00"), "2026-11": D("4877.00")}
    november = rows[1]
    assert (november.invoiced, november.corrected) == (D("5027.00"), D("150.00"))
    assert total(rows) == D("5177.00")


def test_revenue_by_product(documents):
    assert _net(revenue(OCT_1, NOV_30, "product")) == {
        "": D("1080.00"),  # the lines without a product: § 13b work and the exempt supply
        "BERATUNG": D("100.00"),
        "BUCH": D("50.00"),
        "TERMINAL": D("1047.00"),
        "WORKSHOP": D("2900.00"),
    }


def test_revenue_by_tax_rate(documents):
    assert _net(revenue(OCT_1, NOV_30, "tax_rate")) == {
        "S-19.00": D("100.00"),
        "S-7.00": D("50.00"),
        "AE-0.00": D("2450.00"),
        "E-0.00": D("80.00"),
        "G-0.00": D("349.00"),
        "K-0.00": D("698.00"),
        "O-0.00": D("1450.00"),
    }


def test_revenue_by_customer_kind(documents):
    assert _net(revenue(OCT_1, NOV_30, "customer_kind")) == {
        "business": D("5097.00"),
        "consumer": D("80.00"),
    }


def test_a_period_without_documents_has_no_rows(documents):
    assert revenue(dt.date(2025, 1, 1), dt.date(2025, 12, 31), "product") == []


def test_the_csv_has_a_row_per_month_and_the_total(documents):
    text = csv_bytes(revenue_table(OCT_1, NOV_30, "month")).decode("utf-8-sig")
    assert text.splitlines() == [
        "Schlüssel;Monat;Rechnungen netto;Gutschriften und Stornos netto;Umsatz netto",
        "2026-10;10/2026;300,00;0,00;300,00",
        "2026-11;11/2026;5027,00;150,00;4877,00",
        ";Summe;5327,00;150,00;5177,00",
    ]


def test_a_document_discount_is_a_row_of_its_own_by_product(
    company, actor, products, business_customer
):
    finalized(
        business_customer,
        actor,
        LineRequest(sku="BERATUNG", quantity="1"),
        LineRequest(sku="BUCH", quantity="1"),
        document_discount_amount="15.00",
        day=dt.date(2026, 11, 2),
    )
    rows = _net(revenue(OCT_1, NOV_30, "product"))
    assert rows == {"BERATUNG": D("100.00"), "BUCH": D("50.00"), DOCUMENT_ALLOWANCES: D("-15.00")}
    assert sum(rows.values()) == _net(revenue(OCT_1, NOV_30, "month"))["2026-11"] == D("135.00")


# --- every view adds up to the documents ----------------------------------------------------

RATES = ("de-19", "de-7", "de-0")
line_requests = st.builds(
    lambda quantity, cents, rate: line(
        quantity=str(quantity), price=f"{Decimal(cents) / 100:.2f}", rate=rate
    ),
    st.integers(1, 5),
    st.integers(1, 50_000),
    st.sampled_from(RATES),
)
documents_drawn = st.lists(
    st.tuples(
        st.lists(line_requests, min_size=1, max_size=4),
        st.sampled_from(["net", "gross"]),
        st.integers(0, 2),  # month offset: October, November, December
        st.integers(1, 28),
        st.sampled_from([None, "credit", "cancel"]),
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=documents_drawn)
def test_every_view_adds_up_to_the_net_of_the_documents(company, actor, consumer, drawn):
    for lines, price_mode, month, day, correction in drawn:
        issued = dt.date(2026, 10 + month, day)
        invoice = finalized(consumer, actor, *lines, price_mode=price_mode, day=issued)
        if correction == "credit":
            credit(invoice, actor, lines=[(1, "1")], day=issued)
        elif correction == "cancel":
            cancel(invoice, actor, day=issued)
    start, end = dt.date(2026, 10, 1), dt.date(2026, 12, 31)

    # Independently: the documents' own tax basis totals and VAT breakdown, in Python.
    found = list(Invoice.objects.finalized().filter(issue_date__range=(start, end)))
    expected = sum(
        (d.tax_basis_total if d.kind == Kind.INVOICE else -d.tax_basis_total for d in found),
        Decimal(0),
    )
    totals = {by: total(revenue(start, end, by)) for by in ("month", "product", "tax_rate")}
    assert totals == {"month": expected, "product": expected, "tax_rate": expected}
    assert total(revenue(start, end, "customer_kind")) == expected

    from faktura.reporting.vat import vat_summary

    vat_by_rate: dict[Decimal, Decimal] = {}
    for tax in InvoiceTax.objects.filter(invoice__in=found).select_related("invoice"):
        sign = 1 if tax.invoice.kind == Kind.INVOICE else -1
        vat_by_rate[tax.rate] = vat_by_rate.get(tax.rate, Decimal(0)) + sign * tax.tax_amount
    summary = vat_summary(start, end)
    assert {row.rate: row.tax_amount for row in summary.rows} == vat_by_rate
    assert summary.taxable_total == expected
