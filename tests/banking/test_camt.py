"""camt.052/053/054 parsing: own fixtures, broken input, and every camt file of the corpus."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from faktura.banking.statements.camt import SUPPORTED_VERSIONS, parse_camt
from faktura.banking.statements.errors import StatementParseError
from faktura.banking.statements.model import Balance, Statement, StatementTransaction
from tests.banking.conftest import fixture_bytes

OWN_IBAN = "DE02120300000000202051"


def single(data: bytes, **kwargs: object) -> Statement:
    statements = parse_camt(data, **kwargs)  # type: ignore[arg-type]
    assert len(statements) == 1
    return statements[0]


def error_code(data: bytes, **kwargs: object) -> str:
    with pytest.raises(StatementParseError) as caught:
        parse_camt(data, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


# ------------------------------------------------------------------ own fixtures


def test_camt053_v02_statement_head_and_balances():
    statement = single(fixture_bytes("camt053_001_02.xml"), expected_currency="EUR")
    assert statement.format == "camt.053"
    assert statement.version == "001.02"
    assert statement.statement_id == "FKT-053-02-0001-1"
    assert statement.account_iban == OWN_IBAN
    assert statement.account_identification == OWN_IBAN
    assert statement.currency == "EUR"
    assert statement.opening_balance == Balance(amount=Decimal("1000.00"), date=date(2026, 12, 1))
    assert statement.closing_balance == Balance(amount=Decimal("1390.50"), date=date(2026, 12, 2))
    assert len(statement.transactions) == 6


def test_camt053_v02_credit_transfer_with_invoice_number_in_remittance():
    credit = single(fixture_bytes("camt053_001_02.xml")).transactions[0]
    assert credit.bank_reference == "2026120200001"
    assert credit.booking_date == date(2026, 12, 2)
    assert credit.value_date == date(2026, 12, 2)
    assert credit.amount == Decimal("119.00")
    assert credit.currency == "EUR"
    assert credit.direction == "credit"
    assert credit.status == "booked"
    assert credit.end_to_end_id == ""  # NOTPROVIDED means none
    assert credit.remittance_information == "Rechnung RE-2026-00042 Kd-Nr. 1001"
    assert credit.counterparty_name == "Erika Mustermann"
    assert credit.counterparty_iban == "DE75512108001245126199"
    assert credit.counterparty_bic == "SOGEDEFFXXX"
    assert credit.bank_transaction_code == "PMNT/RCDT/ESCT NTRF+166+9310+997"
    assert credit.is_return is False
    assert credit.return_fee is None
    assert credit.batch_reference == ""


def test_batch_entry_is_split_into_one_transaction_per_txdtls_with_own_amount():
    transactions = single(fixture_bytes("camt053_001_02.xml")).transactions[1:4]
    assert [t.amount for t in transactions] == [
        Decimal("100.00"),
        Decimal("150.00"),
        Decimal("50.00"),
    ]
    assert [t.end_to_end_id for t in transactions] == [
        "RE-2026-00050",
        "RE-2026-00051",
        "RE-2026-00052",
    ]
    assert [t.mandate_reference for t in transactions] == [
        "MANDAT-0050",
        "MANDAT-0051",
        "MANDAT-0052",
    ]
    assert [t.counterparty_name for t in transactions] == [
        "Erika Mustermann",
        "Kunde AG",
        "Beispiel KG",
    ]
    assert {t.batch_reference for t in transactions} == {"PMTINF-RCUR-20261202"}
    assert {t.bank_reference for t in transactions} == {"2026120200002"}
    assert len({t.checksum for t in transactions}) == 3


def test_outgoing_transfer_names_the_creditor_as_counterparty():
    refund = single(fixture_bytes("camt053_001_02.xml")).transactions[4]
    assert refund.direction == "debit"
    assert refund.amount == Decimal("25.50")
    assert refund.end_to_end_id == "GS-2026-00007"
    assert refund.counterparty_name == "Max Beispiel"
    assert refund.counterparty_iban == "DE02100500000054540402"
    assert refund.counterparty_bic == "BELADEBEXXX"


def test_entry_without_details_uses_the_additional_entry_information():
    fee = single(fixture_bytes("camt053_001_02.xml")).transactions[5]
    assert fee.amount == Decimal("3.00")
    assert fee.direction == "debit"
    assert fee.remittance_information == "Kontofuehrungsentgelt November"
    assert fee.bank_transaction_code == "ACMT/MDOP/CHRG"
    assert fee.counterparty_name == ""


def test_camt053_v08_reads_party_names_under_pty_and_structured_reference():
    statement = single(fixture_bytes("camt053_001_08.xml"))
    assert statement.version == "001.08"
    assert statement.opening_balance == Balance(amount=Decimal("1390.50"), date=date(2026, 12, 2))
    assert statement.closing_balance == Balance(amount=Decimal("1655.50"), date=date(2026, 12, 3))
    credit = statement.transactions[0]
    assert credit.end_to_end_id == "RE-2026-00043"
    assert credit.counterparty_name == "Kunde AG"  # not the ultimate debtor, not the bank
    assert credit.counterparty_bic == "COBADEFFXXX"
    assert credit.creditor_reference == "RF18539007547034"
    assert credit.remittance_information == "RE 2026 00043\nRF18539007547034"


def test_camt053_v08_batch_split_uses_txdtls_amt():
    batch = single(fixture_bytes("camt053_001_08.xml")).transactions[1:3]
    assert [(t.amount, t.end_to_end_id, t.counterparty_name) for t in batch] == [
        (Decimal("30.00"), "RE-2026-00060", "Hans Meier"),
        (Decimal("50.00"), "RE-2026-00061", "Beispiel KG"),
    ]
    assert {t.batch_reference for t in batch} == {"PMTINF-OOFF-20261203"}


def test_camt053_v08_return_with_fee_and_original_amount():
    returned = single(fixture_bytes("camt053_001_08.xml")).transactions[3]
    assert returned.is_return is True
    assert returned.return_reason_code == "AM04"
    assert returned.direction == "debit"
    assert returned.amount == Decimal("53.00")
    assert returned.original_amount == Decimal("50.00")
    assert returned.return_fee == Decimal("3.00")
    assert returned.end_to_end_id == "RE-2026-00050"
    assert returned.mandate_reference == "MANDAT-0050"
    # The parties of a return are those of the original collection: the debtor.
    assert returned.counterparty_name == "Erika Mustermann"
    assert returned.counterparty_iban == "DE75512108001245126199"
    assert returned.bank_transaction_code == "PMNT/IDDT/UPDD"


def test_pending_entry_without_booking_date_takes_the_value_date():
    pending = single(fixture_bytes("camt053_001_08.xml")).transactions[4]
    assert pending.status == "pending"
    assert pending.booking_date == date(2026, 12, 4)
    assert pending.value_date == date(2026, 12, 4)
    assert pending.bank_reference == ""


def test_camt054_returns_ac04_am04_md06_ms03_with_fees():
    statement = single(fixture_bytes("camt054_001_08_returns.xml"), expected_currency="EUR")
    assert statement.format == "camt.054"
    assert statement.opening_balance is None
    assert statement.closing_balance is None
    rows = [
        (
            t.end_to_end_id,
            t.return_reason_code,
            t.amount,
            t.original_amount,
            t.return_fee,
            t.counterparty_name,
        )
        for t in statement.transactions
    ]
    assert rows == [
        (
            "RE-2026-00101",
            "AM04",
            Decimal("1193.00"),
            Decimal("1190.00"),
            Decimal("3.00"),
            "Kunde AG",
        ),
        ("RE-2026-00102", "MD06", Decimal("49.90"), Decimal("49.90"), None, "Erika Mustermann"),
        (
            "RE-2026-00103",
            "AC04",
            Decimal("78.00"),
            Decimal("75.00"),
            Decimal("3.00"),
            "Beispiel KG",
        ),
        (
            "RE-2026-00104",
            "MS03",
            Decimal("253.00"),
            Decimal("250.00"),
            Decimal("3.00"),
            "Max Beispiel",
        ),
    ]
    assert all(t.is_return and t.direction == "debit" for t in statement.transactions)
    assert statement.transactions[1].bank_transaction_code == "PMNT/IDDT/UPDD NDDT+109+9310"


def test_camt052_intraday_report_takes_last_interim_balance_as_closing():
    statement = single(fixture_bytes("camt052_001_08.xml"))
    assert statement.format == "camt.052"
    assert statement.opening_balance == Balance(amount=Decimal("1655.50"), date=date(2026, 12, 3))
    assert statement.closing_balance == Balance(amount=Decimal("1755.50"), date=date(2026, 12, 4))
    booked, pending = statement.transactions
    assert booked.status == "booked"
    assert booked.booking_date == date(2026, 12, 4)  # from BookgDt/DtTm
    assert booked.counterparty_name == "Müller & Söhne OHG"
    assert booked.counterparty_iban == "DE52701500001000123456"  # spaces removed
    assert booked.remittance_information == "RE-2026-000\n44 Danke"  # one line per Ustrd
    assert pending.status == "pending"
    assert pending.amount == Decimal("20.00")


def test_camt054_v02_batch_split_by_instructed_amounts():
    statement = single(fixture_bytes("camt054_001_02_batch.xml"))
    parts = statement.transactions[:3]
    assert [(t.amount, t.end_to_end_id) for t in parts] == [
        (Decimal("200.00"), "RE-2026-00070"),
        (Decimal("150.00"), "RE-2026-00071"),
        (Decimal("100.00"), "RE-2026-00072"),
    ]
    assert {t.batch_reference for t in parts} == {"FAKTURA-20261201-RCUR"}
    assert sum(t.amount for t in parts) == Decimal("450.00")


def test_batch_without_amounts_per_part_stays_one_transaction():
    whole = single(fixture_bytes("camt054_001_02_batch.xml")).transactions[3]
    assert whole.amount == Decimal("70.00")
    assert whole.end_to_end_id == ""
    assert whole.remittance_information == "RE-2026-00080\nRE-2026-00081"
    assert whole.batch_reference == "FAKTURA-20261201-OOFF"


# ------------------------------------------------------------------ checksums


def test_same_transaction_in_overlapping_statements_gets_the_same_checksum():
    first = single(fixture_bytes("camt053_001_02.xml"))
    # The next day's file repeats the first entry and drops the others.
    data = fixture_bytes("camt053_001_02.xml")
    start = data.index(b"<Ntry>", data.index(b"</Ntry>"))
    end = data.rindex(b"</Ntry>") + len(b"</Ntry>")
    overlapping = single(data[:start] + data[end:])
    assert len(overlapping.transactions) == 1
    assert overlapping.transactions[0].checksum == first.transactions[0].checksum


def test_identical_transactions_in_one_statement_get_different_checksums():
    data = fixture_bytes("camt053_001_02.xml")
    start = data.index(b"<Ntry>")
    end = data.index(b"</Ntry>") + len(b"</Ntry>")
    doubled = data[:end] + data[start:end] + data[end:]
    transactions = single(doubled).transactions
    assert transactions[0] == replace(transactions[1], checksum=transactions[0].checksum)
    assert transactions[0].checksum != transactions[1].checksum
    assert len(transactions[0].checksum) == 64


def test_checksums_do_not_depend_on_whitespace_in_remittance():
    data = fixture_bytes("camt053_001_02.xml")
    spaced = data.replace(b"Rechnung RE-2026-00042", b"Rechnung  RE-2026-00042")
    a = single(data).transactions[0]
    b = single(spaced).transactions[0]
    assert a.remittance_information != b.remittance_information
    assert a.checksum == b.checksum


# ------------------------------------------------------------------ refusals


def test_truncated_xml_is_refused():
    data = fixture_bytes("camt053_001_02.xml")
    assert error_code(data[: len(data) // 2]) == "truncated_xml"


def test_truncated_xml_names_the_line():
    data = fixture_bytes("camt053_001_02.xml")
    with pytest.raises(StatementParseError) as caught:
        parse_camt(data[:3000])
    assert caught.value.location.startswith("line ")
    assert "cut off" in caught.value.message


def test_malformed_xml_in_the_middle_is_refused():
    data = fixture_bytes("camt053_001_02.xml").replace(b"</AcctSvcrRef>", b"</AcctSvcrRf>", 1)
    assert error_code(data) == "malformed_xml"


def test_pain_file_is_refused_as_wrong_namespace():
    data = fixture_bytes("pain002_001_10.xml")
    assert error_code(data) == "wrong_namespace"


def test_random_xml_is_refused_as_wrong_namespace():
    assert error_code(b"<?xml version='1.0'?><html><body>Kontoauszug</body></html>") == (
        "wrong_namespace"
    )


def test_camt_without_namespace_is_refused_as_wrong_namespace():
    data = fixture_bytes("camt053_001_08.xml").replace(
        b' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"', b""
    )
    assert error_code(data) == "wrong_namespace"


def test_other_camt_message_is_refused_as_wrong_namespace():
    data = fixture_bytes("camt053_001_08.xml").replace(b"camt.053.001.08", b"camt.056.001.08")
    assert error_code(data) == "wrong_namespace"


def test_unknown_version_is_refused_listing_supported_versions():
    data = fixture_bytes("camt053_001_08.xml").replace(b"camt.053.001.08", b"camt.053.001.99")
    with pytest.raises(StatementParseError) as caught:
        parse_camt(data)
    assert caught.value.code == "unknown_version"
    assert "camt.053.001.02" in caught.value.message
    assert "camt.053.001.08" in caught.value.message


def test_supported_versions_are_02_to_08():
    assert SUPPORTED_VERSIONS == (
        "001.02",
        "001.03",
        "001.04",
        "001.05",
        "001.06",
        "001.07",
        "001.08",
    )


@pytest.mark.parametrize("version", ["001.03", "001.05", "001.06", "001.07"])
def test_intermediate_versions_with_the_same_structure_are_read(version: str):
    data = fixture_bytes("camt053_001_08.xml").replace(b"001.08", version.encode())
    assert len(single(data).transactions) == 5


def test_statement_in_another_currency_is_refused_when_eur_is_expected():
    data = fixture_bytes("camt053_001_02.xml").replace(b'Ccy="EUR"', b'Ccy="USD"')
    data = data.replace(b"<Ccy>EUR</Ccy>", b"<Ccy>USD</Ccy>")
    assert error_code(data, expected_currency="EUR") == "wrong_currency"
    assert single(data).currency == "USD"


def test_single_entry_in_another_currency_is_refused():
    data = fixture_bytes("camt053_001_02.xml").replace(
        b'<Amt Ccy="EUR">25.50</Amt>', b'<Amt Ccy="CHF">25.50</Amt>'
    )
    with pytest.raises(StatementParseError) as caught:
        parse_camt(data, expected_currency="EUR")
    assert caught.value.code == "wrong_currency"
    assert "Ntry/Amt" in caught.value.location


def test_amount_with_three_decimals_is_refused():
    data = fixture_bytes("camt053_001_02.xml").replace(b">119.00<", b">119.005<")
    assert error_code(data) == "too_many_decimals"


def test_amount_with_trailing_zero_third_decimal_is_accepted():
    data = fixture_bytes("camt053_001_02.xml").replace(b">119.00<", b">119.000<")
    assert single(data).transactions[0].amount == Decimal("119.00")


@pytest.mark.parametrize("amount", [b"-5.00", b"1e3", b"NaN", b"12,50", b""])
def test_amount_that_is_not_a_plain_number_is_refused(amount: bytes):
    data = fixture_bytes("camt053_001_02.xml").replace(b">119.00<", b">" + amount + b"<")
    assert error_code(data) == "invalid_amount"


def test_entry_with_unknown_credit_debit_indicator_is_refused():
    data = fixture_bytes("camt053_001_02.xml").replace(
        b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>X</CdtDbtInd>", 2
    )
    assert error_code(data) == "invalid_statement"


def test_bad_booking_date_is_refused():
    data = fixture_bytes("camt053_001_02.xml").replace(
        b"<BookgDt><Dt>2026-12-02</Dt>", b"<BookgDt><Dt>2026-13-02</Dt>", 1
    )
    assert error_code(data) == "invalid_statement"


def test_empty_file_is_refused():
    assert error_code(b"") == "empty_file"
    assert error_code(b"  \n ") == "empty_file"


def test_binary_garbage_is_refused():
    assert error_code(bytes(range(256)) * 4) in ("malformed_xml", "truncated_xml")


def test_document_type_declarations_are_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        b"<Stmt><Id>&x;</Id></Stmt></BkToCstmrStmt></Document>"
    )
    assert error_code(xxe) == "malformed_xml"


def test_document_without_statement_is_refused():
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt><GrpHdr><MsgId>X</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )
    assert error_code(data) == "invalid_statement"


def test_wrong_message_element_for_the_namespace_is_refused():
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrAcctRpt><Rpt><Id>X</Id></Rpt></BkToCstmrAcctRpt></Document>"
    )
    assert error_code(data) == "not_a_statement"


def test_prefixed_namespace_is_read_like_the_default_one():
    data = fixture_bytes("camt054_001_08_returns.xml")
    prefixed = (
        data.replace(b"<", b"<c:")
        .replace(b"<c:/", b"</c:")
        .replace(b"<c:?xml", b"<?xml")
        .replace(b"<c:!--", b"<!--")
        .replace(b"xmlns=", b"xmlns:c=")
    )
    assert single(prefixed).transactions == single(data).transactions


def test_several_statements_in_one_file_are_returned_in_order():
    data = fixture_bytes("camt053_001_02.xml")
    start = data.index(b"<Stmt>")
    end = data.index(b"</Stmt>") + len(b"</Stmt>")
    second = data[start:end].replace(b"FKT-053-02-0001-1", b"FKT-053-02-0001-2")
    statements = parse_camt(data[:end] + second + data[end:])
    assert [s.statement_id for s in statements] == ["FKT-053-02-0001-1", "FKT-053-02-0001-2"]
    first_keys = [t.checksum for t in statements[0].transactions]
    second_keys = [t.checksum for t in statements[1].transactions]
    # Same account, same content: the second page's copies are counted as repeats.
    assert not set(first_keys) & set(second_keys)


# ------------------------------------------------------------------ corpus


def corpus_camt(corpus_dir: Path, name: str, **kwargs: object) -> Statement:
    return single((corpus_dir / "bank" / "camt" / name).read_bytes(), **kwargs)


def summary(t: StatementTransaction) -> tuple[object, ...]:
    return (t.direction, t.amount, t.is_return, t.return_reason_code, t.return_fee)


@pytest.mark.corpus
def test_corpus_hbci4java_camt052_v02(corpus_dir: Path):
    statement = corpus_camt(corpus_dir, "hbci4java_camt052.001.02.xml", expected_currency="EUR")
    assert (statement.format, statement.version) == ("camt.052", "001.02")
    assert statement.account_iban == "DE12345678901234567890"
    assert statement.opening_balance == Balance(amount=Decimal("100.00"), date=date(2018, 7, 19))
    assert statement.closing_balance == Balance(amount=Decimal("110.50"), date=date(2018, 7, 20))
    assert [summary(t) for t in statement.transactions] == [
        ("credit", Decimal("10.00"), False, "", None),
        ("credit", Decimal("0.50"), False, "", None),
    ]
    first, second = statement.transactions
    # AcctSvcrRef is NONREF; the bank's own id comes from Refs/Prtry/Ref.
    assert first.bank_reference == "2018-07-20-07.51.25.370057"
    assert first.counterparty_name == "Max Mustermann"
    assert first.counterparty_iban == "DE12345678901234567891"
    assert first.remittance_information == "Verwendungszweck 1"
    assert first.bank_transaction_code == "NSTO+152+9201+000"
    assert second.value_date == date(2018, 7, 22)
    assert second.counterparty_name == "Bert Bezahler"


@pytest.mark.corpus
def test_corpus_hbci4java_camt052_ruecklastschrift_ms03_with_fee(corpus_dir: Path):
    statement = corpus_camt(corpus_dir, "hbci4java_camt052.001.02_ruecklastschrift_MS03.xml")
    (returned,) = statement.transactions
    assert summary(returned) == ("debit", Decimal("53.00"), True, "MS03", Decimal("3.00"))
    assert returned.original_amount == Decimal("50.00")
    assert returned.mandate_reference == "TEST1234"
    assert returned.counterparty_name == "Sven Schuldner"
    assert returned.counterparty_iban == "DES1234567890"  # as delivered; not a valid IBAN
    assert returned.remittance_information == "RUECKLASTSCHRIFT Sonstige Gruende"


@pytest.mark.corpus
def test_corpus_hbci4java_camt052_v08(corpus_dir: Path):
    statement = corpus_camt(corpus_dir, "hbci4java_camt052.001.08.xml", expected_currency="EUR")
    assert statement.version == "001.08"
    assert statement.opening_balance == Balance(amount=Decimal("100.00"), date=date(2023, 11, 8))
    assert statement.closing_balance == Balance(amount=Decimal("66.00"), date=date(2023, 11, 10))
    (debit,) = statement.transactions
    assert summary(debit) == ("debit", Decimal("34.00"), False, "", None)
    assert debit.end_to_end_id == "123456789012"
    assert debit.mandate_reference == "12345678/001"
    assert debit.counterparty_name == "Beispiel AG"  # the creditor collecting from us
    assert debit.bank_transaction_code == "PMNT/RDDT/ESDD NDDT+105+9200+992"


@pytest.mark.corpus
def test_corpus_oca_camt053_v02_returns_ac06(corpus_dir: Path):
    statement = corpus_camt(corpus_dir, "oca_camt053.001.02_returns_AC06.xml")
    assert statement.account_iban == "NL77ABNA0574908765"
    assert statement.opening_balance == Balance(amount=Decimal("15568.27"), date=date(2014, 1, 5))
    assert statement.closing_balance == Balance(amount=Decimal("15121.12"), date=date(2014, 1, 5))
    assert [summary(t) for t in statement.transactions] == [
        ("debit", Decimal("754.25"), False, "", None),
        ("debit", Decimal("564.05"), True, "AC06", None),
        ("debit", Decimal("100.00"), True, "AC06", None),
        ("credit", Decimal("1405.31"), False, "", None),
    ]
    returns = statement.transactions[1:3]
    assert {t.batch_reference for t in returns} == {"2018/125-20141229-NORM"}
    assert [t.end_to_end_id for t in returns] == [
        "TESTBANK/NL/20141229/01206408",
        "TESTBANK/NL/20141229/01206407",
    ]
    # The last entry has no RmtInf; its AddtlTxInf stands in for the remittance text.
    assert statement.transactions[3].remittance_information == "#RD PARTY MEDIA CUSNO 90782 4210773"


@pytest.mark.corpus
def test_corpus_oca_camt053_v04_batched_txdtls_in_chf(corpus_dir: Path):
    data = (corpus_dir / "bank" / "camt" / "oca_camt053.001.04_txdtls_CH.xml").read_bytes()
    with pytest.raises(StatementParseError) as caught:
        parse_camt(data, expected_currency="EUR")
    assert caught.value.code == "wrong_currency"
    statement = single(data)
    assert statement.currency == "CHF"
    assert statement.opening_balance == Balance(amount=Decimal("75960.15"), date=date(2017, 3, 22))
    assert statement.closing_balance == Balance(amount=Decimal("79443.15"), date=date(2017, 3, 23))
    assert [(t.amount, t.creditor_reference) for t in statement.transactions] == [
        (Decimal("2187.00"), "302388292000011111111111111"),
        (Decimal("1296.00"), "302388292000022222222222222"),
    ]
    assert {t.bank_reference for t in statement.transactions} == {"123456CHCAFEBABE"}


@pytest.mark.corpus
def test_corpus_oca_camt054_v02_unpaid_ac06(corpus_dir: Path):
    statement = corpus_camt(corpus_dir, "oca_camt054.001.02_unpaid_AC06.xml")
    (returned,) = statement.transactions
    assert summary(returned) == ("debit", Decimal("100.00"), True, "AC06", None)
    assert returned.end_to_end_id == "E2EID1"
    assert returned.mandate_reference == "MANDATEID2"
    assert returned.counterparty_name == "DEBTOR4"
    assert returned.value_date == date(2016, 10, 8)  # no ValDt: the booking date


@pytest.mark.corpus
def test_corpus_oca_camt054_v04_credit(corpus_dir: Path):
    statement = corpus_camt(corpus_dir, "oca_camt054.001.04_credit.xml", expected_currency="EUR")
    (credit,) = statement.transactions
    assert summary(credit) == ("credit", Decimal("5.00"), False, "", None)
    assert credit.end_to_end_id == "ENDTOENDID-01"
    assert credit.creditor_reference == "000000000000000000000000003"
    assert credit.counterparty_name == "Test Customer"


@pytest.mark.corpus
def test_corpus_synthetic_camt054_v08_returns(corpus_dir: Path):
    statement = corpus_camt(
        corpus_dir,
        "synthetic_camt054.001.08_returns_AC04_AM04_MD06_MS03.xml",
        expected_currency="EUR",
    )
    assert statement.account_iban == OWN_IBAN
    assert [(*summary(t), t.original_amount) for t in statement.transactions] == [
        ("debit", Decimal("1193.00"), True, "AC04", Decimal("3.00"), Decimal("1190.00")),
        ("debit", Decimal("52.90"), True, "AM04", Decimal("3.00"), Decimal("49.90")),
        ("debit", Decimal("250.00"), True, "MD06", None, Decimal("250.00")),
        ("debit", Decimal("78.00"), True, "MS03", Decimal("3.00"), Decimal("75.00")),
    ]
    assert sum(t.amount for t in statement.transactions) == Decimal("1573.90")
    assert [t.end_to_end_id for t in statement.transactions] == [
        "RE20260001",
        "RE20260002",
        "RE20260003",
        "RE20260004",
    ]
