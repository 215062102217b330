"""The payment and direct-debit endpoints: money as strings, {code, message, field}, lists."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from faktura.collection.models import DirectDebitBatch
from faktura.payments.models import Payment, PaymentSettings
from tests.collection.helpers import debit_customer, due_invoice
from tests.payments.api_helpers import key_client
from tests.payments.helpers import IBAN, finalized

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = "tests.payments.api_urls"


@pytest.fixture
def api(company):
    return key_client("anna-api", "accountant")


@pytest.fixture
def invoice(business_customer, actor):
    return finalized(business_customer, actor)


def test_enter_a_payment_for_an_invoice(api, invoice, business_customer):
    response = api.send(
        "POST",
        "/payments",
        {"amount": "150.00", "date": "2026-11-16", "method": "cash", "invoice": invoice.pk},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["object"] == "payment"
    assert (body["amount"], body["currency"], body["customer"]) == (
        "150.00",
        "EUR",
        business_customer.pk,
    )
    assert (body["allocated_amount"], body["unallocated_amount"]) == ("119.00", "31.00")
    [allocation] = body["allocations"]
    assert (allocation["invoice_number"], allocation["amount"]) == (invoice.number, "119.00")
    listed = api.send("GET", "/payments", {"customer": business_customer.pk}).json()
    assert listed["object"] == "list"
    assert [p["id"] for p in listed["data"]] == [body["id"]]
    assert api.send("GET", "/payments", {"unallocated": "false"}).json()["data"] == []


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        (119.5, 422, "invalid_amount"),
        ("1.001", 422, "too_many_decimals"),
        ("-1.00", 422, "negative_amount"),
    ],
)
def test_bad_amounts_are_refused(api, invoice, amount, status, code):
    response = api.send(
        "POST", "/payments", {"amount": amount, "date": "2026-11-16", "invoice": invoice.pk}
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Payment.objects.exists()


def test_allocate_and_refuse_over_allocation(api, invoice, business_customer, actor):
    payment = api.send(
        "POST",
        "/payments",
        {"amount": "50.00", "date": "2026-11-16", "customer": business_customer.pk},
    ).json()
    over = api.send(
        "POST",
        f"/payments/{payment['id']}/allocations",
        {"allocations": [{"invoice": invoice.pk, "amount": "50.01"}]},
    )
    assert over.status_code == 409
    assert over.json()["code"] == "allocation_exceeds_payment"
    done = api.send(
        "POST",
        f"/payments/{payment['id']}/allocations",
        {"allocations": [{"invoice": invoice.pk, "amount": "50.00"}]},
    )
    assert done.status_code == 200
    assert done.json()["unallocated_amount"] == "0.00"
    missing = api.send(
        "POST",
        f"/payments/{payment['id']}/allocations",
        {"allocations": [{"invoice": 999999, "amount": "1.00"}]},
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "allocations.0.invoice"
    assert api.send("GET", "/payments/999999").status_code == 404
    allocation_id = done.json()["allocations"][0]["id"]
    released = api.send(
        "POST",
        f"/payments/{payment['id']}/allocations/{allocation_id}/release",
        {"reason": "falsch"},
    )
    assert released.json()["unallocated_amount"] == "50.00"


def test_cashier_entry_waits_for_confirmation(company, invoice):
    PaymentSettings.objects.create(require_payment_confirmation=True)
    cashier = key_client("kai-api", "cashier")
    response = cashier.send(
        "POST", "/payments", {"amount": "119.00", "date": "2026-11-16", "invoice": invoice.pk}
    )
    assert response.status_code == 202, response.json()
    pending = response.json()
    assert (pending["object"], pending["status"], pending["payment"]) == (
        "payment_request",
        "pending",
        None,
    )
    refused = cashier.send("POST", f"/payment-requests/{pending['id']}/confirm")
    assert refused.status_code == 403
    assert refused.json()["code"] == "confirmer_is_requester"
    approver = key_client("bernd-api", "approver")
    confirmed = approver.send("POST", f"/payment-requests/{pending['id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert Payment.objects.get().amount == Decimal("119.00")
    listed = approver.send("GET", "/payment-requests", {"status": "pending"}).json()
    assert listed["data"] == []


def test_mandates(api, business_customer):
    bad = api.send(
        "POST",
        "/mandates",
        {"customer": business_customer.pk, "iban": "DE00123", "signature_date": "2026-10-01"},
    )
    assert bad.status_code == 422
    assert (bad.json()["code"], bad.json()["field"]) == ("invalid_iban", "iban")
    response = api.send(
        "POST",
        "/mandates",
        {"customer": business_customer.pk, "iban": IBAN, "signature_date": "2026-10-01"},
    )
    assert response.status_code == 201, response.json()
    mandate = response.json()
    assert (mandate["object"], mandate["status"], mandate["scheme"]) == (
        "mandate",
        "active",
        "CORE",
    )
    assert mandate["expires_on"] == "2029-10-01"
    assert (
        api.send("GET", "/mandates", {"customer": business_customer.pk}).json()["data"][0][
            "reference"
        ]
        == mandate["reference"]
    )
    revoked = api.send("POST", f"/mandates/{mandate['id']}/revoke", {"reason": "Kündigung"})
    assert revoked.json()["status"] == "revoked"
    again = api.send("POST", f"/mandates/{mandate['id']}/revoke")
    assert (again.status_code, again.json()["code"]) == (409, "mandate_not_active")


def test_direct_debit_batches(api, business_customer, actor):
    PaymentSettings.objects.create(pre_notification_days=1)
    too_early = api.send("POST", "/direct-debit-batches", {"collection_date": "2026-11-16"})
    assert too_early.status_code == 422
    assert (too_early.json()["code"], too_early.json()["field"]) == (
        "collection_date_too_early",
        "collection_date",
    )
    nothing = api.send("POST", "/direct-debit-batches", {"collection_date": "2026-11-17"})
    assert (nothing.status_code, nothing.json()["code"]) == (409, "nothing_to_collect")

    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    created = api.send(
        "POST",
        "/direct-debit-batches",
        {"collection_date": "2026-11-17", "scheme": "CORE"},
        **{"Idempotency-Key": "batch-2026-11-17"},
    )
    assert created.status_code == 201, created.json()
    batch = created.json()
    assert (batch["transaction_count"], batch["control_sum"], batch["status"]) == (
        1,
        "119.00",
        "created",
    )
    assert batch["items"][0]["invoice_number"] == invoice.number
    replay = api.send(
        "POST",
        "/direct-debit-batches",
        {"collection_date": "2026-11-17", "scheme": "CORE"},
        **{"Idempotency-Key": "batch-2026-11-17"},
    )
    assert replay.json() == batch
    assert DirectDebitBatch.objects.count() == 1

    first = api.get(f"/api/v1/direct-debit-batches/{batch['id']}/xml")
    second = api.get(f"/api/v1/direct-debit-batches/{batch['id']}/xml")
    assert first.status_code == 200
    assert first["Content-Type"] == "application/xml"
    assert first.content == second.content == DirectDebitBatch.objects.get().file_bytes()
    assert hashlib.sha256(first.content).hexdigest() == batch["checksum"]
    assert first["ETag"] == f'"{batch["checksum"]}"'
    assert batch["file_name"] in first["Content-Disposition"]
    assert api.get("/api/v1/direct-debit-batches/999999/xml").status_code == 404

    listed = api.send("GET", "/direct-debit-batches", {"status": "created"}).json()
    assert [b["id"] for b in listed["data"]] == [batch["id"]]
    submitted = api.send("POST", f"/direct-debit-batches/{batch['id']}/submit")
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["items"][0]["state"] == "submitted"
    refused = api.send("POST", f"/direct-debit-batches/{batch['id']}/discard")
    assert (refused.status_code, refused.json()["code"]) == (409, "batch_not_discardable")


def test_readers_cannot_write(company, business_customer):
    reader = key_client("vera-api", "viewer", scopes=("read",))
    assert reader.send("GET", "/payments").status_code == 200
    response = reader.send("POST", "/payments", {"amount": "1.00", "date": "2026-11-16"})
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    writer_without_role = key_client("walter-api", "viewer")
    response = writer_without_role.send(
        "POST", "/payments", {"amount": "1.00", "date": "2026-11-16"}
    )
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_openapi_schema_documents_the_endpoints(api):
    schema = api.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/payments",
        "/api/v1/payments/{payment_id}/allocations",
        "/api/v1/payment-requests/{request_id}/confirm",
        "/api/v1/mandates",
        "/api/v1/mandates/{mandate_id}/revoke",
        "/api/v1/direct-debit-batches",
        "/api/v1/direct-debit-batches/{batch_id}/xml",
    ):
        assert path in paths, path
    xml = paths["/api/v1/direct-debit-batches/{batch_id}/xml"]["get"]["responses"]["200"]
    assert "application/xml" in xml["content"]
    assert {"201", "202", "409", "422"} <= set(paths["/api/v1/payments"]["post"]["responses"])
    for path, operations in paths.items():
        if "get" in operations:
            url = path.replace("{payment_id}", "1").replace("{request_id}", "1")
            url = url.replace("{mandate_id}", "1").replace("{batch_id}", "1")
            assert api.get(url).status_code in (200, 404), url


def test_enter_a_chargeback_from_a_card_statement(api, invoice, business_customer):
    from faktura.invoicing import selectors as invoice_selectors
    from faktura.payments.models import Dispute, FeeItem

    paid = api.send(
        "POST",
        "/payments",
        {"amount": "119.00", "date": "2026-11-16", "method": "provider", "invoice": invoice.pk},
    ).json()
    assert invoice_selectors.open_amount(invoice) == Decimal("0.00")
    body = {"source_reference": "VISA-CB-4711", "reason_code": "4837", "fee": "15.00"}
    response = api.send("POST", f"/payments/{paid['id']}/chargebacks", body)
    assert response.status_code == 200, response.json()
    assert invoice_selectors.open_amount(invoice) == Decimal("119.00")
    assert FeeItem.objects.get().amount == Decimal("15.00")
    assert Dispute.objects.filter(invoice=invoice).exists()
    again = api.send("POST", f"/payments/{paid['id']}/chargebacks", body)
    assert again.status_code == 200
    assert FeeItem.objects.count() == 1
