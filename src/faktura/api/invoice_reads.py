"""Invoice resources at volume: a finalized invoice's fixed part is presented once; what
may still change is read per request, for a page in one query.

A finalized invoice changes afterwards only in ``delivery_status`` and ``delivery_error``
(``Invoice.MUTABLE_AFTER_FINALIZATION``, enforced by the model). The rest of its
resource that moves — open amount, payment status, overdue, dispute — follows from its
corrections, allocations, write-offs and disputes. So the resource's JSON is stored at
its first read as a template with "%s" where those values go (``InvoiceResource``), and
one query reads, for the invoices of a request, the stored templates with the sums and
flags that fill them (:func:`settlement_rows`): a detail or a page of 20 costs one query.

Only finalized documents without an open dispute take this path: invoices, and
corrections, whose open amount and status are their share against their original
(``selectors.correction_shares``, read for the corrections of a page at once).
Drafts and disputed invoices are presented in full by ``presenters``. The bodies are
byte for byte the same: ``tests/api/test_invoice_reads.py`` compares them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic_core import to_json

from faktura.api import schemas
from faktura.core import clock, prepared
from faktura.core.models import DEFAULT_TIME_ZONE, Company
from faktura.core.money import format_amount, round_money
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice, Kind, Status

# The fields filled per request, in the order of InvoiceOut. ``disputed`` and ``dispute``
# are stored as they are (false, null): a disputed invoice is presented in full.
MOVING = ("open_amount", "payment_status", "overdue", "delivery_status", "delivery_error")
NOTHING = Decimal("0.00")
# A correction without siblings' figures (no original): nothing applied, nothing owed back.
NO_SHARE = selectors.CorrectionShare(applied=NOTHING, refund_due=NOTHING)
# Placeholders no stored text contains: private-use characters, which every text field
# refuses (core.text); a resource whose JSON holds one anyway is not stored.
MARKS = tuple(to_json(f"\ue000{n}\ue001").decode() for n in range(len(MOVING)))
# The stored form is a %-template of the JSON, so that one C-level format fills it.
FORM = b"%-template"


@cache
def version() -> str:
    """The resource schema's fingerprint: a stored form of another schema is not used."""
    schema = json.dumps(schemas.InvoiceOut.model_json_schema(), sort_keys=True).encode()
    return hashlib.sha256(schema + "".join(MARKS).encode() + FORM).hexdigest()[:16]


def template(resource: schemas.InvoiceOut) -> str | None:
    """The resource's JSON with "%" doubled and "%s" for each of MOVING, in its order; or
    None if it cannot be cut so."""
    update = {name: json.loads(mark) for name, mark in zip(MOVING, MARKS, strict=True)}
    # The marks stand in for a boolean too: pydantic writes them as the strings they are
    # (warnings off).
    text = resource.model_copy(update=update).model_dump_json(warnings=False)
    places = [text.find(mark) for mark in MARKS]
    if any(text.count(mark) != 1 for mark in MARKS) or places != sorted(places):
        return None
    text = text.replace("%", "%%")
    for mark in MARKS:
        text = text.replace(mark, "%s")
    return text


def fill(stored: str, values: tuple[Any, ...]) -> bytes:
    """The body: the ``stored`` template filled with the values' JSON."""
    return stored.encode() % tuple(map(to_json, values))


def remember(resources: list[schemas.InvoiceOut]) -> None:
    """Store the templates of resources ``presenters`` made, those that may be stored."""
    from faktura.api.models import InvoiceResource

    rows = [
        InvoiceResource(invoice_id=resource.id, version=version(), template=text)
        for resource in resources
        if resource.status == Status.FINALIZED
        and not resource.disputed
        and (text := template(resource)) is not None
    ]
    if rows:
        # Another process may store the same at once; an older schema's row is replaced.
        InvoiceResource.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["invoice"],
            update_fields=["version", "template"],
        )


@dataclass(frozen=True, slots=True)
class SettlementRow:
    invoice_id: int
    status: str
    kind: str
    original_id: int | None
    due_date: dt.date | None
    payable: Decimal
    delivery_status: str
    delivery_error: str
    credited: Decimal
    allocated: Decimal
    written_off: Decimal
    cancelled: bool
    disputed: bool
    template: str | None
    today: dt.date

    @classmethod
    def of(cls, row: tuple[Any, ...], today: dt.date) -> SettlementRow:
        return cls(
            invoice_id=row[0],
            status=row[1],
            kind=row[2],
            original_id=row[3],
            due_date=_date(row[4]),
            payable=_money(row[5]),
            delivery_status=row[6],
            delivery_error=row[7],
            credited=_money(row[8]),
            allocated=_money(row[9]),
            written_off=_money(row[10]),
            cancelled=bool(row[11]),
            disputed=bool(row[12]),
            template=row[13],
            today=today,
        )

    @property
    def stored(self) -> bool:
        """Its JSON may be filled from the stored form (else: present it in full)."""
        return self.template is not None and self.fillable

    @property
    def fillable(self) -> bool:
        return self.status == Status.FINALIZED and not self.disputed

    @property
    def correction(self) -> bool:
        return self.kind != Kind.INVOICE

    def moving_values(self, shares: dict[int, selectors.CorrectionShare]) -> tuple[Any, ...]:
        """The values of MOVING, as ``presenters.invoice`` computes them; ``shares``: those
        of the corrections among the rows (``selectors.correction_shares``)."""
        if self.correction:
            # Not a receivable: applied to its original, or owed back; never overdue.
            share = shares.get(self.invoice_id, NO_SHARE)
            open_amount, status, overdue = share.refund_due, share.status, False
        else:
            open_amount = round_money(
                self.payable - self.credited - self.allocated - self.written_off
            )
            status = selectors.payment_status(
                payable=self.payable,
                credited=self.credited,
                allocated=self.allocated,
                cancelled=self.cancelled,
            )
            overdue = selectors.is_overdue(
                due_date=self.due_date, open_amount=open_amount, today=self.today
            )
        return (
            format_amount(open_amount),
            status,
            overdue,
            self.delivery_status,
            self.delivery_error,
        )

    def json(self, shares: dict[int, selectors.CorrectionShare]) -> bytes:
        """The resource's JSON from its stored form (only if ``stored``)."""
        return fill(self.template or "", self.moving_values(shares))


