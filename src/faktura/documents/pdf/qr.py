"""EPC QR code ("GiroCode") for SEPA credit transfers, printed on invoices paid by transfer.

The payload follows EPC069-12 version 002. Faktura builds it itself rather than with
``segno.helpers.make_epc_qr`` because segno writes ``EUR1190`` for 1190.00, while the
guideline's examples always carry cents (``EUR123.45``); two decimals are what banking apps
are known to read. segno only draws the symbol.
"""

from __future__ import annotations

import re
from decimal import Decimal

import segno
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from faktura.core.errors import InvalidInput
from faktura.core.money import CENT

# EPC069-12 § 3.4: field limits of version 002.
MAX_NAME = 70
MAX_REMITTANCE = 140
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
# EPC069-12 § 3.3: error correction level M, at most version 13 (331 bytes of payload).
MAX_VERSION = 13
MAX_PAYLOAD_BYTES = 331
# A fixed data mask (ISO/IEC 18004 § 7.8). Every reader decodes all eight masks; choosing
# the one with the lowest penalty score costs segno about 5 ms per symbol (eight masks
# applied and scored), a quarter of a document's render. Mask 6 is the one segno's search
# picks for most EPC payloads of Faktura's invoices (about 70 % of them), so the symbols
# look as they did.
EPC_MASK = 6


def epc_payload(
    *,
    name: str,
    iban: str,
    amount: Decimal,
    remittance: str,
    bic: str = "",
) -> str:
    """Build the EPC QR payload (version 002) for a credit transfer of ``amount`` euros.

    ``remittance`` goes into the unstructured remittance field (the invoice number, so the
    bank statement can be matched); the structured creditor reference stays empty because
    the guideline allows only one of the two. Long names are cut to 70 characters: the bank
    routes by IBAN, and a long company name must not keep an invoice from being rendered.

    Raises InvalidInput for an invalid IBAN or BIC and for an amount outside
    0.01 … 999,999,999.99 or with more than two decimals.
    """
    try:
        checked_iban = IBAN(iban)
    except SchwiftyException as exc:
        raise InvalidInput(f"IBAN {iban!r} is not valid: {exc}", code="invalid_iban") from None
    checked_bic = ""
    if bic:
        try:
            checked_bic = BIC(bic).compact
        except SchwiftyException as exc:
            raise InvalidInput(f"BIC {bic!r} is not valid: {exc}", code="invalid_bic") from None
    if amount != amount.quantize(CENT):
        raise InvalidInput(f"{amount} has more than two decimals", code="too_many_decimals")
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise InvalidInput(
            f"EPC QR amounts must lie between {MIN_AMOUNT} and {MAX_AMOUNT}, not {amount}",
            code="invalid_amount",
        )
    clean_name = " ".join(name.split())[:MAX_NAME]
    if not clean_name:
        raise InvalidInput("The beneficiary name must not be empty", code="missing_name")
    clean_remittance = " ".join(remittance.split())[:MAX_REMITTANCE]
    # Character set 2 (ISO 8859-1) covers German names and keeps the symbol small; anything
    # beyond it is sent as UTF-8 (1). The bytes handed to segno must match (see epc_qr).
    charset = "2" if _fits_latin1(clean_name + clean_remittance) else "1"
    lines = [
        "BCD",  # service tag
        "002",  # version: BIC optional inside the EEA
        charset,
        "SCT",  # SEPA credit transfer
        checked_bic,
        clean_name,
        checked_iban.compact,
        f"EUR{amount.quantize(CENT):f}",
        "",  # purpose code (none)
        "",  # structured reference (RF…), never together with the text below
        clean_remittance,
    ]
    return "\n".join(lines)


def _fits_latin1(text: str) -> bool:
    try:
        text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return False
    return True


def epc_qr(payload: str) -> segno.QRCode:
    """Encode an EPC payload as a QR code (level M, byte mode, no ECI), per EPC069-12 § 3.3.

    Raises ValueError when the payload does not fit into version 13.
    """
    encoding = "iso-8859-1" if payload.split("\n")[2] == "2" else "utf-8"
    data = payload.encode(encoding)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"EPC payload has {len(data)} bytes, at most {MAX_PAYLOAD_BYTES} allowed")
    # Bytes, not str: segno would otherwise pick its own encoding, which may differ from the
    # character set declared in line 3. boost_error stays off: the guideline fixes level M.
    code = segno.make_qr(data, error="m", boost_error=False, mode="byte", mask=EPC_MASK)
    if not isinstance(code.version, int) or code.version > MAX_VERSION:
        raise ValueError(f"EPC QR code needs version {code.version}, at most 13 allowed")
    return code


def epc_qr_svg(payload: str) -> bytes:
    """Render the EPC QR code as a compact SVG for the PDF template (no quiet zone: the
    template keeps at least four modules of white space around it)."""
    return svg_of(epc_qr(payload))


_DARK_RUN = re.compile(b"\x01+")


def svg_of(code: segno.QRCode) -> bytes:
    """The SVG segno writes for ``save(kind="svg", border=0, scale=1, xmldecl=False,
    svgclass=None, lineclass=None)``, byte for byte, in less than half the time.

    One path stroked 1 unit wide: every run of dark modules is a horizontal line through
    the middle of its row, each move relative to the end of the previous line.
    """
    width, height = (int(size) for size in code.symbol_size(scale=1, border=0))
    # One light module after each row keeps runs from crossing into the next row.
    modules = b"\x00".join(bytes(row) for row in code.matrix)
    stride = width + 1
    parts: list[str] = []
    x, row = 0, 0
    for run in _DARK_RUN.finditer(modules):
        start, end = run.span()
        line = start // stride
        start, end = start - line * stride, end - line * stride
        # The first move goes to the middle of its row (y = 0.5 for a QR code), the others
        # down by whole rows.
        dy = f"{line + 0.5}" if not parts else str(line - row)
        parts.append(f"{start - x} {dy}h{end - start}")
        x, row = end, line
    path = "M" + "m".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<path stroke="#000" d="{path}"/></svg>\n'
    ).encode("ascii")
