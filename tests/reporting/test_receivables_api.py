"""/reports/*: the receivables reports through the API, as JSON, CSV and XLSX; a viewer may
read them; broken query parameters are refused with 422 and a code."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.customers.models import Customer
from faktura.payments import services as payments
from tests.payments.helpers import finalized, pay

pytestmark = pytest.mark.django_db
ACTOR = Actor(label="user:anna", roles=frozenset({"accountant"}))


@pytest.fixture
def booked(customer):
    """Invoice 238.00 of 2026-10-01 (due 10-15), 100.00 paid on 2026-10-20."""
    buyer = Customer.objects.get(pk=customer["id"])
    with clock.frozen(dt.datetime(2026, 10, 1, 10, tzinfo=dt.UTC)):
        invoice = finalized(buyer, ACTOR, price="200.00")
    with clock.frozen(dt.datetime(2026, 10, 20, 10, tzinfo=dt.UTC)):
        payment = pay(ACTOR, "100.00", buyer, day=dt.date(2026, 10, 20))
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, "100.00")], actor=ACTOR
        )
    return invoice


def test_open_items_as_json_for_a_viewer(reader_api, booked):
    response = reader_api.get_json("/reports/open-items", date="2026-10-19")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["object"], body["date"], body["total"], body["count"]) == (
        "open_items",
        "2026-10-19",
        "238.00",
        1,
    )
    (item,) = body["data"]
    assert item == {
        "kind": "invoice",
        "object_id": booked.pk,
        "customer": booked.customer_id,
        "customer_number": booked.customer.number,
        "customer_name": "Beispiel Handel AG",
        "reference": booked.number,
        "document_date": "2026-10-01",
        "due_date": "2026-10-15",
        "amount": "238.00",
        "open_amount": "238.00",
        "days_overdue": 4,
    }
    today = reader_api.get_json("/reports/open-items").json()
    assert (today["date"], today["total"]) == ("2026-11-16", "138.00")


def test_open_items_as_csv_for_a_german_spreadsheet(reader_api, booked):
    response = reader_api.get_json("/reports/open-items", date="2026-11-16", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="offene-posten-2026-11-16.csv"'
    number = booked.customer.number
    assert response.content.decode("utf-8") == (
        "\ufeffKundennummer;Kunde;Art;Beleg;Belegdatum;Fällig am;Betrag;Offen;Tage überfällig\r\n"
        f"{number};Beispiel Handel AG;Rechnung;{booked.number};2026-10-01;2026-10-15;"
        "238,00;138,00;32\r\n"
    )


def test_aging_as_xlsx_keeps_typed_cells(reader_api, booked):
    from openpyxl import load_workbook

    response = reader_api.get_json(
        "/reports/aging", date="2026-11-16", format="xlsx", by_customer="true"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('faelligkeitsstruktur-2026-11-16.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Kundennummer", "Kunde", "nicht fällig", "Anzahl", "1–30 Tage", "Anzahl")
    assert len(rows) == 3  # header, the customer, the total
    assert rows[2][0] == "Gesamt"
    # 32 days past due: the 31–60 bucket; the total column.
    assert rows[2][6:8] == (138, 1)
    assert rows[2][-2:] == (138, 1)


def test_aging_as_json(reader_api, booked):
    body = reader_api.get_json("/reports/aging", date="2026-10-19").json()
    buckets = {b["bucket"]: (b["amount"], b["count"]) for b in body["total"]["buckets"]}
    assert buckets["days_1_30"] == ("238.00", 1)
    assert (body["total"]["total"], body["customers"]) == ("238.00", [])


def test_dso_as_json_and_csv(reader_api, booked):
    body = reader_api.get_json("/reports/dso", **{"from": "2026-10-01", "to": "2026-10-31"}).json()
    # 138.00 / 238.00 × 31 = 17.97…
    assert body == {
        "object": "dso",
        "from": "2026-10-01",
        "to": "2026-10-31",
        "days": 31,
        "receivables": "138.00",
        "revenue": "238.00",
        "dso": "18.0",
        "currency": "EUR",
    }
    csv = reader_api.get_json(
        "/reports/dso", **{"from": "2026-10-01", "to": "2026-10-31", "format": "csv"}
    )
    assert csv.content.decode().splitlines()[1] == "2026-10-01;2026-10-31;31;138,00;238,00;18,00"
    default = reader_api.get_json("/reports/dso").json()
    assert (default["from"], default["to"], default["days"]) == ("2026-08-19", "2026-11-16", 90)


def test_payment_history(reader_api, booked):
    body = reader_api.get_json(f"/reports/customers/{booked.customer_id}/payment-history").json()
    assert (body["payment_count"], body["payment_total"]) == (1, "100.00")
    assert (body["average_days_from_issue"], body["average_days_after_due"]) == ("19.0", "5.0")
    assert body["payments"][0]["date"] == "2026-10-20"
    missing = reader_api.get_json("/reports/customers/999999/payment-history")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_overdue_by_level_and_cash_forecast(reader_api, booked):
    body = reader_api.get_json("/reports/overdue-by-level").json()
    assert body["total"] == "138.00"
    assert body["levels"] == [{"level": 0, "count": 1, "open_amount": "138.00"}]
    forecast = reader_api.get_json("/reports/cash-forecast", **{"from": "2026-10-12", "weeks": 2})
    assert forecast.status_code == 200
    periods = forecast.json()["periods"]
    assert [(p["start"], p["due_invoices"]) for p in periods] == [
        ("2026-10-12", "138.00"),
        ("2026-10-19", "0.00"),
    ]
    xlsx = reader_api.get_json("/reports/cash-forecast", weeks=1, format="xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"  # a zip: the XLSX container


@pytest.mark.parametrize(
    ("path", "params", "code", "field"),
    [
        ("/reports/open-items", {"date": "2026-13-01"}, "validation_error", "date"),
        ("/reports/open-items", {"format": "pdf"}, "validation_error", "format"),
        ("/reports/aging", {"date": "gestern"}, "validation_error", "date"),
        ("/reports/dso", {"to": "2026-10"}, "validation_error", "to"),
        ("/reports/dso", {"from": "2026-11-01", "to": "2026-10-01"}, "invalid_period", "from"),
        ("/reports/cash-forecast", {"weeks": "0"}, "validation_error", "weeks"),
        ("/reports/cash-forecast", {"weeks": "2", "months": "1"}, "invalid_period", "months"),
        ("/reports/overdue-by-level", {"date": "2026-02-30"}, "validation_error", "date"),
    ],
)
def test_broken_query_parameters_are_refused(reader_api, company, path, params, code, field):
    response = reader_api.get_json(path, **params)
    assert response.status_code == 422, response.content
    assert (response.json()["code"], response.json()["field"]) == (code, field)


def test_reports_need_a_key(company):
    from django.test import Client

    response = Client().get("/api/v1/reports/open-items")
    assert response.status_code == 401
