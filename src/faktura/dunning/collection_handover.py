"""Handing hopeless claims to a collection agency (Inkasso).

The daily step ``propose_collection_cases`` proposes a case per customer for the invoices
whose final dunning level went out ``collection_after_days`` ago and that are still open.
``approve_case`` hands them over: dunning is frozen, access blocked (reason ``collection``)
and, by policy, the customer's subscriptions end. ``export_cases`` writes the CSV in the
layout stored in the database plus a ZIP of the archived invoices and notice letters, once.
Afterwards: the agency's payments (``record_agency_payment``), a recall, or a write-off with
its VAT correction (§ 17 (2) UStG).

The CSV is what German Excel opens without an import dialog: UTF-8 with a byte order mark
(without it Excel reads umlauts as Windows-1252), ``;`` as separator, CRLF line ends,
decimal comma without thousands separators, dates DD.MM.YYYY.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.models import Company
from faktura.core.money import parse_amount, round_money
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.dunning.models import (
    CollectionCase,
    CollectionCaseInvoice,
    CollectionExport,
    CollectionExportLayout,
    CollectionPayment,
    CustomerDunning,
    DunningCase,
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    NoticeLetter,
    VatCorrection,
)
from faktura.invoicing.models import Invoice
from faktura.payments import locks
from faktura.payments import selectors as payment_selectors

ZERO = Decimal("0.00")
_SYSTEM = Actor.system("collection")


# --- the CSV fields -------------------------------------------------------------------------


@dataclass
class Row:
    """What one CSV row (one invoice of a case) can show."""

    company: Company | None
    customer: Customer
    invoice: Invoice
    case: DunningCase | None
    paid: Decimal
    open: Decimal
    fees: Decimal
    interest: Decimal
    interest_rate: Decimal | None
    other_costs: Decimal
    disputed: bool
    return_reason: str
    notice_dates: list[dt.date]


def _street(street: str, number: str) -> str:
    return f"{street} {number}".strip()


def _creditor_address(row: Row) -> str:
    c = row.company
    if c is None:
        return ""
    return f"{_street(c.street, c.house_number)}, {c.postcode} {c.city}"


def _reason(row: Row) -> str:
    kinds = set(row.invoice.lines.values_list("supply_kind", flat=True))
    if kinds == {"goods"}:
        return "Warenlieferung"
    return "Dienstleistung"


_COMPANY_KINDS = ("business", "public_body")

FIELDS: dict[str, tuple[Callable[[Row], Any], str]] = {
    "creditor.name": (lambda r: r.company.legal_name if r.company else "", "text"),
    "creditor.address": (_creditor_address, "text"),
    "debtor.salutation": (lambda r: "Firma" if r.customer.kind in _COMPANY_KINDS else "", "text"),
    "debtor.company": (
        lambda r: r.customer.name if r.customer.kind in _COMPANY_KINDS else "",
        "text",
    ),
    "debtor.name": (
        lambda r: r.customer.contact_name if r.customer.kind in _COMPANY_KINDS else r.customer.name,
        "text",
    ),
    "debtor.street": (lambda r: _street(r.customer.street, r.customer.house_number), "text"),
    "debtor.postcode": (lambda r: r.customer.postcode, "text"),
    "debtor.city": (lambda r: r.customer.city, "text"),
    "debtor.country": (lambda r: r.customer.country, "text"),
    "debtor.email": (lambda r: r.customer.email, "text"),
    "debtor.phone": (lambda r: r.customer.phone, "text"),
    "customer.number": (lambda r: r.customer.number, "text"),
    "invoice.number": (lambda r: r.invoice.number, "text"),
    "invoice.date": (lambda r: r.invoice.issue_date, "date"),
    "invoice.due_date": (lambda r: r.invoice.due_date, "date"),
    "claim.original": (lambda r: r.invoice.payable_amount, "amount"),
    "claim.paid": (lambda r: r.paid, "amount"),
    "claim.open": (lambda r: r.open, "amount"),
    "claim.currency": (lambda r: r.invoice.currency, "text"),
    "claim.reason": (_reason, "text"),
    "claim.default_since": (
        lambda r: r.invoice.due_date + dt.timedelta(days=1) if r.invoice.due_date else None,
        "date",
    ),
    "claim.interest_rate": (lambda r: r.interest_rate, "percent"),
    "claim.other_costs": (lambda r: r.other_costs, "amount"),
    "claim.disputed": (lambda r: "ja" if r.disputed else "nein", "text"),
    "claim.return_reason": (lambda r: r.return_reason, "text"),
    "dunning.level": (lambda r: r.case.level if r.case else "", "text"),
    "dunning.last_notice_date": (lambda r: r.case.last_notice_on if r.case else None, "date"),
    "dunning.notice_dates": (
        lambda r: ", ".join(f"{d:%d.%m.%Y}" for d in r.notice_dates),
        "text",
    ),
    "dunning.fees": (lambda r: r.fees, "amount"),
    "dunning.interest": (lambda r: r.interest, "amount"),
}
FORMATS = ("text", "date", "amount", "percent")


def _format(value: Any, fmt: str) -> str:
    if value is None or value == "":
        return ""
    if fmt == "date" and isinstance(value, dt.date):
        return f"{value:%d.%m.%Y}"
    if fmt in ("amount", "percent") and isinstance(value, Decimal):
        return f"{round_money(value):f}".replace(".", ",")
    return str(value)


def check_columns(columns: object) -> list[dict[str, str]]:
    """Validate a layout's columns (header, a known field key, a known format or "")."""
    if not isinstance(columns, list) or not columns:
        raise InvalidInput("columns: a non-empty list.", code="invalid_collection_layout")
    checked = []
    for column in columns:
        if not isinstance(column, dict) or column.get("field") not in FIELDS:
            raise InvalidInput(
                f"columns: unknown field in {column!r}.", code="invalid_collection_layout"
            )
        fmt = column.get("format") or ""
        if fmt and fmt not in FORMATS:
            raise InvalidInput(
                f"columns: unknown format {fmt!r}.", code="invalid_collection_layout"
            )
        header = str(column.get("header") or column["field"])
        check_text(header, field="header")
        checked.append({"header": header, "field": column["field"], "format": fmt})
    return checked


