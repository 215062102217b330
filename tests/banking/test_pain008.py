"""pain.008.001.08 direct debit files: content, XSD validity, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from faktura.banking.sepa.pain008 import (
    Creditor,
    DirectDebit,
    PostalAddress,
    SepaFileError,
    _schema,
    control_sum_and_count,
    generate_pain008,
    to_cents,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}

CREDITOR = Creditor(
    name="Muster Software GmbH",
    iban="DE02 1203 0000 0000 2020 51",
    bic="BYLADEM1001",
    creditor_id="DE98ZZZ09999999999",
    address=PostalAddress(
        street_name="Hauptstraße",
        building_number="1",
        postcode="10115",
        town="Berlin",
        country="DE",
    ),
)


def debit(number: int, amount: str, **changes: object) -> DirectDebit:
    base = DirectDebit(
        end_to_end_id=f"RE-2026-{number:05d}",
        amount=Decimal(amount),
        debtor_name="Kunde AG",
        debtor_iban="DE89370400440532013000",
        debtor_address=PostalAddress(
            street_name="Marktplatz",
            building_number="5",
            postcode="80331",
            town="München",
            country="DE",
        ),
        mandate_reference=f"MANDAT-{number:04d}",
        mandate_signature_date=date(2026, 1, 15),
        sequence_type="RCUR",
        collection_date=date(2026, 12, 1),
        remittance_information=f"RE-2026-{number:05d} Softwarelizenz",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(path, NS)]


def refusal(**kwargs: object) -> SepaFileError:
    arguments: dict[str, object] = {"creditor": CREDITOR, "debits": [debit(1, "10.00")]}
    arguments.update(kwargs)
    with pytest.raises(SepaFileError) as caught:
        generate_pain008(**arguments)  # type: ignore[arg-type]
    return caught.value


def test_file_content_and_group_header():
    xml = generate_pain008(
        creditor=CREDITOR,
        debits=[debit(42, "1190.00"), debit(43, "49.90", debtor_bic="COBADEFFXXX")],
        message_id="BATCH-2026-0001",
    )
    root = parse(xml)
    assert etree.QName(root).namespace == NS["p"]
    assert texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId") == ["BATCH-2026-0001"]
    assert control_sum_and_count(xml) == (Decimal("1239.90"), 2)
    assert texts(root, ".//p:DrctDbtTxInf/p:PmtId/p:EndToEndId") == [
        "RE-2026-00042",
        "RE-2026-00043",
    ]
    assert texts(root, ".//p:DrctDbtTxInf/p:InstdAmt") == ["1190.00", "49.90"]
    assert texts(root, ".//p:MndtRltdInf/p:MndtId") == ["MANDAT-0042", "MANDAT-0043"]
    assert texts(root, ".//p:MndtRltdInf/p:DtOfSgntr") == ["2026-01-15", "2026-01-15"]
    assert texts(root, ".//p:LclInstrm/p:Cd") == ["CORE"]
    assert texts(root, ".//p:CdtrSchmeId//p:Othr/p:Id") == ["DE98ZZZ09999999999"]
    assert texts(root, ".//p:CdtrAcct/p:Id/p:IBAN") == ["DE02120300000000202051"]
    assert texts(root, ".//p:DbtrAgt//p:BICFI") == ["COBADEFFXXX"]
    assert texts(root, ".//p:DbtrAgt//p:Othr/p:Id") == ["NOTPROVIDED"]


def test_creditor_and_debtor_addresses_are_structured_and_transliterated():
    root = parse(generate_pain008(creditor=CREDITOR, debits=[debit(1, "10.00")]))
    creditor = root.find(".//p:Cdtr/p:PstlAdr", NS)
    debtor = root.find(".//p:Dbtr/p:PstlAdr", NS)
    assert creditor is not None
    assert debtor is not None
    assert [(e.tag.split("}")[1], e.text) for e in creditor] == [
        ("StrtNm", "Hauptstrasse"),
        ("BldgNb", "1"),
        ("PstCd", "10115"),
        ("TwnNm", "Berlin"),
        ("Ctry", "DE"),
    ]
    assert [(e.tag.split("}")[1], e.text) for e in debtor] == [
        ("StrtNm", "Marktplatz"),
        ("BldgNb", "5"),
        ("PstCd", "80331"),
        ("TwnNm", "Muenchen"),
        ("Ctry", "DE"),
    ]
    assert root.find(".//p:AdrLine", NS) is None


def test_names_and_remittance_use_german_transliteration():
    xml = generate_pain008(
        creditor=CREDITOR,
        debits=[
            debit(
                1,
                "10.00",
                debtor_name="Jürgen Groß & Söhne",
                remittance_information="Gebühr für Müller",
            )
        ],
    )
    root = parse(xml)
    assert texts(root, ".//p:Dbtr/p:Nm") == ["Juergen Gross + Soehne"]
    assert texts(root, ".//p:RmtInf/p:Ustrd") == ["Gebuehr fuer Mueller"]


def test_one_payment_block_per_sequence_type_and_collection_date():
    debits = [
        debit(1, "10.00"),
        debit(2, "20.00", sequence_type="OOFF"),
        debit(3, "30.00"),
        debit(4, "40.00", collection_date=date(2026, 12, 15)),
    ]
    root = parse(generate_pain008(creditor=CREDITOR, debits=debits))
    blocks = [
        (
            block.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS),
            block.findtext("p:ReqdColltnDt", namespaces=NS),
            block.findtext("p:NbOfTxs", namespaces=NS),
            block.findtext("p:CtrlSum", namespaces=NS),
        )
        for block in root.iterfind(".//p:PmtInf", NS)
    ]
    assert blocks == [
        ("RCUR", "2026-12-01", "2", "40.00"),
        ("OOFF", "2026-12-01", "1", "20.00"),
        ("RCUR", "2026-12-15", "1", "40.00"),
    ]
    assert control_sum_and_count(etree.tostring(root)) == (Decimal("100.00"), 4)


def test_b2b_scheme():
    root = parse(generate_pain008(creditor=CREDITOR, debits=[debit(1, "10.00")], scheme="B2B"))
    assert texts(root, ".//p:LclInstrm/p:Cd") == ["B2B"]


def test_creditor_without_bic_is_iban_only():
    root = parse(generate_pain008(creditor=replace(CREDITOR, bic=""), debits=[debit(1, "10.00")]))
    assert texts(root, ".//p:CdtrAgt//p:Othr/p:Id") == ["NOTPROVIDED"]


def test_output_is_valid_against_sepaxml_xsd_with_both_validators():
    debits = [debit(1, "10.00"), debit(2, "0.01", sequence_type="FRST")]
    fast = generate_pain008(creditor=CREDITOR, debits=debits, message_id="M1")
    slow = generate_pain008(
        creditor=CREDITOR, debits=debits, message_id="M1", xsd_validator="xmlschema"
    )
    schema = _schema("pain.008.001.08")
    assert schema.validate(etree.fromstring(fast))
    assert schema.validate(etree.fromstring(slow))
    assert control_sum_and_count(fast) == control_sum_and_count(slow) == (Decimal("10.01"), 2)


@pytest.mark.corpus
def test_corpus_pain008_is_valid_against_the_same_xsd(corpus_dir: Path):
    xml = (corpus_dir / "sepa" / "generated" / "pain.008.001.08.xml").read_bytes()
    assert _schema("pain.008.001.08").validate(etree.fromstring(xml))
    assert control_sum_and_count(xml) == (Decimal("1239.90"), 2)


def test_amount_with_three_decimals_is_refused():
    error = refusal(debits=[debit(1, "10.005")])
    assert error.code == "too_many_decimals"
    assert "RE-2026-00001" in error.message


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "1000000000.00"])
def test_amount_outside_the_sepa_range_is_refused(amount: str):
    assert refusal(debits=[debit(1, amount)]).code == "invalid_amount"


def test_float_amount_is_refused():
    floating = replace(debit(1, "1.00"), amount=1.5)  # type: ignore[arg-type]
    assert refusal(debits=[floating]).code == "invalid_amount"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"debtor_iban": "DE89370400440532013001"}, "invalid_iban"),
        ({"debtor_bic": "NOTABIC"}, "invalid_bic"),
        ({"end_to_end_id": "RE_2026_00001"}, "invalid_reference"),
        ({"end_to_end_id": "/RE-2026-00001"}, "invalid_reference"),
        ({"end_to_end_id": "RE//2026"}, "invalid_reference"),
        ({"end_to_end_id": "R" * 36}, "invalid_reference"),
        ({"mandate_reference": "MANDAT#1"}, "invalid_reference"),
        ({"mandate_reference": ""}, "invalid_reference"),
        ({"sequence_type": "LAST"}, "invalid_sequence_type"),
        ({"remittance_information": "x" * 141}, "invalid_text"),
        ({"debtor_name": "   "}, "invalid_text"),
        (
            {"debtor_address": PostalAddress(street_name="", postcode="1", town="B", country="DE")},
            "invalid_address",
        ),
        (
            {
                "debtor_address": PostalAddress(
                    street_name="A", postcode="1", town="B", country="Deutschland"
                )
            },
            "invalid_address",
        ),
    ],
)
def test_invalid_debit_is_refused(changes: dict[str, object], code: str):
    assert refusal(debits=[debit(1, "10.00", **changes)]).code == code


def test_invalid_creditor_id_is_refused():
    assert (
        refusal(creditor=replace(CREDITOR, creditor_id="DE98ZZZ09999999990")).code
        == "invalid_creditor_id"
    )


def test_duplicate_end_to_end_id_is_refused():
    assert refusal(debits=[debit(1, "10.00"), debit(1, "20.00")]).code == "duplicate_end_to_end_id"


def test_empty_batch_is_refused():
    assert refusal(debits=[]).code == "no_payments"


def test_unknown_scheme_is_refused():
    assert refusal(scheme="COR1").code == "invalid_scheme"


def test_invalid_message_id_is_refused():
    assert refusal(message_id="X" * 36).code == "invalid_reference"


def test_long_debtor_name_is_cut_to_70_characters():
    root = parse(
        generate_pain008(creditor=CREDITOR, debits=[debit(1, "1.00", debtor_name="A" * 80)])
    )
    assert texts(root, ".//p:Dbtr/p:Nm") == ["A" * 70]


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=1, max_value=99_999_999_999))
def test_to_cents_is_exact_for_every_two_decimal_amount(cents: int):
    amount = Decimal(cents).scaleb(-2)
    assert to_cents(amount, field="amount") == cents
    # The same value written without trailing zeros ("12.5", "1E+2") is the same amount.
    assert to_cents(amount.normalize(), field="amount") == cents


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=1, max_value=10**9), extra=st.integers(1, 9))
def test_to_cents_refuses_a_third_decimal(cents: int, extra: int):
    with pytest.raises(SepaFileError) as caught:
        to_cents(Decimal(cents * 10 + extra).scaleb(-3), field="amount")
    assert caught.value.code == "too_many_decimals"


@settings(max_examples=100, deadline=None)
@given(amounts=st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=20))
def test_control_sum_equals_the_sum_of_the_debits(amounts: list[int]):
    debits = [debit(n, str(Decimal(c).scaleb(-2))) for n, c in enumerate(amounts, start=1)]
    xml = generate_pain008(creditor=CREDITOR, debits=debits)
    assert control_sum_and_count(xml) == (Decimal(sum(amounts)).scaleb(-2), len(amounts))
