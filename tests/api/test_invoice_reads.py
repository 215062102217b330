"""Reading invoices again: the frozen parts of a finalized document come from the process's
memory, what changes after finalization (open amount, status) is read every time."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from faktura.api import invoice_parts
from faktura.core.actors import Actor
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
    assert len(queries) == 3  # the key, the invoice with its figures, the company's time zone
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
