"""Collection over the API: proposals, approval, the export once, agency money, recall and
write-off with its VAT correction."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

import pytest

from faktura.core import clock
from faktura.dunning.models import CollectionCase, CollectionExport
from tests.dunning.helpers import overdue, run

pytestmark = pytest.mark.django_db
D = dt.date
DUE = D(2026, 10, 1)


def at(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))


@pytest.fixture
def proposal(consumer, actor) -> int:
    """A consumer's 100.00 and 50.00 through every level, proposed 14 days after the
    final notice (3.12.2026)."""
    overdue(consumer, actor, due=DUE, price="100.00")
    overdue(consumer, actor, due=DUE, price="50.00")
    for day in (D(2026, 10, 8), D(2026, 10, 22), D(2026, 11, 5), D(2026, 11, 19), D(2026, 12, 3)):
        run(day)
    return CollectionCase.objects.get().pk


def test_the_proposal_is_listed_with_its_invoices(api, reader_api, proposal, consumer):
    listed = reader_api.get_json("/collection-cases", status="proposed").json()["data"]
    assert [c["id"] for c in listed] == [proposal]
    case = listed[0]
    assert (case["customer"], case["status"], case["proposed_on"]) == (
        consumer.pk,
        "proposed",
        "2026-12-03",
    )
    assert [(i["number"], i["open_amount_at_proposal"]) for i in case["invoices"]] == [
        ("RE-2026-00001", "100.00"),
        ("RE-2026-00002", "50.00"),
    ]
    assert case["open_amount_at_proposal"] == "150.00"
    assert api.get_json("/collection-cases", status="exported").json()["data"] == []
    missing = api.get_json("/collection-cases/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_approve_export_once_and_download(api, approver_api, reader_api, proposal):
    refused = reader_api.send("POST", f"/collection-cases/{proposal}/approve")
    assert refused.status_code == 403, refused.json()
    with at(D(2026, 12, 4)):
        approved = approver_api.send("POST", f"/collection-cases/{proposal}/approve")
        assert approved.status_code == 200, approved.json()
        assert approved.json()["status"] == "approved"
        export = api.send("POST", "/collection-exports", {})
        assert export.status_code == 201, export.json()
        again = api.send("POST", "/collection-exports", {})
    body = export.json()
    assert (body["cases"], body["case_count"], body["row_count"]) == ([proposal], 1, 2)
    assert again.status_code == 204
    assert CollectionExport.objects.count() == 1
    case = api.get_json(f"/collection-cases/{proposal}").json()
    assert (case["status"], case["export"]) == ("exported", body["id"])

    csv = api.get_json(f"/collection-exports/{body['id']}/csv")
    assert csv.status_code == 200
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert hashlib.sha256(csv.content).hexdigest() == body["csv_sha256"]
    assert csv["ETag"] == f'"{body["csv_sha256"]}"'
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Glaeubiger;GlaeubigerAnschrift;")
    assert [line.split(";")[12] for line in lines[1:]] == ["RE-2026-00001", "RE-2026-00002"]
    bundle = api.get_json(f"/collection-exports/{body['id']}/zip")
    assert hashlib.sha256(bundle.content).hexdigest() == body["zip_sha256"]
    assert all(
        name.endswith(".pdf") for name in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    )
    assert [e["id"] for e in api.get_json("/collection-exports").json()["data"]] == [body["id"]]


def test_agency_money_then_write_off_with_the_vat_correction(api, approver_api, proposal):
    with at(D(2026, 12, 4)):
        approver_api.send("POST", f"/collection-cases/{proposal}/approve")
        api.send("POST", "/collection-exports", {"cases": [proposal]})
    with at(D(2027, 1, 10)):
        paid = api.send(
            "POST",
            f"/collection-cases/{proposal}/agency-payments",
            {"amount": "120.00", "costs": "35.70", "date": "2027-01-10"},
        )
        assert paid.status_code == 201, paid.json()
        negative = api.send(
            "POST",
            f"/collection-cases/{proposal}/agency-payments",
            {"amount": "-1.00", "date": "2027-01-10"},
        )
        assert negative.status_code in (400, 422), negative.json()
    assert (paid.json()["amount"], paid.json()["costs"]) == ("120.00", "35.70")
    case = api.get_json(f"/collection-cases/{proposal}").json()
    assert case["agency_costs"] == "35.70"
    assert len(case["agency_payments"]) == 1
    with at(D(2027, 2, 1)):
        without_reason = approver_api.send("POST", f"/collection-cases/{proposal}/write-off", {})
        assert without_reason.status_code == 422
        written = approver_api.send(
            "POST", f"/collection-cases/{proposal}/write-off", {"reason": "Insolvenz"}
        )
    assert written.status_code == 200, written.json()
    # 30.00 left of the 50.00 invoice, 19 % VAT inside: 30.00 × 19/119 = 4.79.
    corrections = written.json()["vat_corrections"]
    assert [(c["gross"], c["net"], c["vat"], c["rate"]) for c in corrections] == [
        ("30.00", "25.21", "4.79", "19.00")
    ]
    assert written.json()["case"]["status"] == "closed"
    assert written.json()["case"]["write_off_reason"] == "Insolvenz"


def test_recall_takes_the_case_back(approver_api, reader_api, proposal):
    refused = reader_api.send("POST", f"/collection-cases/{proposal}/recall", {"reason": "zahlt"})
    assert refused.status_code == 403
    recalled = approver_api.send(
        "POST", f"/collection-cases/{proposal}/recall", {"reason": "Kunde zahlt direkt"}
    )
    assert recalled.status_code == 200, recalled.json()
    assert (recalled.json()["status"], recalled.json()["recall_reason"]) == (
        "recalled",
        "Kunde zahlt direkt",
    )
    assert [i["active"] for i in recalled.json()["invoices"]] == [False, False]
    twice = approver_api.send("POST", f"/collection-cases/{proposal}/recall", {"reason": "x"})
    assert twice.status_code == 409, twice.json()
