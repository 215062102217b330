"""Disputes, returned debits, chargebacks, fee items, refunds and the customer's balance.

Read with a read-only key; the figures of the account statement are computed by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.banking.models import BankStatement, BankTransaction, ProviderEvent
from faktura.collection import services as collection
from faktura.core import clock
from faktura.core.models import AuditEntry, Company
from faktura.invoicing import services as invoicing
from faktura.payments import refunds
from faktura.payments import services as payments
from faktura.payments.account_statement import account_statement
from faktura.payments.models import Dispute, FeeItem, PaymentSettings, Refund, ReturnEvent
from tests.api.conftest import ApiClient
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice
from tests.payments.helpers import finalized, open_amount, pay

pytestmark = pytest.mark.django_db

RETURNED_ON = dt.date(2026, 11, 19)
CREDITED_ON = dt.date(2026, 11, 20)


@pytest.fixture
def creditor(company):
    Company.objects.filter(pk=company.pk).update(creditor_id="DE98ZZZ09999999999")
    company.refresh_from_db()
    return company


@pytest.fixture
def collected(creditor, business_customer, actor):
    """Invoice of 119.00 collected by direct debit on 2026-11-17 and credited by the bank."""
    PaymentSettings.objects.create(pre_notification_days=1)
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    with clock.frozen(TOMORROW):
        collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    return invoice


def _statement_line(event):
    """The camt.054 line the return was booked from (as statement import links it)."""
    statement = BankStatement.objects.create(
        account_identification="DE02120300000000202051", format="camt.054",
        file_sha256="0" * 64, imported_by="test", imported_at=clock.now(),
    )  # fmt: skip
    return BankTransaction.objects.create(
        statement=statement, checksum=event.source_reference, booking_date=RETURNED_ON,
        value_date=RETURNED_ON, amount=event.amount, direction="debit", is_return=True,
        return_event=event, created_at=clock.now(),
    )  # fmt: skip


def _return(invoice, actor, code, *, fee="3.00", reference="camt054:N-1:1"):
    with clock.frozen(RETURNED_ON):
        return payments.record_returned_debit(
            actor=actor,
            end_to_end_id=invoice.number,
            reason_code=code,
            return_fee=fee,
            source_reference=reference,
            booking_date=RETURNED_ON,
        )


@pytest.fixture
def statement_scenario(collected, business_customer, actor):
    """Invoice 119.00 collected, returned (fee 3.00), credit note 19.00, 60.00 paid (50 to it)."""
    _return(collected, actor, "AM04")
    with clock.frozen(CREDITED_ON):
        note = invoicing.create_credit_note(
            invoice_id=collected.pk, actor=actor, amount="19.00", tax_rate="de-19"
        )
        note = invoicing.finalize_invoice(invoice_id=note.pk, actor=actor)
        payment = pay(actor, "60.00", business_customer, day=CREDITED_ON)
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(collected.pk, "50.00")], actor=actor
        )
    assert open_amount(collected) == Decimal("50.00")
    return collected, note, payment


# --- the account statement (Kontoauszug of the customer account) ---------------------------


def test_balance_lists_every_movement_with_the_running_balance(
    statement_scenario, business_customer, reader_api
):
    invoice, note, payment = statement_scenario
    response = reader_api.get_json(f"/customers/{business_customer.pk}/balance")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["object"] == "customer_balance"
    assert (body["customer"], body["currency"]) == (business_customer.pk, "EUR")
    rows = [
        (e["date"], e["type"], e["debit"], e["credit"], e["balance"], e["invoice"])
        for e in body["entries"]
    ]
    assert rows == [
        ("2026-11-16", "invoice", "119.00", "0.00", "119.00", invoice.pk),
        ("2026-11-17", "payment", "0.00", "119.00", "0.00", None),
        ("2026-11-19", "fee", "3.00", "0.00", "3.00", invoice.pk),
        ("2026-11-19", "returned_debit", "119.00", "0.00", "122.00", invoice.pk),
        ("2026-11-20", "credit_note", "0.00", "19.00", "103.00", invoice.pk),
        ("2026-11-20", "payment", "0.00", "60.00", "43.00", None),
    ]
    assert body["entries"][4]["reference"] == note.number
    assert body["entries"][5]["object_id"] == payment.pk
    assert (body["opening_balance"], body["closing_balance"]) == ("0.00", "43.00")
    assert (body["debit_total"], body["credit_total"]) == ("241.00", "198.00")
    # 50.00 open on the invoice, 10.00 of the payment left as credit, the 3.00 fee owed.
    assert body["totals"] == {
        "open_receivables": "50.00",
        "invoice_credits": "0.00",
        "customer_credit": "10.00",
        "open_fees": "3.00",
        "balance": "43.00",
    }


def test_balance_for_a_period_starts_from_the_opening_balance(
    statement_scenario, business_customer, reader_api
):
    path = f"/customers/{business_customer.pk}/balance"
    body = reader_api.get_json(path, **{"from": "2026-11-18", "to": "2026-11-19"}).json()
    assert (body["from"], body["to"]) == ("2026-11-18", "2026-11-19")
    assert [(e["type"], e["balance"]) for e in body["entries"]] == [
        ("fee", "3.00"),
        ("returned_debit", "122.00"),
    ]
    assert (body["opening_balance"], body["closing_balance"]) == ("0.00", "122.00")
    assert (body["debit_total"], body["credit_total"]) == ("122.00", "0.00")
    later = reader_api.get_json(path, **{"from": "2026-11-20"}).json()
    assert later["opening_balance"] == "122.00"
    assert later["closing_balance"] == later["totals"]["balance"] == "43.00"


def test_balance_refuses_a_period_that_ends_before_it_starts(business_customer, reader_api):
    response = reader_api.get_json(
        f"/customers/{business_customer.pk}/balance", **{"from": "2026-11-20", "to": "2026-11-19"}
    )
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("invalid_period", "from")


def test_balance_with_write_off_refund_and_overcredited_invoice(
    business_customer, actor, reader_api
):
    """Invoice A 119.00 paid 119.00 then credited 19.00; invoice B 59.50 paid 59.00, 0.50
    written off; 30.00 overpaid and 25.00 of it refunded."""
    a = finalized(business_customer, actor)
    b = finalized(business_customer, actor, price="50.00")
    first = pay(actor, "119.00", business_customer)
    payments.allocate_payment(payment_id=first.pk, allocations=[(a.pk, "119.00")], actor=actor)
    note = invoicing.create_credit_note(
        invoice_id=a.pk, actor=actor, amount="19.00", tax_rate="de-19"
    )
    invoicing.finalize_invoice(invoice_id=note.pk, actor=actor)
    second = pay(actor, "89.00", business_customer)
    payments.allocate_payment(payment_id=second.pk, allocations=[(b.pk, "59.00")], actor=actor)
    payments.write_off(invoice_id=b.pk, amount="0.50", reason="Rundung", actor=actor)
    refunds.refund_credit(customer_id=business_customer.pk, actor=actor, amount="25.00")
    body = reader_api.get_json(f"/customers/{business_customer.pk}/balance").json()
    # 119.00 + 59.50 − 19.00 − 119.00 − 89.00 − 0.50 + 25.00 = −24.00: the company owes
    # 19.00 on invoice A (credited after payment) and 5.00 credit left after the refund.
    assert [e["type"] for e in body["entries"]] == [
        "invoice", "invoice", "credit_note", "payment", "payment", "write_off", "refund",
    ]  # fmt: skip
    assert body["entries"][-1]["balance"] == "-24.00"
    assert body["totals"] == {
        "open_receivables": "0.00",
        "invoice_credits": "19.00",
        "customer_credit": "5.00",
        "open_fees": "0.00",
        "balance": "-24.00",
    }


def test_statement_selector_sums_to_the_derived_figures(statement_scenario, business_customer):
    statement = account_statement(business_customer.pk)
    totals = statement.totals
    assert totals is not None
    assert statement.closing_balance == totals.balance == (
        totals.open_receivables - totals.invoice_credits - totals.customer_credit
        + totals.open_fees
    )  # fmt: skip


def test_balance_of_an_unknown_customer_is_404_and_needs_a_key(reader_api, business_customer):
    response = reader_api.get_json("/customers/999999/balance")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    anonymous = ApiClient(None).get_json(f"/customers/{business_customer.pk}/balance")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "invalid_api_key")
    empty = reader_api.get_json(f"/customers/{business_customer.pk}/balance").json()
    assert (empty["entries"], empty["closing_balance"], empty["totals"]["balance"]) == (
        [],
        "0.00",
        "0.00",
    )


# --- disputes ------------------------------------------------------------------------------


def test_a_md06_return_shows_as_open_dispute_and_clearing_it_is_one_call(
    collected, business_customer, actor, reader_api, api
):
    event = _return(collected, actor, "MD06")
    listed = reader_api.get_json("/disputes", status="open").json()
    [dispute] = listed["data"]
    assert dispute["object"] == "dispute"
    assert (dispute["status"], dispute["invoice"], dispute["invoice_number"]) == (
        "open",
        collected.pk,
        collected.number,
    )
    assert (dispute["reason_code"], dispute["returned_payment"]) == ("MD06", event.pk)
    assert dispute["returned_payment_kind"] == "returned_debit"
    assert dispute["customer"] == business_customer.pk
    assert reader_api.get_json("/disputes", status="cleared").json()["data"] == []
    assert reader_api.get_json(f"/disputes/{dispute['id']}").json() == dispute

    refused = reader_api.send("POST", f"/disputes/{dispute['id']}/clear", {"note": "x"})
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert Dispute.objects.get().cleared_at is None

    cleared = api.send("POST", f"/disputes/{dispute['id']}/clear", {"note": "Kunde zahlt"})
    assert cleared.status_code == 200, cleared.json()
    assert (cleared.json()["status"], cleared.json()["note"]) == ("cleared", "Kunde zahlt")
    assert cleared.json()["cleared_by"] == "api:shop"
    audit_count = AuditEntry.objects.count()
    again = api.send("POST", f"/disputes/{dispute['id']}/clear", {})
    assert (again.status_code, again.json()["code"]) == (409, "dispute_cleared")
    assert AuditEntry.objects.count() == audit_count


def test_clearing_an_unknown_dispute_is_404(api):
    response = api.send("POST", "/disputes/999999/clear", {})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- returned debits, chargebacks, fee items -----------------------------------------------


def test_returned_debit_names_reason_fee_invoice_and_mandate(
    collected, business_customer, actor, reader_api
):
    event = _return(collected, actor, "AM04")
    [returned] = reader_api.get_json("/returned-debits").json()["data"]
    mandate = business_customer.mandates.get()
    fee = FeeItem.objects.get()
    assert returned["object"] == returned["kind"] == "returned_debit"
    assert (returned["id"], returned["reason_code"], returned["consequence"]) == (
        event.pk,
        "AM04",
        "retry",
    )
    assert (returned["amount"], returned["fee_amount"], returned["fee_item"]) == (
        "119.00",
        "3.00",
        fee.pk,
    )
    assert (returned["invoice"], returned["invoice_number"]) == (collected.pk, collected.number)
    assert (returned["mandate"], returned["mandate_reference"]) == (mandate.pk, mandate.reference)
    assert (returned["end_to_end_id"], returned["booking_date"]) == (collected.number, "2026-11-19")
    assert returned["source_reference"] == "camt054:N-1:1"
    assert (returned["source"], returned["bank_transaction"], returned["provider"]) == (
        "manual",
        None,
        None,
    )
    assert returned["dispute"] is None
    assert reader_api.get_json(f"/returned-debits/{event.pk}").json() == returned
    line = _statement_line(event)
    from_statement = reader_api.get_json(f"/returned-debits/{event.pk}").json()
    assert (from_statement["source"], from_statement["bank_transaction"]) == (
        "bank_statement",
        line.pk,
    )
    assert reader_api.get_json("/chargebacks").json()["data"] == []
    assert reader_api.get_json(f"/chargebacks/{event.pk}").status_code == 404

    [item] = reader_api.get_json("/fee-items", customer=business_customer.pk).json()["data"]
    assert item["object"] == "fee_item"
    assert (item["id"], item["amount"], item["currency"], item["status"]) == (
        fee.pk,
        "3.00",
        "EUR",
        "open",
    )
    assert (item["reason"], item["returned_payment"]) == ("Rücklastschriftsgebühr AM04", event.pk)
    assert (item["invoice"], item["invoice_number"]) == (collected.pk, collected.number)
    assert reader_api.get_json(f"/fee-items/{fee.pk}").json() == item
    assert reader_api.get_json("/fee-items", status="billed").json()["data"] == []


def test_chargeback_is_listed_as_chargeback_not_as_returned_debit(
    creditor, business_customer, actor, reader_api
):
    invoice = finalized(business_customer, actor)
    payment = pay(actor, "119.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
    )
    event = payments.record_chargeback(
        actor=actor, source_reference="card:cb-1", payment_id=payment.pk, fee="15.00"
    )
    [chargeback] = reader_api.get_json("/chargebacks").json()["data"]
    assert (chargeback["object"], chargeback["id"], chargeback["payment"]) == (
        "chargeback",
        event.pk,
        payment.pk,
    )
    assert (chargeback["amount"], chargeback["fee_amount"]) == ("119.00", "15.00")
    assert (chargeback["consequence"], chargeback["mandate"]) == ("dispute", None)
    assert chargeback["dispute"] == Dispute.objects.get().pk
    assert chargeback["source"] == "manual"
    ProviderEvent.objects.create(
        provider="stripe", event_id="evt_1", type="charge.dispute.created", state="applied",
        return_event=event, received_at=clock.now(),
    )  # fmt: skip
    detail = reader_api.get_json(f"/chargebacks/{event.pk}").json()
    assert (detail["source"], detail["provider"]) == ("provider", "stripe")
    assert reader_api.get_json("/returned-debits").json()["data"] == []
    assert reader_api.get_json(f"/returned-debits/{event.pk}").status_code == 404


# --- refunds -------------------------------------------------------------------------------


def test_refund_shows_status_amount_and_account(business_customer, actor, reader_api):
    pay(actor, "40.00", business_customer)
    refund = refunds.refund_credit(
        customer_id=business_customer.pk, actor=actor, amount="25.00", reason="Guthaben"
    )
    [listed] = reader_api.get_json("/refunds", customer=business_customer.pk).json()["data"]
    assert listed["object"] == "refund"
    assert (listed["id"], listed["status"], listed["amount"], listed["currency"]) == (
        refund.pk,
        "requested",
        "25.00",
        "EUR",
    )
    assert (listed["iban"], listed["end_to_end_id"]) == (refund.iban, f"ERSTATTUNG-{refund.pk}")
    assert (listed["batch"], listed["batch_status"], listed["execution_date"]) == (None, None, None)
    assert reader_api.get_json(f"/refunds/{refund.pk}").json() == listed
    assert reader_api.get_json("/refunds", status="paid").json()["data"] == []


# --- lists, keys and the schema ------------------------------------------------------------


def test_lists_page_with_a_cursor(business_customer, actor, reader_api):
    now = clock.now()
    fees = [
        FeeItem.objects.create(
            customer=business_customer, amount=Decimal("3.00"), reason=f"Gebühr {n}",
            created_at=now, created_by="test",
        )
        for n in range(3)
    ]  # fmt: skip
    pay(actor, "30.00", business_customer)
    made = [
        Refund.objects.create(
            customer=business_customer, amount=Decimal("1.00"), account_holder="X",
            iban="DE89370400440532013000", requested_by="test", requested_at=now,
        )
        for _ in range(3)
    ]  # fmt: skip
    returned = [
        ReturnEvent.objects.create(
            kind=kind, customer=business_customer, consequence="manual", amount=Decimal("1.00"),
            source_reference=f"{kind}-{n}", created_at=now, created_by="test",
        )
        for kind in ("returned_debit", "chargeback")
        for n in range(3)
    ]  # fmt: skip
    invoices = [finalized(business_customer, actor) for _ in range(3)]
    disputes = [
        Dispute.objects.create(
            invoice=invoice, customer=business_customer, opened_at=now, opened_by="test"
        )
        for invoice in invoices
    ]
    for path, rows in (
        ("/fee-items", fees),
        ("/refunds", made),
        ("/returned-debits", returned[:3]),
        ("/chargebacks", returned[3:]),
        ("/disputes", disputes),
    ):
        first = reader_api.get_json(path, limit=2).json()
        assert first["has_more"] is True
        assert [r["id"] for r in first["data"]] == [rows[0].pk, rows[1].pk]
        second = reader_api.get_json(path, limit=2, cursor=first["next_cursor"]).json()
        assert ([r["id"] for r in second["data"]], second["has_more"]) == ([rows[2].pk], False)
        assert second["next_cursor"] is None
        bad = reader_api.get_json(path, cursor="nonsense")
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


RESOURCE_PATHS = [
    "/disputes",
    "/returned-debits",
    "/chargebacks",
    "/fee-items",
    "/refunds",
]


@pytest.mark.parametrize("path", RESOURCE_PATHS)
def test_resources_need_a_key_and_404_unknown_ids(path, reader_api, company):
    assert ApiClient(None).get_json(path).status_code == 401
    assert ApiClient("fk_live_unknown").get_json(path).status_code == 401
    listed = reader_api.get_json(path)
    assert listed.status_code == 200
    assert listed.json() == {"object": "list", "data": [], "has_more": False, "next_cursor": None}
    missing = reader_api.get_json(f"{path}/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_new_resources_are_in_the_openapi_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in RESOURCE_PATHS:
        assert "get" in paths[f"/api/v1{path}"]
        detail = next(p for p in paths if p.startswith(f"/api/v1{path}/{{"))
        assert "get" in paths[detail]
    assert "post" in paths["/api/v1/disputes/{dispute_id}/clear"]
    assert "get" in paths["/api/v1/customers/{customer_id}/balance"]
    assert "get" in paths["/api/v1/company"]
    assert "get" in paths["/api/v1/direct-debits/preview"]
    components = schema["components"]["schemas"]
    for name in ("DisputeOut", "ReturnedPaymentOut", "FeeItemOut", "RefundOut", "BalanceOut",
                 "CompanyOut", "PreviewOut"):  # fmt: skip
        assert name in components


def test_balance_and_lists_take_as_many_queries_for_many_rows_as_for_one(
    business_customer, actor, reader_api
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader_api.get_json(path).status_code == 200
        return len(captured)

    paths = [f"/customers/{business_customer.pk}/balance", "/fee-items", "/returned-debits"]

    def add_rows() -> None:
        invoice = finalized(business_customer, actor)
        payment = pay(actor, "119.00", business_customer)
        payments.allocate_payment(
            payment_id=payment.pk, allocations=[(invoice.pk, "119.00")], actor=actor
        )
        payments.record_returned_debit(
            actor=actor,
            allocation_id=payment.allocations.get().pk,
            reason_code="AM04",
            source_reference=f"manual:{payment.pk}",
        )

    add_rows()
    [queries(path) for path in paths]  # the key's first use is recorded once
    few = [queries(path) for path in paths]
    for _ in range(4):
        add_rows()
    assert [queries(path) for path in paths] == few