def render_csv(layout: CollectionExportLayout, rows: Iterable[Row]) -> bytes:
    columns = check_columns(layout.columns)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([c["header"] for c in columns])
    for row in rows:
        values = []
        for column in columns:
            getter, default_format = FIELDS[column["field"]]
            values.append(_format(getter(row), column["format"] or default_format))
        writer.writerow(values)
    return out.getvalue().encode("utf-8-sig")


def _rows(items: list[CollectionCaseInvoice]) -> list[Row]:
    company = Company.objects.order_by("pk").first()
    invoice_ids = [item.invoice_id for item in items]
    opens = payment_selectors.open_amounts(invoice_ids)
    cases = {c.invoice_id: c for c in DunningCase.objects.filter(invoice_id__in=invoice_ids)}
    live_fees = DunningFee.objects.filter(waived_at__isnull=True)
    per_invoice: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for invoice_id, kind, amount in live_fees.filter(invoice_id__in=invoice_ids).values_list(
        "invoice_id", "kind", "amount"
    ):
        per_invoice[invoice_id][kind] += amount
    # A notice's own fee is for the whole notice: shown on the row of its first invoice,
    # so that the rows add up to what was charged.
    notice_ids = set(
        DunningNoticeItem.objects.filter(
            invoice_id__in=invoice_ids, active=True, notice__status=DunningNotice.Status.SENT
        ).values_list("notice_id", flat=True)
    )
    for fee in live_fees.filter(notice_id__in=notice_ids, invoice__isnull=True):
        first = (
            DunningNoticeItem.objects.filter(notice_id=fee.notice_id, active=True)
            .order_by("number", "invoice_id")
            .values_list("invoice_id", flat=True)
            .first()
        )
        if first in opens:
            per_invoice[first][DunningFee.Kind.FEE] += fee.amount
    rates = dict(
        DunningFee.objects.filter(invoice_id__in=invoice_ids, kind=DunningFee.Kind.INTEREST)
        .order_by("invoice_id", "period_start")
        .values_list("invoice_id", "rate")
    )
    dates: dict[int, list[dt.date]] = defaultdict(list)
    for invoice_id, day in (
        DunningNoticeItem.objects.filter(
            invoice_id__in=invoice_ids, active=True, notice__status=DunningNotice.Status.SENT
        )
        .order_by("notice__notice_date")
        .values_list("invoice_id", "notice__notice_date")
    ):
        dates[invoice_id].append(day)
    from faktura.payments.models import FeeItem, ReturnEvent

    other: dict[int, Decimal] = defaultdict(Decimal)
    for invoice_id, amount in (
        FeeItem.objects.filter(invoice_id__in=invoice_ids)
        .exclude(state=FeeItem.State.CANCELLED)
        .values_list("invoice_id", "amount")
    ):
        other[invoice_id] += amount
    returns = dict(
        ReturnEvent.objects.filter(invoice_id__in=invoice_ids)
        .order_by("invoice_id", "pk")
        .values_list("invoice_id", "reason_code")
    )
    rows = []
    for item in items:
        invoice = item.invoice
        fees = per_invoice[invoice.pk]
        rows.append(
            Row(
                company=company,
                customer=invoice.customer,
                invoice=invoice,
                case=cases.get(invoice.pk),
                paid=invoice.payable_amount - opens.get(invoice.pk, ZERO),
                open=opens.get(invoice.pk, ZERO),
                fees=fees[DunningFee.Kind.FEE] + fees[DunningFee.Kind.FLAT_40],
                interest=fees[DunningFee.Kind.INTEREST],
                interest_rate=rates.get(invoice.pk),
                other_costs=other[invoice.pk],
                disputed=payment_selectors.is_disputed(invoice.pk),
                return_reason=returns.get(invoice.pk, ""),
                notice_dates=dates[invoice.pk],
            )
        )
    return rows


