"""/plans, /subscriptions, charges, coupons and the next-invoice preview through the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from faktura.invoicing.models import Invoice
from faktura.subscriptions.models import Charge, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(api) -> dict[str, Any]:
    response = api.send(
        "POST",
        "/products",
        {"sku": "MEMBER", "name": "Mitgliedschaft", "unit_price": "0.00", "tax_rate": "de-19",
         "kind": "service"},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()


def plan_body(**extra: Any) -> dict[str, Any]:
    return {
        "code": "basic",
        "name": "Mitgliedschaft Basic",
        "sku": "MEMBER",
        "interval": "month",
        "price": "30.00",
        **extra,
    }


@pytest.fixture
def make_plan(api, product):
    def make(**extra: Any) -> dict[str, Any]:
        response = api.send("POST", "/plans", plan_body(**extra))
        assert response.status_code == 201, response.json()
        return response.json()

    return make


@pytest.fixture
def basic(make_plan) -> dict[str, Any]:
    return make_plan()


@pytest.fixture
def subscribe(api, customer, basic):
    def subscribe(**extra: Any) -> dict[str, Any]:
        body = {"customer": customer["id"], "plan": basic["id"], **extra}
        response = api.send("POST", "/subscriptions", body)
        assert response.status_code == 201, response.json()
        return response.json()

    return subscribe


# --- plans -----------------------------------------------------------------------------------


def test_a_plan_shows_its_contract_terms_and_scheduled_price_changes(api, make_plan):
    plan = make_plan(
        code="jahresvertrag",
        price="29.9",
        setup_fee="49.00",
        minimum_term_months=12,
        notice_value=3,
        after_minimum_term="renews",
        renewal_months=12,
    )
    assert (plan["price"], plan["setup_fee"], plan["price_mode"]) == ("29.90", "49.00", "net")
    assert plan["contract_terms"] == {
        "minimum_term_months": 12,
        "notice_value": 3,
        "notice_unit": "months",
        "after_minimum_term": "renews",
        "renewal_months": 12,
        "renewal_notice_days": 0,
    }
    response = api.send(
        "POST", f"/plans/{plan['id']}/price-changes",
        {"effective_from": "2027-01-01", "price": "34.9"},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    [change] = response.json()["price_changes"]
    assert (change["effective_from"], change["price"], change["announce_on"]) == (
        "2027-01-01",
        "34.90",
        "2026-11-20",
    )
    assert api.get_json(f"/plans/{plan['id']}").json()["price_changes"] == [change]
    again = api.send(
        "POST", f"/plans/{plan['id']}/price-changes", {"effective_from": "2027-01-01",
        "price": "35.00"})  # fmt: skip
    assert (again.status_code, again.json()["code"]) == (409, "price_change_exists")
    past = api.send(
        "POST", f"/plans/{plan['id']}/price-changes", {"effective_from": "2026-11-16",
        "price": "35.00"})  # fmt: skip
    assert (past.status_code, past.json()["code"]) == (422, "effective_date_not_in_future")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("price", 30, "invalid_amount"),
        ("price", "30.123456", "too_many_decimals"),
        ("price", "30,00", "invalid_amount"),
        ("setup_fee", "49.0", "invalid_amount"),
        ("sku", "NOPE", "unknown_product"),
        ("interval", "fortnight", "validation_error"),
        ("code", "kein code", "invalid_code"),
    ],
)
def test_a_plan_with_bad_input_is_refused_with_the_field(api, product, field, value, code):
    response = api.send("POST", "/plans", plan_body(**{field: value}))
    assert response.status_code == 422, response.json()
    assert (response.json()["code"], response.json()["field"]) == (code, field)


def test_plans_are_listed_in_pages_and_filtered_by_active(api, make_plan):
    ids = [make_plan(code=f"plan-{n}")["id"] for n in range(3)]
    first = api.get_json("/plans", limit=2).json()
    assert [p["id"] for p in first["data"]] == ids[:2]
    assert first["has_more"] is True
    rest = api.get_json("/plans", limit=2, cursor=first["next_cursor"]).json()
    assert ([p["id"] for p in rest["data"]], rest["has_more"], rest["next_cursor"]) == (
        ids[2:],
        False,
        None,
    )
    assert api.get_json("/plans", active="false").json()["data"] == []
    bad = api.get_json("/plans", cursor="nonsense")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


def test_a_read_only_key_cannot_create_a_plan(reader_api, product):
    response = reader_api.send("POST", "/plans", plan_body())
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


# --- subscriptions ---------------------------------------------------------------------------


def test_a_subscription_shows_its_dates_and_billing_state(subscribe, customer, basic):
    subscription = subscribe(quantity="2")
    assert subscription["object"] == "subscription"
    assert (subscription["customer"], subscription["plan"], subscription["course"]) == (
        customer["id"],
        basic["id"],
        None,
    )
    assert (subscription["status"], subscription["quantity"]) == ("active", "2")
    assert subscription["starts_on"] == subscription["billing_anchor"] == "2026-11-16"
    assert subscription["next_billing_on"] == "2026-11-16"
    assert subscription["trial_ends_on"] is None
    assert (subscription["ends_on"], subscription["paused_from"]) == (None, None)
    assert subscription["payment_method"] == "transfer"
    assert (subscription["billed_periods"], subscription["last_billed_period"]) == (0, None)


def test_a_trial_moves_the_first_billing_date(subscribe):
    subscription = subscribe(trial_days=14)
    assert (subscription["status"], subscription["trial_ends_on"]) == ("trialing", "2026-11-29")
    assert subscription["billing_anchor"] == "2026-11-30"


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"plan": 999999}, 422, "plan_not_found", "plan"),
        ({"customer": 999999}, 422, "customer_not_found", "customer"),
        ({"starts_on": "2026-13-01"}, 422, "validation_error", "starts_on"),
        ({"quantity": "0"}, 422, "invalid_quantity", "quantity"),
        ({"quantity": 1.5}, 422, "invalid_quantity", "quantity"),
        ({"payment_method": "cash"}, 422, "validation_error", "payment_method"),
        ({"payment_method": "direct_debit"}, 409, "mandate_required", "payment_method"),
        ({"plan_id": 1}, 422, "validation_error", "plan_id"),
    ],
)
def test_a_subscription_with_bad_input_is_refused(api, customer, basic, change, status, code,
                                                  field):  # fmt: skip
    body = {"customer": customer["id"], "plan": basic["id"], **change}
    response = api.send("POST", "/subscriptions", body)
    assert response.status_code == status, response.json()
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert Subscription.objects.count() == 0


def test_an_idempotency_key_replays_the_first_subscription(api, customer, basic):
    body = {"customer": customer["id"], "plan": basic["id"]}
    first = api.send("POST", "/subscriptions", body, **{"Idempotency-Key": "abo-1"})
    second = api.send("POST", "/subscriptions", body, **{"Idempotency-Key": "abo-1"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Subscription.objects.count() == 1
    other = api.send("POST", "/subscriptions", {**body, "quantity": "3"},
                     **{"Idempotency-Key": "abo-1"})  # fmt: skip
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_a_read_only_key_cannot_subscribe(reader_api, customer, basic):
    response = reader_api.send(
        "POST", "/subscriptions", {"customer": customer["id"], "plan": basic["id"]}
    )
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert Subscription.objects.count() == 0


def test_subscriptions_are_filtered_by_customer_status_and_plan(api, subscribe, make_plan,
                                                                customer):  # fmt: skip
    first = subscribe()
    pro = make_plan(code="pro", price="50.00")
    second = subscribe(plan=pro["id"])
    api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    api.send("POST", f"/subscriptions/{first['id']}/terminate", {"reason": "Umzug"})

    def ids(**params: Any) -> list[int]:
        return [s["id"] for s in api.get_json("/subscriptions", **params).json()["data"]]

    assert ids() == [first["id"], second["id"]]
    assert ids(plan=pro["id"]) == [second["id"]]
    assert ids(status="ended") == [first["id"]]
    assert ids(customer=customer["id"], status="active") == [second["id"]]
    assert ids(customer=999999) == []


# --- the next invoice and the billing run ----------------------------------------------------


def test_the_next_invoice_preview_is_the_invoice_the_run_then_makes(api, subscribe, customer):
    subscription = subscribe()
    preview = api.get_json(f"/subscriptions/{subscription['id']}/next-invoice").json()
    assert preview["billing_date"] == "2026-11-16"
    [invoice] = preview["invoices"]
    assert invoice["subscriptions"] == [subscription["id"]]
    [line] = invoice["lines"]
    assert (line["name"], line["quantity"], line["unit_price"], line["net_amount"]) == (
        "Mitgliedschaft Basic",
        "1",
        "30.00",
        "30.00",
    )
    assert line["service_period"] == {"start": "2026-11-16", "end": "2026-12-15"}
    assert [(t["rate"], t["taxable_amount"], t["tax_amount"]) for t in invoice["taxes"]] == [
        ("19.00", "30.00", "5.70")
    ]
    assert (invoice["tax_total"], invoice["grand_total"], preview["total"]) == (
        "5.70",
        "35.70",
        "35.70",
    )
    assert api.get_json(f"/customers/{customer['id']}/next-invoice").json() == preview
    assert Invoice.objects.count() == 0

    run = api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    assert run.status_code == 201, run.json()
    assert (run.json()["status"], run.json()["invoices_made"], run.json()["periods_found"]) == (
        "finished",
        1,
        1,
    )
    made = Invoice.objects.get()
    assert (made.grand_total, made.tax_total) == (Decimal("35.70"), Decimal("5.70"))
    assert made.lines.get().net_amount == Decimal("30.00")

    after = api.get_json(f"/subscriptions/{subscription['id']}").json()
    assert (after["billed_periods"], after["next_billing_on"]) == (1, "2026-12-16")
    assert after["last_billed_period"] == {
        "start": "2026-11-16",
        "end": "2026-12-15",
        "invoice": made.pk,
        "amount": "30.00",
    }
    again = api.get_json(f"/subscriptions/{subscription['id']}/next-invoice").json()
    assert again["billing_date"] == "2026-12-16"
    assert again["invoices"][0]["lines"][0]["service_period"] == {
        "start": "2026-12-16",
        "end": "2027-01-15",
    }
    nothing = api.get_json(
        f"/subscriptions/{subscription['id']}/next-invoice", date="2026-11-20"
    ).json()
    assert (nothing["invoices"], nothing["total"]) == ([], "0.00")


def test_the_subscription_preview_shows_only_the_invoice_holding_its_lines(
    api, subscribe, customer, make_plan
):
    from faktura.subscriptions.models import BillingProfile

    BillingProfile.objects.create(customer_id=customer["id"], invoice_per_subscription=True)
    first = subscribe()
    second = subscribe(plan=make_plan(code="pro", price="50.00")["id"])
    both = api.get_json(f"/customers/{customer['id']}/next-invoice").json()
    assert [i["subscriptions"] for i in both["invoices"]] == [[first["id"]], [second["id"]]]
    assert both["total"] == "95.20"
    own = api.get_json(f"/subscriptions/{second['id']}/next-invoice").json()
    assert [i["grand_total"] for i in own["invoices"]] == ["59.50"]
    assert own["total"] == "59.50"
    bad = api.get_json(f"/subscriptions/{second['id']}/next-invoice", date="2026-02-30")
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (
        422,
        "validation_error",
        "date",
    )
    missing = api.get_json("/subscriptions/999999/next-invoice")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_a_read_only_key_sees_the_preview_but_cannot_run_billing(reader_api, subscribe):
    subscription = subscribe()
    preview = reader_api.get_json(f"/subscriptions/{subscription['id']}/next-invoice")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["total"] == "35.70"
    refused = reader_api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert Invoice.objects.count() == 0


def test_a_customer_the_run_cannot_invoice_is_a_422_and_an_issue_of_the_run(
    api, subscribe, customer
):
    from faktura.customers.models import Customer

    subscription = subscribe()
    Customer.objects.filter(pk=customer["id"]).update(name="Beispiel\u202e Handel AG")
    refused = api.get_json(f"/customers/{customer['id']}/next-invoice")
    assert refused.status_code == 422, refused.json()
    code = refused.json()["code"]
    assert code != "validation_error"
    run = api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"}).json()
    assert (run["invoices_made"], run["errors"]) == (0, 1)
    [issue] = run["issues"]
    assert (issue["customer"], issue["customer_number"], issue["subscription"]) == (
        customer["id"],
        customer["number"],
        subscription["id"],
    )
    assert issue["code"] == code
    assert api.get_json(f"/billing-runs/{run['id']}").json() == run
    listed = api.get_json("/billing-runs", billing_date="2026-11-16", status="finished").json()
    assert [r["id"] for r in listed["data"]] == [run["id"]]
    assert api.get_json("/billing-runs", billing_date="2026-11-17").json()["data"] == []


def test_a_dry_run_writes_nothing_and_shows_the_invoices(api, subscribe):
    subscribe()
    dry = api.send("POST", "/billing-runs", {"billing_date": "2026-11-16", "dry_run": True})
    assert dry.status_code == 200, dry.json()
    body = dry.json()
    assert (body["object"], body["customers"], body["periods"], body["total"]) == (
        "billing_run_preview",
        1,
        1,
        "35.70",
    )
    assert api.get_json("/billing-runs/preview", billing_date="2026-11-16").json() == body
    assert Invoice.objects.count() == 0
    assert api.get_json("/billing-runs").json()["data"] == []


# --- changes ---------------------------------------------------------------------------------


def test_the_change_preview_shows_exactly_what_the_change_charges(api, subscribe, make_plan):
    subscription = subscribe()
    api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    pro = make_plan(code="pro", name="Mitgliedschaft Pro", price="50.00")
    body = {"plan": pro["id"], "on": "2026-11-26"}
    preview = api.send("POST", f"/subscriptions/{subscription['id']}/change-preview", body)
    assert preview.status_code == 200, preview.json()
    quote = preview.json()
    assert quote["preview"] is True
    assert [(ln["kind"], ln["amount"], ln["service_period"]) for ln in quote["lines"]] == [
        ("proration_credit", "-20.00", {"start": "2026-11-26", "end": "2026-12-15"}),
        ("proration_charge", "33.33", {"start": "2026-11-26", "end": "2026-12-15"}),
    ]
    assert quote["total"] == "13.33"
    assert Charge.objects.count() == 0
    assert api.get_json(f"/subscriptions/{subscription['id']}").json()["plan"] != pro["id"]

    changed = api.send("POST", f"/subscriptions/{subscription['id']}/change", body)
    assert changed.status_code == 200, changed.json()
    assert {**changed.json(), "preview": True} == quote
    written = Charge.objects.order_by("pk")
    assert [c.quantity * c.unit_price for c in written] == [Decimal("-20.00"), Decimal("33.33")]
    assert api.get_json(f"/subscriptions/{subscription['id']}").json()["plan"] == pro["id"]


def test_the_next_invoice_after_an_upgrade_shows_credit_and_charge(api, subscribe, make_plan):
    subscription = subscribe()
    api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    pro = make_plan(code="pro", name="Mitgliedschaft Pro", price="50.00")
    api.send("POST", f"/subscriptions/{subscription['id']}/change",
             {"plan": pro["id"], "on": "2026-11-26"})  # fmt: skip
    due = api.get_json(f"/subscriptions/{subscription['id']}/next-invoice", date="2026-11-26")
    assert due.status_code == 200, due.json()
    [invoice] = due.json()["invoices"]
    assert [ln["net_amount"] for ln in invoice["lines"]] == ["-20.00", "33.33"]
    assert invoice["tax_basis_total"] == "13.33"


def test_a_change_to_nothing_new_or_an_unknown_plan_is_refused(api, subscribe, basic):
    subscription = subscribe()
    same = api.send("POST", f"/subscriptions/{subscription['id']}/change", {"plan": basic["id"]})
    assert (same.status_code, same.json()["code"]) == (422, "nothing_to_change")
    unknown = api.send("POST", f"/subscriptions/{subscription['id']}/change-preview",
                       {"plan": 999999})  # fmt: skip
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        422,
        "plan_not_found",
        "plan",
    )
    missing = api.send("POST", "/subscriptions/999999/change", {"quantity": "2"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_a_change_for_the_next_period_is_shown_as_scheduled(api, subscribe):
    subscription = subscribe()
    api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    response = api.send(
        "POST", f"/subscriptions/{subscription['id']}/change",
        {"quantity": "3", "effective": "next_period"},
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert (response.json()["applies_on"], response.json()["lines"]) == ("2026-12-16", [])
    after = api.get_json(f"/subscriptions/{subscription['id']}").json()
    assert after["scheduled_change"] == {"plan": None, "quantity": "3", "on": "2026-12-16"}
    assert after["quantity"] == "1"


# --- pause, resume, cancel, terminate --------------------------------------------------------


def test_a_pause_waits_for_the_paid_period_and_resume_re_anchors(api, subscribe):
    subscription = subscribe()
    api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    paused = api.send("POST", f"/subscriptions/{subscription['id']}/pause", {})
    assert paused.status_code == 200, paused.json()
    assert (paused.json()["status"], paused.json()["paused_from"]) == ("paused", "2026-12-16")
    twice = api.send("POST", f"/subscriptions/{subscription['id']}/pause", {})
    assert (twice.status_code, twice.json()["code"]) == (409, "subscription_paused")
    resumed = api.send("POST", f"/subscriptions/{subscription['id']}/resume", {})
    assert (resumed.json()["status"], resumed.json()["paused_from"]) == ("active", None)
    again = api.send("POST", f"/subscriptions/{subscription['id']}/resume")
    assert (again.status_code, again.json()["code"]) == (409, "subscription_not_paused")


def test_a_cancellation_ends_at_the_earliest_end_and_refuses_an_earlier_one(
    api, subscribe, make_plan
):
    contract = make_plan(code="jahr", minimum_term_months=12, notice_value=1)
    subscription = subscribe(plan=contract["id"])
    early = api.send(
        "POST", f"/subscriptions/{subscription['id']}/cancel", {"end_on": "2027-06-30"}
    )
    assert (early.status_code, early.json()["code"], early.json()["field"]) == (
        422,
        "end_before_earliest_allowed",
        "end_on",
    )
    assert "15.11.2027" in early.json()["message"]
    cancelled = api.send("POST", f"/subscriptions/{subscription['id']}/cancel", {})
    assert cancelled.status_code == 200, cancelled.json()
    body = cancelled.json()
    assert (body["status"], body["ends_on"], body["notice_received_on"]) == (
        "cancelling",
        "2027-11-15",
        "2026-11-16",
    )
    twice = api.send("POST", f"/subscriptions/{subscription['id']}/cancel", {})
    assert (twice.status_code, twice.json()["code"]) == (409, "subscription_cancelled")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"received_on": "2026-11-17"}, "notice_in_future", "received_on"),
        ({"received_on": "2026-02-30"}, "validation_error", "received_on"),
        ({"end_on": "16.12.2026"}, "validation_error", "end_on"),
    ],
)
def test_a_cancellation_with_a_wrong_date_is_refused(api, subscribe, body, code, field):
    subscription = subscribe()
    response = api.send("POST", f"/subscriptions/{subscription['id']}/cancel", body)
    assert response.status_code == 422, response.json()
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert api.get_json(f"/subscriptions/{subscription['id']}").json()["ends_on"] is None


def test_a_termination_needs_a_reason_and_ends_at_once(api, subscribe):
    subscription = subscribe()
    api.send("POST", "/billing-runs", {"billing_date": "2026-11-16"})
    missing = api.send("POST", f"/subscriptions/{subscription['id']}/terminate", {})
    assert (missing.status_code, missing.json()["field"]) == (422, "reason")
    ended = api.send(
        "POST", f"/subscriptions/{subscription['id']}/terminate", {"reason": "Betrug"}
    ).json()
    assert (ended["status"], ended["ends_on"], ended["next_billing_on"]) == (
        "ended",
        "2026-11-16",
        None,
    )


# --- charges, coupons, consent ---------------------------------------------------------------


def test_a_one_off_charge_lands_on_the_next_invoice(api, subscribe, customer):
    subscription = subscribe()
    response = api.send(
        "POST", f"/customers/{customer['id']}/charges",
        {"sku": "MEMBER", "name": "Schlüsselkarte", "quantity": "2", "unit_price": "12.5"},
        **{"Idempotency-Key": "karte-1"},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    charge = response.json()
    assert (charge["quantity"], charge["unit_price"], charge["due_on"]) == ("2", "12.50",
            "2026-11-16")  # fmt: skip
    assert charge["subscription"] is None
    replay = api.send(
        "POST", f"/customers/{customer['id']}/charges",
        {"sku": "MEMBER", "name": "Schlüsselkarte", "quantity": "2", "unit_price": "12.5"},
        **{"Idempotency-Key": "karte-1"},
    )  # fmt: skip
    assert replay.content == response.content
    assert Charge.objects.count() == 1
    on_sub = api.send(
        "POST", f"/subscriptions/{subscription['id']}/charges", {"sku": "MEMBER",
        "unit_price": "5.00"})  # fmt: skip
    assert (on_sub.status_code, on_sub.json()["subscription"]) == (201, subscription["id"])
    [invoice] = api.get_json(f"/customers/{customer['id']}/next-invoice").json()["invoices"]
    # Charges of no subscription first, then by subscription: all of the day on one invoice.
    assert [(ln["name"], ln["net_amount"]) for ln in invoice["lines"]] == [
        ("Schlüsselkarte", "25.00"),
        ("Mitgliedschaft Basic", "30.00"),
        ("Mitgliedschaft", "5.00"),
    ]
    assert invoice["grand_total"] == "71.40"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"unit_price": "12.12345"}, "too_many_decimals", "unit_price"),
        ({"unit_price": 12.5}, "invalid_amount", "unit_price"),
        ({"sku": "NOPE"}, "unknown_product", "sku"),
        ({"subscription": 999999}, "subscription_not_found", "subscription"),
    ],
)
def test_a_charge_with_bad_input_is_refused(api, product, customer, change, code, field):
    body = {"sku": "MEMBER", "unit_price": "5.00", **change}
    response = api.send("POST", f"/customers/{customer['id']}/charges", body)
    assert response.status_code == 422, response.json()
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert Charge.objects.count() == 0


def test_a_coupon_reduces_the_next_invoice(api, subscribe, basic):
    created = api.send(
        "POST", "/coupons",
        {"code": "WELCOME10", "name": "Willkommen", "kind": "percent", "value": "10",
         "duration": "once", "plans": [basic["id"]]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert (created.json()["value"], created.json()["plans"]) == ("10.00", [basic["id"]])
    assert [c["code"] for c in api.get_json("/coupons").json()["data"]] == ["WELCOME10"]
    subscription = subscribe()
    unknown = api.send("POST", f"/subscriptions/{subscription['id']}/coupon", {"code": "NOPE"})
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        422,
        "coupon_not_found",
        "code",
    )
    applied = api.send("POST", f"/subscriptions/{subscription['id']}/coupon", {"code": "WELCOME10"})
    assert applied.status_code == 200, applied.json()
    assert applied.json()["discount"]["periods_left"] == 1
    twice = api.send("POST", f"/subscriptions/{subscription['id']}/coupon", {"code": "WELCOME10"})
    assert (twice.status_code, twice.json()["code"]) == (409, "discount_exists")
    preview = api.get_json(f"/subscriptions/{subscription['id']}/next-invoice").json()
    assert (preview["invoices"][0]["tax_basis_total"], preview["total"]) == ("27.00", "32.13")


def test_a_coupon_for_an_unknown_plan_is_refused(api, basic):
    response = api.send(
        "POST", "/coupons",
        {"code": "X", "name": "X", "kind": "amount", "value": "5.00", "duration": "forever",
         "plans": [999999]},
    )  # fmt: skip
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        422,
        "plan_not_found",
        "plans",
    )


def test_consent_to_a_price_change_is_recorded_before_it_applies(api, subscribe, basic):
    subscription = subscribe()
    plan = api.send(
        "POST", f"/plans/{basic['id']}/price-changes",
        {"effective_from": "2027-02-01", "price": "35.00", "needs_consent": True},
    ).json()  # fmt: skip
    change_id = plan["price_changes"][0]["id"]
    response = api.send(
        "POST", f"/subscriptions/{subscription['id']}/price-changes/{change_id}/consent"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["effective_from"], response.json()["consented_at"]) == (
        "2027-02-01",
        "2026-11-16T09:00:00Z",
    )
    unknown = api.send("POST", f"/subscriptions/{subscription['id']}/price-changes/999999/consent")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


# --- courses ---------------------------------------------------------------------------------


def test_a_course_with_instalments_is_booked_and_billed_by_instalment(api, product, customer):
    body = {
        "code": "yoga-2027",
        "name": "Yoga Frühjahr",
        "sku": "MEMBER",
        "price": "300.00",
        "starts_on": "2027-01-10",
        "ends_on": "2027-03-28",
        "instalments": [
            {"due_on": "2026-12-01", "amount": "150.00"},
            {"due_on": "2027-02-01", "amount": "150.00"},
        ],
    }
    wrong = api.send("POST", "/courses", {**body, "price": "310.00"})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "instalments_do_not_add_up")
    created = api.send("POST", "/courses", body)
    assert created.status_code == 201, created.json()
    course = created.json()
    assert course["instalments"] == [
        {"number": 1, "due_on": "2026-12-01", "amount": "150.00"},
        {"number": 2, "due_on": "2027-02-01", "amount": "150.00"},
    ]
    assert api.get_json(f"/courses/{course['id']}").json() == course
    assert [c["id"] for c in api.get_json("/courses").json()["data"]] == [course["id"]]
    booking = api.send("POST", f"/courses/{course['id']}/bookings", {"customer": customer["id"]})
    assert booking.status_code == 201, booking.json()
    assert (booking.json()["course"], booking.json()["plan"]) == (course["id"], None)
    preview = api.get_json(f"/customers/{customer['id']}/next-invoice", date="2026-12-01").json()
    [invoice] = preview["invoices"]
    [line] = invoice["lines"]
    # The gross course price, on a business customer's net invoice.
    assert (line["name"], line["unit_price"], line["net_amount"]) == (
        "Yoga Frühjahr – Rate 1 von 2",
        "126.0504",
        "126.05",
    )
    assert (invoice["tax_total"], invoice["grand_total"]) == ("23.95", "150.00")
    assert line["service_period"] == {"start": "2027-01-10", "end": "2027-03-28"}
    unknown = api.send("POST", f"/courses/{course['id']}/bookings", {"customer": 999999})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "customer")


# --- who may change a subscription through the API --------------------------------------

# The staff services behind these routes need subscription.manage, as the routes' gate
# does (api.permissions): the accountant and the admin, nobody else.
EXPECTED_STATUS = {
    "admin": 200,
    "superuser": 200,
    "accountant": 200,
    "approver": 403,
    "cashier": 403,
    "viewer": 403,
}
ROUTES = {
    "change-preview": {"quantity": "2"},
    "change": {"quantity": "2"},
    "pause": {},
    "resume": {},
    "cancel": {},
}


def _state(subscription_id: int) -> tuple[Any, ...]:
    row = Subscription.objects.get(pk=subscription_id)
    return (row.status, row.quantity, row.paused_from, row.ends_on, row.plan_id)


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
@pytest.mark.parametrize("action", sorted(ROUTES))
def test_each_role_may_change_a_subscription_exactly_as_the_matrix_says(
    api, subscribe, name, action
):
    from faktura.core import permissions
    from tests.core.test_permission_matrix import REFUSAL_CODES, counts, key_client, person

    assert EXPECTED_STATUS[name] == (
        200 if ({"admin"} if name == "superuser" else {name})
        & permissions.allowed_roles("subscription.manage") else 403
    )  # fmt: skip
    subscription = subscribe()["id"]
    if action == "resume":
        assert api.send("POST", f"/subscriptions/{subscription}/pause", {}).status_code == 200
    client = key_client(person(name))
    before, state = counts(), _state(subscription)
    response = client.send("POST", f"/subscriptions/{subscription}/{action}", ROUTES[action])
    assert response.status_code == EXPECTED_STATUS[name], response.content
    if response.status_code == 403:
        assert response.json()["code"] in REFUSAL_CODES
        assert (counts(), _state(subscription)) == (before, state)
        return
    after = Subscription.objects.get(pk=subscription)
    expected_change = {
        "change-preview": lambda: _state(subscription) == state and counts() == before,
        "change": lambda: after.quantity == Decimal(2),
        "pause": lambda: after.status == Subscription.Status.PAUSED,
        "resume": lambda: after.status == Subscription.Status.ACTIVE,
        "cancel": lambda: after.ends_on is not None,
    }
    assert expected_change[action](), _state(subscription)


def test_the_api_calls_the_staff_services_not_the_customers(api, subscribe, monkeypatch):
    """A customer's own services (portal) are never what the API calls."""
    from faktura.subscriptions import services

    def refuse(**kwargs: Any) -> Any:
        raise AssertionError("the API called a self-service function")

    for name in (
        "change_own_subscription",
        "pause_own_subscription",
        "resume_own_subscription",
        "cancel_own_subscription",
        "undo_own_cancellation",
    ):
        monkeypatch.setattr(services, name, refuse)
    subscription = subscribe()["id"]
    for action in ("change-preview", "change", "pause", "resume", "cancel"):
        response = api.send("POST", f"/subscriptions/{subscription}/{action}", ROUTES[action])
        assert response.status_code == 200, (action, response.content)