@cache
def _select() -> str:
    """The query's head: columns and correlated sums (a handful of rows each, by index)."""
    from faktura.api.models import InvoiceResource
    from faktura.payments.models import Allocation, Dispute, WriteOff

    invoice = Invoice._meta.db_table
    allocation = Allocation._meta.db_table
    write_off = WriteOff._meta.db_table
    dispute = Dispute._meta.db_table
    stored = InvoiceResource._meta.db_table
    company = Company._meta.db_table
    finalized = f"'{Status.FINALIZED.value}'"
    cancellation = f"'{Kind.CANCELLATION.value}'"
    # Table names and our own constants only; every value is a parameter.
    return (
        "SELECT i.id, i.status, i.kind, i.original_id, i.due_date, i.payable_amount, "  # noqa: S608
        "i.delivery_status, i.delivery_error, "
        f"(SELECT SUM(c.grand_total) FROM {invoice} c "
        f"WHERE c.original_id = i.id AND c.status = {finalized}) AS credited, "
        f"(SELECT SUM(a.amount) FROM {allocation} a "
        f"WHERE a.invoice_id = i.id AND a.reversed_at IS NULL) AS allocated, "
        f"(SELECT SUM(w.amount) FROM {write_off} w "
        f"WHERE w.invoice_id = i.id AND w.reversed_at IS NULL) AS written_off, "
        # Not EXISTS: PostgreSQL may hash an EXISTS over every finalized document; a
        # lookup per row by index is what a page of twenty needs.
        f"(SELECT 1 FROM {invoice} c WHERE c.original_id = i.id "
        f"AND c.kind = {cancellation} AND c.status = {finalized} LIMIT 1) AS cancelled, "
        f"(SELECT 1 FROM {dispute} d WHERE d.invoice_id = i.id "
        f"AND d.cleared_at IS NULL LIMIT 1) AS disputed, "
        f"r.template, "
        # The business date of the request is the company's (clock.today), asked here
        # rather than in a query of its own.
        f"(SELECT z.time_zone FROM {company} z ORDER BY z.id LIMIT 1) AS time_zone "
        f"FROM {invoice} i LEFT JOIN {stored} r ON r.invoice_id = i.id AND r.version = %s "
    )


def _money(value: Any) -> Decimal:
    if value is None:
        return NOTHING
    if type(value) is Decimal:
        # PostgreSQL: amounts and their sums to the cent, as stored.
        return value
    # SQLite sums decimals as floats; to the cent they are exact (as selectors round).
    return round_money(Decimal(str(value)))


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def settlement_rows(
    *, invoice_id: int | None = None, after: int = 0, limit: int = 0
) -> list[SettlementRow]:
    """One invoice (``invoice_id``), or the first ``limit`` after id ``after`` in id order."""
    params: list[Any]
    if invoice_id is not None:
        where, params = "WHERE i.id = %s", [version(), invoice_id]
    else:
        # The stored forms' range too: else PostgreSQL may merge-join the page with all
        # stored forms from the first on (half of them on average, per page).
        where = "AND r.invoice_id > %s WHERE i.id > %s ORDER BY i.id LIMIT %s"
        params = [version(), after, after, limit]
    rows = prepared.fetch_all(_select() + where, params)
    if not rows:
        return []
    today = clock.today(rows[0][14] or DEFAULT_TIME_ZONE)
    return [SettlementRow.of(row, today) for row in rows]


def detail(invoice_id: int) -> bytes | None:
    """The resource's JSON from its stored form, or None: present it in full (remember)."""
    rows = settlement_rows(invoice_id=invoice_id)
    if not rows or not rows[0].stored:
        return None
    return rows[0].json(selectors.correction_shares(rows))


def page(*, after: int, limit: int) -> bytes:
    """The JSON of ``GET /invoices`` without filters: ``limit`` documents after id ``after``."""
    from faktura.api import presenters

    rows = settlement_rows(after=after, limit=limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    in_full: dict[int, bytes] = {}
    if missing := [row.invoice_id for row in rows if not row.stored]:
        resources = presenters.invoice_list(
            presenters.invoices(Invoice.objects.filter(pk__in=missing))
        )
        remember(resources)
        in_full = {resource.id: resource.model_dump_json().encode() for resource in resources}
    shares = selectors.correction_shares([row for row in rows if row.stored])
    bodies = [in_full.get(row.invoice_id) or row.json(shares) for row in rows]
    envelope = (
        schemas.InvoiceList(
            data=[],
            has_more=has_more,
            next_cursor=presenters.encode_cursor(rows[-1].invoice_id) if has_more else None,
        )
        .model_dump_json()
        .encode()
    )
    return envelope.replace(b'"data":[]', b'"data":[' + b",".join(bodies) + b"]", 1)