# --- proposal and approval ------------------------------------------------------------------


def _policy_id(customer: Customer, context: Any) -> int | None:
    override = (
        CustomerDunning.objects.filter(customer=customer)
        .values_list("policy_id", flat=True)
        .first()
    )
    result: int | None = context.policy_for(customer, override)
    return result


def propose_collection_cases(*, on: dt.date, actor: Actor) -> list[CollectionCase]:
    """Propose a case per customer for the open invoices whose final level went out at
    least ``collection_after_days`` before ``on``; an invoice in an open case is skipped."""
    from faktura.dunning.run import Context

    permissions.require(actor, "dunning.run")
    context = Context.load()
    final = {
        row["policy_id"]: row["top"]
        for row in DunningLevel.objects.values("policy_id").annotate(top=Max("number"))
    }
    if not final:
        return []
    # Narrowed in the database first: only cases at some policy's final level whose last
    # notice is old enough for the most eager policy (the rest is decided per policy below).
    soonest = min((p.collection_after_days for p in context.policies.values()), default=0)
    candidates = (
        DunningCase.objects.filter(
            handed_to_collection=False,
            last_notice_on__isnull=False,
            level__gte=min(final.values()),
            last_notice_on__lte=on - dt.timedelta(days=soonest),
        )
        .exclude(invoice__collection_items__active=True)
        .exclude(invoice__instalment_items__active=True)
        .select_related("customer")
        .order_by("customer_id", "invoice_id")
    )
    by_customer: dict[int, list[DunningCase]] = defaultdict(list)
    for case in candidates:
        policy_id = _policy_id(case.customer, context)
        if policy_id is None or case.level < final.get(policy_id, 10**6):
            continue
        policy = context.policies[policy_id]
        assert case.last_notice_on is not None
        if case.last_notice_on + dt.timedelta(days=policy.collection_after_days) > on:
            continue
        by_customer[case.customer_id].append(case)
    created: list[CollectionCase] = []
    for customer_id, cases in by_customer.items():
        with transaction.atomic():
            locks.lock_customer(customer_id)
            invoice_ids = [c.invoice_id for c in cases]
            taken = set(
                CollectionCaseInvoice.objects.filter(
                    invoice_id__in=invoice_ids, active=True
                ).values_list("invoice_id", flat=True)
            )
            opens = payment_selectors.open_amounts(invoice_ids)
            wanted = [i for i in invoice_ids if i not in taken and opens.get(i, ZERO) > 0]
            if not wanted:
                continue
            proposal = CollectionCase.objects.create(
                customer_id=customer_id, proposed_on=on, proposed_by=actor.label
            )
            CollectionCaseInvoice.objects.bulk_create(
                [
                    CollectionCaseInvoice(case=proposal, invoice_id=i, open_amount=opens[i])
                    for i in wanted
                ]
            )
            _audit(proposal, actor, "collection.proposed", {"invoices": wanted})
            created.append(proposal)
    return created


def _audit(case: CollectionCase, actor: Actor, action: str, data: dict[str, object]) -> None:
    audit.record(
        chain=audit.customer_chain(case.customer_id),
        actor=actor,
        action=action,
        object_type="collection_case",
        object_id=case.pk,
        data=data,
    )


