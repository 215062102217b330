"""pain.001.001.09 credit transfer files (refunds): content, XSD validity, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from faktura.banking.sepa.pain001 import CreditTransfer, Debtor, generate_pain001
from faktura.banking.sepa.pain008 import (
    PostalAddress,
    SepaFileError,
    _schema,
    control_sum_and_count,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}

DEBTOR = Debtor(
    name="Muster Software GmbH",
    iban="DE02120300000000202051",
    bic="BYLADEM1001",
    address=PostalAddress(
        street_name="Hauptstraße",
        building_number="1",
        postcode="10115",
        town="Berlin",
        country="DE",
    ),
)


def transfer(number: int, amount: str, **changes: object) -> CreditTransfer:
    base = CreditTransfer(
        end_to_end_id=f"GS-2026-{number:05d}",
        amount=Decimal(amount),
        creditor_name="Erika Müller",
        creditor_iban="DE75512108001245126199",
        remittance_information=f"Erstattung Gutschrift GS-2026-{number:05d}",
        execution_date=date(2026, 12, 4),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(path, NS)]


def refusal(**kwargs: object) -> SepaFileError:
    arguments: dict[str, object] = {"debtor": DEBTOR, "transfers": [transfer(1, "10.00")]}
    arguments.update(kwargs)
    with pytest.raises(SepaFileError) as caught:
        generate_pain001(**arguments)  # type: ignore[arg-type]
    return caught.value


def test_refund_file_content():
    xml = generate_pain001(
        debtor=DEBTOR,
        transfers=[
            transfer(7, "25.50"),
            transfer(
                8,
                "119.00",
                creditor_name="Kunde AG",
                creditor_iban="DE89370400440532013000",
                creditor_bic="COBADEFFXXX",
                creditor_address=PostalAddress(
                    street_name="Marktplatz",
                    building_number="5",
                    postcode="80331",
                    town="München",
                    country="DE",
                ),
            ),
        ],
        message_id="REFUND-2026-12",
    )
    root = etree.fromstring(xml)
    assert texts(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId") == ["REFUND-2026-12"]
    assert control_sum_and_count(xml) == (Decimal("144.50"), 2)
    assert texts(root, ".//p:PmtMtd") == ["TRF"]
    assert texts(root, ".//p:ReqdExctnDt/p:Dt") == ["2026-12-04"]
    assert texts(root, ".//p:DbtrAcct/p:Id/p:IBAN") == ["DE02120300000000202051"]
    assert texts(root, ".//p:Dbtr/p:PstlAdr/p:StrtNm") == ["Hauptstrasse"]
    assert texts(root, ".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId") == [
        "GS-2026-00007",
        "GS-2026-00008",
    ]
    assert texts(root, ".//p:CdtTrfTxInf/p:Amt/p:InstdAmt") == ["25.50", "119.00"]
    assert texts(root, ".//p:Cdtr/p:Nm") == ["Erika Mueller", "Kunde AG"]
    assert texts(root, ".//p:Cdtr/p:PstlAdr/p:TwnNm") == ["Muenchen"]
    assert texts(root, ".//p:CdtrAgt//p:BICFI") == ["COBADEFFXXX"]
    assert texts(root, ".//p:RmtInf/p:Ustrd") == [
        "Erstattung Gutschrift GS-2026-00007",
        "Erstattung Gutschrift GS-2026-00008",
    ]


def test_one_payment_block_per_execution_date():
    xml = generate_pain001(
        debtor=DEBTOR,
        transfers=[
            transfer(1, "1.00"),
            transfer(2, "2.00", execution_date=date(2026, 12, 10)),
            transfer(3, "3.00"),
        ],
    )
    root = etree.fromstring(xml)
    assert [
        (b.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS), b.findtext("p:CtrlSum", namespaces=NS))
        for b in root.iterfind(".//p:PmtInf", NS)
    ] == [("2026-12-04", "4.00"), ("2026-12-10", "2.00")]


def test_output_is_valid_against_sepaxml_xsd_with_both_validators():
    fast = generate_pain001(debtor=DEBTOR, transfers=[transfer(1, "10.00")])
    slow = generate_pain001(
        debtor=DEBTOR, transfers=[transfer(1, "10.00")], xsd_validator="xmlschema"
    )
    schema = _schema("pain.001.001.09")
    assert schema.validate(etree.fromstring(fast))
    assert schema.validate(etree.fromstring(slow))


@pytest.mark.corpus
def test_corpus_pain001_is_valid_against_the_same_xsd(corpus_dir: Path):
    xml = (corpus_dir / "sepa" / "generated" / "pain.001.001.09.xml").read_bytes()
    assert _schema("pain.001.001.09").validate(etree.fromstring(xml))
    total, count = control_sum_and_count(xml)
    assert count == 1
    assert total > 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": Decimal("25.505")}, "too_many_decimals"),
        ({"amount": Decimal("0")}, "invalid_amount"),
        ({"creditor_iban": "DE75512108001245126198"}, "invalid_iban"),
        ({"creditor_bic": "XX"}, "invalid_bic"),
        ({"end_to_end_id": "GS 2026 ä"}, "invalid_reference"),
        ({"remittance_information": "ü" * 71}, "invalid_text"),
        (
            {
                "creditor_address": PostalAddress(
                    street_name="A", postcode="1", town="", country="DE"
                )
            },
            "invalid_address",
        ),
    ],
)
def test_invalid_transfer_is_refused(changes: dict[str, object], code: str):
    assert refusal(transfers=[replace(transfer(1, "10.00"), **changes)]).code == code  # type: ignore[arg-type]


def test_debtor_address_is_required_structured():
    address = PostalAddress(street_name="Hauptstr. 1", postcode="", town="Berlin", country="DE")
    assert refusal(debtor=replace(DEBTOR, address=address)).code == "invalid_address"


def test_duplicate_end_to_end_id_and_empty_file_are_refused():
    assert (
        refusal(transfers=[transfer(1, "1.00"), transfer(1, "2.00")]).code
        == "duplicate_end_to_end_id"
    )
    assert refusal(transfers=[]).code == "no_payments"
