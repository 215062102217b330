"""Reading invoices again: a finalized invoice's resource is stored at its first read
(``api.invoice_reads``); what changes after finalization (open amount, payment status,
overdue, dispute, delivery) is read every time, and the bodies equal the full
presentation byte for byte."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faktura.api import invoice_parts, invoice_reads, presenters
from faktura.api.models import InvoiceResource
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.invoicing.models import Invoice
from faktura.payments.models import Dispute
from faktura.payments.services import write_off

ACCOUNTANT = Actor(label="user:anna", user_id=None, roles=frozenset({"accountant"}))


def _read(api, path: str) -> tuple[bytes, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = api.send("GET", path)
    assert response.status_code == 200
    return response.content, [q["sql"] for q in queries.captured_queries]


def test_a_finalized_invoice_read_again_reads_no_parts_but_its_new_open_amount(api, place):
    draft = place(
        {"name": "Beratung", "quantity": "2", "unit_price": "100.00", "tax_rate": "de-19"},
        {"name": "Handbuch", "quantity": "1", "unit_price": "39.90", "tax_rate": "de-7"},
    )
    api.send("POST", f"/invoices/{draft['id']}/finalize")
    path = f"/invoices/{draft['id']}"
    first, _ = _read(api, path)
    again, queries = _read(api, path)

    assert again == first
    assert len(queries) == 2  # the key; the invoice's figures with its stored form
    assert not [sql for sql in queries if "invoicing_invoiceline" in sql]

    write_off(invoice_id=draft["id"], amount="0.69", reason="Rundung", actor=ACCOUNTANT)
    after, _ = _read(api, path)
    invoice = api.send("GET", path).json()
    assert invoice["open_amount"] == "280.00"  # 238.00 + 42.69 − 0.69
    assert [line["name"] for line in invoice["lines"]] == ["Beratung", "Handbuch"]
    assert after.replace(b'"open_amount":"280.00"', b'"open_amount":"280.69"') == first


def test_a_draft_read_again_shows_its_changed_lines(api, place):
    draft = place()
    path = f"/invoices/{draft['id']}"
    api.send("GET", path)
    from faktura.invoicing.models import InvoiceLine

    InvoiceLine.objects.filter(invoice_id=draft["id"]).update(name="Beratung vor Ort")
    _, queries = _read(api, path)
    assert [line["name"] for line in api.send("GET", path).json()["lines"]] == ["Beratung vor Ort"]
    assert [sql for sql in queries if "invoicing_invoiceline" in sql]


def test_a_list_reads_the_parts_of_documents_not_yet_kept_in_one_query(api, place):
    ids = [place()["id"] for _ in range(3)]
    for invoice_id in ids:
        api.send("POST", f"/invoices/{invoice_id}/finalize")
    invoice_parts.clear()  # another process, which has not served them yet
    first, queries = _read(api, "/invoices?limit=20")
    assert len([sql for sql in queries if "invoicing_invoiceline" in sql]) == 1
    again, queries = _read(api, "/invoices?limit=20")
    assert again == first
    assert not [sql for sql in queries if "invoicing_invoiceline" in sql]


def _in_full(invoice_id: int) -> bytes:
    """The body as ``presenters`` makes it, without the stored form."""
    resource = presenters.invoice(presenters.invoices(Invoice.objects.filter(pk=invoice_id)).get())
    return resource.model_dump_json().encode()


def _finalized(api, place, unit_price: str = "100.00") -> int:
    draft = place(
        {"name": "Beratung", "quantity": "1", "unit_price": unit_price, "tax_rate": "de-19"}
    )
    api.send("POST", f"/invoices/{draft['id']}/finalize")
    return draft["id"]


def _pay(api, invoice_id: int, amount: str) -> None:
    customer = api.send("GET", f"/invoices/{invoice_id}").json()["customer"]
    response = api.send(
        "POST",
        "/payments",
        {"amount": amount, "date": "2026-11-16", "customer": customer, "invoice": invoice_id},
    )
    assert response.status_code == 201, response.content


def _events() -> dict:
    """What may happen to a finalized invoice after it was first read, by name."""

    def credit(api, invoice_id):
        draft = api.send("POST", f"/invoices/{invoice_id}/credit-notes", {"amount": "11.90"})
        api.send("POST", f"/invoices/{draft.json()['id']}/finalize")

    def dispute(api, invoice_id):
        invoice = Invoice.objects.get(pk=invoice_id)
        Dispute.objects.create(
            invoice=invoice, customer_id=invoice.customer_id, reason_code="MD06",
            opened_at=clock.now(), opened_by="test",
        )  # fmt: skip

    def delivery_failed(api, invoice_id):
        Invoice.objects.filter(pk=invoice_id).update(
            delivery_status="failed", delivery_error='Postfach "voll" – 552'
        )

    return {
        "nothing": lambda api, pk: None,
        "paid in full": lambda api, pk: _pay(api, pk, "119.00"),
        "paid in part": lambda api, pk: _pay(api, pk, "50.00"),
        "overpaid": lambda api, pk: _pay(api, pk, "150.00"),
        "written off": lambda api, pk: write_off(
            invoice_id=pk, amount="0.69", reason="Rundung", actor=ACCOUNTANT
        ),
        "credited in part": credit,
        "cancelled": lambda api, pk: api.send(
            "POST", f"/invoices/{pk}/cancel", {"reason": "Irrtum"}
        ),
        "disputed": dispute,
        "delivery failed": delivery_failed,
    }


EVENTS = _events()


@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
@pytest.mark.parametrize(
    "day", [dt.date(2026, 11, 16), dt.date(2026, 12, 31)], ids=["due", "overdue"]
)
def test_a_stored_invoice_reads_as_the_full_presentation_after(api, place, event, day):
    invoice_id = _finalized(api, place)
    api.send("GET", f"/invoices/{invoice_id}")
    assert InvoiceResource.objects.filter(invoice_id=invoice_id).exists()
    event(api, invoice_id)
    with clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)):
        body = api.send("GET", f"/invoices/{invoice_id}").content
        assert body == _in_full(invoice_id)
        listed = api.send("GET", "/invoices?limit=200").json()["data"]
        assert [row for row in listed if row["id"] == invoice_id] == [json.loads(body)]


def test_percent_signs_in_a_stored_invoice_read_as_written(api, place):
    # The stored form is a %-template: its own "%" are doubled, only its places are "%s".
    draft = place(
        {"name": 'Rabatt 10 % auf "%s" und %(x)s', "quantity": "1", "unit_price": "90.00",
         "tax_rate": "de-19"},
    )  # fmt: skip
    api.send("POST", f"/invoices/{draft['id']}/finalize")
    api.send("GET", f"/invoices/{draft['id']}")
    Invoice.objects.filter(pk=draft["id"]).update(
        delivery_status="failed", delivery_error="Quota 100% – %s %%"
    )
    body = api.send("GET", f"/invoices/{draft['id']}").content
    assert body == _in_full(draft["id"])
    assert json.loads(body)["lines"][0]["name"] == 'Rabatt 10 % auf "%s" und %(x)s'
    assert json.loads(body)["delivery_error"] == "Quota 100% – %s %%"
    listed = api.send("GET", "/invoices?limit=200").json()["data"]
    assert [row for row in listed if row["id"] == draft["id"]] == [json.loads(body)]


def test_a_page_mixes_stored_invoices_drafts_and_corrections_in_id_order(api, place):
    ids = [_finalized(api, place, price) for price in ("10.00", "20.00", "30.00")]
    _pay(api, ids[0], "11.90")
    draft = place()["id"]
    credit = api.send("POST", f"/invoices/{ids[1]}/credit-notes", {"amount": "5.00"}).json()["id"]
    api.send("POST", f"/invoices/{credit}/finalize")
    first = api.send("GET", "/invoices?limit=3").json()
    assert first["has_more"] is True
    rest = api.send("GET", f"/invoices?limit=3&cursor={first['next_cursor']}").json()
    assert rest["has_more"] is False
    assert rest["next_cursor"] is None
    listed = first["data"] + rest["data"]
    assert [row["id"] for row in listed] == sorted([*ids, draft, credit])
    assert not InvoiceResource.objects.filter(invoice_id=draft).exists()
    assert sorted(InvoiceResource.objects.values_list("invoice_id", flat=True)) == sorted(
        [*ids, credit]
    )
    _pay(api, ids[2], "35.70")
    again = [
        *api.send("GET", "/invoices?limit=3").json()["data"],
        *api.send("GET", f"/invoices?limit=3&cursor={first['next_cursor']}").json()["data"],
    ]
    assert again == [json.loads(_in_full(pk)) for pk in sorted([*ids, draft, credit])]
    assert {row["id"]: row["payment_status"] for row in again}[ids[2]] == "paid"


def test_a_stored_form_of_another_schema_is_not_used_and_is_replaced(api, place):
    invoice_id = _finalized(api, place)
    api.send("GET", f"/invoices/{invoice_id}")
    InvoiceResource.objects.filter(invoice_id=invoice_id).update(
        version="older", template='{"id":0}'
    )
    assert api.send("GET", f"/invoices/{invoice_id}").content == _in_full(invoice_id)
    stored = InvoiceResource.objects.get(invoice_id=invoice_id)
    assert stored.version == invoice_reads.version()
    assert api.send("GET", f"/invoices/{invoice_id}").content == _in_full(invoice_id)


def _credit(api, invoice_id: int, amount: str) -> int:
    draft = api.send("POST", f"/invoices/{invoice_id}/credit-notes", {"amount": amount}).json()
    api.send("POST", f"/invoices/{draft['id']}/finalize")
    return draft["id"]


CORRECTION_EVENTS = {
    "nothing": lambda api, pk: None,
    # Paid in full before the credit note: the credit note is owed back.
    "original paid in full": lambda api, pk: _pay(api, pk, "119.00"),
    "original paid in part": lambda api, pk: _pay(api, pk, "100.00"),
    "original written off": lambda api, pk: write_off(
        invoice_id=pk, amount="0.69", reason="Rundung", actor=ACCOUNTANT
    ),
    "a second credit note": lambda api, pk: _credit(api, pk, "100.00"),
    # The second credit note finds nothing left to apply to: owed back in full.
    "original paid, credited again": lambda api, pk: (
        _pay(api, pk, "107.10"),
        _credit(api, pk, "20.00"),
    ),
    "original cancelled": lambda api, pk: api.send(
        "POST", f"/invoices/{pk}/cancel", {"reason": "Irrtum"}
    ),
}


@pytest.mark.parametrize("event", CORRECTION_EVENTS.values(), ids=CORRECTION_EVENTS.keys())
def test_a_stored_credit_note_reads_as_the_full_presentation_after(api, place, event):
    original = _finalized(api, place)
    credit = _credit(api, original, "11.90")
    api.send("GET", f"/invoices/{credit}")
    assert InvoiceResource.objects.filter(invoice_id=credit).exists()
    event(api, original)
    listed = api.send("GET", "/invoices?limit=200").json()["data"]
    corrections = [
        pk for pk in Invoice.objects.filter(original_id=original).values_list("pk", flat=True)
    ]
    for pk in corrections:
        body = api.send("GET", f"/invoices/{pk}").content
        assert body == _in_full(pk)
        assert [row for row in listed if row["id"] == pk] == [json.loads(body)]
    assert InvoiceResource.objects.filter(invoice_id__in=corrections).count() == len(corrections)


def test_a_credit_note_owed_back_shows_its_refund_from_the_stored_form(api, place):
    original = _finalized(api, place)
    _pay(api, original, "119.00")
    credit = _credit(api, original, "11.90")
    first = api.send("GET", f"/invoices/{credit}").json()
    again = api.send("GET", f"/invoices/{credit}").json()
    assert again == first
    assert (again["open_amount"], again["payment_status"], again["overdue"]) == (
        "11.90",
        "refund_due",
        False,
    )
