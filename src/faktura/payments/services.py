"""Every state change of money coming in: atomic, locked, re-checked, audited.

Payments are recorded, allocated to invoices, their remainder is customer credit
that can be applied to later invoices or refunded; small differences are written off;
manual bookings of the cashier may need a second person. Returned debits and
chargebacks live in ``faktura.payments.returns``, refunds in ``faktura.payments.refunds``
(both re-exported here). Lock order: see ``faktura.payments.locks``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import IntegrityError, transaction

from faktura.access import services as access
from faktura.core import audit, bulk, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import DomainError, InvalidInput, NotFound, StateConflict
from faktura.core.money import ZERO, round_money
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.payments import claims, locks, selectors
from faktura.payments.models import (
    Allocation,
    Payment,
    PaymentRequest,
    PaymentSettings,
    WriteOff,
)
from faktura.payments.off_session import (
    deactivate_payment_method,
    request_off_session_charges,
    save_payment_method,
)
from faktura.payments.refunds import (
    approve_refund,
    create_refund_batch,
    discard_refund_batch,
    refund_credit,
    reject_refund,
    release_refund_batch,
)
from faktura.payments.returns import (
    clear_dispute,
    record_chargeback,
    record_returned_debit,
)
from faktura.webhooks import services as webhooks

__all__ = [
    "allocate_payment",
    "apply_credit",
    "approve_refund",
    "clear_dispute",
    "confirm_payment_request",
    "create_refund_batch",
    "deactivate_payment_method",
    "discard_refund_batch",
    "record_chargeback",
    "record_payment",
    "record_payments",
    "record_returned_debit",
    "refund_credit",
    "reject_payment_request",
    "reject_refund",
    "release_allocation",
    "release_refund_batch",
    "request_manual_payment",
    "request_off_session_charges",
    "save_payment_method",
    "write_off",
]

BOOKING_ROLES = ("cashier", "accountant")


# --- recording ---------------------------------------------------------------------------


def _payment_fields(
    *,
    amount: object,
    date: object,
    method: str,
    reference: str,
    payer_name: str,
    payer_iban: str,
    today: dt.date | None = None,
) -> dict[str, object]:
    """Check what describes a payment; refuse bad input before anything is written."""
    value = locks.positive_amount(amount)
    day = locks.business_date(date, field="date")
    if day > (today or clock.today()):
        raise InvalidInput(
            f"date: {day} lies in the future", code="payment_date_in_future", field="date"
        )
    if method not in Payment.Method.values:
        raise InvalidInput(
            f"method: {method!r} is not one of {', '.join(Payment.Method.values)}",
            code="invalid_payment_method",
            field="method",
        )
    return {
        "amount": value,
        "date": day,
        "method": method,
        "reference": (reference or "").strip()[:500],
        "payer_name": (payer_name or "").strip()[:200],
        "payer_iban": locks.iban(payer_iban, field="payer_iban") if payer_iban else "",
    }


def _checked_source(source: str) -> str:
    if source not in Payment.Source.values:
        raise InvalidInput(
            f"source: {source!r} is not one of {', '.join(Payment.Source.values)}",
            code="invalid_payment_source",
            field="source",
        )
    return source


def _recorded_entry(payment: Payment) -> audit.PendingEntry:
    return audit.PendingEntry(
        chain=locks.chain_of(payment.customer_id),
        action="payment.recorded",
        object_type="payment",
        object_id=payment.pk,
        data={
            "amount": payment.amount,
            "date": payment.date,
            "method": payment.method,
            "source": payment.source,
            "external_id": payment.external_id,
            "reference": payment.reference,
        },
    )


def _allocated_entry(
    allocation: Allocation, invoice: Invoice, *, open_before: Decimal, credit_after: Decimal
) -> audit.PendingEntry:
    assert invoice.customer_id is not None
    return audit.PendingEntry(
        chain=audit.customer_chain(invoice.customer_id),
        action="payment.allocated",
        object_type="allocation",
        object_id=allocation.pk,
        data={
            "payment": allocation.payment_id,
            "invoice": invoice.pk,
            "number": invoice.number,
            "amount": allocation.amount,
            "open_before": open_before,
            "credit_after": credit_after,
        },
    )


def _audit(actor: Actor, entry: audit.PendingEntry) -> None:
    audit.record(
        chain=entry.chain,
        actor=actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        data=entry.data,
    )


def _create_payment(
    *,
    actor: Actor,
    fields: dict[str, object],
    source: str,
    customer_id: int | None,
    external_id: str | None,
) -> Payment:
    """Insert and audit a payment; the caller holds the customer's lock."""
    payment = Payment.objects.create(
        customer_id=customer_id,
        source=source,
        external_id=external_id,
        created_by=actor.label,
        created_at=clock.now(),
        **fields,
    )
    _audit(actor, _recorded_entry(payment))
    webhooks.emit("payment.received", webhooks.payment_data(payment), actor=actor)
    return payment


def _existing(source: str, external_id: str | None, amount: Decimal) -> Payment | None:
    if not external_id:
        return None
    existing = Payment.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        _check_same(existing, amount)
    return existing


def _check_same(existing: Payment, amount: Decimal) -> None:
    """The same external id again must be the same money (else it is another payment)."""
    if existing.amount != amount:
        raise StateConflict(
            f"The {existing.source} payment {existing.external_id!r} was recorded with "
            f"{existing.amount}, not {amount}.",
            code="external_id_reused",
            field="external_id",
        )


