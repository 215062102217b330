"""Statement import: stored once, booked once, broken files refused without a trace."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import translation

from faktura.banking import services
from faktura.banking.models import BankStatement, BankTransaction, CsvMappingProfile
from faktura.banking.statements.errors import StatementParseError
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import NotFound, PermissionRefused
from faktura.core.models import AuditEntry
from faktura.payments.models import Payment
from tests.banking.camt_builder import Entry, Tx, camt, transfer
from tests.banking.conftest import fixture_bytes
from tests.banking.helpers import (
    BOOKING_DAY,
    PAYER_IBAN,
    api_client,
    counts,
    import_on,
    summary,
)
from tests.payments.helpers import VIEWER, finalized, open_amount

pytestmark = pytest.mark.django_db


def test_a_transfer_naming_the_invoice_is_booked_and_settles_it(business_customer, actor):
    invoice = finalized(business_customer, actor)
    assert invoice.number == "RE-2026-00001"
    data = camt(
        [transfer("119.00", "Rechnung RE-2026-00001", name="Beispiel Handel AG", iban=PAYER_IBAN)]
    )
    result = import_on(data, actor, filename="2026-11-17.xml")
    assert summary(result) == {
        "transactions": 1,
        "new": 1,
        "duplicates": 0,
        "booked": 1,
        "unmatched": 0,
        "returns": 0,
        "ignored": 0,
        "booked_amount": "119.00",
        "already_imported": False,
    }
    line = BankTransaction.objects.get()
    assert (line.state, line.match_method, line.match_confidence) == (
        "booked",
        "invoice_number",
        Decimal("1.000"),
    )
    assert (line.customer_id, line.decided_by) == (business_customer.pk, "user:anna")
    payment = line.payment
    assert (
        payment.amount,
        payment.date,
        payment.source,
        payment.method,
        payment.external_id,
        payment.customer_id,
        payment.payer_name,
        payment.payer_iban,
        payment.reference,
    ) == (
        Decimal("119.00"),
        dt.date(2026, 11, 17),
        "statement",
        "transfer",
        line.checksum,
        business_customer.pk,
        "Beispiel Handel AG",
        PAYER_IBAN,
        "Rechnung RE-2026-00001",
    )
    assert [(a.invoice_id, a.amount) for a in payment.allocations.all()] == [
        (invoice.pk, Decimal("119.00"))
    ]
    assert open_amount(invoice) == Decimal("0.00")
    statement = BankStatement.objects.get()
    assert (
        statement.format,
        statement.version,
        statement.account_iban,
        statement.filename,
        statement.transaction_count,
        statement.new_count,
        statement.booked_count,
        statement.closing_balance,
    ) == (
        "camt.053",
        "001.08",
        "DE02120300000000202051",
        "2026-11-17.xml",
        1,
        1,
        1,
        Decimal("119.00"),
    )
    entry = AuditEntry.objects.get(action="bank_statement.imported")
    assert (entry.object_id, entry.data["new"], entry.data["planned"]) == (
        str(statement.pk),
        1,
        {"matched": 1},
    )


def test_the_same_file_twice_creates_nothing(business_customer, actor):
    finalized(business_customer, actor)
    data = camt(
        [
            transfer("119.00", "RE-2026-00001", name="Beispiel Handel AG"),
            transfer("50.00", "Spende", name="Unbekannt"),
        ]
    )
    import_on(data, actor)
    before = counts()
    again = import_on(data, actor, day=dt.date(2026, 11, 18))
    assert counts() == before
    assert summary(again) == {
        "transactions": 2,
        "new": 0,
        "duplicates": 2,
        "booked": 0,
        "unmatched": 0,
        "returns": 0,
        "ignored": 0,
        "booked_amount": "0.00",
        "already_imported": True,
    }
    assert again.statement_ids == tuple(BankStatement.objects.values_list("pk", flat=True))


def test_an_overlapping_statement_adds_only_its_new_lines(business_customer, actor):
    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor, price="50.00")  # 59.50
    shared = transfer("119.00", "RE-2026-00001", reference="REF-2", name="Beispiel Handel AG")
    monday = camt([transfer("10.00", "Spende", reference="REF-1"), shared], message_id="A")
    tuesday = camt([shared, transfer("59.50", "RE-2026-00002", reference="REF-3")], message_id="B")
    import_on(monday, actor)
    result = import_on(tuesday, actor, day=dt.date(2026, 11, 18))
    assert (result.transactions, result.new, result.duplicates, result.booked) == (2, 1, 1, 1)
    assert BankTransaction.objects.count() == 3
    assert Payment.objects.count() == 2
    assert (open_amount(first), open_amount(second)) == (Decimal("0.00"), Decimal("0.00"))
    assert list(
        BankStatement.objects.order_by("pk").values_list("new_count", "duplicate_count")
    ) == [
        (2, 0),
        (1, 1),
    ]


def test_two_identical_transfers_on_one_day_are_two_lines(business_customer, actor):
    finalized(business_customer, actor, price="10.00")  # 11.90
    finalized(business_customer, actor, price="10.00")
    same = transfer("11.90", "Beitrag", name="Beispiel Handel AG", reference="NONREF")
    result = import_on(camt([same, same]), actor)
    assert (result.new, result.duplicates) == (2, 0)
    assert BankTransaction.objects.values("checksum").distinct().count() == 2


def _three_decimals() -> bytes:
    return camt([transfer("119.00", "RE-2026-00001")]).replace(b">119.00<", b">119.005<", 1)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: camt([transfer("119.00", "RE-2026-00001")])[:300], "truncated_xml"),
        (
            lambda: camt(
                [transfer("1.00")], namespace="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
            ),
            "wrong_namespace",
        ),
        (
            lambda: camt(
                [transfer("1.00")], namespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.99"
            ),
            "unknown_version",
        ),
        (lambda: camt([transfer("119.00")], currency="CHF"), "wrong_currency"),
        (_three_decimals, "too_many_decimals"),
        (lambda: b"", "empty_file"),
        (lambda: fixture_bytes("sparkasse_csv_camt.csv"), "csv_mapping_required"),
    ],
    ids=[
        "truncated",
        "namespace",
        "version",
        "currency",
        "decimals",
        "empty",
        "csv-without-mapping",
    ],
)
def test_a_broken_file_is_refused_with_its_code_and_writes_nothing(
    business_customer, actor, make, code
):
    finalized(business_customer, actor)
    before = counts()
    with pytest.raises(StatementParseError) as error:
        import_on(make(), actor)
    assert error.value.code == code
    assert counts() == before


def test_a_csv_that_does_not_fit_its_mapping_is_refused(business_customer, actor):
    sparkasse = CsvMappingProfile.objects.get(name="Sparkasse CSV-CAMT V2")
    before = counts()
    with pytest.raises(StatementParseError) as error:
        import_on(fixture_bytes("generic_credit_debit.csv"), actor, csv_mapping_id=sparkasse.pk)
    assert error.value.code == "csv_mapping_mismatch"
    assert "Buchungstag" in error.value.message
    assert counts() == before


def test_a_csv_export_is_read_through_its_saved_mapping(company, actor):
    sparkasse = CsvMappingProfile.objects.get(name="Sparkasse CSV-CAMT V2")
    result = import_on(
        fixture_bytes("sparkasse_csv_camt.csv"),
        actor,
        csv_mapping_id=sparkasse.pk,
        day=dt.date(2026, 12, 5),
    )
    assert summary(result) == {
        "transactions": 4,
        "new": 4,
        "duplicates": 0,
        "booked": 0,
        "unmatched": 3,  # no such invoices, no such direct debit
        "returns": 0,
        "ignored": 1,  # "Umsatz vorgemerkt": not booked by the bank yet
        "booked_amount": "0.00",
        "already_imported": False,
    }
    statement = BankStatement.objects.get()
    assert (statement.format, statement.account_iban) == ("csv", "DE02120300000000202051")
    pending = BankTransaction.objects.get(state="ignored")
    assert (pending.entry_status, pending.amount, pending.checksum[:8]) == (
        "pending",
        Decimal("25.50"),
        "pending:",
    )


def test_an_unknown_mapping_is_refused(company, actor):
    with pytest.raises(NotFound) as error:
        import_on(b"a;b\n1;2\n", actor, csv_mapping_id=999)
    assert error.value.code == "csv_mapping_not_found"


def test_a_pending_line_waits_and_its_booked_version_is_booked(business_customer, actor):
    invoice = finalized(business_customer, actor)
    pending = Entry(txs=(Tx("119.00", remittance="RE-2026-00001"),), status="PDNG", reference="R1")
    first = import_on(camt([pending], message_id="INTRADAY"), actor)
    assert (first.new, first.ignored, first.booked) == (1, 1, 0)
    assert open_amount(invoice) == Decimal("119.00")
    booked = Entry(txs=(Tx("119.00", remittance="RE-2026-00001"),), reference="R1")
    second = import_on(camt([booked], message_id="EOD"), actor)
    assert (second.new, second.duplicates, second.booked) == (1, 0, 1)
    assert open_amount(invoice) == Decimal("0.00")


def test_outgoing_payments_are_not_booked(company, actor):
    data = camt(
        [Entry(txs=(Tx("80.00", remittance="Miete Dezember", name="Vermieter"),), credit=False)]
    )
    result = import_on(data, actor)
    assert (result.new, result.ignored, result.booked, result.unmatched) == (1, 1, 0, 0)
    line = BankTransaction.objects.get()
    with translation.override("de"):
        assert (line.direction, line.state, line.note_text) == (
            "debit",
            "ignored",
            "Ausgang (Zahlung an Dritte).",
        )
    assert Payment.objects.count() == 0


def test_only_an_accountant_imports(business_customer, actor):
    before = counts()
    with pytest.raises(PermissionRefused):
        import_on(camt([transfer("1.00")]), VIEWER)
    cashier = Actor(label="user:kai", roles=frozenset({"cashier"}))
    with pytest.raises(PermissionRefused):
        import_on(camt([transfer("1.00")]), cashier)
    assert counts() == before


def test_a_booking_refused_by_the_payment_services_waits_on_the_to_do_list(
    business_customer, actor
):
    invoice = finalized(business_customer, actor)
    # Booked by the bank "tomorrow": a payment cannot be dated in the future.
    data = camt([transfer("119.00", "RE-2026-00001", booked=dt.date(2026, 11, 20))])
    result = import_on(data, actor, day=dt.date(2026, 11, 17))
    assert (result.booked, result.unmatched) == (0, 1)
    line = BankTransaction.objects.get()
    assert line.state == "unmatched"
    assert line.note.startswith("payment_date_in_future: ")
    assert line.suggestions[0]["invoices"] == [
        {"id": invoice.pk, "number": "RE-2026-00001", "amount": "119.00"}
    ]
    assert Payment.objects.count() == 0


# --- command line ----------------------------------------------------------------------------


def test_the_command_imports_a_file_and_prints_the_counts(business_customer, actor, tmp_path):
    finalized(business_customer, actor)
    path = tmp_path / "auszug.xml"
    path.write_bytes(camt([transfer("119.00", "RE-2026-00001"), transfer("5.00", "Trinkgeld")]))
    out = StringIO()
    with clock.frozen(BOOKING_DAY):
        call_command("import_statement", str(path), stdout=out)
    assert out.getvalue().splitlines() == [
        "auszug.xml: 2 transactions, 2 new, 0 duplicates, 1 booked (119.00 EUR), "
        "1 unmatched, 0 returns, 0 ignored",
        "Unmatched transactions wait on the to-do list (state unmatched).",
    ]
    again = StringIO()
    call_command("import-statement", str(path), stdout=again)
    assert again.getvalue().splitlines()[0] == "auszug.xml was imported before; nothing new."
    assert BankTransaction.objects.count() == 2


def test_the_command_refuses_a_broken_file_with_its_code(company, tmp_path):
    path = tmp_path / "kaputt.xml"
    path.write_bytes(camt([transfer("1.00")])[:250])
    before = counts()
    with pytest.raises(CommandError) as error:
        call_command("import_statement", str(path))
    assert str(error.value).startswith("kaputt.xml: truncated_xml: ")
    assert counts() == before
    with pytest.raises(CommandError, match="csv_mapping_not_found"):
        call_command("import_statement", str(path), "--csv-mapping", "Keine Bank")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_statement", str(tmp_path / "fehlt.xml"))


def test_the_command_reads_csv_with_a_named_mapping(company, tmp_path):
    path = tmp_path / "umsaetze.csv"
    path.write_bytes(fixture_bytes("sparkasse_csv_camt.csv"))
    out = StringIO()
    call_command(
        "import_statement", str(path), "--csv-mapping", "Sparkasse CSV-CAMT V2", stdout=out
    )
    assert out.getvalue().startswith("umsaetze.csv: 4 transactions, 4 new, 0 duplicates")
    assert services.ImportResult.__doc__


# --- API -------------------------------------------------------------------------------------


@pytest.mark.urls("tests.banking.urls")
def test_uploading_a_statement_answers_with_the_counts(business_customer, actor):
    finalized(business_customer, actor)
    client = api_client("accountant")
    data = camt([transfer("119.00", "RE-2026-00001"), transfer("7.00", "Unbekannt")])
    with clock.frozen(BOOKING_DAY):
        response = client.post(
            "/api/v1/statements", {"file": SimpleUploadedFile("auszug.xml", data)}
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    statement = BankStatement.objects.get()
    assert {key: body[key] for key in body if key != "statements"} == {
        "object": "statement_import",
        "already_imported": False,
        "transactions": 2,
        "new": 2,
        "duplicates": 0,
        "booked": 1,
        "queued": 0,
        "unmatched": 1,
        "returns": 0,
        "ignored": 0,
        "booked_amount": "119.00",
        "rematched": 0,
    }
    assert body["statements"][0]["id"] == statement.pk
    assert body["statements"][0]["sha256"] == statement.file_sha256
    assert body["statements"][0]["closing_balance"] == "126.00"
    with clock.frozen(BOOKING_DAY):
        again = client.post("/api/v1/statements", {"file": SimpleUploadedFile("a.xml", data)})
    assert again.status_code == 200
    assert (again.json()["already_imported"], again.json()["new"]) == (True, 0)
    assert client.get("/api/v1/statements").json()["data"][0]["id"] == statement.pk


@pytest.mark.urls("tests.banking.urls")
@pytest.mark.parametrize(
    ("data", "mapping", "status", "code"),
    [
        (b"<Document", None, 422, "truncated_xml"),
        (b"", None, 422, "empty_file"),
        (b"Buchungstag;Betrag\n01.12.26;1,00\n", None, 422, "csv_mapping_required"),
        (b"Buchungstag;Betrag\n01.12.26;1,00\n", "Keine Bank", 422, "csv_mapping_not_found"),
    ],
)
def test_a_refused_upload_answers_with_the_code_and_stores_nothing(
    company, data, mapping, status, code
):
    client = api_client("accountant")
    before = counts()
    form = {"file": SimpleUploadedFile("x.xml", data)}
    if mapping:
        form["csv_mapping"] = mapping
    response = client.post("/api/v1/statements", form)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert counts() == before


@pytest.mark.urls("tests.banking.urls")
def test_uploading_needs_a_write_key_of_an_accountant(company):
    data = {"file": SimpleUploadedFile("x.xml", camt([transfer("1.00")]))}
    reader = api_client("accountant", scopes=("read",), name="reader")
    assert reader.post("/api/v1/statements", data).json()["code"] == "insufficient_scope"
    data = {"file": SimpleUploadedFile("x.xml", camt([transfer("1.00")]))}
    viewer = api_client("viewer", name="viewer")
    response = viewer.post("/api/v1/statements", data)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert BankStatement.objects.count() == 0


@override_settings(FAKTURA_STATEMENT_INLINE_BOOKINGS=1)
def test_a_large_statement_is_booked_by_the_task_worker(business_customer, actor):
    from django_tasks_db.models import DBTaskResult

    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor)
    data = camt([transfer("119.00", "RE-2026-00001"), transfer("119.00", "RE-2026-00002")])
    result = import_on(data, actor)
    assert (result.new, result.queued, result.booked, result.unmatched) == (2, 2, 0, 0)
    assert Payment.objects.count() == 0
    (task,) = DBTaskResult.objects.filter(task_path__endswith="book_matched_transactions")
    statement = BankStatement.objects.get()
    ids = list(BankTransaction.objects.order_by("pk").values_list("pk", flat=True))
    assert task.args_kwargs["args"] == [statement.pk, ids, "user:anna"]
    with clock.frozen(BOOKING_DAY):
        assert task.task.call(*task.args_kwargs["args"]) == 2
        assert task.task.call(*task.args_kwargs["args"]) == 0  # a second run books nothing
    assert (open_amount(first), open_amount(second)) == (Decimal("0.00"), Decimal("0.00"))
    assert Payment.objects.count() == 2
    statement.refresh_from_db()
    assert (statement.booked_count, statement.unmatched_count) == (2, 0)
