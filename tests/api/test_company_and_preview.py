"""/company, /direct-debits/preview and the documented price_mode default."""

from __future__ import annotations

import pytest

from faktura.api.errors import ERROR_CODES
from faktura.collection.models import DirectDebitBatch, DirectDebitItem
from faktura.core.models import AuditEntry, BankAccount, Company
from faktura.payments.models import PaymentSettings
from tests.api.conftest import ApiClient
from tests.collection.helpers import debit_customer, due_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def creditor(company):
    Company.objects.filter(pk=company.pk).update(creditor_id="DE98ZZZ09999999999")
    company.refresh_from_db()
    return company


# --- /company ------------------------------------------------------------------------------


def test_company_shows_master_data_creditor_id_and_bank_accounts(creditor, reader_api):
    response = reader_api.get_json("/company")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["object"], body["id"]) == ("company", creditor.pk)
    assert (body["legal_name"], body["vat_id"], body["tax_number"]) == (
        "Muster Software GmbH",
        "DE136695976",
        "30/123/45678",
    )
    assert body["creditor_id"] == "DE98ZZZ09999999999"
    assert (body["street"], body["house_number"], body["postcode"], body["city"]) == (
        "Friedrichstraße",
        "123",
        "10117",
        "Berlin",
    )
    assert (body["payment_term_days"], body["pre_notification_days"]) == (14, 14)
    [account] = body["bank_accounts"]
    assert (account["object"], account["iban"], account["is_default"]) == (
        "bank_account",
        "DE02120300000000202051",
        True,
    )
    assert ApiClient(None).get_json("/company").status_code == 401


def test_company_missing_is_a_clear_409(db):
    from faktura.api.keys import create_api_key
    from tests.api.conftest import make_user

    _, secret = create_api_key(name="early", user=make_user("erin", "viewer"), scopes=["read"])
    response = ApiClient(secret).get_json("/company")
    assert (response.status_code, response.json()["code"]) == (409, "company_missing")


# --- /direct-debits/preview ----------------------------------------------------------------


@pytest.fixture
def debit_invoices(creditor, business_customer, consumer, actor):
    """Two invoices due for CORE collection from 2026-11-17 (pre-notification 1 day)."""
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    debit_customer(consumer, actor)
    return [
        due_invoice(business_customer, actor),
        due_invoice(consumer, actor, price="50.00"),
        due_invoice(business_customer, actor, price="10.00"),
    ]


def test_preview_equals_the_batch_then_made_for_the_date(debit_invoices, reader_api, api):
    before = (DirectDebitBatch.objects.count(), AuditEntry.objects.count())
    preview = reader_api.get_json("/direct-debits/preview", date="2026-11-17", scheme="CORE")
    assert preview.status_code == 200, preview.json()
    body = preview.json()
    assert (DirectDebitBatch.objects.count(), AuditEntry.objects.count()) == before
    assert body["object"] == "direct_debit_preview"
    assert (body["collection_date"], body["earliest_collection_date"]) == (
        "2026-11-17",
        "2026-11-17",
    )
    assert body["next_collection_date"] == "2026-11-17"
    # 119.00 (net 100.00 + 19 %) + 50.00 (a consumer's price is gross) + 11.90
    assert [(i["invoice"], i["amount"]) for i in body["items"]] == [
        (debit_invoices[0].pk, "119.00"),
        (debit_invoices[1].pk, "50.00"),
        (debit_invoices[2].pk, "11.90"),
    ]
    assert (body["transaction_count"], body["control_sum"], body["blockers"]) == (3, "180.90", [])
    first = body["items"][0]
    assert (first["sequence_type"], first["planned_debit_date"]) == ("RCUR", "2026-11-17")
    assert first["invoice_number"] == debit_invoices[0].number

    made = api.send("POST", "/direct-debit-batches", {"collection_date": "2026-11-17"})
    assert made.status_code == 201, made.json()
    batch = made.json()
    assert [i["invoice"] for i in batch["items"]] == [i["invoice"] for i in body["items"]]
    assert [i["amount"] for i in batch["items"]] == [i["amount"] for i in body["items"]]
    assert [i["mandate"] for i in batch["items"]] == [i["mandate_reference"] for i in body["items"]]
    assert (batch["transaction_count"], batch["control_sum"]) == (3, "180.90")
    # Collected now: the next preview for the date has nothing left.
    again = reader_api.get_json("/direct-debits/preview", date="2026-11-17").json()
    assert (again["transaction_count"], again["control_sum"], again["items"]) == (0, "0.00", [])


