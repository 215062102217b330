"""Dunning costs as payable claims: the ledger the payment bookings ask (``payments.claims``).

Cost claims are the dunning fees, EUR 40 flat fees and interest periods (``DunningFee``)
of notices that went out (or were approved), and the returned-debit fees
(``payments.FeeItem``) that notices list. A claim's open amount is its amount minus its
active ``CostAllocation`` rows; a claim with nothing open is paid (``paid_at`` set, the fee
item's state ``paid``) in the same transaction as the booking. Waived fees and cancelled
fee items are no claims.

A notice is named in a payment by its reference (``DunningNotice.reference``,
``M-2026-000123``), as printed on the letter, in the EPC QR code and in the mail. Banks and
payers mangle it (spaces, no hyphens, lower case); ``find_references`` reads those too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from faktura.core import audit, bulk
from faktura.core.actors import Actor
from faktura.core.money import ZERO, round_money
from faktura.dunning.models import CostAllocation, DunningFee, DunningNotice, DunningNoticeItem
from faktura.payments.claims import COSTS, INTEREST, CostClaim, NoticeClaims
from faktura.payments.models import FeeItem

# M-2026-000123, also "M 2026 000123", "m2026000123" (the id has six digits or more).
_REFERENCE = re.compile(r"(?<![A-Za-z0-9])M[-\s]?(\d{4})[-\s]?(\d{6,9})(?!\d)", re.IGNORECASE)
# Notices whose costs are claimed: a proposal waiting for review claims nothing yet.
_CLAIMING = (DunningNotice.Status.APPROVED, DunningNotice.Status.SENT)
_FEE_ITEM_OPEN = (FeeItem.State.OPEN, FeeItem.State.BILLED)
_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


def find_references(text: str) -> list[tuple[int, int]]:
    """The (year, notice id) pairs named in ``text``, in order, each once."""
    found: list[tuple[int, int]] = []
    for match in _REFERENCE.finditer(text or ""):
        pair = (int(match.group(1)), int(match.group(2)))
        if pair not in found:
            found.append(pair)
    return found


def _claimed_fees() -> QuerySet[DunningFee]:
    return DunningFee.objects.filter(
        Q(notice__isnull=True) | Q(notice__status__in=_CLAIMING),
        paid_at__isnull=True,
        waived_at__isnull=True,
    )


def allocated_to_fees(fee_ids: Iterable[int]) -> dict[int, Decimal]:
    """What active allocations paid of each dunning fee (missing: nothing)."""
    fee_ids = list(fee_ids)
    if not fee_ids:
        return {}
    rows = (
        CostAllocation.objects.filter(
            bulk.column_in(CostAllocation, "fee", list(fee_ids)), reversed_at__isnull=True
        )
        .order_by()
        .values("fee_id")
        .annotate(total=Sum("amount"))
        .values_list("fee_id", "total")
    )
    return {fee_id: round_money(total) for fee_id, total in rows}


def allocated_to_fee_items(item_ids: Iterable[int]) -> dict[int, Decimal]:
    item_ids = list(item_ids)
    if not item_ids:
        return {}
    rows = (
        CostAllocation.objects.filter(
            bulk.column_in(CostAllocation, "fee_item", list(item_ids)), reversed_at__isnull=True
        )
        .order_by()
        .values("fee_item_id")
        .annotate(total=Sum("amount"))
        .values_list("fee_item_id", "total")
    )
    return {item_id: round_money(total) for item_id, total in rows}


def with_paid_amounts(queryset: QuerySet[DunningFee]) -> QuerySet[DunningFee]:
    """Annotate ``paid_amount``: what active allocations covered of each fee."""
    paid = (
        CostAllocation.objects.filter(fee=OuterRef("pk"), reversed_at__isnull=True)
        .order_by()
        .values("fee")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return queryset.annotate(
        paid_amount=Coalesce(Subquery(paid, output_field=_MONEY), Value(ZERO), output_field=_MONEY)
    )


class DunningCostLedger:
    """The ``payments.claims.CostLedger`` of the dunning app."""

    def charges(self, customer_id: int) -> QuerySet[Any]:
        claims = DunningFee.objects.filter(
            Q(notice__isnull=True) | Q(notice__status__in=_CLAIMING), customer_id=customer_id
        )
        return with_paid_amounts(claims)

    def open_total(self, customer_id: int) -> Decimal:
        claims = self.open_claims([customer_id], lock=False).get(customer_id, [])
        return round_money(sum((claim.open_amount for claim in claims), ZERO))

    def active_allocations(self) -> QuerySet[Any]:
        return CostAllocation.objects.filter(reversed_at__isnull=True)

    def open_claims(
        self, customer_ids: Iterable[int], *, lock: bool = True
    ) -> dict[int, list[CostClaim]]:
        ids = sorted(set(customer_ids))
        claims: dict[int, list[CostClaim]] = {}
        if not ids:
            return claims
        fees_qs = _claimed_fees().filter(customer_id__in=ids).order_by("pk")
        items_qs = FeeItem.objects.filter(customer_id__in=ids, state__in=_FEE_ITEM_OPEN)
        if lock:
            # Outer join to the notice: lock the fee rows only (PostgreSQL refuses the
            # nullable side of an outer join).
            fees_qs = fees_qs.select_for_update(of=("self",))
            items_qs = items_qs.select_for_update()
        fees = list(
            fees_qs.only(
                "pk", "customer_id", "invoice_id", "kind", "amount", "period_start", "created_at"
            )
        )
        items = list(
            items_qs.order_by("pk").only("pk", "customer_id", "invoice_id", "amount", "created_at")
        )
        if not fees and not items:
            return claims
        paid = allocated_to_fees(f.pk for f in fees)
        paid_items = allocated_to_fee_items(i.pk for i in items)
        costs: list[tuple[tuple[Any, ...], CostClaim]] = []
        for fee in fees:
            is_interest = fee.kind == DunningFee.Kind.INTEREST
            claim = CostClaim(
                key=("dunning_fee", fee.pk),
                kind=INTEREST if is_interest else COSTS,
                customer_id=fee.customer_id,
                open_amount=fee.amount - paid.get(fee.pk, ZERO),
                invoice_id=fee.invoice_id,
                label=fee.kind,
            )
            # Interest periods oldest first; costs in the order they were charged (dunning
            # fees before return fees of the same moment; ids only within one table).
            order = (
                (1, fee.period_start or dt.date.min, fee.created_at, 0, fee.pk)
                if is_interest
                else (0, dt.date.min, fee.created_at, 0, fee.pk)
            )
            costs.append((order, claim))
        for item in items:
            claim = CostClaim(
                key=("fee_item", item.pk),
                kind=COSTS,
                customer_id=item.customer_id,
                open_amount=item.amount - paid_items.get(item.pk, ZERO),
                invoice_id=item.invoice_id,
                label="returned_debit_fee",
            )
            costs.append(((0, dt.date.min, item.created_at, 1, item.pk), claim))
        for _, claim in sorted(costs, key=lambda entry: (entry[1].customer_id, entry[0])):
            if claim.open_amount > 0:
                claims.setdefault(claim.customer_id, []).append(claim)
        return claims

    def notices(self, texts: Iterable[str]) -> dict[str, NoticeClaims]:
        wanted: dict[str, list[tuple[int, int]]] = {}
        for text in texts:
            if found := find_references(text):
                wanted[text] = found
        if not wanted:
            return {}
        ids = {notice_id for pairs in wanted.values() for _, notice_id in pairs}
        notices = {
            n.pk: n
            for n in DunningNotice.objects.filter(pk__in=ids, status__in=_CLAIMING).only(
                "pk", "customer_id", "notice_date", "return_fees", "total"
            )
        }
        invoices: dict[int, list[int]] = defaultdict(list)
        for notice_id, invoice_id in (
            DunningNoticeItem.objects.filter(notice_id__in=list(notices))
            .order_by("due_date", "pk")
            .values_list("notice_id", "invoice_id")
        ):
            invoices[notice_id].append(invoice_id)
        result: dict[str, NoticeClaims] = {}
        for text, pairs in wanted.items():
            for year, notice_id in pairs:
                notice = notices.get(notice_id)
                if notice is None or notice.notice_date.year != year:
                    continue  # an unknown or mistyped reference names nothing
                result[text] = self._notice_claims(notice, tuple(invoices[notice_id]))
                break
        return result

    @staticmethod
    def _notice_claims(notice: DunningNotice, invoice_ids: tuple[int, ...]) -> NoticeClaims:
        """The notice's costs: its own fees, the open costs of its invoices (earlier
        notices' fees and interest stay on it) and the returned-debit fees it lists."""
        fee_ids = _claimed_fees().filter(
            Q(notice_id=notice.pk)
            | Q(invoice_id__in=invoice_ids)
            | Q(invoice__isnull=True, notice__items__invoice_id__in=invoice_ids)
        )
        keys = {("dunning_fee", pk) for pk in fee_ids.values_list("pk", flat=True)}
        keys |= {("fee_item", int(r["fee_item"])) for r in notice.return_fees or []}
        return NoticeClaims(
            notice_id=notice.pk,
            reference=notice.reference,
            customer_id=notice.customer_id,
            invoice_ids=invoice_ids,
            cost_keys=frozenset(keys),
            total=notice.total,
        )

    def pay(
        self,
        parts: Sequence[tuple[int, CostClaim, Decimal]],
        *,
        actor: Actor,
        now: dt.datetime,
    ) -> list[audit.PendingEntry]:
        if not parts:
            return []
        rows = [
            CostAllocation(
                payment_id=payment_id,
                fee_id=claim.key[1] if claim.key[0] == "dunning_fee" else None,
                fee_item_id=claim.key[1] if claim.key[0] == "fee_item" else None,
                amount=amount,
                created_at=now,
                created_by=actor.label,
            )
            for payment_id, claim, amount in parts
        ]
        CostAllocation.objects.bulk_create(rows)
        fee_ids = {c.key[1] for _, c, _ in parts if c.key[0] == "dunning_fee"}
        item_ids = {c.key[1] for _, c, _ in parts if c.key[0] == "fee_item"}
        paid = allocated_to_fees(fee_ids)
        covered = [
            f.pk
            for f in DunningFee.objects.filter(pk__in=fee_ids).only("pk", "amount")
            if paid.get(f.pk, ZERO) >= f.amount
        ]
        DunningFee.objects.filter(pk__in=covered).update(paid_at=now)
        paid_items = allocated_to_fee_items(item_ids)
        covered_items = [
            i.pk
            for i in FeeItem.objects.filter(pk__in=item_ids).only("pk", "amount")
            if paid_items.get(i.pk, ZERO) >= i.amount
        ]
        FeeItem.objects.filter(pk__in=covered_items).update(state=FeeItem.State.PAID)
        done = {("dunning_fee", pk) for pk in covered} | {("fee_item", pk) for pk in covered_items}
        return [
            audit.PendingEntry(
                chain=audit.customer_chain(claim.customer_id),
                action="dunning_cost.allocated",
                object_type="cost_allocation",
                object_id=row.pk,
                data={
                    "payment": payment_id,
                    "claim": claim.key[0],
                    "claim_id": claim.key[1],
                    "kind": claim.label,
                    "amount": amount,
                    "paid": claim.key in done,
                },
            )
            for row, (payment_id, claim, amount) in zip(rows, parts, strict=True)
        ]

    def reverse(
        self, payment_id: int, *, actor: Actor, now: dt.datetime
    ) -> list[audit.PendingEntry]:
        rows = list(
            CostAllocation.objects.select_for_update()
            .filter(payment_id=payment_id, reversed_at__isnull=True)
            .order_by("pk")
        )
        if not rows:
            return []
        CostAllocation.objects.filter(pk__in=[r.pk for r in rows]).update(reversed_at=now)
        # A claim the payment had paid is open again (what other payments paid of it stays).
        fee_ids = {r.fee_id for r in rows if r.fee_id is not None}
        item_ids = {r.fee_item_id for r in rows if r.fee_item_id is not None}
        DunningFee.objects.filter(pk__in=fee_ids, paid_at__isnull=False).update(paid_at=None)
        FeeItem.objects.filter(pk__in=item_ids, state=FeeItem.State.PAID).update(
            state=FeeItem.State.OPEN
        )
        owners = {
            ("dunning_fee", pk): customer_id
            for pk, customer_id in DunningFee.objects.filter(pk__in=fee_ids).values_list(
                "pk", "customer_id"
            )
        } | {
            ("fee_item", pk): customer_id
            for pk, customer_id in FeeItem.objects.filter(pk__in=item_ids).values_list(
                "pk", "customer_id"
            )
        }
        entries = []
        for row in rows:
            key = _claim_key(row)
            entries.append(
                audit.PendingEntry(
                    chain=audit.customer_chain(owners[key]),
                    action="dunning_cost.allocation_reversed",
                    object_type="cost_allocation",
                    object_id=row.pk,
                    data={
                        "payment": payment_id,
                        "claim": key[0],
                        "claim_id": key[1],
                        "amount": row.amount,
                    },
                )
            )
        return entries


def _claim_key(row: CostAllocation) -> tuple[str, int]:
    if row.fee_id is not None:
        return ("dunning_fee", row.fee_id)
    assert row.fee_item_id is not None  # exactly one of them (CostAllocation)
    return ("fee_item", row.fee_item_id)
