"""The stable error codes of statement import and the bank-transaction to-do list.

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``
so that the OpenAPI schema lists them. Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "truncated_xml": (422, "The statement file ends too early."),
    "malformed_xml": (422, "The statement file is not well-formed XML."),
    "wrong_namespace": (422, "Not a camt.052/053/054 document."),
    "unknown_version": (422, "A camt version Faktura does not read."),
    "wrong_currency": (422, "The statement is not in EUR."),
    "invalid_statement": (422, "A required part of the statement is missing."),
    "malformed_mt940": (422, "The MT940 file cannot be read."),
    "csv_mapping_mismatch": (422, "The CSV file does not fit the chosen column mapping."),
    "csv_mapping_required": (422, "A CSV file needs a column mapping (csv_mapping)."),
    "csv_mapping_not_found": (422, "No CSV column mapping with this name or id."),
    "csv_mapping_invalid": (422, "The saved CSV column mapping is not usable."),
    "not_a_statement": (422, "Not a camt, MT940 or CSV statement."),
    "empty_file": (422, "The uploaded file is empty."),
    "multiple_accounts": (422, "The file holds statements of several accounts."),
    "file_too_large": (422, "The uploaded file is larger than allowed."),
    "bank_transaction_not_found": (404, "No bank transaction with this id."),
    "bank_statement_not_found": (404, "No bank statement with this id."),
    "bank_transaction_not_open": (409, "The bank transaction is booked or being booked."),
    "bank_transaction_not_incoming": (409, "Only incoming payments can be assigned."),
    "bank_transaction_not_booked": (409, "The bank has not booked the transaction yet."),
    "allocations_exceed_transaction": (422, "The allocations exceed the transaction's amount."),
    "no_transactions": (422, "Name at least one bank transaction."),
    "duplicate_transaction": (422, "A bank transaction is named twice."),
    # Stored as the note of a line whose booking was refused (it waits on the to-do list).
    "direct_debit_not_settled": (409, "The direct debit of the line was not settled."),
}