def test_preview_without_a_date_takes_the_earliest_and_names_the_first_collecting_date(
    creditor, business_customer, actor, reader_api
):
    # Pre-notification 14 days: the invoice of 2026-11-16 can be collected on 2026-11-30.
    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    body = reader_api.get_json("/direct-debits/preview").json()
    assert (body["collection_date"], body["earliest_collection_date"]) == (
        "2026-11-17",
        "2026-11-17",
    )
    assert (body["items"], body["pre_notification_days"]) == ([], 14)
    assert body["next_collection_date"] == "2026-11-30"
    later = reader_api.get_json("/direct-debits/preview", date="2026-11-30").json()
    assert (later["transaction_count"], later["control_sum"]) == (1, "119.00")
    assert later["items"][0]["planned_debit_date"] == "2026-11-30"
    assert (
        reader_api.get_json("/direct-debits/preview", scheme="B2B").json()["next_collection_date"]
        is None
    )


@pytest.mark.parametrize(
    ("day", "code", "named"),
    [
        ("2026-11-16", "collection_date_too_early", "earliest date is 2026-11-17"),
        ("2026-11-01", "collection_date_too_early", "earliest date is 2026-11-17"),
        ("2026-11-21", "collection_date_not_business_day", "next valid date is 2026-11-23"),
        ("2026-12-25", "collection_date_not_business_day", "next valid date is 2026-12-28"),
    ],
)
def test_preview_refuses_an_invalid_date_and_names_a_valid_one(
    debit_invoices, reader_api, day, code, named
):
    response = reader_api.get_json("/direct-debits/preview", date=day)
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["field"]) == (code, "collection_date")
    assert named in body["message"]
    assert "2026-11-17" in body["message"]


def test_preview_names_what_would_refuse_the_file(company, reader_api):
    # The API test company has no creditor identifier.
    body = reader_api.get_json("/direct-debits/preview").json()
    assert body["blockers"] == ["creditor_id_missing"]
    BankAccount.objects.all().delete()
    body = reader_api.get_json("/direct-debits/preview").json()
    assert body["blockers"] == ["creditor_id_missing", "bank_account_missing"]
    assert set(body["blockers"]) <= set(ERROR_CODES)
    assert not DirectDebitItem.objects.exists()


def test_preview_needs_a_key(company):
    assert ApiClient(None).get_json("/direct-debits/preview").status_code == 401


# --- price_mode ----------------------------------------------------------------------------


def test_price_mode_default_is_documented_in_the_schema(client):
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    order_field = components["OrderIn"]["properties"]["price_mode"]
    invoice_field = components["InvoiceOut"]["properties"]["price_mode"]
    for described in (order_field["description"], invoice_field["description"]):
        assert "consumers get gross" in described
        assert "businesses and public bodies get net" in described
    assert invoice_field["enum"] == ["net", "gross"]


def test_the_effective_price_mode_is_returned(api, customer, consumer):
    lines = [{"name": "Kurs", "quantity": "1", "unit_price": "119.00", "tax_rate": "de-19"}]
    business = api.send("POST", "/orders", {"customer": customer["id"], "lines": lines}).json()
    assert (business["price_mode"], business["grand_total"]) == ("net", "141.61")
    private = api.send("POST", "/orders", {"customer": consumer.pk, "lines": lines}).json()
    assert (private["price_mode"], private["grand_total"]) == ("gross", "119.00")
    chosen = api.send(
        "POST", "/orders", {"customer": consumer.pk, "lines": lines, "price_mode": "net"}
    ).json()
    assert (chosen["price_mode"], chosen["grand_total"]) == ("net", "141.61")
    assert api.get_json(f"/invoices/{private['id']}").json()["price_mode"] == "gross"


def test_preview_is_listed_with_its_parameters(client):
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/direct-debits/preview"]
    names = {p["name"] for p in operation["get"]["parameters"]}
    assert {"date", "scheme"} <= names
