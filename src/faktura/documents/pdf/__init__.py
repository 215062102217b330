"""PDF documents: Typst layout, PDF/A-3b with the embedded e-invoice, EPC QR codes.

``render_pdf`` is the one entry point the document pipeline calls; the rest is public for
tests, the benchmark and the letterhead settings.
"""

from faktura.documents.pdf.letterhead import Asset, Letterhead
from faktura.documents.pdf.qr import epc_payload, epc_qr, epc_qr_svg
from faktura.documents.pdf.render import render_pdf, reset_compiler

__all__ = [
    "Asset",
    "Letterhead",
    "epc_payload",
    "epc_qr",
    "epc_qr_svg",
    "render_pdf",
    "reset_compiler",
]