def record_payment(
    *,
    actor: Actor,
    amount: object,
    date: object,
    method: str,
    source: str,
    reference: str = "",
    payer_name: str = "",
    payer_iban: str = "",
    customer_id: int | None = None,
    external_id: str | None = None,
) -> Payment:
    """Record money received; idempotent by ``external_id`` per ``source``.

    The same statement transaction or provider event twice returns the first payment and
    writes nothing. Raises InvalidInput (invalid_amount, too_many_decimals,
    payment_date_in_future, invalid_payment_method, invalid_payment_source, invalid_iban),
    NotFound customer_not_found, StateConflict external_id_reused, PermissionRefused.
    """
    permissions.require(actor, "payment.record")
    fields = _payment_fields(
        amount=amount,
        date=date,
        method=method,
        reference=reference,
        payer_name=payer_name,
        payer_iban=payer_iban,
    )
    _checked_source(source)
    external_id = (external_id or "").strip() or None
    value = fields["amount"]
    assert isinstance(value, Decimal)
    if (existing := _existing(source, external_id, value)) is not None:
        return existing
    try:
        with transaction.atomic():
            if customer_id is not None:
                locks.lock_customer(customer_id, field="customer_id")
            if (existing := _existing(source, external_id, value)) is not None:
                return existing
            return _create_payment(
                actor=actor,
                fields=fields,
                source=source,
                customer_id=customer_id,
                external_id=external_id,
            )
    except IntegrityError:
        # A concurrent import recorded the same transaction first.
        if (existing := _existing(source, external_id, value)) is not None:
            return existing
        raise


# --- many payments at once (statement booking) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class IncomingPayment:
    """One payment of ``record_payments``: what ``record_payment`` takes, and the invoices
    (and amounts) it pays; what they leave stays the customer's credit. ``key`` is the
    caller's handle (a statement line) under which the outcome is reported."""

    key: int
    amount: object
    date: object
    method: str
    source: str
    reference: str = ""
    payer_name: str = ""
    payer_iban: str = ""
    customer_id: int | None = None
    external_id: str | None = None
    allocations: tuple[tuple[int, object], ...] = ()
    # The payer named the invoices of ``allocations`` (their numbers in the remittance).
    # Otherwise ``allocations`` is only what matching proposed, and a payment of a
    # customer with open dunning costs, or one quoting a notice's reference, is applied
    # by § 367 BGB instead (``faktura.payments.claims``).
    names_invoice: bool = True


@dataclass(slots=True)
class RecordedPayments:
    """What ``record_payments`` did, by ``IncomingPayment.key``."""

    payments: dict[int, Payment] = field(default_factory=dict)
    refused: dict[int, DomainError] = field(default_factory=dict)
    # The invoices that received money (what ``money_received`` was called with).
    invoice_ids: frozenset[int] = frozenset()


# What the checks of a bulk booking read of an invoice.
_PAYABLE_FIELDS = ("id", "status", "kind", "number", "customer_id")


@dataclass(slots=True)
class _Planned:
    incoming: IncomingPayment
    payment: Payment
    new: bool
    allocations: list[tuple[Invoice, Decimal, Decimal]]  # invoice, amount, open before
    credit_after: Decimal
    costs: list[tuple[claims.CostClaim, Decimal]] = field(default_factory=list)


