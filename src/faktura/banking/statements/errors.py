"""The one error a bank file parser raises: a clear message, a stable code and a location."""

from __future__ import annotations

from faktura.core.errors import InvalidInput

# Stable codes; front doors and tests rely on them, so only ever add to this list.
TRUNCATED_XML = "truncated_xml"
MALFORMED_XML = "malformed_xml"
WRONG_NAMESPACE = "wrong_namespace"
UNKNOWN_VERSION = "unknown_version"
WRONG_CURRENCY = "wrong_currency"
TOO_MANY_DECIMALS = "too_many_decimals"
INVALID_AMOUNT = "invalid_amount"
INVALID_STATEMENT = "invalid_statement"
MALFORMED_MT940 = "malformed_mt940"
CSV_MAPPING_MISMATCH = "csv_mapping_mismatch"
CSV_MAPPING_REQUIRED = "csv_mapping_required"
NOT_A_STATEMENT = "not_a_statement"
EMPTY_FILE = "empty_file"
MULTIPLE_ACCOUNTS = "multiple_accounts"


class StatementParseError(InvalidInput):
    """A bank file that cannot be read as what it claims to be; nothing was imported.

    ``code`` is one of the constants above, ``location`` says where (``"line 12"``,
    ``"Ntry/Amt, line 40"``, ``"row 3, column Betrag"``) or is empty when the whole file
    is at fault. The message already contains the location.
    """

    def __init__(self, message: str, *, code: str, location: str = "") -> None:
        full = f"{message} ({location})" if location else message
        super().__init__(full, code=code, field=None)
        self.location = location