def _lock_case(case_id: int, *statuses: str) -> CollectionCase:
    customer_id = (
        CollectionCase.objects.filter(pk=case_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(f"No collection case {case_id}.", code="collection_case_not_found")
    locks.lock_customer(customer_id)
    case = CollectionCase.objects.select_for_update().get(pk=case_id)
    if statuses and case.status not in statuses:
        raise StateConflict(
            f"Collection case {case_id} is {case.status}.", code="collection_case_wrong_status"
        )
    return case


def _why(why: str) -> str:
    text = (why or "").strip()
    if not text:
        raise InvalidInput("Say why.", code="reason_required", field="why")
    check_text(text, field="why")
    return text[:500]


def _invoice_ids(case: CollectionCase) -> list[int]:
    return list(case.items.filter(active=True).values_list("invoice_id", flat=True))


def approve_case(*, case_id: int, actor: Actor) -> CollectionCase:
    """Hand a proposed case over: dunning frozen, access blocked, subscriptions ended if the
    policy says so."""
    permissions.require(actor, "collection.approve")
    from faktura.access import services as access
    from faktura.dunning.run import Context

    with transaction.atomic():
        case = _lock_case(case_id, CollectionCase.Status.PROPOSED)
        today = clock.today(Company.time_zone_or_default())
        invoice_ids = _invoice_ids(case)
        DunningCase.objects.filter(invoice_id__in=invoice_ids).update(
            handed_to_collection=True, handed_to_collection_on=today
        )
        case.status = CollectionCase.Status.APPROVED
        case.approved_at = clock.now()
        case.approved_by = actor.label
        case.save(update_fields=["status", "approved_at", "approved_by"])
        # The approver decided the block; the access service's own operation is staff's.
        access.block(
            customer_id=case.customer_id,
            reason="collection",
            effect="block",
            invoice_ids=invoice_ids,
            why=f"Inkassofall {case.pk}",
            actor=_SYSTEM,
        )
        context = Context.load()
        policy_id = _policy_id(case.customer, context)
        ended: list[int] = []
        if policy_id is not None and context.policies[policy_id].cancel_subscriptions_on_collection:
            ended = _end_subscriptions(case)
        _audit(
            case, actor, "collection.approved", {"invoices": invoice_ids, "subscriptions": ended}
        )
    return case


def _end_subscriptions(case: CollectionCase) -> list[int]:
    from faktura.subscriptions import services as subscriptions
    from faktura.subscriptions.models import Subscription

    ended = []
    for subscription in Subscription.objects.filter(
        customer_id=case.customer_id, plan__isnull=False
    ).exclude(status=Subscription.Status.ENDED):
        if subscription.ends_on is not None:
            continue
        subscriptions.terminate_subscription(
            actor=_SYSTEM, subscription_id=subscription.pk, reason=f"Inkassofall {case.pk}"
        )
        ended.append(subscription.pk)
    return ended


# --- export ---------------------------------------------------------------------------------


def _zip(items: list[CollectionCaseInvoice], stamp: dt.datetime) -> bytes:
    from faktura.documents.archive import read_archived
    from faktura.documents.models import ArchivedDocument

    invoice_ids = [item.invoice_id for item in items]
    files: list[tuple[str, bytes]] = []
    for document in ArchivedDocument.objects.filter(invoice_id__in=invoice_ids).order_by(
        "invoice_id", "kind"
    ):
        files.append((f"rechnungen/{document.filename}", read_archived(document)))
    from faktura.dunning import letter as letters

    archived = (
        NoticeLetter.objects.filter(notice__items__invoice_id__in=invoice_ids)
        .distinct()
        .order_by("pk")
    )
    for archived_letter in archived:
        found = letters.attachment(f"{letters.ATTACHMENT_PREFIX}{archived_letter.pk}")
        assert found is not None
        filename, content, _mime = found
        files.append((f"mahnungen/{filename}", content))
    out = io.BytesIO()
    when = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return out.getvalue()


def export_cases(
    *,
    actor: Actor,
    case_ids: list[int] | None = None,
    layout_id: int | None = None,
) -> CollectionExport | None:
    """Export the approved cases not yet handed over (or the given ones) once.

    Returns None when there is nothing new: a case is exported only once.
    """
    permissions.require(actor, "collection.export")
    with transaction.atomic():
        layout = (
            CollectionExportLayout.objects.filter(pk=layout_id).first()
            if layout_id is not None
            else CollectionExportLayout.objects.filter(is_default=True).first()
        )
        if layout is None:
            raise NotFound("No collection export layout.", code="collection_layout_not_found")
        query = CollectionCase.objects.select_for_update().filter(
            status=CollectionCase.Status.APPROVED, export__isnull=True
        )
        if case_ids is not None:
            query = query.filter(pk__in=case_ids)
        cases = list(query.order_by("pk"))
        if not cases:
            return None
        items = list(
            CollectionCaseInvoice.objects.filter(case__in=cases, active=True)
            .select_related("invoice__customer")
            .order_by("case_id", "invoice__number", "invoice_id")
        )
        now = clock.now()
        content = render_csv(layout, _rows(items))
        archive = _zip(items, now)
        export = CollectionExport(
            layout=layout,
            csv=content,
            csv_sha256=hashlib.sha256(content).hexdigest(),
            zip=archive,
            zip_sha256=hashlib.sha256(archive).hexdigest(),
            case_count=len(cases),
            row_count=len(items),
            created_at=now,
            created_by=actor.label,
        )
        export.save()
        CollectionCase.objects.filter(pk__in=[c.pk for c in cases]).update(
            status=CollectionCase.Status.EXPORTED, export=export, exported_at=now
        )
        for case in cases:
            _audit(case, actor, "collection.exported", {"export": export.pk})
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="collection.export_created",
            object_type="collection_export",
            object_id=export.pk,
            data={"cases": [c.pk for c in cases], "csv_sha256": export.csv_sha256},
        )
    return export


# --- after the handover ---------------------------------------------------------------------


def record_agency_payment(
    *, case_id: int, amount: object, costs: object, date: object, actor: Actor
) -> CollectionPayment:
    """Book what the agency collected (net of nothing: ``amount`` is the debtor's money
    for the claims) to the case's invoices, oldest first, and record the agency's costs."""
    permissions.require(actor, "collection.export")
    from faktura.payments import services as payments

    value = parse_amount(amount)
    cost = parse_amount(costs, field="costs")  # negative: negative_amount
    if value <= 0:
        raise InvalidInput("A positive amount.", code="invalid_amount", field="amount")
    with transaction.atomic():
        case = _lock_case(case_id, CollectionCase.Status.APPROVED, CollectionCase.Status.EXPORTED)
        payment = payments.record_payment(
            actor=actor,
            amount=value,
            date=date,
            method="transfer",
            source="manual",
            reference=f"Inkassofall {case.pk}",
            customer_id=case.customer_id,
        )
        invoice_ids = sorted(
            _invoice_ids(case),
            key=lambda i: (Invoice.objects.values_list("due_date", flat=True).get(pk=i), i),
        )
        opens = payment_selectors.open_amounts(invoice_ids)
        rest = value
        allocations: list[tuple[int, object]] = []
        for invoice_id in invoice_ids:
            share = min(rest, opens.get(invoice_id, ZERO))
            if share > 0:
                allocations.append((invoice_id, share))
                rest -= share
        if allocations:
            payments.allocate_payment(payment_id=payment.pk, allocations=allocations, actor=actor)
        entry = CollectionPayment.objects.create(
            case=case,
            payment=payment,
            amount=value,
            costs=cost,
            date=payment.date,
            created_at=clock.now(),
            created_by=actor.label,
        )
        if not any(v > 0 for v in payment_selectors.open_amounts(invoice_ids).values()):
            case.status = CollectionCase.Status.CLOSED
            case.closed_at = clock.now()
            case.save(update_fields=["status", "closed_at"])
            case.items.update(active=False)
        _audit(
            case,
            actor,
            "collection.payment_recorded",
            {"amount": str(value), "costs": str(cost), "payment": payment.pk},
        )
    return entry


def _lift_collection_blocks(case: CollectionCase, why: str) -> None:
    from faktura.access import selectors as access_selectors
    from faktura.access import services as access

    for block in access_selectors.active_blocks(case.customer_id).filter(reason="collection"):
        access.lift(block_id=block.pk, actor=_SYSTEM, why=why)


def recall_case(*, case_id: int, actor: Actor, why: str) -> CollectionCase:
    """Take a case back from the agency: dunning resumes, the collection block ends."""
    permissions.require(actor, "collection.approve")
    text = _why(why)
    with transaction.atomic():
        case = _lock_case(
            case_id,
            CollectionCase.Status.PROPOSED,
            CollectionCase.Status.APPROVED,
            CollectionCase.Status.EXPORTED,
        )
        invoice_ids = _invoice_ids(case)
        DunningCase.objects.filter(invoice_id__in=invoice_ids).update(
            handed_to_collection=False, handed_to_collection_on=None
        )
        case.items.update(active=False)
        case.status = CollectionCase.Status.RECALLED
        case.recalled_at = clock.now()
        case.recalled_by = actor.label
        case.recall_reason = text
        case.save(update_fields=["status", "recalled_at", "recalled_by", "recall_reason"])
        _lift_collection_blocks(case, f"Inkassofall {case.pk} zurückgerufen: {text}")
        _audit(case, actor, "collection.recalled", {"why": text, "invoices": invoice_ids})
    return case


def vat_shares(
    taxes: list[tuple[str, Decimal, Decimal, Decimal]], gross: Decimal
) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """(category, rate, gross, VAT) of a written-off gross amount, split over an invoice's
    VAT breakdown ``(category, rate, taxable, tax)`` in proportion to each rate's gross; the
    last rate takes the rounding rest, so the shares add up to ``gross``."""
    ordered = sorted(taxes, key=lambda t: (t[1], t[0]))
    total = sum((taxable + tax for _c, _r, taxable, tax in ordered), ZERO)
    if not ordered or total <= 0:
        return []
    result = []
    left = gross
    for index, (category, rate, taxable, tax) in enumerate(ordered):
        last = index == len(ordered) - 1
        share = left if last else round_money(gross * (taxable + tax) / total)
        left -= share
        vat = round_money(share * rate / (Decimal(100) + rate))
        result.append((category, rate, share, vat))
    return result


def write_off_case(*, case_id: int, actor: Actor, why: str) -> list[VatCorrection]:
    """Write the open amounts of an uncollectible case off and record the VAT correction
    per rate (§ 17 (2) UStG) for the accounting export."""
    permissions.require(actor, "collection.approve")
    from faktura.access import services as access
    from faktura.payments.models import WriteOff

    text = _why(why)
    with transaction.atomic():
        case = _lock_case(case_id, CollectionCase.Status.APPROVED, CollectionCase.Status.EXPORTED)
        now = clock.now()
        today = clock.today(Company.time_zone_or_default())
        invoice_ids = _invoice_ids(case)
        invoices = locks.lock_invoices(invoice_ids)
        opens = payment_selectors.open_amounts(invoice_ids)
        corrections = []
        for invoice_id in sorted(invoice_ids):
            amount = opens.get(invoice_id, ZERO)
            if amount <= 0:
                continue
            # Not payments.write_off: that one is for small rests within the tolerance.
            entry = WriteOff.objects.create(
                invoice_id=invoice_id,
                customer_id=case.customer_id,
                amount=amount,
                reason=f"Inkasso: {text}"[:200],
                created_at=now,
                created_by=actor.label,
            )
            breakdown = list(
                invoices[invoice_id].taxes.values_list(
                    "category", "rate", "taxable_amount", "tax_amount"
                )
            )
            for category, rate, gross, vat in vat_shares(breakdown, amount):
                corrections.append(
                    VatCorrection.objects.create(
                        case=case,
                        invoice_id=invoice_id,
                        write_off=entry,
                        date=today,
                        category=category,
                        rate=rate,
                        gross=gross,
                        net=gross - vat,
                        vat=vat,
                        created_at=now,
                        created_by=actor.label,
                    )
                )
        case.items.update(active=False)
        case.status = CollectionCase.Status.CLOSED
        case.written_off_at = now
        case.written_off_by = actor.label
        case.write_off_reason = text
        case.closed_at = now
        case.save(
            update_fields=[
                "status",
                "written_off_at",
                "written_off_by",
                "write_off_reason",
                "closed_at",
            ]
        )
        _audit(
            case,
            actor,
            "collection.written_off",
            {
                "why": text,
                "amounts": {str(k): str(v) for k, v in opens.items()},
                "vat": [str(c.vat) for c in corrections],
            },
        )
        # Nothing is open any more: the access service ends the blocks on these claims.
        access.claims_paid(case.customer_id, actor=actor)
    return corrections


def agency_costs(case: CollectionCase) -> Decimal:
    return case.payments.aggregate(total=Sum("costs"))["total"] or ZERO