def record_payments(
    *, actor: Actor, payments: Sequence[IncomingPayment], overpayment: bool = False
) -> RecordedPayments:
    """Record and allocate many payments in one transaction, by the rules of
    ``record_payment`` and ``allocate_payment``; for the lines of a statement, chunk by chunk.

    One entry is refused on its own (reported under its key in ``refused``, nothing of it
    written) with the error the single services raise; the others are booked. Idempotent
    by ``external_id`` per ``source`` as ``record_payment``: an entry whose payment exists
    returns it, allocated only if it has no allocation yet. Locks the customers (id order),
    then the invoices, then the existing payments; reads the open amounts and credits once
    and follows them from entry to entry, in the order given. Rows are inserted in bulk,
    audit entries appended with ``audit.record_many``; ``money_received`` is called once.
    Raises only PermissionRefused (before anything is read).
    """
    permissions.require(actor, "payment.record")
    outcome = RecordedPayments()
    checked: list[tuple[IncomingPayment, dict[str, object], str | None, list]] = []
    today = clock.today()
    for incoming in payments:
        try:
            fields = _payment_fields(
                amount=incoming.amount,
                date=incoming.date,
                method=incoming.method,
                reference=incoming.reference,
                payer_name=incoming.payer_name,
                payer_iban=incoming.payer_iban,
                today=today,
            )
            _checked_source(incoming.source)
            requests = _parse_allocations(incoming.allocations, required=False)
        except DomainError as error:
            outcome.refused[incoming.key] = error
            continue
        external_id = (incoming.external_id or "").strip() or None
        checked.append((incoming, fields, external_id, requests))
    if not checked:
        return outcome
    ledger = claims.ledger()
    # A payment quoting a dunning notice's reference belongs to that notice's customer.
    notices = (
        ledger.notices(c.reference for c, *_ in checked if not c.names_invoice)
        if ledger is not None
        else {}
    )
    checked = [
        (_with_notice_customer(c, notices.get(c.reference)), f, e, r) for c, f, e, r in checked
    ]
    invoice_ids = {invoice_id for *_, requests in checked for invoice_id, _ in requests}
    with transaction.atomic():
        owners = dict(Invoice.objects.filter(pk__in=invoice_ids).values_list("pk", "customer_id"))
        customers = locks.lock_customer_ids(
            {c.customer_id for c, *_ in checked if c.customer_id is not None} | set(owners.values())
        )
        dunned = _Dunned.load(
            ledger,
            {
                c.customer_id
                for c, *_ in checked
                if not c.names_invoice and c.customer_id in customers
            },
            notices,
        )
        invoices = locks.lock_invoices(invoice_ids | dunned.invoice_ids, fields=_PAYABLE_FIELDS)
        external_ids = {(c.source, e) for c, _, e, _ in checked if e is not None}
        existing = {
            (p.source, p.external_id): p
            for p in Payment.objects.filter(
                source__in={source for source, _ in external_ids},
                external_id__in={e for _, e in external_ids},
            ).order_by("pk")
            if (p.source, p.external_id) in external_ids
        }
        locks.lock_payments(p.pk for p in existing.values())
        held = {
            row["pk"]: (round_money(row["unallocated_amount"]), row["allocated_amount"] > 0)
            for row in selectors.with_unallocated(
                Payment.objects.filter(pk__in=[p.pk for p in existing.values()])
            ).values("pk", "unallocated_amount", "allocated_amount")
        }
        open_amounts = selectors.open_amounts(list(invoice_ids | dunned.invoice_ids))
        credits = selectors.credit_balances(customers)
        now = clock.now()
        planned: list[_Planned] = []
        for incoming, fields, external_id, requests in checked:
            try:
                plan = _plan_incoming(
                    incoming,
                    fields=fields,
                    external_id=external_id,
                    requests=requests,
                    owners=owners,
                    customers=customers,
                    invoices=invoices,
                    existing=existing,
                    held=held,
                    open_amounts=open_amounts,
                    credits=credits,
                    overpayment=overpayment,
                    actor=actor,
                    now=now,
                )
                if not incoming.names_invoice:
                    plan = dunned.apply_367(
                        plan,
                        notice=notices.get(incoming.reference),
                        held=held,
                        invoices=invoices,
                        open_amounts=open_amounts,
                    )
            except DomainError as error:
                outcome.refused[incoming.key] = error
                continue
            planned.append(plan)
            for invoice, amount, _ in plan.allocations:
                open_amounts[invoice.pk] -= amount
            for claim, amount in plan.costs:
                claim.open_amount -= amount
            if plan.payment.customer_id is not None:
                credits[plan.payment.customer_id] = plan.credit_after
            if plan.new and external_id:
                existing[(incoming.source, external_id)] = plan.payment
        _write(planned, actor=actor, now=now, ledger=ledger)
        webhooks.emit_many(
            [
                ("payment.received", webhooks.payment_data(plan.payment))
                for plan in planned
                if plan.new
            ],
            actor=actor,
        )
        outcome.payments = {plan.incoming.key: plan.payment for plan in planned}
        outcome.invoice_ids = frozenset(
            invoice.pk for plan in planned for invoice, _, _ in plan.allocations
        )
        if outcome.invoice_ids:
            money_received(invoice_ids=outcome.invoice_ids, actor=actor)
    return outcome


def _with_notice_customer(
    incoming: IncomingPayment, notice: claims.NoticeClaims | None
) -> IncomingPayment:
    """A payment quoting a notice and no customer yet is the notice's customer's."""
    if notice is None or incoming.customer_id is not None:
        return incoming
    return replace(incoming, customer_id=notice.customer_id)


@dataclass(slots=True)
class _Dunned:
    """The open cost claims and open invoices of the customers whose payments a bulk
    booking may apply by § 367 BGB, read once under the customers' locks."""

    ledger: claims.CostLedger | None = None
    costs: dict[int, list[claims.CostClaim]] = field(default_factory=dict)
    # Per customer: open invoices (id, due date), oldest due first.
    principal: dict[int, list[tuple[int, dt.date | None]]] = field(default_factory=dict)
    due_dates: dict[int, dt.date | None] = field(default_factory=dict)

    @property
    def invoice_ids(self) -> set[int]:
        return set(self.due_dates)

    @classmethod
    def load(
        cls,
        ledger: claims.CostLedger | None,
        customer_ids: set[int | None],
        notices: dict[str, claims.NoticeClaims],
    ) -> _Dunned:
        ids = {c for c in customer_ids if c is not None}
        if ledger is None or not ids:
            return cls(ledger)
        costs = ledger.open_claims(ids)
        dunned = ids & (set(costs) | {n.customer_id for n in notices.values()})
        if not dunned:
            return cls(ledger, costs)
        rows = (
            with_open_amounts(
                Invoice.objects.filter(
                    customer_id__in=dunned, status=Status.FINALIZED, kind=Kind.INVOICE
                )
            )
            .filter(open_amount__gt=0)
            .order_by("due_date", "pk")
            .values_list("pk", "customer_id", "due_date")
        )
        principal: dict[int, list[tuple[int, dt.date | None]]] = {}
        due_dates: dict[int, dt.date | None] = {}
        for pk, customer_id, due_date in rows:
            principal.setdefault(customer_id, []).append((pk, due_date))
            due_dates[pk] = due_date
        return cls(ledger, costs, principal, due_dates)

    def apply_367(
        self,
        plan: _Planned,
        *,
        notice: claims.NoticeClaims | None,
        held: dict[int, tuple[Decimal, bool]],
        invoices: dict[int, Invoice],
        open_amounts: dict[int, Decimal],
    ) -> _Planned:
        """Replace what matching proposed by the § 367 order when the payment is one on a
        dunned claim: the customer has open costs, or the payer quoted a notice."""
        payment = plan.payment
        customer_id = payment.customer_id
        if customer_id is None or (notice is not None and notice.customer_id != customer_id):
            notice = None
        if customer_id is None:
            return plan
        costs = self.costs.get(customer_id, [])
        if notice is not None:
            costs = [c for c in costs if c.key in notice.cost_keys]
        elif not costs:
            return plan  # not dunned: matching's proposal stands
        if plan.new:
            available = payment.amount
        else:
            available, allocated_before = held.get(payment.pk, (ZERO, True))
            if allocated_before:
                return plan
        candidates = (
            [(pk, self.due_dates.get(pk)) for pk in notice.invoice_ids]
            if notice is not None
            else self.principal.get(customer_id, [])
        )
        open_invoices = [
            claims.OpenInvoice(pk, due, open_amounts.get(pk, ZERO))
            for pk, due in candidates
            if pk in invoices and _is_payable(invoices[pk])
        ]
        applied = claims.plan(available, costs=costs, invoices=open_invoices)
        proposed = sum((amount for _, amount, _ in plan.allocations), ZERO)
        spent = sum((amount for _, amount in applied.costs), ZERO) + sum(
            (amount for _, amount in applied.invoices), ZERO
        )
        return _Planned(
            plan.incoming,
            payment,
            plan.new,
            [(invoices[pk], amount, open_amounts[pk]) for pk, amount in applied.invoices],
            _credit_after(plan.credit_after + proposed, allocated=spent, gained=ZERO),
            applied.costs,
        )


