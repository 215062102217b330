"""GET /reports/revenue, /vat-summary, /dunning, /subscriptions: JSON, CSV, XLSX, errors."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from openpyxl import load_workbook

from faktura.api.keys import create_api_key
from tests.api.conftest import ApiClient, make_user
from tests.invoicing.helpers import line, order
from tests.reporting.helpers import on

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def reader_api(company) -> ApiClient:
    """A read-only key of a viewer: reports need nothing more."""
    _, secret = create_api_key(name="reports", user=make_user("vera", "viewer"), scopes=["read"])
    return ApiClient(secret)


@pytest.fixture
def sales(company, business_customer, actor):
    from faktura.invoicing import services as invoicing

    with on(dt.date(2026, 11, 2)):
        draft = order(
            business_customer, actor, line(quantity="2"), line(price="50.00", rate="de-7")
        )
        invoicing.finalize_invoice(invoice_id=draft.pk, actor=actor)


def test_revenue_by_tax_rate_as_json(reader_api, sales):
    response = reader_api.get_json("/reports/revenue", **PERIOD, by="tax_rate")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["object"], body["from"], body["to"], body["by"]) == (
        "revenue_report",
        "2026-11-01",
        "2026-11-30",
        "tax_rate",
    )
    assert [(r["key"], r["net"]) for r in body["rows"]] == [
        ("S-19.00", "200.00"),
        ("S-7.00", "50.00"),
    ]
    assert body["total"] == "250.00"


def test_vat_summary_as_json_and_csv(reader_api, sales):
    body = reader_api.get_json("/reports/vat-summary", **PERIOD).json()
    assert [(r["kennzahl"], r["taxable_amount"], r["form_amount"], r["tax_amount"])
            for r in body["rows"]] == [("81", "200.00", 200, "38.00"),
                                       ("86", "50.00", 50, "3.50")]  # fmt: skip
    assert (body["taxable_total"], body["tax_total"]) == ("250.00", "41.50")
    response = reader_api.get_json("/reports/vat-summary", **PERIOD, format="csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="umsatzsteuer-2026-11-01-2026-11-30.csv"'
    )
    assert response.content.decode("utf-8-sig").splitlines()[2] == (
        "86;Steuerpflichtige Umsätze zum Steuersatz von 7 %;S;7,00;50,00;50;3,50"
    )


def test_revenue_as_xlsx(reader_api, sales):
    response = reader_api.get_json("/reports/revenue", **PERIOD, by="month", format="xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    assert [c.value for c in sheet[2]] == ["2026-11", "11/2026", 250, 0, 250]


def test_dunning_and_subscription_figures_answer_for_an_empty_period(reader_api, company):
    dunning = reader_api.get_json("/reports/dunning", **PERIOD).json()
    assert dunning["notices"] == []
    assert dunning["collection"]["cases_handed_over"] == 0
    assert [c["kind"] for c in dunning["costs"]] == ["fee", "flat_40", "interest"]
    figures = reader_api.get_json("/reports/subscriptions", **PERIOD).json()
    assert figures["mrr"]["mrr_start"] == figures["mrr"]["mrr_end"] == "0.00"
    assert figures["trial_conversion_rate"] is None
    csv = reader_api.get_json("/reports/subscriptions", **PERIOD, format="csv")
    assert csv.content.decode("utf-8-sig").splitlines()[1] == (
        "mrr_start;MRR am Vortag des Beginns;;0,00;"
    )


def test_the_period_defaults_to_this_month(reader_api, sales):
    body = reader_api.get_json("/reports/revenue").json()
    assert (body["from"], body["to"], body["total"]) == ("2026-11-01", "2026-11-30", "250.00")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "invalid_period"),
        ({"from": "2026-13-01"}, "validation_error"),
        ({"by": "weekday"}, "validation_error"),
        ({"format": "pdf"}, "validation_error"),
    ],
)
def test_bad_parameters_are_refused(reader_api, company, params, code):
    response = reader_api.get_json("/reports/revenue", **params)
    assert response.status_code == 422
    assert response.json()["code"] == code


def test_without_a_key_nothing_is_shown(company):
    assert ApiClient(None).get_json("/reports/vat-summary").status_code == 401
