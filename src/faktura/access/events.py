"""Who hears that a customer's access status changed (active, restricted, blocked).

Each callable is called inside the transaction that changed the status, with
``(customer_id, old_status, new_status, reasons)``; ``reasons`` is the list of the active
block reasons after the change (as ``faktura.access.selectors.reasons`` gives them). The
outgoing webhooks register their ``customer.access_changed`` event here; an exception
raised by a listener rolls the change back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

AccessListener = Callable[[int, str, str, list[dict[str, Any]]], None]

ACCESS_CHANGED: list[AccessListener] = []


def notify(customer_id: int, old: str, new: str, reasons: list[dict[str, Any]]) -> None:
    for listener in list(ACCESS_CHANGED):
        listener(customer_id, old, new, reasons)