def _is_payable(invoice: Invoice) -> bool:
    return invoice.status == Status.FINALIZED and invoice.kind == Kind.INVOICE


def _plan_incoming(
    incoming: IncomingPayment,
    *,
    fields: dict[str, object],
    external_id: str | None,
    requests: list[tuple[int, Decimal]],
    owners: dict[int, int],
    customers: set[int],
    invoices: dict[int, Invoice],
    existing: dict[tuple[str, str | None], Payment],
    held: dict[int, tuple[Decimal, bool]],
    open_amounts: dict[int, Decimal],
    credits: dict[int, Decimal],
    overpayment: bool,
    actor: Actor,
    now: dt.datetime,
) -> _Planned:
    """One entry checked as ``record_payment`` and ``allocate_payment`` check it."""
    customer_id = incoming.customer_id
    if customer_id is not None and customer_id not in customers:
        raise NotFound(
            f"Customer {customer_id} does not exist.",
            code="customer_not_found",
            field="customer_id",
        )
    amount = fields["amount"]
    assert isinstance(amount, Decimal)
    payment = existing.get((incoming.source, external_id)) if external_id else None
    new = payment is None
    if payment is None:
        payment = Payment(
            customer_id=customer_id,
            source=incoming.source,
            external_id=external_id,
            created_by=actor.label,
            created_at=now,
            **fields,
        )
        available, allocated_before = amount, False
    else:
        _check_same(payment, amount)
        # Recorded earlier in this call (no id yet): it is that payment, allocated there.
        available, allocated_before = held.get(payment.pk, (ZERO, True))
    if not requests or allocated_before:
        credit = credits.get(payment.customer_id, ZERO) if payment.customer_id else ZERO
        gained = available if new and payment.customer_id else ZERO
        return _Planned(incoming, payment, new, [], credit + gained)
    for index, (invoice_id, _) in enumerate(requests):
        if invoice_id not in owners:
            raise NotFound(
                f"Invoice {invoice_id} does not exist.",
                code="invoice_not_found",
                field=f"allocations[{index}].invoice",
            )
    owner_ids = {owners[invoice_id] for invoice_id, _ in requests}
    if len(owner_ids) > 1:
        raise InvalidInput(
            "One allocation pays invoices of one customer only.",
            code="invoices_of_several_customers",
            field="allocations",
        )
    owner = owner_ids.pop()
    if payment.customer_id not in (None, owner):
        raise StateConflict(
            f"Payment {payment.pk or external_id} belongs to another customer.",
            code="payment_of_other_customer",
        )
    plan = _plan_allocations(
        payment_id=payment.pk,
        available=available,
        requests=requests,
        invoices=invoices,
        open_amounts=open_amounts,
        overpayment=overpayment,
    )
    gained = available if payment.customer_id is None or new else ZERO
    credit_after = _credit_after(
        credits.get(owner, ZERO),
        allocated=sum((part for _, part in plan), ZERO),
        gained=gained,
    )
    if payment.customer_id is None:
        payment.customer_id = owner
        if not new:
            payment.save(update_fields=["customer"])
    return _Planned(
        incoming,
        payment,
        new,
        [(invoice, part, open_amounts[invoice.pk]) for invoice, part in plan],
        credit_after,
    )


def _write(
    planned: list[_Planned], *, actor: Actor, now: dt.datetime, ledger: claims.CostLedger | None
) -> None:
    """Insert the planned payments and allocations; append their audit entries in order."""
    bulk.insert([plan.payment for plan in planned if plan.new], with_ids=True)
    cost_parts = [
        (plan.payment.pk, claim, amount) for plan in planned for claim, amount in plan.costs
    ]
    cost_entries = ledger.pay(cost_parts, actor=actor, now=now) if ledger and cost_parts else []
    allocations = [
        Allocation(
            payment=plan.payment,
            invoice=invoice,
            amount=amount,
            created_at=now,
            created_by=actor.label,
        )
        for plan in planned
        for invoice, amount, _ in plan.allocations
    ]
    bulk.insert(allocations, with_ids=True)
    entries: list[audit.PendingEntry] = []
    made = iter(allocations)
    for plan in planned:
        if plan.new:
            entries.append(_recorded_entry(plan.payment))
        for invoice, _, open_before in plan.allocations:
            entries.append(
                _allocated_entry(
                    next(made), invoice, open_before=open_before, credit_after=plan.credit_after
                )
            )
    entries += cost_entries
    if entries:
        audit.record_many(actor=actor, entries=entries)


