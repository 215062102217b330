"""GET /customers/{id}/risk, the credit check on invoices, and /print-batches (read-only)."""

from __future__ import annotations

from decimal import Decimal

from faktura.core.actors import Actor
from faktura.documents import print_batch
from tests.conftest import TODAY
from tests.documents.pipeline_helpers import finalized, run_tasks
from tests.reporting.risk_helpers import bad_history, risk_settings


def test_the_risk_of_a_customer_with_a_bad_history(reader_api, business_customer, actor):
    bad_history(business_customer, actor)
    risk_settings(default_credit_limit=Decimal("500.00"))

    body = reader_api.get_json(f"/customers/{business_customer.pk}/risk").json()

    assert body == {
        "object": "customer_risk",
        "customer": business_customer.pk,
        "score": 70,
        "reasons": [
            "Zahlt im Schnitt 7,0 Tage nach Fälligkeit (21,0 Tage nach Rechnungsdatum, "
            "2 bezahlte Rechnungen): +14 Punkte",
            "2 Rücklastschrift(en): +20 Punkte",
            "1 Rückbelastung(en) (Chargeback): +15 Punkte",
            "Höchste erreichte Mahnstufe: 1: +10 Punkte",
            "Überfällig offen: 119,00 EUR: +11 Punkte",
        ],
        "threshold": 50,
        "risky": True,
        "credit_limit": "500.00",
        "credit_limit_source": "default",
        "open_receivables": "119.00",
        "available_credit": "381.00",
        "overdue_amount": "119.00",
        "paid_invoices": 2,
        "average_days_to_pay": "21.0",
        "average_days_late": "7.0",
        "returned_debits": 2,
        "chargebacks": 1,
        "highest_dunning_level": 1,
        "risk_action": "none",
        "currency": "EUR",
    }


def test_the_risk_of_an_unknown_customer_is_404(reader_api, company):
    response = reader_api.get_json("/customers/999999/risk")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_invoice_shows_the_credit_check_of_its_order(api, business_customer, actor):
    risk_settings(risk_action="approval", risk_score_threshold=0)

    response = api.send(
        "POST",
        "/orders",
        {
            "customer": business_customer.pk,
            "lines": [
                {"name": "Beratung", "quantity": "1", "unit_price": "100.00", "tax_rate": "de-19"}
            ],
        },
    )

    body = response.json()
    assert (response.status_code, body["status"]) == (201, "pending_approval")
    assert body["approval_reasons"] == ["high_risk_score"]
    assert body["credit_check"] == {
        "decision": "approval",
        "score": 0,
        "reasons": [
            "Risikopunkte 0 erreichen die Schwelle von 0",
            "Keine Auffälligkeiten im Zahlungsverhalten",
        ],
    }
    listed = api.get_json("/invoices").json()["data"]
    assert [i["credit_check"]["decision"] for i in listed] == ["approval"]


def test_print_batches_are_listed_and_downloaded(reader_api, business_customer, actor):
    business_customer.delivery_by_post = True
    business_customer.save(update_fields=["delivery_by_post"])
    invoice = finalized(business_customer, actor)
    run_tasks()
    batch = print_batch.create_print_batch(on=TODAY, actor=Actor.system("test"))

    listed = reader_api.get_json("/print-batches", date="2026-11-16").json()
    pdf = reader_api.get_json(f"/print-batches/{batch.pk}/pdf")

    assert [b["id"] for b in listed["data"]] == [batch.pk]
    only = listed["data"][0]
    assert (only["date"], only["document_count"], only["sheet_count"]) == (
        "2026-11-16",
        1,
        batch.sheet_count,
    )
    assert only["documents"] == [
        {
            "position": 1,
            "document_type": "invoice",
            "document_id": invoice.pk,
            "number": invoice.number,
            "customer": business_customer.pk,
            "recipient": "Beispiel Handel AG",
            "pages": 2,
        }
    ]
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == print_batch.read_batch(batch)
    assert reader_api.get_json("/print-batches", date="2026-11-15").json()["data"] == []
    assert reader_api.get_json("/print-batches/999999").status_code == 404
