"""Instalment agreements over the API: create, list, read, cancel; refusals change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from faktura.api.keys import create_api_key
from faktura.core import clock
from faktura.core.models import AuditEntry
from faktura.dunning.models import Instalment, InstalmentAgreement
from tests.api.conftest import ApiClient, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(api, place) -> dict[str, Any]:
    """238.00 (2 × 100.00 + 19 % VAT) issued 17.9., due 1.10.2026."""
    with clock.frozen(dt.datetime(2026, 9, 17, 9, tzinfo=dt.UTC)):
        draft = place()
        invoice = api.send("POST", f"/invoices/{draft['id']}/finalize").json()
    assert invoice["grand_total"] == "238.00", invoice
    return invoice


def _counts() -> tuple[int, int, int]:
    return (
        InstalmentAgreement.objects.count(),
        Instalment.objects.count(),
        AuditEntry.objects.filter(action__startswith="dunning.instalment").count(),
    )


def test_create_read_list_and_cancel(api, customer, overdue):
    body = {
        "customer": customer["id"],
        "invoices": [overdue["id"]],
        "instalments": 3,
        "first_due_date": "2026-12-01",
        "grace_days": 5,
        "note": "Liquiditätsengpass",
    }
    response = api.send("POST", "/instalment-agreements", body)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["object"], created["reference"], created["status"], created["total"]) == (
        "instalment_agreement",
        f"RZ-{created['id']:05d}",
        "active",
        "238.00",
    )
    assert (created["grace_days"], created["note"], created["agreed_on"]) == (
        5,
        "Liquiditätsengpass",
        "2026-11-16",
    )
    assert [(i["invoice"], i["number"], i["open_amount"]) for i in created["invoices"]] == [
        (overdue["id"], overdue["number"], "238.00")
    ]
    assert [
        (
            i["number"],
            i["reference"],
            i["due_date"],
            i["amount"],
            i["paid_amount"],
            i["open_amount"],
        )
        for i in created["instalments"]
    ] == [
        (1, f"RZ-{created['id']:05d}-1", "2026-12-01", "79.33", "0.00", "79.33"),
        (2, f"RZ-{created['id']:05d}-2", "2027-01-01", "79.33", "0.00", "79.33"),
        (3, f"RZ-{created['id']:05d}-3", "2027-02-01", "79.34", "0.00", "79.34"),
    ]
    assert api.get_json(f"/instalment-agreements/{created['id']}").json() == created
    listed = api.get_json("/instalment-agreements", customer=customer["id"]).json()
    assert [a["id"] for a in listed["data"]] == [created["id"]]
    assert api.get_json("/instalment-agreements", status="broken").json()["data"] == []

    missing_reason = api.send("POST", f"/instalment-agreements/{created['id']}/cancel", {})
    assert missing_reason.status_code == 422
    cancelled = api.send(
        "POST", f"/instalment-agreements/{created['id']}/cancel", {"reason": "Kunde zahlt nicht"}
    )
    assert cancelled.status_code == 200, cancelled.json()
    assert (
        cancelled.json()["status"],
        cancelled.json()["ended_on"],
        cancelled.json()["ended_by"],
        cancelled.json()["end_reason"],
    ) == ("cancelled", "2026-11-16", "api:shop", "Kunde zahlt nicht")
    again = api.send("POST", f"/instalment-agreements/{created['id']}/cancel", {"reason": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "instalment_agreement_not_active")


def test_an_explicit_schedule(api, customer, overdue):
    body = {
        "customer": customer["id"],
        "invoices": [overdue["id"]],
        "schedule": [
            {"due_date": "2026-11-30", "amount": "38.00"},
            {"due_date": "2026-12-31", "amount": "200.00"},
        ],
    }
    response = api.send("POST", "/instalment-agreements", body)
    assert response.status_code == 201, response.json()
    assert [(i["due_date"], i["amount"]) for i in response.json()["instalments"]] == [
        ("2026-11-30", "38.00"),
        ("2026-12-31", "200.00"),
    ]
    assert response.json()["grace_days"] == 7


def test_refusals_are_specific_and_change_nothing(api, customer, overdue):
    base = {"customer": customer["id"], "invoices": [overdue["id"]]}
    cases = [
        ({**base, "instalments": 2}, 422, "instalment_schedule_required"),
        ({**base, "instalments": 2, "first_due_date": "2026-11-01"}, 422,
         "instalment_due_in_past"),
        ({**base, "schedule": [{"due_date": "2026-12-01", "amount": "200.00"}]}, 422,
         "instalment_sum_mismatch"),
        ({**base, "schedule": [{"due_date": "2026-12-01", "amount": "100.00"},
                               {"due_date": "2026-11-30", "amount": "138.00"}]}, 422,
         "instalment_dates_not_ascending"),
        ({**base, "instalments": 0, "first_due_date": "2026-12-01"}, 422, "validation_error"),
        ({**base, "instalments": 2, "first_due_date": "2026-12-01", "rate": 2}, 422,
         "validation_error"),
        ({**base, "invoices": [999999], "instalments": 2, "first_due_date": "2026-12-01"}, 422,
         "invoice_not_found"),
        ({**base, "customer": 999999, "instalments": 2, "first_due_date": "2026-12-01"}, 422,
         "customer_not_found"),
    ]  # fmt: skip
    for body, status, code in cases:
        response = api.send("POST", "/instalment-agreements", body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    malformed = api.send("POST", "/instalment-agreements", "{")
    assert malformed.status_code == 400, malformed.content
    assert _counts() == (0, 0, 0)
    assert api.get_json("/instalment-agreements/999999").status_code == 404
    missing = api.send("POST", "/instalment-agreements/999999/cancel", {"reason": "x"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_read_only_key_and_missing_roles_are_refused(api, reader_api, customer, overdue):
    body = {
        "customer": customer["id"],
        "invoices": [overdue["id"]],
        "instalments": 2,
        "first_due_date": "2026-12-01",
    }
    writes = [
        ("/instalment-agreements", body),
        ("/instalment-agreements/1/cancel", {"reason": "x"}),
    ]
    for path, payload in writes:
        response = reader_api.send("POST", path, payload)
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    _, secret = create_api_key(
        name="till", user=make_user("carl", "cashier"), scopes=["read", "write"]
    )
    cashier = ApiClient(secret)
    for path, payload in writes:
        response = cashier.send("POST", path, payload)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert _counts() == (0, 0, 0)
    assert reader_api.get_json("/instalment-agreements").status_code == 200