# --- allocation --------------------------------------------------------------------------


def _parse_allocations(
    allocations: Sequence[tuple[int, object]], *, required: bool = True
) -> list[tuple[int, Decimal]]:
    if required and not allocations:
        raise InvalidInput(
            "Name at least one invoice and amount.", code="no_allocations", field="allocations"
        )
    parsed: list[tuple[int, Decimal]] = []
    seen: set[int] = set()
    for index, (invoice_id, amount) in enumerate(allocations):
        if invoice_id in seen:
            raise InvalidInput(
                f"Invoice {invoice_id} is named twice.",
                code="duplicate_invoice",
                field=f"allocations[{index}].invoice",
            )
        seen.add(invoice_id)
        parsed.append(
            (invoice_id, locks.positive_amount(amount, field=f"allocations[{index}].amount"))
        )
    return parsed


def _check_payable(invoice: Invoice) -> None:
    if invoice.status != Status.FINALIZED or invoice.kind != Kind.INVOICE:
        raise StateConflict(
            f"{invoice} is not a finalized invoice; only those can be paid.",
            code="invoice_not_payable",
        )


def _plan_allocations(
    *,
    payment_id: int | None,
    available: Decimal,
    requests: list[tuple[int, Decimal]],
    invoices: dict[int, Invoice],
    open_amounts: dict[int, Decimal],
    overpayment: bool,
) -> list[tuple[Invoice, Decimal]]:
    """What the requests allocate, re-checked against the open amounts read under lock."""
    requested = sum((amount for _, amount in requests), ZERO)
    if requested > available:
        raise StateConflict(
            f"{f'Payment {payment_id}' if payment_id else 'The payment'} has {available} "
            f"left to allocate, not {requested}.",
            code="allocation_exceeds_payment",
        )
    planned: list[tuple[Invoice, Decimal]] = []
    for invoice_id, amount in requests:
        invoice = invoices[invoice_id]
        _check_payable(invoice)
        open_amount = open_amounts[invoice_id]
        if open_amount <= 0:
            raise StateConflict(f"{invoice} is paid already.", code="invoice_already_paid")
        if amount > open_amount:
            if not overpayment:
                raise StateConflict(
                    f"{amount} is more than the open amount of {invoice} ({open_amount}); "
                    "allocate it as an overpayment to keep the rest as customer credit.",
                    code="allocation_exceeds_open_amount",
                )
            amount = open_amount
        planned.append((invoice, amount))
    return planned


def _credit_after(credit_before: Decimal, *, allocated: Decimal, gained: Decimal) -> Decimal:
    """The customer's credit after allocating; money held for a refund stays untouched.

    ``gained``: what the payment adds to the customer's credit that ``credit_before`` does
    not count yet (a payment without a customer until now).
    """
    credit_after = credit_before - allocated + gained
    if credit_after < 0:
        raise StateConflict(
            "The money of this payment is reserved for a refund.", code="credit_reserved"
        )
    return credit_after


def _allocate_locked(
    *,
    payment: Payment,
    customer_id: int,
    requests: list[tuple[int, Decimal]],
    invoices: dict[int, Invoice],
    actor: Actor,
    overpayment: bool,
) -> list[Allocation]:
    """Allocate under the locks of the customer, the invoices and the payment."""
    available = selectors.unallocated_amount(payment.pk)
    open_amounts = selectors.open_amounts([invoice_id for invoice_id, _ in requests])
    planned = _plan_allocations(
        payment_id=payment.pk,
        available=available,
        requests=requests,
        invoices=invoices,
        open_amounts=open_amounts,
        overpayment=overpayment,
    )
    credit_after = _credit_after(
        selectors.credit_balance(customer_id),
        allocated=sum((amount for _, amount in planned), ZERO),
        gained=available if payment.customer_id is None else ZERO,
    )
    if payment.customer_id is None:
        payment.customer_id = customer_id
        payment.save(update_fields=["customer"])
    now = clock.now()
    created = []
    for invoice, amount in planned:
        allocation = Allocation.objects.create(
            payment=payment, invoice=invoice, amount=amount, created_at=now, created_by=actor.label
        )
        created.append(allocation)
        _audit(
            actor,
            _allocated_entry(
                allocation,
                invoice,
                open_before=open_amounts[invoice.pk],
                credit_after=credit_after,
            ),
        )
    money_received(invoice_ids=frozenset(invoice.pk for invoice, _ in planned), actor=actor)
    return created


