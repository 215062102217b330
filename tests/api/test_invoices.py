"""/invoices: reading documents and acting on them, with the refusals a client must handle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.invoicing.models import Invoice, Kind
from faktura.payments.models import Allocation, Payment

pytestmark = pytest.mark.django_db


def _snapshot(invoice_id: int) -> dict:
    return Invoice.objects.filter(pk=invoice_id).values().get()


def test_finalize_numbers_and_freezes_the_invoice(api, place):
    draft = place()
    with clock.frozen(dt.date(2026, 11, 16)):
        response = api.send("POST", f"/invoices/{draft['id']}/finalize")
    assert response.status_code == 200
    invoice = response.json()
    assert invoice["number"] == "RE-2026-00001"
    assert invoice["status"] == "finalized"
    assert invoice["issue_date"] == "2026-11-16"
    assert invoice["due_date"] == "2026-11-30"
    assert invoice["service_period"] == {"start": "2026-11-16", "end": "2026-11-16"}
    assert invoice["open_amount"] == "238.00"
    assert invoice["payment_status"] == "unpaid"
    assert invoice["overdue"] is False
    assert invoice["finalized_at"] == "2026-11-16T12:00:00Z"


def test_finalize_twice_is_a_conflict_and_changes_nothing(api, place):
    draft = place()
    api.send("POST", f"/invoices/{draft['id']}/finalize")
    before = _snapshot(draft["id"])
    response = api.send("POST", f"/invoices/{draft['id']}/finalize")
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_draft"
    assert _snapshot(draft["id"]) == before


def test_delete_discards_a_draft(api, place):
    draft = place()
    response = api.send("DELETE", f"/invoices/{draft['id']}")
    assert response.status_code == 200
    assert response.json() == {"id": draft["id"], "object": "invoice", "deleted": True}
    assert not Invoice.objects.filter(pk=draft["id"]).exists()
    assert api.send("GET", f"/invoices/{draft['id']}").status_code == 404


def test_delete_of_a_finalized_invoice_is_refused_and_the_row_unchanged(api, place):
    draft = place()
    api.send("POST", f"/invoices/{draft['id']}/finalize")
    before = _snapshot(draft["id"])
    response = api.send("DELETE", f"/invoices/{draft['id']}")
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_draft"
    assert _snapshot(draft["id"]) == before


def test_unknown_invoice_is_a_404_not_found(api, company):
    response = api.send("GET", "/invoices/999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert api.send("POST", "/invoices/999/finalize").json()["code"] == "not_found"


def test_creator_key_cannot_approve_but_another_approver_can(api, approver_api, place, company):
    company.approval_threshold = Decimal("100.00")
    company.save()
    invoice = place()
    assert invoice["status"] == "pending_approval"

    response = api.send("POST", f"/invoices/{invoice['id']}/approve")
    assert response.status_code == 403
    assert response.json()["code"] == "approver_is_creator"
    assert Invoice.objects.get(pk=invoice["id"]).status == "pending_approval"

    blocked = api.send("POST", f"/invoices/{invoice['id']}/finalize")
    assert (blocked.status_code, blocked.json()["code"]) == (409, "approval_required")

    approved = approver_api.send("POST", f"/invoices/{invoice['id']}/approve")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_by"] == "api:approval-desk"

    finalized = api.send("POST", f"/invoices/{invoice['id']}/finalize")
    assert finalized.json()["number"] == "RE-2026-00001"


def test_a_key_without_the_approver_role_cannot_approve(api, place, company, viewer_user):
    from faktura.api.keys import create_api_key
    from tests.api.conftest import ApiClient

    company.approval_threshold = Decimal("100.00")
    company.save()
    invoice = place()
    _, secret = create_api_key(name="viewer-writes", user=viewer_user, scopes=["write"])
    response = ApiClient(secret).send("POST", f"/invoices/{invoice['id']}/approve")
    assert (response.status_code, response.json()["code"]) == (403, "not_an_approver")


def test_reject_needs_a_reason(api, approver_api, place, company):
    company.approval_threshold = Decimal("100.00")
    company.save()
    invoice = place()
    missing = approver_api.send("POST", f"/invoices/{invoice['id']}/reject", {})
    assert (missing.status_code, missing.json()["field"]) == (422, "reason")
    blank = approver_api.send("POST", f"/invoices/{invoice['id']}/reject", {"reason": "  "})
    assert (blank.status_code, blank.json()["code"]) == (422, "reason_required")
    assert Invoice.objects.get(pk=invoice["id"]).status == "pending_approval"

    rejected = approver_api.send(
        "POST", f"/invoices/{invoice['id']}/reject", {"reason": "Preis falsch"}
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == (
        "rejected",
        "Preis falsch",
    )


def _finalized(api, place, **extra) -> dict:
    draft = place(**extra)
    return api.send("POST", f"/invoices/{draft['id']}/finalize").json()


def test_credit_note_for_one_line_is_a_draft_referring_to_the_invoice(api, place):
    invoice = _finalized(api, place)
    response = api.send(
        "POST",
        f"/invoices/{invoice['id']}/credit-notes",
        {"lines": [{"position": 1, "quantity": "1"}], "reason": "Ein Tag entfiel"},
        **{"Idempotency-Key": "credit-1"},
    )
    assert response.status_code == 201
    credit = response.json()
    assert (credit["kind"], credit["status"], credit["number"]) == ("credit_note", "draft", None)
    assert credit["original_invoice"] == invoice["id"]
    assert credit["original_invoice_number"] == "RE-2026-00001"
    assert credit["grand_total"] == "119.00"
    assert credit["lines"][0]["credited_position"] == 1

    finalized = api.send("POST", f"/invoices/{credit['id']}/finalize").json()
    assert finalized["number"] == "GS-2026-00001"
    assert api.send("GET", f"/invoices/{invoice['id']}").json()["open_amount"] == "119.00"


def test_credit_more_than_remains_is_refused_and_creates_nothing(api, place):
    invoice = _finalized(api, place)
    response = api.send("POST", f"/invoices/{invoice['id']}/credit-notes", {"amount": "238.01"})
    assert response.status_code == 409
    assert response.json()["code"] == "credit_exceeds_remaining"
    assert Invoice.objects.filter(kind=Kind.CREDIT_NOTE).count() == 0


def test_credit_note_of_a_draft_is_refused(api, place):
    draft = place()
    response = api.send("POST", f"/invoices/{draft['id']}/credit-notes", {"amount": "10.00"})
    assert (response.status_code, response.json()["code"]) == (409, "invoice_not_finalized")


def test_cancel_returns_the_finalized_cancellation_document(api, place):
    invoice = _finalized(api, place)
    response = api.send("POST", f"/invoices/{invoice['id']}/cancel", {"reason": "Storno"})
    assert response.status_code == 201
    cancellation = response.json()
    assert (cancellation["kind"], cancellation["status"]) == ("cancellation", "finalized")
    assert cancellation["original_invoice_number"] == "RE-2026-00001"
    assert cancellation["grand_total"] == "238.00"
    cancelled = api.send("GET", f"/invoices/{invoice['id']}").json()
    assert (cancelled["payment_status"], cancelled["open_amount"]) == ("cancelled", "0.00")
    again = api.send("POST", f"/invoices/{invoice['id']}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "invoice_already_cancelled")


def _pay(invoice: dict, amount: str) -> None:
    invoice_row = Invoice.objects.get(pk=invoice["id"])
    payment = Payment.objects.create(
        customer_id=invoice_row.customer_id,
        amount=Decimal(amount),
        date=dt.date(2026, 11, 16),
        method=Payment.Method.TRANSFER,
        source=Payment.Source.MANUAL,
        created_by="test",
        created_at=clock.now(),
    )
    Allocation.objects.create(
        payment=payment,
        invoice=invoice_row,
        amount=Decimal(amount),
        created_at=clock.now(),
        created_by="test",
    )


def _numbers(api, **params) -> list[str | None]:
    response = api.get_json("/invoices", **params)
    assert response.status_code == 200, response.json()
    return [invoice["number"] for invoice in response.json()["data"]]


def test_filters_by_payment_state(api, place):
    with clock.frozen(dt.date(2026, 10, 1)):
        overdue = _finalized(api, place)  # due 2026-10-15
    paid = _finalized(api, place)
    open_ = _finalized(api, place)
    draft = place()
    _pay(paid, "238.00")

    assert _numbers(api, status="overdue") == [overdue["number"]]
    assert _numbers(api, status="open") == [overdue["number"], open_["number"]]
    assert _numbers(api, status="paid") == [paid["number"]]
    assert _numbers(api, status="draft") == [None]
    assert api.get_json(f"/invoices/{paid['id']}").json()["payment_status"] == "paid"
    listed = api.get_json("/invoices", status="overdue").json()["data"][0]
    assert (listed["overdue"], listed["open_amount"]) == (True, "238.00")
    assert api.get_json("/invoices", number=paid["number"]).json()["data"][0]["id"] == paid["id"]
    assert len(api.get_json("/invoices", kind="invoice").json()["data"]) == 4
    assert draft["id"] in [i["id"] for i in api.get_json("/invoices").json()["data"]]


def test_unknown_status_filter_is_a_validation_error(api, company):
    response = api.get_json("/invoices", status="lost")
    assert (response.status_code, response.json()["field"]) == (422, "status")


def test_cursor_pagination_walks_every_invoice_once(api, place):
    ids = [place()["id"] for _ in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get_json("/invoices", **params).json()
        pages += 1
        seen += [invoice["id"] for invoice in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert seen == ids
    assert pages == 3


def test_limit_above_200_and_foreign_cursor_are_refused(api, company):
    too_many = api.get_json("/invoices", limit=201)
    assert (too_many.status_code, too_many.json()["field"]) == (422, "limit")
    bad_cursor = api.get_json("/invoices", cursor="not-a-cursor")
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (422, "invalid_cursor")


def test_the_invoice_shows_its_delivery_state(api, place):
    invoice = place()
    assert invoice["delivery_status"] == "pending"
    finalized = api.send("POST", f"/invoices/{invoice['id']}/finalize").json()
    assert finalized["delivery_status"] == "pending"
    Invoice.objects.filter(pk=invoice["id"]).update(
        delivery_status="blocked", delivery_error="BR-CO-15: Gesamtbetrag falsch"
    )
    shown = api.get_json(f"/invoices/{invoice['id']}").json()
    assert (shown["delivery_status"], shown["delivery_error"]) == (
        "blocked",
        "BR-CO-15: Gesamtbetrag falsch",
    )
