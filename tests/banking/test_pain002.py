"""pain.002 payment status reports: own .001.10 fixture, the corpus .001.03, refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from faktura.banking.sepa.pain002 import SUPPORTED_VERSIONS, parse_pain002
from faktura.banking.statements.errors import StatementParseError
from tests.banking.conftest import fixture_bytes


def error_code(data: bytes) -> str:
    with pytest.raises(StatementParseError) as caught:
        parse_pain002(data)
    return caught.value.code


def test_report_header_and_group_status():
    report = parse_pain002(fixture_bytes("pain002_001_10.xml"))
    assert report.version == "001.10"
    assert report.message_id == "STS-2026-12-0001"
    assert report.original_message_id == "BATCH-2026-0001"
    assert report.original_message_type == "pain.008.001.08"
    assert report.group_status == "PART"
    assert [p.original_payment_information_id for p in report.payment_information] == [
        "MusterSoftwareGmbH-RCUR",
        "MusterSoftwareGmbH-OOFF",
    ]


def test_rejected_transaction_with_reason_and_original_data():
    report = parse_pain002(fixture_bytes("pain002_001_10.xml"))
    (rejected,) = report.rejected_transactions
    assert rejected.status == "RJCT"
    assert rejected.original_end_to_end_id == "RE-2026-00042"
    assert rejected.status_id == "REJ-0001"
    assert rejected.reason_code == "AC04"
    assert rejected.reason_text == "Konto erloschen"
    assert rejected.amount == Decimal("1190.00")
    assert rejected.currency == "EUR"
    assert rejected.mandate_reference == "MANDAT-0001"
    assert rejected.debtor_name == "Kunde AG"  # .10 puts the name under Dbtr/Pty
    assert rejected.debtor_iban == "DE89370400440532013000"
    assert rejected.creditor_iban == "DE02120300000000202051"
    assert rejected.requested_date == date(2026, 12, 1)


def test_accepted_transaction_and_rejected_payment_block():
    report = parse_pain002(fixture_bytes("pain002_001_10.xml"))
    first, second = report.payment_information
    assert first.status == "PART"
    assert first.transactions[1].status == "ACCP"
    assert first.transactions[1].reason_code == ""
    assert second.status == "RJCT"
    assert second.reason_code == "FF01"
    assert second.reason_text == "Datei fehlerhaft Sammler abgewiesen"
    assert second.transactions == ()


@pytest.mark.corpus
def test_corpus_pain002_v03_rejects(corpus_dir: Path):
    report = parse_pain002(
        (corpus_dir / "bank" / "pain002" / "oca_pain.002.001.03_rejects.xml").read_bytes()
    )
    assert report.version == "001.03"
    assert report.original_message_id == "MSGID12345678912"
    assert report.original_message_type == "pain.008.001.02"
    assert report.group_status == ""
    assert [
        (p.original_payment_information_id, [t.original_end_to_end_id for t in p.transactions])
        for p in report.payment_information
    ] == [("PMTINFID1", ["E2EID1", "E2EID2"]), ("PMTINFID2", ["E2EID3", "E2EID4"])]
    rows = [
        (t.original_end_to_end_id, t.reason_code, t.amount, t.mandate_reference, t.debtor_name)
        for t in report.rejected_transactions
    ]
    assert rows == [
        ("E2EID1", "AC01", Decimal("100.00"), "MANDATEID1", "DEBTOR1"),
        ("E2EID2", "MS02", Decimal("100.00"), "MANDATEID2", "DEBTOR2"),
        ("E2EID3", "MD06", Decimal("100.00"), "MANDATEID3", "DEBTOR3"),
        ("E2EID4", "AM04", Decimal("100.00"), "MANDATEID4", "DEBTOR4"),
    ]
    assert report.rejected_transactions[0].reason_text == "ACC NUMBER INVALID"


def test_supported_versions():
    assert SUPPORTED_VERSIONS[0] == "001.03"
    assert SUPPORTED_VERSIONS[-1] == "001.12"


def test_camt_file_is_refused_as_wrong_namespace():
    assert error_code(fixture_bytes("camt053_001_02.xml")) == "wrong_namespace"


def test_unknown_version_is_refused():
    data = fixture_bytes("pain002_001_10.xml").replace(b"pain.002.001.10", b"pain.002.001.99")
    assert error_code(data) == "unknown_version"


def test_truncated_report_is_refused():
    data = fixture_bytes("pain002_001_10.xml")
    assert error_code(data[: len(data) - 40]) == "truncated_xml"


def test_amount_with_three_decimals_is_refused():
    data = fixture_bytes("pain002_001_10.xml").replace(b">1190.00<", b">1190.001<")
    assert error_code(data) == "too_many_decimals"


def test_empty_and_garbage_input_are_refused():
    assert error_code(b"") == "empty_file"
    assert error_code(b"\x00\x01 nonsense") in ("malformed_xml", "truncated_xml")