def _settle_unnamed(payment: Payment, *, actor: Actor) -> None:
    """Apply a payment whose payer named no invoice by § 367 BGB, if it is one on a dunned
    claim: the customer has open dunning costs, or the reference quotes a notice (whose
    customer it then is). Otherwise the money stays the customer's credit, as before.

    Runs inside the booking's transaction; the caller holds the payment's customer lock
    (a payment without a customer gets the notice's customer, locked here).
    """
    ledger = claims.ledger()
    if ledger is None:
        return
    notice = ledger.notices([payment.reference]).get(payment.reference)
    if notice is not None and payment.customer_id not in (None, notice.customer_id):
        notice = None
    customer_id = payment.customer_id or (notice.customer_id if notice else None)
    if customer_id is None:
        return
    locks.lock_customer(customer_id)
    notices = {payment.reference: notice} if notice is not None else {}
    dunned = _Dunned.load(ledger, {customer_id}, notices)
    if notice is None and not dunned.costs.get(customer_id):
        return
    if payment.customer_id is None:
        payment.customer_id = customer_id
        payment.save(update_fields=["customer"])
    invoice_ids = dunned.invoice_ids | set(notice.invoice_ids if notice else ())
    invoices = locks.lock_invoices(invoice_ids)
    open_amounts = selectors.open_amounts(list(invoice_ids))
    unnamed = IncomingPayment(
        key=payment.pk,
        amount=payment.amount,
        date=payment.date,
        method=payment.method,
        source=payment.source,
        reference=payment.reference,
        customer_id=customer_id,
        names_invoice=False,
    )
    plan = dunned.apply_367(
        _Planned(unnamed, payment, False, [], selectors.credit_balance(customer_id)),
        notice=notice,
        held={payment.pk: (selectors.unallocated_amount(payment.pk), False)},
        invoices=invoices,
        open_amounts=open_amounts,
    )
    _write([plan], actor=actor, now=clock.now(), ledger=ledger)
    paid = frozenset(invoice.pk for invoice, _, _ in plan.allocations)
    if paid:
        money_received(invoice_ids=paid, actor=actor)


def money_received(*, invoice_ids: frozenset[int], actor: Actor) -> None:
    """Runs in the booking's transaction, under its locks, once per booking (a chunk of
    ``record_payments``, an allocation of the single services, credit applied), with the
    invoices that just received money: the one place for what has to happen in the same
    transaction as the booking (lifting an access block once its claims are paid, counting
    the instalments of an agreement, queuing the ``invoice.paid`` webhook).

    Money only ever goes to invoices with something open, so an invoice with nothing open
    now has just been paid.
    """
    if not invoice_ids:
        return
    owners = sorted(
        set(Invoice.objects.filter(pk__in=invoice_ids).values_list("customer_id", flat=True))
    )
    for customer_id in owners:
        access.claims_paid(customer_id, actor=actor)
    # Instalments of an agreement covering these invoices count the money (dunning app).
    from faktura.dunning.instalments import instalments_paid

    instalments_paid(invoice_ids=invoice_ids, actor=actor)
    webhooks.emit_paid(
        list(Invoice.objects.filter(pk__in=invoice_ids).order_by("pk")),
        dict.fromkeys(invoice_ids, 1),
        actor=actor,
    )


def allocate_payment(
    *,
    payment_id: int,
    allocations: list[tuple[int, object]],
    actor: Actor,
    overpayment: bool = False,
) -> list[Allocation]:
    """Assign (parts of) a payment to invoices of one customer.

    Never more than the payment's unallocated amount (allocation_exceeds_payment), never
    more than an invoice's open amount (allocation_exceeds_open_amount) unless
    ``overpayment``: then the invoice is settled and the rest stays on the payment as the
    customer's credit. Locks the customer, then the invoices in id order, then the payment.
    """
    permissions.require(actor, "payment.record")
    requests = _parse_allocations(allocations)
    invoice_ids = [invoice_id for invoice_id, _ in requests]
    owners = dict(Invoice.objects.filter(pk__in=invoice_ids).values_list("pk", "customer_id"))
    for index, invoice_id in enumerate(invoice_ids):
        if invoice_id not in owners:
            raise NotFound(
                f"Invoice {invoice_id} does not exist.",
                code="invoice_not_found",
                field=f"allocations[{index}].invoice",
            )
    if len(set(owners.values())) > 1:
        raise InvalidInput(
            "One allocation pays invoices of one customer only.",
            code="invoices_of_several_customers",
            field="allocations",
        )
    customer_id = next(iter(owners.values()))
    with transaction.atomic():
        locks.lock_customer(customer_id)
        invoices = locks.lock_invoices(invoice_ids)
        payment = locks.lock_payments([payment_id]).get(payment_id)
        if payment is None:
            raise NotFound(f"Payment {payment_id} does not exist.", code="payment_not_found")
        if payment.customer_id not in (None, customer_id):
            raise StateConflict(
                f"Payment {payment_id} belongs to another customer.",
                code="payment_of_other_customer",
            )
        return _allocate_locked(
            payment=payment,
            customer_id=customer_id,
            requests=requests,
            invoices=invoices,
            actor=actor,
            overpayment=overpayment,
        )


def release_allocation(*, allocation_id: int, actor: Actor, reason: str) -> Allocation:
    """Reverse an allocation: the invoice is open again, the money is the customer's credit.

    Raises InvalidInput reason_required, NotFound allocation_not_found, StateConflict
    allocation_already_released.
    """
    permissions.require(actor, "payment.release_allocation")
    reason = locks.required_text(reason, field="reason", code="reason_required", max_length=200)
    found = Allocation.objects.filter(pk=allocation_id).values("invoice__customer_id").first()
    if found is None:
        raise NotFound(f"Allocation {allocation_id} does not exist.", code="allocation_not_found")
    with transaction.atomic():
        locks.lock_customer(found["invoice__customer_id"])
        allocation = Allocation.objects.select_for_update().get(pk=allocation_id)
        locks.lock_invoices([allocation.invoice_id])
        if allocation.reversed_at is not None:
            raise StateConflict(
                f"Allocation {allocation_id} was released already.",
                code="allocation_already_released",
            )
        allocation.reversed_at = clock.now()
        allocation.reversed_by = actor.label
        allocation.reversal_reason = reason
        allocation.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
        audit.record(
            chain=audit.customer_chain(found["invoice__customer_id"]),
            actor=actor,
            action="allocation.released",
            object_type="allocation",
            object_id=allocation.pk,
            data={
                "payment": allocation.payment_id,
                "invoice": allocation.invoice_id,
                "amount": allocation.amount,
                "reason": reason,
            },
        )
    return allocation


