"""EPC QR code (GiroCode) payloads after EPC069-12 version 002."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from faktura.core.errors import InvalidInput
from faktura.documents.pdf.qr import EPC_MASK, epc_payload, epc_qr, epc_qr_svg

SELLER_IBAN = "DE02120300000000202051"


def _payload(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "name": "Muster Software GmbH",
        "iban": "DE02 1203 0000 0000 2020 51",
        "bic": "BYLADEM1001",
        "amount": Decimal("123.45"),
        "remittance": "RE-2026-00042",
    }
    arguments.update(overrides)
    return epc_payload(**arguments)  # type: ignore[arg-type]


def test_payload_has_the_eleven_lines_of_version_002():
    assert _payload().split("\n") == [
        "BCD",
        "002",
        "2",
        "SCT",
        "BYLADEM1001",
        "Muster Software GmbH",
        SELLER_IBAN,
        "EUR123.45",
        "",
        "",
        "RE-2026-00042",
    ]


def test_amount_always_has_two_decimals():
    assert _payload(amount=Decimal("1190")).split("\n")[7] == "EUR1190.00"
    assert _payload(amount=Decimal("1190.5")).split("\n")[7] == "EUR1190.50"
    assert _payload(amount=Decimal("0.01")).split("\n")[7] == "EUR0.01"


def test_bic_is_optional_in_version_002():
    assert _payload(bic="").split("\n")[4] == ""


def test_names_outside_latin_1_switch_to_utf_8():
    lines = _payload(name="Łukasz Żółć Consulting").split("\n")
    assert lines[2] == "1"
    assert lines[5] == "Łukasz Żółć Consulting"


def test_german_names_stay_in_latin_1():
    assert _payload(name="Müller & Söhne GmbH").split("\n")[2] == "2"


def test_long_name_and_remittance_are_cut_to_the_field_limits():
    lines = _payload(name="N" * 90, remittance="R" * 200).split("\n")
    assert lines[5] == "N" * 70
    assert lines[10] == "R" * 140


def test_invalid_iban_is_refused():
    with pytest.raises(InvalidInput) as error:
        _payload(iban="DE02120300000000202052")
    assert error.value.code == "invalid_iban"


def test_invalid_bic_is_refused():
    with pytest.raises(InvalidInput) as error:
        _payload(bic="BYLA")
    assert error.value.code == "invalid_bic"


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "1000000000.00"])
def test_amount_outside_the_allowed_range_is_refused(amount: str):
    with pytest.raises(InvalidInput) as error:
        _payload(amount=Decimal(amount))
    assert error.value.code == "invalid_amount"


def test_amount_with_three_decimals_is_refused():
    with pytest.raises(InvalidInput) as error:
        _payload(amount=Decimal("10.001"))
    assert error.value.code == "too_many_decimals"


def test_qr_code_uses_level_m_and_at_most_version_13():
    code = epc_qr(_payload(name="N" * 70, remittance="R" * 140))
    assert code.error == "M"
    assert isinstance(code.version, int)
    assert code.version <= 13


def test_svg_is_a_plain_svg_document():
    svg = epc_qr_svg(_payload())
    assert svg.startswith(b"<svg")
    assert b"<path" in svg


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")
def test_qr_image_decodes_to_the_payload(tmp_path: Path):
    payload = _payload(name="Müller & Söhne GmbH")
    image = tmp_path / "epc.png"
    epc_qr(payload).save(str(image), kind="png", scale=6)
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.decode("utf-8").rstrip("\n") == payload


def test_the_mask_is_fixed_and_the_level_stays_m():
    code = epc_qr(_payload())
    assert code.mask == EPC_MASK
    assert code.error == "M"


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"amount": Decimal("0.01"), "remittance": "GS-2026-00001"},
        {"amount": Decimal("999999999.99"), "bic": ""},
        {"name": "Łukasz Żółć Consulting", "remittance": "RE-2026-99999"},
        {"name": "N" * 70, "remittance": "R" * 140},
    ],
)
def test_qr_with_the_fixed_mask_decodes_for_short_and_long_payloads(tmp_path: Path, overrides):
    payload = _payload(**overrides)
    image = tmp_path / "epc.png"
    epc_qr(payload).save(str(image), kind="png", scale=4, border=4)
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.decode("utf-8").rstrip("\n") == payload


@pytest.mark.parametrize(
    "overrides",
    [{}, {"name": "Łukasz Żółć Consulting"}, {"name": "N" * 70, "remittance": "R" * 140}],
)
def test_svg_is_what_segno_writes_byte_for_byte(overrides):
    code = epc_qr(_payload(**overrides))
    reference = io.BytesIO()
    code.save(
        reference, kind="svg", border=0, scale=1, xmldecl=False, svgclass=None, lineclass=None
    )
    assert epc_qr_svg(_payload(**overrides)) == reference.getvalue()
