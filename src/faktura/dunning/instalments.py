"""Instalment agreements (Ratenzahlung): staff agree a schedule for a customer's open
invoices; dunning pauses while the instalments come in.

- ``create_instalment_agreement`` and ``cancel_instalment_agreement`` are staff operations
  (``dunning.instalments``): one transaction each, the customer locked first, audited on
  the customer's chain. ``preview_instalment_agreement`` shows what ``create`` would agree
  (the same checks, the same schedule from the pure ``instalment_schedule``) and writes
  nothing.
- While an agreement is active, its invoices are left out of the dunning run's query
  (``run._overdue``): no notices, no fees, no collection proposal; and default interest is
  not charged for the days the agreement was in force (a deferral: the customer pays as
  agreed, so he is not in default for those days).
- What counts as paid towards the agreement is what its invoices' open amounts went down
  by since it was agreed (payments, credit notes, write-offs). That sum fills the
  instalments: first money from payments whose reference names an instalment
  (``RZ-00001-2``) goes to that instalment, then the rest in due order, so payments that
  name an invoice count towards the instalments in due order too. ``instalments_paid`` does
  this in the booking's transaction (called from ``payments.services.money_received``).
- The daily run (``check_agreements``, first thing, idempotent) breaks an agreement when an
  instalment is not fully paid ``grace_days`` after its due date; its invoices are dunned
  again from the level each had reached. When everything is paid it is completed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import F

from faktura.collection.calendar import add_months
from faktura.core import audit, bulk, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.core.money import CENT, ZERO, parse_amount
from faktura.core.text import check_text
from faktura.customers.models import Customer
from faktura.dunning.models import (
    CollectionCaseInvoice,
    DunningCase,
    Instalment,
    InstalmentAgreement,
    InstalmentAgreementInvoice,
)
from faktura.dunning.references import (
    agreement_reference,
    find_instalment_references,
    instalment_reference,
)
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments import locks, selectors
from faktura.payments.models import Allocation, Payment

MAX_INSTALMENTS = 60
MAX_GRACE_DAYS = 60
ACTIVE = InstalmentAgreement.Status.ACTIVE


# --- create and cancel -----------------------------------------------------------------------


def split_evenly(total: Decimal, count: int) -> list[Decimal]:
    """``count`` amounts in cents summing to ``total``; the last takes the remainder."""
    each = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [each] * (count - 1) + [total - each * (count - 1)]


def instalment_schedule(
    total: Decimal,
    *,
    count: int | None,
    first_due: dt.date | None,
    schedule: Sequence[tuple[dt.date, object]] | None,
    today: dt.date,
) -> list[tuple[dt.date, Decimal]]:
    """The instalments (due date, amount) for ``total``: ``count`` monthly ones from
    ``first_due`` (``split_evenly``) or the given ``schedule``, checked. Pure: the service
    and its preview both use it.

    Raises InvalidInput instalment_schedule_required, invalid_instalment_count,
    instalment_amount_not_positive, instalment_dates_not_ascending, instalment_due_in_past,
    instalment_sum_mismatch (and what ``parse_amount`` raises for an amount).
    """
    if (schedule is None) == (count is None):
        raise InvalidInput(
            "Give either a number of monthly instalments with the first due date, or a "
            "schedule of due dates and amounts.",
            code="instalment_schedule_required",
            field="schedule",
        )
    if count is not None:
        if not 1 <= count <= MAX_INSTALMENTS:
            raise InvalidInput(
                f"Between 1 and {MAX_INSTALMENTS} instalments.",
                code="invalid_instalment_count",
                field="instalments",
            )
        if first_due is None:
            raise InvalidInput(
                "The first due date is missing.",
                code="instalment_schedule_required",
                field="first_due_date",
            )
        amounts = split_evenly(total, count)
        rows = [(add_months(first_due, n), amount) for n, amount in enumerate(amounts)]
    else:
        assert schedule is not None
        if not 1 <= len(schedule) <= MAX_INSTALMENTS:
            raise InvalidInput(
                f"Between 1 and {MAX_INSTALMENTS} instalments.",
                code="invalid_instalment_count",
                field="schedule",
            )
        rows = []
        for index, (due, amount) in enumerate(schedule):
            value = parse_amount(amount, field=f"schedule[{index}].amount")
            if value <= 0:
                raise InvalidInput(
                    "An instalment is a positive amount.",
                    code="instalment_amount_not_positive",
                    field=f"schedule[{index}].amount",
                )
            rows.append((due, value))
    for index, (due, _) in enumerate(rows):
        if index and due <= rows[index - 1][0]:
            raise InvalidInput(
                "The due dates must be ascending, one instalment per date.",
                code="instalment_dates_not_ascending",
                field=f"schedule[{index}].due_date",
            )
    if rows[0][0] < today:
        raise InvalidInput(
            f"The first instalment is due {rows[0][0]}, before today.",
            code="instalment_due_in_past",
            field="schedule[0].due_date",
        )
    planned = sum((amount for _, amount in rows), ZERO)
    if planned != total:
        raise InvalidInput(
            f"The instalments add up to {planned}, the invoices' open amount is {total}.",
            code="instalment_sum_mismatch",
            field="schedule",
        )
    return rows


def _covered(customer_id: int, invoice_ids: Sequence[int], *, lock: bool) -> dict[int, Decimal]:
    """The open amounts of the invoices, checked (under the customer's lock when ``lock``;
    the preview reads without one)."""
    if not invoice_ids:
        raise InvalidInput(
            "Name at least one invoice.", code="instalment_no_invoices", field="invoices"
        )
    if len(set(invoice_ids)) != len(invoice_ids):
        raise InvalidInput("An invoice is named twice.", code="duplicate_invoice", field="invoices")
    invoices = (
        locks.lock_invoices(invoice_ids) if lock else Invoice.objects.in_bulk(list(invoice_ids))
    )
    opens = selectors.open_amounts(list(invoice_ids))
    in_agreement = set(
        InstalmentAgreementInvoice.objects.filter(
            invoice_id__in=invoice_ids, active=True
        ).values_list("invoice_id", flat=True)
    )
    in_collection = set(
        DunningCase.objects.filter(
            invoice_id__in=invoice_ids, handed_to_collection=True
        ).values_list("invoice_id", flat=True)
    ) | set(
        CollectionCaseInvoice.objects.filter(invoice_id__in=invoice_ids, active=True).values_list(
            "invoice_id", flat=True
        )
    )
    for index, invoice_id in enumerate(invoice_ids):
        field = f"invoices[{index}]"
        invoice = invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(
                f"Invoice {invoice_id} does not exist.", code="invoice_not_found", field=field
            )
        if invoice.customer_id != customer_id:
            raise InvalidInput(
                f"{invoice} is not an invoice of customer {customer_id}.",
                code="invoice_of_other_customer",
                field=field,
            )
        if (
            invoice.status != Status.FINALIZED
            or invoice.kind != Kind.INVOICE
            or opens.get(invoice_id, ZERO) <= 0
        ):
            raise StateConflict(
                f"{invoice} has nothing open.", code="invoice_not_open", field=field
            )
        if invoice_id in in_agreement:
            raise StateConflict(
                f"{invoice} is in another active instalment agreement.",
                code="invoice_in_instalment_agreement",
                field=field,
            )
        if invoice_id in in_collection:
            raise StateConflict(
                f"{invoice} is with the collection agency.",
                code="invoice_in_collection",
                field=field,
            )
    return {invoice_id: opens[invoice_id] for invoice_id in invoice_ids}


def _terms(grace_days: int, note: str) -> str:
    """The grace days checked and the note stripped and checked."""
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidInput(
            f"Between 0 and {MAX_GRACE_DAYS} grace days.",
            code="invalid_grace_days",
            field="grace_days",
        )
    note = (note or "").strip()
    if note:
        check_text(note, field="note")
    return note


@dataclass(frozen=True)
class InstalmentPlan:
    """What an agreement would cover and schedule: the invoices' open amounts (in the order
    named), their total and the instalments (due date, amount), numbered from 1."""

    open_amounts: dict[int, Decimal]
    total: Decimal
    instalments: list[tuple[dt.date, Decimal]]


def preview_instalment_agreement(
    *,
    customer_id: int,
    invoice_ids: Sequence[int],
    actor: Actor,
    instalments: int | None = None,
    first_due_date: dt.date | None = None,
    schedule: Sequence[tuple[dt.date, object]] | None = None,
    grace_days: int = 7,
    note: str = "",
) -> InstalmentPlan:
    """What ``create_instalment_agreement`` would agree for the same input, unsaved.

    A read that writes nothing and locks nothing; raises what ``create`` raises for the same
    input (the create call checks it all again under the customer's lock).
    """
    permissions.require(actor, "dunning.instalments")
    _terms(grace_days, note)
    ids = list(invoice_ids)
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(
            f"Customer {customer_id} does not exist.", code="customer_not_found", field="customer"
        )
    opens = _covered(customer_id, ids, lock=False)
    total = sum(opens.values(), ZERO)
    rows = instalment_schedule(
        total, count=instalments, first_due=first_due_date, schedule=schedule, today=clock.today()
    )
    return InstalmentPlan(open_amounts=opens, total=total, instalments=rows)


def create_instalment_agreement(
    *,
    customer_id: int,
    invoice_ids: Sequence[int],
    actor: Actor,
    instalments: int | None = None,
    first_due_date: dt.date | None = None,
    schedule: Sequence[tuple[dt.date, object]] | None = None,
    grace_days: int = 7,
    note: str = "",
) -> InstalmentAgreement:
    """Agree a schedule for open invoices of one customer.

    Either ``instalments`` monthly instalments from ``first_due_date`` (equal amounts in
    cents, the last takes the remainder) or an explicit ``schedule`` of (due date, amount)
    whose amounts add up to the invoices' open amount exactly. Raises InvalidInput,
    StateConflict or NotFound with a specific code, and then writes nothing.
    """
    permissions.require(actor, "dunning.instalments")
    note = _terms(grace_days, note)
    ids = list(invoice_ids)
    with transaction.atomic():
        customer = locks.lock_customer(customer_id, field="customer")
        opens = _covered(customer.pk, ids, lock=True)
        total = sum(opens.values(), ZERO)
        today = clock.today()
        rows = instalment_schedule(
            total, count=instalments, first_due=first_due_date, schedule=schedule, today=today
        )
        agreement = InstalmentAgreement.objects.create(
            customer=customer,
            total=total,
            grace_days=grace_days,
            note=note,
            agreed_on=today,
            created_at=clock.now(),
            created_by=actor.label,
        )
        agreement.reference = agreement_reference(agreement.pk)
        agreement.save(update_fields=["reference"])
        InstalmentAgreementInvoice.objects.bulk_create(
            [
                InstalmentAgreementInvoice(agreement=agreement, invoice_id=i, open_amount=amount)
                for i, amount in opens.items()
            ]
        )
        Instalment.objects.bulk_create(
            [
                Instalment(
                    agreement=agreement,
                    number=number,
                    due_date=due,
                    amount=amount,
                    reference=instalment_reference(agreement.pk, number),
                )
                for number, (due, amount) in enumerate(rows, start=1)
            ]
        )
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="dunning.instalment_agreement_created",
            object_type="instalment_agreement",
            object_id=agreement.pk,
            data={
                "reference": agreement.reference,
                "invoices": ids,
                "total": str(total),
                "grace_days": grace_days,
                "instalments": [[due.isoformat(), str(amount)] for due, amount in rows],
                "note": note,
            },
        )
    return agreement


def _lock_agreement(agreement_id: int) -> InstalmentAgreement:
    customer_id = (
        InstalmentAgreement.objects.filter(pk=agreement_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        raise NotFound(
            f"No instalment agreement {agreement_id}.", code="instalment_agreement_not_found"
        )
    locks.lock_customer(customer_id)
    return InstalmentAgreement.objects.select_for_update().get(pk=agreement_id)


def _end(
    agreement: InstalmentAgreement, status: str, *, on: dt.date, actor: Actor, reason: str = ""
) -> None:
    agreement.status = status
    agreement.ended_on = on
    agreement.ended_at = clock.now()
    agreement.ended_by = actor.label
    agreement.end_reason = reason
    agreement.save(update_fields=["status", "ended_on", "ended_at", "ended_by", "end_reason"])
    InstalmentAgreementInvoice.objects.filter(agreement=agreement).update(active=False)
    audit.record(
        chain=audit.customer_chain(agreement.customer_id),
        actor=actor,
        action=f"dunning.instalment_agreement_{status}",
        object_type="instalment_agreement",
        object_id=agreement.pk,
        data={
            "reference": agreement.reference,
            "date": on.isoformat(),
            "reason": reason,
            "paid": [
                [i.number, str(i.paid_amount)] for i in agreement.instalments.order_by("number")
            ],
        },
    )


def cancel_instalment_agreement(
    *, agreement_id: int, reason: str, actor: Actor
) -> InstalmentAgreement:
    """End an active agreement by hand (audited, with the reason): its invoices are dunned
    again from the level each had reached."""
    from faktura.dunning.services import _reason

    permissions.require(actor, "dunning.instalments")
    reason = _reason(reason)
    with transaction.atomic():
        agreement = _lock_agreement(agreement_id)
        if agreement.status != ACTIVE:
            raise StateConflict(
                f"Agreement {agreement.reference} is {agreement.status}, not active.",
                code="instalment_agreement_not_active",
            )
        _end(
            agreement,
            InstalmentAgreement.Status.CANCELLED,
            on=clock.today(),
            actor=actor,
            reason=reason,
        )
    return agreement


# --- payments ------------------------------------------------------------------------------


def allocate_instalment_payment(*, payment_id: int, actor: Actor) -> list[Allocation]:
    """Allocate a payment whose reference names an instalment (``RZ-00001-2``) to the
    agreement's open invoices, oldest due first; what is left stays the customer's credit.
    The money then counts towards that instalment first (``instalments_paid``)."""
    from faktura.payments import services as payments

    permissions.require(actor, "payment.record")
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(f"Payment {payment_id} does not exist.", code="payment_not_found")
    named = find_instalment_references(payment.reference)
    instalment = (
        Instalment.objects.select_related("agreement").filter(reference__in=named).first()
        if named
        else None
    )
    if instalment is None:
        raise InvalidInput(
            f"The reference of payment {payment_id} names no instalment.",
            code="no_instalment_reference",
        )
    agreement = instalment.agreement
    with transaction.atomic():
        locks.lock_customer(agreement.customer_id)
        invoice_ids = list(
            agreement.items.order_by("invoice__due_date", "invoice_id").values_list(
                "invoice_id", flat=True
            )
        )
        opens = selectors.open_amounts(invoice_ids)
        left = selectors.unallocated_amount(payment.pk)
        allocations: list[tuple[int, object]] = []
        for invoice_id in invoice_ids:
            part = min(left, opens.get(invoice_id, ZERO))
            if part > 0:
                allocations.append((invoice_id, part))
                left -= part
        if not allocations:
            raise StateConflict(
                f"Nothing to allocate: payment {payment_id} is used up or the invoices of "
                f"{agreement.reference} are paid.",
                code="instalment_nothing_to_allocate",
            )
        return payments.allocate_payment(
            payment_id=payment.pk, allocations=allocations, actor=actor
        )


def open_instalments(references: Sequence[str]) -> dict[str, tuple[int, Decimal, tuple[str, ...]]]:
    """For statement matching: reference → (customer, open of the instalment, the active
    agreement's invoice numbers, oldest due first); two queries."""
    rows = list(
        Instalment.objects.filter(
            reference__in=list(references), agreement__status=ACTIVE
        ).values_list(
            "reference", "agreement_id", "agreement__customer_id", "amount", "paid_amount"
        )
    )
    numbers: dict[int, list[str]] = defaultdict(list)
    for agreement_id, number in (
        InstalmentAgreementInvoice.objects.filter(agreement_id__in={r[1] for r in rows})
        .order_by("invoice__due_date", "invoice_id")
        .values_list("agreement_id", "invoice__number")
    ):
        numbers[agreement_id].append(number or "")
    return {
        reference: (customer_id, max(amount - paid, ZERO), tuple(numbers[agreement_id]))
        for reference, agreement_id, customer_id, amount, paid in rows
    }


def _distribute(
    agreement: InstalmentAgreement, instalments: list[Instalment], invoice_ids: list[int]
) -> dict[int, Decimal]:
    """What each instalment has received (number → amount), by the rules of the module."""
    opens = selectors.open_amounts(invoice_ids)
    still_open = sum((max(amount, ZERO) for amount in opens.values()), ZERO)
    left = min(max(agreement.total - still_open, ZERO), agreement.total)
    by_reference = {i.reference: i.number for i in instalments}
    directed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for reference, amount in Allocation.objects.filter(
        invoice_id__in=invoice_ids,
        created_at__gte=agreement.created_at,
        reversed_at__isnull=True,
    ).values_list("payment__reference", "amount"):
        for named in find_instalment_references(reference):
            if named in by_reference:
                directed[by_reference[named]] += amount
                break
    paid = {i.number: ZERO for i in instalments}
    for instalment in instalments:
        take = min(directed[instalment.number], instalment.amount, left)
        paid[instalment.number] = take
        left -= take
    for instalment in instalments:
        take = min(instalment.amount - paid[instalment.number], left)
        paid[instalment.number] += take
        left -= take
    return paid


def _refresh(agreement: InstalmentAgreement) -> list[Instalment]:
    """Bring the instalments' paid amounts up to date; the caller holds the customer lock."""
    instalments = list(agreement.instalments.order_by("number"))
    invoice_ids = list(agreement.items.values_list("invoice_id", flat=True))
    paid = _distribute(agreement, instalments, invoice_ids)
    changed = []
    for instalment in instalments:
        if instalment.paid_amount != paid[instalment.number]:
            instalment.paid_amount = paid[instalment.number]
            changed.append(instalment)
    if changed:
        Instalment.objects.bulk_update(changed, ["paid_amount"])
    return instalments


def _complete_if_paid(
    agreement: InstalmentAgreement, instalments: list[Instalment], *, on: dt.date, actor: Actor
) -> bool:
    if all(i.paid_amount >= i.amount for i in instalments):
        _end(agreement, InstalmentAgreement.Status.COMPLETED, on=on, actor=actor)
        return True
    return False


def instalments_paid(*, invoice_ids: Iterable[int], actor: Actor) -> None:
    """Money reached these invoices (inside the booking's transaction and locks): the
    instalments of their active agreements are brought up to date, a paid-up agreement is
    completed. One query when none of the invoices is in an agreement."""
    agreement_ids = set(
        InstalmentAgreementInvoice.objects.filter(
            invoice_id__in=list(invoice_ids), active=True
        ).values_list("agreement_id", flat=True)
    )
    if not agreement_ids:
        return
    today = clock.today()
    for agreement in InstalmentAgreement.objects.filter(pk__in=agreement_ids, status=ACTIVE):
        _complete_if_paid(agreement, _refresh(agreement), on=today, actor=actor)


def check_agreements(*, on: dt.date, actor: Actor) -> dict[str, int]:
    """The daily run's first step: break each active agreement with an instalment not fully
    paid ``grace_days`` after its due date (as of ``on``), complete the paid-up ones.

    Idempotent: an agreement is broken or completed once; a second run finds it ended.
    Each agreement is one transaction under its customer's lock.
    """
    candidates = sorted(
        set(
            Instalment.objects.filter(
                agreement__status=ACTIVE, due_date__lt=on, paid_amount__lt=F("amount")
            ).values_list("agreement_id", flat=True)
        )
    )
    counts = {"broken": 0, "completed": 0}
    for agreement_id in candidates:
        with transaction.atomic():
            agreement = _lock_agreement(agreement_id)
            if agreement.status != ACTIVE:
                continue
            instalments = _refresh(agreement)
            if _complete_if_paid(agreement, instalments, on=on, actor=actor):
                counts["completed"] += 1
                continue
            grace = dt.timedelta(days=agreement.grace_days)
            missed = [
                i for i in instalments if i.paid_amount < i.amount and i.due_date + grace < on
            ]
            if missed:
                first = missed[0]
                _end(
                    agreement,
                    InstalmentAgreement.Status.BROKEN,
                    on=on,
                    actor=actor,
                    reason=(
                        f"Rate {first.number} fällig am {first.due_date:%d.%m.%Y} über "
                        f"{first.amount} EUR: {first.open_amount} EUR offen."
                    ),
                )
                counts["broken"] += 1
    return counts


# --- interest --------------------------------------------------------------------------------


def paused_days(invoice_ids: Iterable[int]) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Per invoice the days (both included) it was covered by an agreement that has ended
    (broken or cancelled): default interest is not charged for them."""
    paused: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    invoice_ids = list(invoice_ids)
    if not invoice_ids:
        return paused
    for invoice_id, start, end in InstalmentAgreementInvoice.objects.filter(
        bulk.column_in(InstalmentAgreementInvoice, "invoice", invoice_ids),
        agreement__ended_on__isnull=False,
        agreement__status__in=(
            InstalmentAgreement.Status.BROKEN,
            InstalmentAgreement.Status.CANCELLED,
        ),
    ).values_list("invoice_id", "agreement__agreed_on", "agreement__ended_on"):
        if end is not None and start is not None and end > start:
            paused[invoice_id].append((start, end - dt.timedelta(days=1)))
    return paused