# --- customer credit ---------------------------------------------------------------------


def apply_credit(
    *, customer_id: int, invoice_id: int, actor: Actor, amount: object = None
) -> list[Allocation]:
    """Settle an invoice from the customer's credit (oldest payments first).

    ``amount`` defaults to what is possible: the smaller of credit and open amount.
    Raises StateConflict no_credit, insufficient_credit, invoice_already_paid,
    allocation_exceeds_open_amount, InvalidInput invoice_of_other_customer.
    """
    permissions.require(actor, "payment.record")
    wanted = None if amount is None else locks.positive_amount(amount)
    with transaction.atomic():
        locks.lock_customer(customer_id)
        invoice = locks.lock_invoices([invoice_id]).get(invoice_id)
        if invoice is None:
            raise NotFound(f"Invoice {invoice_id} does not exist.", code="invoice_not_found")
        if invoice.customer_id != customer_id:
            raise InvalidInput(
                f"{invoice} belongs to another customer.",
                code="invoice_of_other_customer",
                field="invoice_id",
            )
        _check_payable(invoice)
        credit = selectors.credit_balance(customer_id)
        if credit <= 0:
            raise StateConflict("The customer has no credit.", code="no_credit")
        open_amount = selectors.open_amounts([invoice_id])[invoice_id]
        if open_amount <= 0:
            raise StateConflict(f"{invoice} is paid already.", code="invoice_already_paid")
        value = wanted if wanted is not None else min(credit, open_amount)
        if value > credit:
            raise StateConflict(
                f"The customer has {credit} credit, not {value}.", code="insufficient_credit"
            )
        if value > open_amount:
            raise StateConflict(
                f"{value} is more than the open amount of {invoice} ({open_amount}).",
                code="allocation_exceeds_open_amount",
            )
        sources = selectors.credit_sources(customer_id)
        locks.lock_payments(p.pk for p in sources)
        now = clock.now()
        created: list[Allocation] = []
        remaining = value
        for payment in sources:
            if remaining <= 0:
                break
            part = min(remaining, round_money(payment.unallocated_amount))  # type: ignore[attr-defined]
            created.append(
                Allocation.objects.create(
                    payment=payment,
                    invoice=invoice,
                    amount=part,
                    created_at=now,
                    created_by=actor.label,
                )
            )
            remaining -= part
        money_received(invoice_ids=frozenset({invoice.pk}), actor=actor)
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="credit.applied",
            object_type=invoice.kind,
            object_id=invoice.pk,
            data={
                "number": invoice.number,
                "amount": value,
                "allocations": [a.pk for a in created],
                "credit_after": credit - value,
            },
        )
    return created


# --- write-off ---------------------------------------------------------------------------


