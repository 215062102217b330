"""`faktura check`: the amounts PostgreSQL keeps for the open items equal a recomputation.

``InvoiceOpenNow`` and ``PaymentCreditNow`` are kept by triggers (migration reporting
0004). Rows written while the triggers were missing (a restore without them, a hand-made
change with triggers disabled) would make the open items and the aging miss an item; so
the check recomputes every amount and names each one that differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from faktura.core.grouped_join import join_sums
from faktura.core.money import ZERO
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments import claims
from faktura.payments.models import Allocation, Payment, ReturnEvent

REBUILD = "`faktura migrate reporting 0003` and then `faktura migrate` compute them anew"
LIMIT = 20


def kept_amount_problems() -> Iterator[str]:
    if connection.vendor != "postgresql":
        return
    invoices = (
        with_open_amounts(Invoice.objects.filter(status=Status.FINALIZED, kind=Kind.INVOICE))
        .annotate(kept_open=F("open_now__open_amount"), kept_credited=F("open_now__credited"))
        .filter(
            Q(kept_open__isnull=True)
            | ~Q(kept_open=F("open_amount"))
            | ~Q(kept_credited=F("credited_amount"))
        )
        .order_by("pk")
        .values_list("number", "kept_open", "open_amount")
    )
    for number, kept, recomputed in invoices[:LIMIT]:
        yield (
            f"invoice {number}: the open amount kept for the reports is {_shown(kept)}, recomputed "
            f"{recomputed}; {REBUILD}."
        )
    for pk, kept, recomputed in _payments_differing()[:LIMIT]:
        yield (
            f"payment {pk}: the unallocated amount kept for the reports is {_shown(kept)}, "
            f"recomputed "
            f"{recomputed}; {REBUILD}."
        )


def _payments_differing() -> list[tuple[int, Any, Any]]:
    payments = Payment.objects.all()
    groups = {
        "check_allocated": (
            Allocation.objects.filter(reversed_at__isnull=True)
            .values("payment_id")
            .annotate(total=Sum("amount")),
            "payment_id",
        ),
        "check_returned": (
            ReturnEvent.objects.values("payment_id").annotate(total=Sum("amount")),
            "payment_id",
        ),
    }
    ledger = claims.ledger()
    if ledger is not None:
        groups["check_costs"] = (
            ledger.active_allocations()
            .model.objects.filter(reversed_at__isnull=True)
            .values("payment_id")
            .annotate(total=Sum("amount")),
            "payment_id",
        )
    sums = join_sums(payments, groups, restrict=False)
    recomputed: Any = F("amount")
    for column in sums.values():
        recomputed = recomputed - _or_zero(column)
    return list(
        payments.annotate(recomputed=recomputed, kept=F("credit_now__unallocated"))
        .filter(Q(kept__isnull=True) | ~Q(kept=F("recomputed")))
        .order_by("pk")
        .values_list("pk", "kept", "recomputed")[: LIMIT + 1]
    )


def _or_zero(column: Any) -> Any:
    return Coalesce(column, Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2))


def _shown(kept: Any) -> str:
    return "missing" if kept is None else str(kept)
