"""The stable error codes of access (blocks and overrides).

code → (HTTP status, when it happens); merged into ``faktura.api.errors.ERROR_CODES``.
Imports nothing, so the API can import it.
"""

from __future__ import annotations

ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_access_reason": (
        422,
        "Not a block reason (dunning_level, returned_debit, chargeback, collection, manual).",
    ),
    "invalid_access_effect": (422, "Not a block effect (restrict, block)."),
    "access_block_not_found": (404, "No access block with this id."),
    "access_block_ended": (409, "The access block has ended already."),
    "override_in_the_past": (422, "An override cannot end before today."),
    "access_override_not_found": (404, "No access override with this id."),
    "access_override_ended": (409, "The access override has ended already."),
}
