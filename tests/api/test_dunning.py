"""Dunning over the API: policies, runs, notices with their figures, fees, the dunning block."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from faktura.api.keys import create_api_key
from faktura.core import clock
from faktura.core.models import AuditEntry
from faktura.dunning.models import DunningFee, DunningLevel, DunningNotice, NoticeLetter
from tests.api.conftest import ApiClient, make_user
from tests.dunning.helpers import deliver_letters

pytestmark = pytest.mark.django_db
DUE = "2026-10-01"


@pytest.fixture
def overdue(api, place) -> dict[str, Any]:
    """238.00 (2 × 100.00 + 19 % VAT) issued 17.9., due 1.10.2026 to a business customer."""
    with clock.frozen(dt.datetime(2026, 9, 17, 9, tzinfo=dt.UTC)):
        draft = place()
        invoice = api.send("POST", f"/invoices/{draft['id']}/finalize").json()
    assert (invoice["due_date"], invoice["grand_total"]) == (DUE, "238.00"), invoice
    return invoice


def _policy(api, name: str) -> dict[str, Any]:
    policies = api.get_json("/dunning-policy").json()["data"]
    return next(p for p in policies if p["name"] == name)


def test_policies_list_their_levels(api):
    business = _policy(api, "Unternehmen")
    assert [
        (lv["number"], lv["days"], lv["fee_business"], lv["flat_fee"], lv["access_effect"])
        for lv in business["levels"]
    ] == [(0, 7, "0.00", False, ""), (1, 14, "0.00", True, ""), (2, 14, "0.00", False, "restrict"),
          (3, 14, "0.00", False, "block")]  # fmt: skip
    consumer = _policy(api, "Verbraucher")
    assert [lv["fee_consumer"] for lv in consumer["levels"]] == ["0.00", "2.50", "2.50", "2.50"]
    assert "$total" in consumer["levels"][1]["text_de"]


def test_run_sends_the_reminder_then_the_first_notice_with_flat_fee_and_interest(
    api, customer, overdue
):
    too_early = api.send("POST", "/dunning-runs", {"date": "2026-10-07"})
    assert too_early.status_code == 201, too_early.json()
    assert too_early.json()["notices_sent"] == 0
    reminder_run = api.send("POST", "/dunning-runs", {"date": "2026-10-08"}).json()
    assert (reminder_run["status"], reminder_run["notices_sent"]) == ("finished", 1)
    first_run = api.send("POST", "/dunning-runs", {"date": "2026-10-22"}).json()
    deliver_letters()  # the worker renders, archives and mails the letters after the run
    assert first_run["notices_sent"] == 1

    listed = api.get_json("/dunning-notices", customer=customer["id"]).json()["data"]
    assert [(n["level"], n["date"], n["total"]) for n in listed] == [
        (0, "2026-10-08", "238.00"),
        # 238.00 × 10.27 % × 21/365 (2.–22.10.) = 1.41; EUR 40 flat fee once.
        (1, "2026-10-22", "279.41"),
    ]
    first = api.get_json(f"/dunning-notices/{listed[1]['id']}").json()
    assert (first["principal_total"], first["fees_total"], first["interest_total"]) == (
        "238.00",
        "40.00",
        "1.41",
    )
    assert (first["deadline"], first["status"], first["run"]) == (
        "2026-11-01",
        "sent",
        first_run["id"],
    )
    assert [(i["number"], i["open_amount"]) for i in first["items"]] == [
        (overdue["number"], "238.00")
    ]
    assert [(f["kind"], f["amount"]) for f in first["fees"]] == [("flat_40", "40.00")]
    assert [
        (p["period_start"], p["period_end"], p["rate"], p["principal"], p["amount"])
        for p in first["interest_periods"]
    ] == [("2026-10-02", "2026-10-22", "10.27", "238.00", "1.41")]
    assert first["mail"]["state"] == "queued"
    assert first["mail"]["to"] == ["buchhaltung@beispiel.de"]
    assert first["letter_ready"] is True

    runs = api.get_json("/dunning-runs", date="2026-10-22").json()["data"]
    assert [r["id"] for r in runs] == [first_run["id"]]
    stored = api.get_json(f"/dunning-runs/{first_run['id']}").json()
    assert (stored["fees_charged"], stored["interest_periods"]) == (1, 1)
    assert [n["level"] for n in api.get_json("/dunning-notices", level=1).json()["data"]] == [1]
    assert api.get_json("/dunning-notices", date="2026-10-08").json()["data"][0]["level"] == 0


def test_dry_run_shows_the_notice_and_writes_nothing(api, overdue):
    response = api.send("POST", "/dunning-runs", {"date": "2026-10-08", "dry_run": True})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["object"] == "dunning_run_preview"
    assert [(n["level"], n["invoices"], n["total"]) for n in body["notices"]] == [
        (0, [overdue["number"]], "238.00")
    ]
    assert DunningNotice.objects.count() == 0
    assert api.get_json("/dunning-runs").json()["data"] == []


def test_reviewed_level_waits_for_approval_then_is_sent(api, customer, overdue):
    business = _policy(api, "Unternehmen")
    changed = api.send(
        "PATCH", f"/dunning-policy/{business['id']}/levels/0", {"review_required": True}
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["levels"][0]["review_required"] is True
    run = api.send("POST", "/dunning-runs", {"date": "2026-10-08"}).json()
    assert (run["notices_sent"], run["notices_proposed"]) == (0, 1)
    (proposal,) = api.get_json("/dunning-notices", status="proposed").json()["data"]
    assert proposal["mail"] is None

    approved = api.send("POST", f"/dunning-notices/{proposal['id']}/approve")
    assert approved.status_code == 200, approved.json()
    body = approved.json()
    assert (body["status"], body["approved_by"]) == ("sent", "api:shop")
    assert body["mail"] is None  # the letter is rendered first, then mailed with it
    deliver_letters()
    mail = api.get_json(f"/dunning-notices/{proposal['id']}").json()["mail"]
    assert mail["subject"] == f"Zahlungserinnerung {overdue['number']}"
    again = api.send("POST", f"/dunning-notices/{proposal['id']}/approve")
    assert (again.status_code, again.json()["code"]) == (409, "dunning_notice_not_proposed")


def test_cancelled_proposal_loses_its_fees(api, customer, overdue):
    DunningLevel.objects.filter(policy__name="Unternehmen", number=1).update(review_required=True)
    api.send("POST", "/dunning-runs", {"date": "2026-10-08"})
    api.send("POST", "/dunning-runs", {"date": "2026-10-22"})
    (proposal,) = api.get_json("/dunning-notices", status="proposed").json()["data"]
    assert proposal["fees_total"] == "40.00"
    missing_reason = api.send("POST", f"/dunning-notices/{proposal['id']}/cancel", {})
    assert missing_reason.status_code == 422
    cancelled = api.send(
        "POST", f"/dunning-notices/{proposal['id']}/cancel", {"reason": "Kulanz"}
    ).json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "Kulanz")
    assert cancelled["fees"] == []
    assert cancelled["interest_periods"] == []
    assert DunningFee.objects.filter(customer_id=customer["id"]).count() == 0


def test_fee_added_once_per_idempotency_key_and_waived(api, customer):
    body = {"customer": customer["id"], "amount": "5.00", "reason": "Adressermittlung"}
    first = api.send("POST", "/dunning-fees", body, **{"Idempotency-Key": "fee-1"})
    assert first.status_code == 201, first.json()
    replay = api.send("POST", "/dunning-fees", body, **{"Idempotency-Key": "fee-1"})
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert DunningFee.objects.filter(customer_id=customer["id"]).count() == 1
    fee = first.json()
    assert (fee["kind"], fee["amount"], fee["open"]) == ("fee", "5.00", True)
    other = api.send(
        "POST", "/dunning-fees", {**body, "amount": "6.00"}, **{"Idempotency-Key": "fee-1"}
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")

    waived = api.send("POST", f"/dunning-fees/{fee['id']}/waive", {"reason": "Kulanz"}).json()
    assert (waived["open"], waived["waived_reason"]) == (False, "Kulanz")
    again = api.send("POST", f"/dunning-fees/{fee['id']}/waive", {"reason": "Kulanz"})
    assert (again.status_code, again.json()["code"]) == (409, "dunning_fee_not_open")
    assert (
        api.get_json("/dunning-fees", customer=customer["id"], open=False).json()["data"][0]["id"]
        == fee["id"]
    )
    assert AuditEntry.objects.filter(action="dunning.fee_waived").count() == 1


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-5.00", "negative_amount"),
        ("0.00", "invalid_dunning_fee"),
        ("5.001", "too_many_decimals"),
        (5, "invalid_amount"),
    ],
)
def test_fee_amount_refused(api, customer, amount, code):
    response = api.send(
        "POST", "/dunning-fees", {"customer": customer["id"], "amount": amount, "reason": "x"}
    )
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert DunningFee.objects.count() == 0


def test_level_changes_are_validated_and_audited(api):
    business = _policy(api, "Unternehmen")
    url = f"/dunning-policy/{business['id']}/levels/1"
    cases = [
        ({"days": 0}, "validation_error"),
        ({"fee_business": "-1.00"}, "negative_amount"),
        ({"fee_business": "1.005"}, "too_many_decimals"),
        ({"text_de": "Bitte zahlen Sie $summe bis $deadline."}, "unknown_placeholder"),
        ({"text_en": "Pay 5 $ now"}, "unknown_placeholder"),
        ({"subject_de": "Mahnung\u0007"}, "text_not_printable"),
        ({"subject_de": "   "}, "invalid_dunning_level"),
        ({"access_effect": "lock"}, "validation_error"),
        ({"colour": "red"}, "validation_error"),
    ]
    for body, code in cases:
        response = api.send("PATCH", url, body)
        assert (response.status_code, response.json()["code"]) == (422, code), body
    response = api.send(
        "PATCH", url, {"days": 21, "fee_business": "5.00", "access_effect": "restrict",
                       "text_en": "Dear $customer_name, pay ${total} EUR by $deadline."},
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    level = DunningLevel.objects.get(policy_id=business["id"], number=1)
    assert (level.days, str(level.fee_business), level.access_effect) == (21, "5.00", "restrict")
    entry = AuditEntry.objects.get(action="dunning.level_changed")
    assert entry.data["before"]["days"] == "14"
    assert entry.data["after"]["days"] == "21"
    missing = api.send("PATCH", f"/dunning-policy/{business['id']}/levels/4", {"days": 3})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_dunning_block_is_set_and_skips_the_customer(api, customer, overdue):
    url = f"/customers/{customer['id']}/dunning-block"
    assert api.get_json(url).json() == {
        "object": "dunning_block",
        "customer": customer["id"],
        "blocked": False,
        "until": None,
        "reason": "",
        "in_force": False,
    }
    response = api.send("PUT", url, {"blocked": True, "until": "2026-12-31", "reason": "Klärung"})
    assert response.status_code == 200, response.json()
    assert response.json()["in_force"] is True
    run = api.send("POST", "/dunning-runs", {"date": "2026-10-08"}).json()
    assert run["notices_sent"] == 0
    refused = api.send("PUT", url, {"blocked": False, "until": "2026-12-31"})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_dunning_block_until")
    lifted = api.send("PUT", url, {"blocked": False}).json()
    assert (lifted["blocked"], lifted["in_force"]) == (False, False)
    assert AuditEntry.objects.filter(action="customer.updated").count() == 2


def test_read_only_key_and_missing_roles_are_refused(api, reader_api, customer, company):
    writes = [
        ("POST", "/dunning-runs", {"date": "2026-10-08"}),
        ("POST", "/dunning-fees", {"customer": customer["id"], "amount": "5.00", "reason": "x"}),
        ("POST", "/dunning-fees/1/waive", {"reason": "x"}),
        ("POST", "/dunning-notices/1/approve", None),
        ("POST", "/dunning-notices/1/cancel", {"reason": "x"}),
        ("PATCH", "/dunning-policy/1/levels/0", {"days": 3}),
        ("PUT", f"/customers/{customer['id']}/dunning-block", {"blocked": True}),
    ]
    for method, path, body in writes:
        response = reader_api.send(method, path, body)
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope"), path
    assert reader_api.get_json("/dunning-notices").status_code == 200
    _, secret = create_api_key(
        name="till", user=make_user("carl", "cashier"), scopes=["read", "write"]
    )
    cashier = ApiClient(secret)
    for method, path, body in writes:
        response = cashier.send(method, path, body)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied"), path
    assert DunningFee.objects.count() == 0
    assert api.get_json(f"/customers/{customer['id']}/dunning-block").json()["blocked"] is False


def test_pdf_is_404_until_the_letter_is_archived(api, customer, overdue):
    api.send("POST", "/dunning-runs", {"date": "2026-10-08"})
    notice = DunningNotice.objects.get()
    response = api.get(f"/api/v1/dunning-notices/{notice.pk}/pdf")
    assert (response.status_code, response.json()["code"]) == (404, "letter_not_ready")
    missing = api.get("/api/v1/dunning-notices/999999/pdf")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    deliver_letters()  # what the worker does after the run's commit
    served = api.get(f"/api/v1/dunning-notices/{notice.pk}/pdf")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
    assert served.content.startswith(b"%PDF-")
    assert hashlib.sha256(served.content).hexdigest() == NoticeLetter.objects.get().sha256
    assert api.get_json(f"/dunning-notices/{notice.pk}").json()["letter_ready"] is True


def test_unknown_ids_answer_404(api):
    for path, code in [
        ("/dunning-notices/999999", "not_found"),
        ("/dunning-runs/999999", "not_found"),
        ("/dunning-fees/999999", "not_found"),
        ("/customers/999999/dunning-block", "not_found"),
    ]:
        response = api.get_json(path)
        assert (response.status_code, response.json()["code"]) == (404, code), path