def write_off(*, invoice_id: int, amount: object, reason: str, actor: Actor) -> WriteOff:
    """Forgo a small rest of an invoice, at most the configured tolerance.

    Raises InvalidInput reason_required, StateConflict write_off_exceeds_tolerance,
    write_off_exceeds_open_amount, invoice_not_payable.
    """
    permissions.require(actor, "payment.write_off")
    value = locks.positive_amount(amount)
    reason = locks.required_text(reason, field="reason", code="reason_required", max_length=200)
    customer_id = (
        Invoice.objects.filter(pk=invoice_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(f"Invoice {invoice_id} does not exist.", code="invoice_not_found")
    tolerance = PaymentSettings.load().effective_write_off_tolerance
    if value > tolerance:
        raise StateConflict(
            f"{value} is more than the write-off tolerance of {tolerance}.",
            code="write_off_exceeds_tolerance",
        )
    with transaction.atomic():
        locks.lock_customer(customer_id)
        invoice = locks.lock_invoices([invoice_id])[invoice_id]
        _check_payable(invoice)
        open_amount = selectors.open_amounts([invoice_id])[invoice_id]
        if value > open_amount:
            raise StateConflict(
                f"{value} is more than the open amount of {invoice} ({open_amount}).",
                code="write_off_exceeds_open_amount",
            )
        entry = WriteOff.objects.create(
            invoice=invoice,
            customer_id=customer_id,
            amount=value,
            reason=reason,
            created_at=clock.now(),
            created_by=actor.label,
        )
        audit.record(
            chain=audit.customer_chain(customer_id),
            actor=actor,
            action="invoice.written_off",
            object_type=invoice.kind,
            object_id=invoice.pk,
            data={
                "number": invoice.number,
                "amount": value,
                "reason": reason,
                "open_before": open_amount,
            },
        )
        access.claims_paid(customer_id, actor=actor)
    return entry


# --- manual bookings with confirmation ------------------------------------------------------


def _book_request(request: PaymentRequest, *, actor: Actor) -> PaymentRequest:
    """Book a request under the customer's (and invoice's) lock."""
    payment = _create_payment(
        actor=actor,
        fields={
            "amount": request.amount,
            "date": request.date,
            "method": request.method,
            "reference": request.reference,
            "payer_name": request.payer_name,
            "payer_iban": request.payer_iban,
        },
        source=Payment.Source.MANUAL,
        customer_id=request.customer_id,
        external_id=f"request:{request.pk}",
    )
    if request.invoice_id is not None and request.customer_id is not None:
        invoices = locks.lock_invoices([request.invoice_id])
        open_amount = selectors.open_amounts([request.invoice_id])[request.invoice_id]
        if open_amount > 0:
            _allocate_locked(
                payment=payment,
                customer_id=request.customer_id,
                requests=[(request.invoice_id, min(open_amount, request.amount))],
                invoices=invoices,
                actor=actor,
                overpayment=False,
            )
    else:
        _settle_unnamed(payment, actor=actor)
    request.status = PaymentRequest.Status.CONFIRMED
    request.payment = payment
    request.decided_by = actor.label
    request.decided_at = clock.now()
    request.save(update_fields=["status", "payment", "decided_by", "decided_at"])
    audit.record(
        chain=locks.chain_of(request.customer_id),
        actor=actor,
        action="payment_request.confirmed",
        object_type="payment_request",
        object_id=request.pk,
        data={
            "payment": payment.pk,
            "amount": request.amount,
            "requested_by": request.requested_by,
        },
    )
    return request


def request_manual_payment(
    *,
    actor: Actor,
    amount: object,
    date: object,
    method: str,
    reference: str = "",
    payer_name: str = "",
    payer_iban: str = "",
    customer_id: int | None = None,
    invoice_id: int | None = None,
) -> PaymentRequest:
    """Enter a payment by hand (cash desk, cheque, transfer seen elsewhere).

    With ``require_payment_confirmation`` on, what a cashier enters waits as a pending
    request until a second person confirms it; otherwise (or entered by an accountant) it
    is booked at once (status confirmed, ``payment`` set). With ``invoice_id`` the payment
    is allocated to that invoice, a surplus stays as credit.
    """
    permissions.require(actor, "payment.record")
    fields = _payment_fields(
        amount=amount,
        date=date,
        method=method,
        reference=reference,
        payer_name=payer_name,
        payer_iban=payer_iban,
    )
    if invoice_id is not None:
        owner = Invoice.objects.filter(pk=invoice_id).values_list("customer_id", flat=True).first()
        if owner is None:
            raise NotFound(
                f"Invoice {invoice_id} does not exist.",
                code="invoice_not_found",
                field="invoice_id",
            )
        if customer_id not in (None, owner):
            raise InvalidInput(
                f"Invoice {invoice_id} belongs to another customer.",
                code="invoice_of_other_customer",
                field="invoice_id",
            )
        customer_id = owner
    with transaction.atomic():
        if customer_id is not None:
            locks.lock_customer(customer_id, field="customer_id")
        if invoice_id is not None:
            _check_payable(locks.lock_invoices([invoice_id])[invoice_id])
        request = PaymentRequest.objects.create(
            customer_id=customer_id,
            invoice_id=invoice_id,
            requested_by=actor.label,
            requested_by_user_id=actor.user_id,
            requested_at=clock.now(),
            **fields,
        )
        audit.record(
            chain=locks.chain_of(customer_id),
            actor=actor,
            action="payment_request.created",
            object_type="payment_request",
            object_id=request.pk,
            data={"amount": request.amount, "date": request.date, "invoice": invoice_id},
        )
        if not selectors.needs_confirmation(actor):
            _book_request(request, actor=actor)
    return request


def _locked_request(request_id: int) -> PaymentRequest:
    found = PaymentRequest.objects.filter(pk=request_id).values("customer_id", "invoice_id").first()
    if found is None:
        raise NotFound(
            f"Payment request {request_id} does not exist.", code="payment_request_not_found"
        )
    if found["customer_id"] is not None:
        locks.lock_customer(found["customer_id"])
    if found["invoice_id"] is not None:
        locks.lock_invoices([found["invoice_id"]])
    request = PaymentRequest.objects.select_for_update().get(pk=request_id)
    if request.status != PaymentRequest.Status.PENDING:
        raise StateConflict(
            f"Payment request {request_id} was decided already ({request.status}).",
            code="payment_request_not_pending",
        )
    return request


def _check_second_person(request: PaymentRequest, actor: Actor) -> None:
    """Not who entered it (by user, whatever key or login), and a role that may confirm."""
    permissions.require_second_person(
        actor,
        label=request.requested_by,
        user_id=request.requested_by_user_id,
        code="confirmer_is_requester",
        message="Who entered a payment cannot confirm or reject it (four-eyes principle).",
    )
    permissions.require(actor, "payment.confirm")


def confirm_payment_request(*, request_id: int, actor: Actor) -> PaymentRequest:
    """Book a pending manual payment; by another person than who entered it."""
    with transaction.atomic():
        request = _locked_request(request_id)
        _check_second_person(request, actor)
        return _book_request(request, actor=actor)


def reject_payment_request(*, request_id: int, actor: Actor, reason: str) -> PaymentRequest:
    """Refuse a pending manual payment; nothing is booked."""
    reason = locks.required_text(reason, field="reason", code="reason_required", max_length=500)
    with transaction.atomic():
        request = _locked_request(request_id)
        _check_second_person(request, actor)
        request.status = PaymentRequest.Status.REJECTED
        request.decided_by = actor.label
        request.decided_at = clock.now()
        request.rejection_reason = reason
        request.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
        audit.record(
            chain=locks.chain_of(request.customer_id),
            actor=actor,
            action="payment_request.rejected",
            object_type="payment_request",
            object_id=request.pk,
            data={"reason": reason, "requested_by": request.requested_by},
        )
    return request
