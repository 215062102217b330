"""E-invoices (EN 16931): CII for ZUGFeRD/Factur-X and XRechnung, UBL for XRechnung.

Writers take a frozen ``DocumentSnapshot`` and return bytes; ``validate`` checks any CII or
UBL document offline against XSD, the CEN EN 16931 rules and the KoSIT XRechnung rules.
"""

from faktura.documents.einvoice.cii import build_cii
from faktura.documents.einvoice.ubl import build_ubl
from faktura.documents.einvoice.validation import ValidationReport, validate

__all__ = ["ValidationReport", "build_cii", "build_ubl", "validate"]
