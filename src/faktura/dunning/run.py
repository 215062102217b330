"""The daily dunning run: every overdue invoice moves on one level when its time has come.

Candidates are the customers with finalized invoices past their due date. The run works
through them in chunks; each chunk is one transaction that locks its customers (id order),
reads the open amounts of all their overdue invoices in one aggregate query, decides per
invoice whether the next level of the customer's policy is due, and writes the notices,
their items, fees, interest periods, the invoices' cases and the outbox mails together.
A run killed at any point leaves whole chunks or nothing.

Idempotent and catch-up safe: a level is due when its days have passed since the due date
(level 0) or since the last notice was sent; a run moves an invoice on one level at most,
so a run after an outage sends the next notice once, not one for every missed day. The
database refuses a second notice per customer, level and date, a second active notice of
an invoice per level, a second fee per notice, a second flat fee per invoice and a second
interest period with the same first day per invoice.

Skipped: customers with a dunning block in force (until a date, or open-ended); disputed
invoices (open ``payments.Dispute``); invoices with a direct debit still in its collection
window (an item pending or submitted, or a debit date not yet come); cases handed to
collection; invoices below the level's minimum open amount; credit notes (only invoices are
dunned); invoices on a proposal still waiting for review. Invoices covered by an active
instalment agreement are not even read (``_overdue``); the run first breaks the agreements
with a missed instalment (``instalments.check_agreements``), whose invoices then go on from
the level they had reached.

Known simplification: interest for the days since the last charged period is computed on
the open amount on the run date; a partial payment in between lowers the interest for the
whole stretch (in the debtor's favour), never raises it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formataddr
from string import Template
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef

from faktura.collection.calendar import on_or_after
from faktura.collection.models import DirectDebitItem
from faktura.core import audit, bulk, clock, permissions, run_locks
from faktura.core.actors import Actor
from faktura.core.models import BankAccount, Company
from faktura.core.money import ZERO, round_money
from faktura.customers.models import Customer
from faktura.dunning import costs, instalments, staff
from faktura.dunning import interest as rules
from faktura.dunning.models import (
    BaseRate,
    CustomerDunning,
    DunningCase,
    DunningFee,
    DunningLevel,
    DunningNotice,
    DunningNoticeItem,
    DunningPolicy,
    DunningRun,
    InstalmentAgreementInvoice,
)
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.invoicing.selectors import with_open_amounts
from faktura.notifications import services as outbox
from faktura.payments import off_session
from faktura.payments.models import Dispute, FeeItem, PaymentSettings
from faktura.webhooks import services as webhooks

LETTERS_PER_TASK = 50
DIRECT_DEBIT = "direct_debit"
Progress = Callable[[int, int], None]


@dataclass
class Context:
    """What the whole run reads once: policies, levels, base rates, the sender."""

    policies: dict[int, DunningPolicy]
    levels: dict[int, dict[int, DunningLevel]]  # policy → number → level
    by_kind: dict[str, int]
    default: int | None
    rates: list[tuple[dt.date, Decimal]]
    pre_notification_days: int
    company_name: str
    from_email: str
    reply_to: list[str]
    bank: str

    @classmethod
    def load(cls) -> Context:
        policies = {p.pk: p for p in DunningPolicy.objects.all()}
        levels: dict[int, dict[int, DunningLevel]] = defaultdict(dict)
        for level in DunningLevel.objects.all():
            levels[level.policy_id][level.number] = level
        by_kind: dict[str, int] = {}
        default = None
        for policy in sorted(policies.values(), key=lambda p: p.pk):
            for kind in policy.customer_kinds or []:
                by_kind.setdefault(kind, policy.pk)
            if policy.is_default:
                default = policy.pk
        company = Company.objects.order_by("pk").first()
        name = company.legal_name if company else ""
        email = company.email if company else ""
        account = BankAccount.objects.filter(is_default=True).order_by("pk").first()
        bank = (
            f"{account.account_holder}, IBAN {account.iban}, BIC {account.bic}" if account else ""
        )
        return cls(
            policies=policies,
            levels=dict(levels),
            by_kind=by_kind,
            default=default,
            rates=list(BaseRate.objects.values_list("valid_from", "rate")),
            pre_notification_days=PaymentSettings.load().pre_notification_days,
            company_name=name,
            from_email=formataddr((name, settings.DEFAULT_FROM_EMAIL)),
            reply_to=[email] if email else [],
            bank=bank,
        )

    def policy_for(self, customer: Customer, override: int | None) -> int | None:
        if override is not None:
            return override
        return self.by_kind.get(customer.kind, self.default)


@dataclass
class ChunkResult:
    customers: int = 0
    overdue: int = 0
    skipped: int = 0
    sent: int = 0
    proposed: int = 0
    fees: int = 0
    interest_periods: int = 0
    notices: list[DunningNotice] = field(default_factory=list)


def block_in_force(customer: Customer, on: dt.date) -> bool:
    """A dunning block counts until and including its end date; without one, until lifted."""
    if not customer.dunning_block:
        return False
    return customer.dunning_block_until is None or customer.dunning_block_until >= on


def _overdue(on: dt.date) -> Any:
    """Invoices past their due date, without those an active instalment agreement covers
    (left out in the query: the partial unique index on the agreement's invoices serves
    the NOT EXISTS)."""
    covered = InstalmentAgreementInvoice.objects.filter(invoice_id=OuterRef("pk"), active=True)
    return Invoice.objects.filter(
        ~Exists(covered), status=Status.FINALIZED, kind=Kind.INVOICE, due_date__lt=on
    )


def candidate_customers(on: dt.date, customer_ids: list[int] | None = None) -> list[int]:
    """Ids of the customers with an invoice past its due date and an open amount."""
    invoices = _overdue(on)
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=customer_ids)
    rows = (
        with_open_amounts(invoices)
        .filter(open_amount__gt=0)
        .order_by()  # the model's ordering would make the id part of DISTINCT
        .values_list("customer_id", flat=True)
        .distinct()
    )
    with transaction.atomic():
        _no_jit()
        return sorted(set(rows))


def _no_jit() -> None:
    """Switch PostgreSQL's JIT compiler off for the current transaction.

    The open-amount subqueries make the planner's estimate high enough to JIT-compile each
    chunk's query, which then takes ~45 ms to compile and ~20 ms to run (measured with
    bench/dunning_run.py): the run spent most of its time compiling.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def chunk_customers() -> int:
    """Customers per chunk, i.e. per transaction (``FAKTURA_DUNNING_CHUNK_CUSTOMERS``)."""
    return max(1, settings.FAKTURA_DUNNING_CHUNK_CUSTOMERS)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _money(value: Decimal, lang: str) -> str:
    text = f"{value:,.2f}"
    if lang == "de":
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def _date(value: dt.date, lang: str) -> str:
    return value.strftime("%d.%m.%Y") if lang == "de" else value.isoformat()


def _in_collection_window(row: dict[str, Any], on: dt.date, days: int) -> bool:
    """A direct-debit invoice whose debit date (not before issue + pre-notification days,
    on a business day) has not come yet: the money is still to be collected."""
    if row["payment_method"] != DIRECT_DEBIT or row["issue_date"] is None:
        return False
    earliest = row["issue_date"] + dt.timedelta(days=days)
    return on_or_after(max(row["due_date"], earliest)) >= on


@dataclass
class _Group:
    customer: Customer
    policy: DunningPolicy
    level: DunningLevel
    invoices: list[dict[str, Any]]


def dun_chunk(
    customer_ids: list[int],
    *,
    on: dt.date,
    actor: Actor,
    context: Context,
    run: DunningRun | None,
    dry_run: bool = False,
) -> ChunkResult:
    """Decide and (unless ``dry_run``) write the chunk's notices; one transaction."""
    result = ChunkResult()
    with transaction.atomic():
        _no_jit()
        customers_query = Customer.objects.filter(
            bulk.column_in(Customer, "id", customer_ids)
        ).order_by("pk")
        if not dry_run:
            customers_query = customers_query.select_for_update()
        customers = {c.pk: c for c in customers_query}
        rows = list(
            with_open_amounts(
                _overdue(on).filter(bulk.column_in(Invoice, "customer", customer_ids))
            )
            .filter(open_amount__gt=0)
            .order_by("customer_id", "due_date", "pk")
            .values(
                "pk",
                "customer_id",
                "number",
                "issue_date",
                "due_date",
                "payable_amount",
                "open_amount",
                "payment_method",
            )
        )
        result.customers = len(customers)
        result.overdue = len(rows)
        ids = [row["pk"] for row in rows]
        cases = {
            c.invoice_id: c
            for c in DunningCase.objects.filter(bulk.column_in(DunningCase, "invoice", ids))
        }
        disputed = set(
            Dispute.objects.filter(
                bulk.column_in(Dispute, "invoice", ids), cleared_at__isnull=True
            ).values_list("invoice_id", flat=True)
        )
        debiting = set(
            DirectDebitItem.objects.filter(
                bulk.column_in(DirectDebitItem, "invoice", ids),
                state__in=(DirectDebitItem.State.PENDING, DirectDebitItem.State.SUBMITTED),
            ).values_list("invoice_id", flat=True)
        )
        # A card declined for a passing reason is tried again first (payments.off_session).
        retrying = off_session.card_retries_pending(ids)
        waiting = set(
            DunningNoticeItem.objects.filter(
                bulk.column_in(DunningNoticeItem, "invoice", ids),
                active=True,
                notice__status=DunningNotice.Status.PROPOSED,
            ).values_list("invoice_id", flat=True)
        )
        overrides = dict(
            CustomerDunning.objects.filter(
                bulk.column_in(CustomerDunning, "customer", customer_ids), policy__isnull=False
            ).values_list("customer_id", "policy_id")
        )
        groups: dict[tuple[int, int, int | None], _Group] = {}
        for row in rows:
            customer = customers.get(row["customer_id"])
            if customer is None:
                continue
            policy_id = context.policy_for(customer, overrides.get(customer.pk))
            case = cases.get(row["pk"])
            if (
                policy_id is None
                or block_in_force(customer, on)
                or row["pk"] in disputed
                or row["pk"] in debiting
                or row["pk"] in waiting
                or row["pk"] in retrying
                or (case is not None and case.handed_to_collection)
                or _in_collection_window(row, on, context.pre_notification_days)
            ):
                result.skipped += 1
                continue
            number = 0 if case is None else case.level + 1
            level = context.levels.get(policy_id, {}).get(number)
            if level is None:
                continue  # the last level is reached: collection is next
            since = row["due_date"] if case is None else case.last_notice_on
            if since is None or since + dt.timedelta(days=level.days) > on:
                continue
            if row["open_amount"] < level.minimum_open_amount:
                result.skipped += 1
                continue
            policy = context.policies[policy_id]
            key = (customer.pk, number, row["pk"] if policy.one_notice_per_invoice else None)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(customer, policy, level, [])
            group.invoices.append(row)
        if groups:
            _make_notices(
                list(groups.values()),
                on=on,
                actor=actor,
                context=context,
                run=run,
                cases=cases,
                dry_run=dry_run,
                result=result,
            )
        if run is not None and not dry_run:
            DunningRun.objects.filter(pk=run.pk).update(
                customers_checked=F("customers_checked") + result.customers,
                invoices_overdue=F("invoices_overdue") + result.overdue,
                invoices_skipped=F("invoices_skipped") + result.skipped,
                notices_sent=F("notices_sent") + result.sent,
                notices_proposed=F("notices_proposed") + result.proposed,
                fees_charged=F("fees_charged") + result.fees,
                interest_periods=F("interest_periods") + result.interest_periods,
            )
    return result


def _make_notices(
    groups: list[_Group],
    *,
    on: dt.date,
    actor: Actor,
    context: Context,
    run: DunningRun | None,
    cases: dict[int, DunningCase],
    dry_run: bool,
    result: ChunkResult,
) -> None:
    invoice_ids = [row["pk"] for g in groups for row in g.invoices]
    customer_ids = sorted({g.customer.pk for g in groups})
    # The invoices' fees, flat fees and interest periods, read once (an array parameter:
    # see bulk.column_in).
    flat_charged: set[int] = set()
    interest_until: dict[int, dt.date] = {}
    open_fees: list[tuple[int, int, str, Decimal]] = []
    for (
        fee_id,
        invoice_id,
        kind,
        amount,
        period_end,
        paid_at,
        waived_at,
    ) in DunningFee.objects.filter(bulk.column_in(DunningFee, "invoice", invoice_ids)).values_list(
        "pk", "invoice_id", "kind", "amount", "period_end", "paid_at", "waived_at"
    ):
        if kind == DunningFee.Kind.FLAT_40:
            flat_charged.add(invoice_id)
        elif kind == DunningFee.Kind.INTEREST and period_end is not None:
            interest_until[invoice_id] = max(period_end, interest_until.get(invoice_id, period_end))
        if paid_at is None and waived_at is None:
            open_fees.append((fee_id, invoice_id, kind, amount))
    # The days an instalment agreement deferred the claim bear no default interest.
    paused = instalments.paused_days(invoice_ids)
    # Costs still open from earlier notices of these invoices, less what payments covered
    # of them (§ 367 BGB: costs are paid before the principal).
    covered_fees = costs.allocated_to_fees(fee_id for fee_id, *_ in open_fees)
    earlier: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for fee_id, invoice_id, kind, amount in open_fees:
        earlier[invoice_id][kind] += amount - covered_fees.get(fee_id, ZERO)
    notice_fees: dict[int, tuple[Decimal, set[int]]] = {}
    # From the items' side: the invoice ids as one array parameter on the base table.
    for fee_id, amount, invoice_id in DunningNoticeItem.objects.filter(
        bulk.column_in(DunningNoticeItem, "invoice", invoice_ids),
        notice__fees__kind=DunningFee.Kind.FEE,
        notice__fees__invoice__isnull=True,
        notice__fees__paid_at__isnull=True,
        notice__fees__waived_at__isnull=True,
    ).values_list("notice__fees__pk", "notice__fees__amount", "invoice_id"):
        notice_fees.setdefault(fee_id, (amount, set()))[1].add(invoice_id)
    for fee_id, covered in costs.allocated_to_fees(notice_fees).items():
        amount, ids = notice_fees[fee_id]
        notice_fees[fee_id] = (amount - covered, ids)
    return_fees: dict[int, list[FeeItem]] = defaultdict(list)
    for fee_item in (
        FeeItem.objects.filter(
            bulk.column_in(FeeItem, "customer", customer_ids), state=FeeItem.State.OPEN
        )
        .select_related("invoice")
        .order_by("pk")
    ):
        return_fees[fee_item.customer_id].append(fee_item)
    # A returned-debit fee paid in part: the notice claims the rest.
    covered_items = costs.allocated_to_fee_items(
        f.pk for customer_items in return_fees.values() for f in customer_items
    )
    for customer_items in return_fees.values():
        for fee_item in customer_items:
            fee_item.amount -= covered_items.get(fee_item.pk, ZERO)
    # Return costs go on the customer's highest notice of the day, once.
    highest: dict[int, _Group] = {}
    for group in groups:
        top = highest.get(group.customer.pk)
        if top is None or group.level.number > top.level.number:
            highest[group.customer.pk] = group
    now = clock.now()
    notices: list[DunningNotice] = []
    items_of: list[list[DunningNoticeItem]] = []
    fees_of: list[list[DunningFee]] = []
    for group in groups:
        customer, level = group.customer, group.level
        consumer = customer.is_consumer
        items: list[DunningNoticeItem] = []
        fees: list[DunningFee] = []
        interest_total = ZERO
        fees_total = ZERO
        for row in group.invoices:
            item = DunningNoticeItem(
                invoice_id=row["pk"],
                level=level.number,
                number=row["number"] or "",
                issue_date=row["issue_date"],
                due_date=row["due_date"],
                original_amount=row["payable_amount"],
                paid_amount=row["payable_amount"] - row["open_amount"],
                open_amount=round_money(row["open_amount"]),
                fees=earlier[row["pk"]][DunningFee.Kind.FLAT_40]
                + earlier[row["pk"]][DunningFee.Kind.FEE],
                interest=earlier[row["pk"]][DunningFee.Kind.INTEREST],
            )
            if level.flat_fee and not consumer and row["pk"] not in flat_charged:
                fees.append(
                    _fee(customer, row["pk"], level, DunningFee.Kind.FLAT_40, rules.FLAT_FEE, now)
                )
                item.fees += rules.FLAT_FEE
                result.fees += 1
            if level.interest:
                last = interest_until.get(row["pk"])
                start = rules.default_begins(row["due_date"])
                if last is not None:
                    start = max(start, last + rules.ONE_DAY)
                periods = [
                    period
                    for first_day, last_day in rules.outside(start, on, paused.get(row["pk"], ()))
                    for period in rules.interest_periods(
                        principal=item.open_amount,
                        start=first_day,
                        end=last_day,
                        consumer=consumer,
                        rates=context.rates,
                    )
                ]
                for period in periods:
                    charge = _fee(
                        customer, row["pk"], level, DunningFee.Kind.INTEREST, period.amount, now
                    )
                    charge.period_start, charge.period_end = period.start, period.end
                    charge.principal, charge.rate = period.principal, period.rate
                    fees.append(charge)
                    item.interest += period.amount
                    result.interest_periods += 1
            interest_total += item.interest
            fees_total += item.fees
            items.append(item)
        group_ids = {row["pk"] for row in group.invoices}
        fees_total += sum((amount for amount, ids in notice_fees.values() if ids & group_ids), ZERO)
        level_fee = level.fee_for(consumer=consumer)
        if level_fee > 0:
            fees.append(_fee(customer, None, level, DunningFee.Kind.FEE, level_fee, now))
            fees_total += level_fee
            result.fees += 1
        returns = return_fees[customer.pk] if highest[customer.pk] is group else []
        return_total = sum((f.amount for f in returns), ZERO)
        principal = sum((i.open_amount for i in items), ZERO)
        language = customer.language if customer.language in ("de", "en") else "de"
        notice = DunningNotice(
            customer=customer,
            policy=group.policy,
            level=level.number,
            level_name=level.name,
            run=run,
            invoice_id=group.invoices[0]["pk"] if group.policy.one_notice_per_invoice else None,
            notice_date=on,
            deadline=on + dt.timedelta(days=level.deadline_days),
            language=language,
            consumer=consumer,
            status=(
                DunningNotice.Status.PROPOSED
                if level.review_required
                else DunningNotice.Status.APPROVED
            ),
            principal_total=principal,
            fees_total=fees_total,
            interest_total=interest_total,
            return_fees_total=return_total,
            total=principal + fees_total + interest_total + return_total,
            return_fees=[
                {
                    "fee_item": f.pk,
                    "invoice": f.invoice.number if f.invoice else "",
                    "reason": f.reason,
                    "amount": str(f.amount),
                }
                for f in returns
            ],
            created_at=now,
            created_by=actor.label,
        )
        notice.level_obj = level  # type: ignore[attr-defined]
        notice.preview_items = items  # type: ignore[attr-defined]
        notices.append(notice)
        items_of.append(items)
        fees_of.append(fees)
    result.notices = notices
    if dry_run:
        for notice in notices:
            if notice.status == DunningNotice.Status.PROPOSED:
                result.proposed += 1
            else:
                result.sent += 1
        return
    # Approved notices are written as sent (one UPDATE of the chunk's notices saved).
    to_send = [n for n in notices if n.status == DunningNotice.Status.APPROVED]
    mailed = _mark_sent(to_send)
    # The unique constraints refuse a notice, item or fee another run wrote meanwhile: the
    # chunk rolls back whole, mails included, and nothing is sent or charged twice.
    # COPY (core.bulk): with the mails, the run's largest cost at 100,000 invoices.
    bulk.insert(notices, with_ids=True)
    all_items: list[DunningNoticeItem] = []
    all_fees: list[DunningFee] = []
    for notice, items, fees in zip(notices, items_of, fees_of, strict=True):
        for notice_item in items:
            notice_item.notice = notice
        for notice_fee in fees:
            notice_fee.notice = notice
        all_items += items
        all_fees += fees
    bulk.insert(all_items)
    bulk.insert(all_fees)
    new_cases = _advance_cases(notices, items_of, cases, on=on)
    # The account manager and customer service hear of it (dunning/staff.py): the entries
    # now, with the chunk; the digest mails at the end of the run.
    staff.record_entries(notices, items_of, new_cases, on=on)
    result.proposed += len(notices) - len(to_send)
    result.sent += _deliver(to_send, mailed, actor=actor, context=context)
    audit.record_many(
        actor=actor,
        entries=[
            audit.PendingEntry(
                chain=audit.customer_chain(notice.customer_id),
                action="dunning.notice_created",
                object_type="dunning_notice",
                object_id=notice.pk,
                data={
                    "level": notice.level,
                    "date": on.isoformat(),
                    "status": notice.status,
                    "invoices": [item.number for item in items],
                    "total": str(notice.total),
                    "fees": [[f.kind, str(f.amount)] for f in fees],
                },
            )
            for notice, items, fees in zip(notices, items_of, fees_of, strict=True)
        ],
    )


def _fee(
    customer: Customer,
    invoice_id: int | None,
    level: DunningLevel,
    kind: str,
    amount: Decimal,
    now: dt.datetime,
) -> DunningFee:
    return DunningFee(
        customer=customer,
        invoice_id=invoice_id,
        level=level.number,
        kind=kind,
        amount=amount,
        reason=level.name,
        created_at=now,
        created_by="dunning-run",
    )


def _advance_cases(
    notices: list[DunningNotice],
    items_of: list[list[DunningNoticeItem]],
    cases: dict[int, DunningCase],
    *,
    on: dt.date,
) -> list[DunningCase]:
    """Move the notices' invoices to their level; return the cases taken up first now."""
    new: list[DunningCase] = []
    changed: list[DunningCase] = []
    for notice, items in zip(notices, items_of, strict=True):
        sent = notice.status != DunningNotice.Status.PROPOSED
        for item in items:
            case = cases.get(item.invoice_id)
            if case is None:
                case = DunningCase(
                    invoice_id=item.invoice_id,
                    customer_id=notice.customer_id,
                    level=notice.level,
                    level_reached_on=on,
                    last_notice_on=on if sent else None,
                )
                new.append(case)
                cases[item.invoice_id] = case
                continue
            case.level = notice.level
            case.level_reached_on = on
            if sent:
                case.last_notice_on = on
            changed.append(case)
    bulk.insert(new)
    bulk.update_fields(changed, ["level", "level_reached_on", "last_notice_on"])
    if new:
        # The first time the run takes an invoice up: the customer's product hears of it.
        webhooks.emit_many(
            [
                (
                    "invoice.overdue",
                    {
                        "invoice_id": case.invoice_id,
                        "customer_id": case.customer_id,
                        "level": case.level,
                        "since": on,
                    },
                )
                for case in new
            ],
            actor=Actor.system("dunning-run"),
        )
    return new


def compose(
    notice: DunningNotice, items: list[DunningNoticeItem], context: Context
) -> tuple[str, str]:
    """Subject and text of the notice's mail, from its level's templates."""
    level: DunningLevel = getattr(notice, "level_obj", None) or DunningLevel.objects.get(
        policy_id=notice.policy_id, number=notice.level
    )
    lang = notice.language
    subject, text = level.texts(lang)
    if lang == "de":
        lines = [
            f"- Rechnung {i.number} vom {_date(i.issue_date, lang)}, fällig am "
            f"{_date(i.due_date, lang)}: Betrag {_money(i.original_amount, lang)} EUR, "
            f"bezahlt {_money(i.paid_amount, lang)} EUR, offen {_money(i.open_amount, lang)} EUR"
            for i in items
        ]
        lines += [
            f"- Rücklastschriftkosten {r['invoice']}: {_money(Decimal(r['amount']), lang)} EUR"
            for r in notice.return_fees
        ]
    else:
        lines = [
            f"- Invoice {i.number} of {_date(i.issue_date, lang)}, due "
            f"{_date(i.due_date, lang)}: amount {_money(i.original_amount, lang)} EUR, "
            f"paid {_money(i.paid_amount, lang)} EUR, open {_money(i.open_amount, lang)} EUR"
            for i in items
        ]
        lines += [
            f"- Returned debit costs {r['invoice']}: {_money(Decimal(r['amount']), lang)} EUR"
            for r in notice.return_fees
        ]
    values = {
        "customer_name": notice.customer.name,
        "items": "\n".join(lines),
        "principal": _money(notice.principal_total, lang),
        "fees": _money(notice.fees_total, lang),
        "interest": _money(notice.interest_total, lang),
        "return_fees": _money(notice.return_fees_total, lang),
        "total": _money(notice.total, lang),
        "deadline": _date(notice.deadline, lang),
        "company": context.company_name,
        "bank": context.bank,
        "reference": notice.reference if notice.pk else "",
    }
    first_number = items[0].number if items else ""
    subject = Template(subject).safe_substitute(values)
    if first_number:
        subject = f"{subject} {first_number}" if len(items) == 1 else subject
    body = Template(text).safe_substitute(values)
    if values["reference"] and "$reference" not in text and "${reference}" not in text:
        # The payment reference that matches a transfer to this notice (§ 367 BGB booking).
        label = "Verwendungszweck" if lang == "de" else "Payment reference"
        body = f"{body.rstrip()}\n\n{label}: {values['reference']}\n"
    return " ".join(subject.split()), body


def send_notices(notices: list[DunningNotice], *, actor: Actor, context: Context) -> int:
    """Mark approved notices sent (inside the caller's transaction) and enqueue their letters.

    The access change and the webhook happen here, in the sending transaction. The letter
    (PDF) and the mail that carries it follow in ``deliver_notice_letters``, whose task row
    commits with the notices; a lost task is found again by the document sweep
    (``dunning/letter.py`` describes the flow). A customer without an e-mail address keeps
    an approved notice without a mail (to be sent by post with the letter). Returns the
    number of notices sent.
    """
    if not notices:
        return 0
    mailed = _mark_sent(notices)
    bulk.update_fields(mailed, ["status", "sent_at"])
    return _deliver(notices, mailed, actor=actor, context=context)


def _mark_sent(notices: list[DunningNotice]) -> list[DunningNotice]:
    """Mark the notices whose customer has an e-mail address sent (in memory); those."""
    now = clock.now()
    mailed: list[DunningNotice] = []
    for notice in notices:
        to, _cc = outbox.customer_recipients(notice.customer)
        if not to:
            continue
        notice.status = DunningNotice.Status.SENT
        notice.sent_at = now
        mailed.append(notice)
    return mailed


def _deliver(
    notices: list[DunningNotice],
    mailed: list[DunningNotice],
    *,
    actor: Actor,
    context: Context,
) -> int:
    """Enqueue the letters of the ``mailed`` notices; the access change and webhooks of all
    ``notices`` sent. Returns the number mailed."""
    from faktura.dunning.tasks import deliver_notice_letters

    items: dict[int, list[DunningNoticeItem]] = defaultdict(list)
    preview = [n for n in notices if hasattr(n, "preview_items")]
    for notice in preview:
        items[notice.pk] = notice.preview_items
    missing = [n.pk for n in notices if n.pk not in items]
    for item in DunningNoticeItem.objects.filter(notice_id__in=missing).order_by("due_date", "pk"):
        items[item.notice_id].append(item)
    for start in range(0, len(mailed), LETTERS_PER_TASK):
        deliver_notice_letters.enqueue([n.pk for n in mailed[start : start + LETTERS_PER_TASK]])
    _tell_access_and_webhooks(notices, items, actor=actor, context=context)
    return len(mailed)


def _tell_access_and_webhooks(
    notices: list[DunningNotice],
    items: dict[int, list[DunningNoticeItem]],
    *,
    actor: Actor,
    context: Context,
) -> None:
    """A notice that goes out restricts or blocks access at its level (access app), and is
    announced as ``dunning.notice_sent``; both in the sending transaction."""
    from faktura.access import services as access

    events = []
    for notice in notices:
        invoice_ids = [item.invoice_id for item in items[notice.pk]]
        level = context.levels.get(notice.policy_id, {}).get(notice.level)
        if level is not None and level.access_effect:
            access.block(
                customer_id=notice.customer_id,
                reason="dunning_level",
                level=notice.level,
                effect=level.access_effect,
                invoice_ids=invoice_ids,
                why=f"{notice.level_name} vom {notice.notice_date:%d.%m.%Y}",
                actor=actor,
            )
        events.append(
            (
                "dunning.notice_sent",
                {
                    "notice_id": notice.pk,
                    "customer_id": notice.customer_id,
                    "level": notice.level,
                    "level_name": notice.level_name,
                    "notice_date": notice.notice_date,
                    "deadline": notice.deadline,
                    "invoice_ids": invoice_ids,
                    "total": notice.total,
                },
            )
        )
    webhooks.emit_many(events, actor=actor)


def _finish(run: DunningRun, actor: Actor, status: str) -> None:
    DunningRun.objects.filter(pk=run.pk).update(status=status, finished_at=clock.now())
    run.refresh_from_db()
    audit.record(
        chain=audit.COMPANY_CHAIN,
        actor=actor,
        action="dunning_run.finished",
        object_type="dunning_run",
        object_id=run.pk,
        data={
            "date": run.run_date.isoformat(),
            "status": run.status,
            "sent": run.notices_sent,
            "proposed": run.notices_proposed,
            "fees": run.fees_charged,
            "interest_periods": run.interest_periods,
            "errors": run.errors,
        },
    )


def run_dunning(
    *,
    on: dt.date,
    actor: Actor,
    dry_run: bool = False,
    customer_ids: list[int] | None = None,
    progress: Progress | None = None,
) -> DunningRun:
    """Move every overdue invoice on to its next due level, once, as of ``on``.

    ``dry_run``: nothing is written; the returned run is not saved and carries the notices
    it would make (``run.preview_notices``). A chunk that fails is rolled back, counted on
    the run with its error, and the run goes on with the next chunk.
    """
    permissions.require(actor, "dunning.run")
    if not dry_run:
        # First, so that a missed instalment resumes dunning in this very run.
        instalments.check_agreements(on=on, actor=actor)
    context = Context.load()
    ids = candidate_customers(on, customer_ids)
    run = DunningRun(run_date=on, started_at=clock.now(), started_by=actor.label)
    if dry_run:
        run.preview_notices = []  # type: ignore[attr-defined]
        for chunk in _chunks(ids, chunk_customers()):
            result = dun_chunk(chunk, on=on, actor=actor, context=context, run=None, dry_run=True)
            _add(run, result)
            run.preview_notices += result.notices  # type: ignore[attr-defined]
        run.status = DunningRun.Status.FINISHED
        return run
    with transaction.atomic():
        # A run of this date still marked running whose process is gone (killed) is
        # marked failed now; one still alive (started meanwhile) goes on unmarked.
        running = DunningRun.objects.filter(
            run_date=on, status=DunningRun.Status.RUNNING
        ).values_list("pk", flat=True)
        DunningRun.objects.filter(pk__in=run_locks.dead(RUN_LOCK, list(running))).update(
            status=DunningRun.Status.FAILED, finished_at=clock.now()
        )
        run.save()
        run_locks.hold(RUN_LOCK, run.pk)
        audit.record(
            chain=audit.COMPANY_CHAIN,
            actor=actor,
            action="dunning_run.started",
            object_type="dunning_run",
            object_id=run.pk,
            data={"date": on.isoformat()},
        )
    done = 0
    errors: list[str] = []
    try:
        for chunk in _chunks(ids, chunk_customers()):
            try:
                dun_chunk(chunk, on=on, actor=actor, context=context, run=run)
            except Exception as error:
                errors.append(f"customers {chunk[0]}–{chunk[-1]}: {type(error).__name__}: {error}")
            done += len(chunk)
            if progress is not None:
                progress(done, len(ids))
    except BaseException:
        DunningRun.objects.filter(pk=run.pk).update(
            status=DunningRun.Status.FAILED, finished_at=clock.now()
        )
        run_locks.release(RUN_LOCK, run.pk)
        raise
    try:
        # The collection proposals of the day: after the final level and its waiting time.
        from faktura.dunning.collection_handover import propose_collection_cases

        propose_collection_cases(on=on, actor=actor)
    except Exception as error:
        errors.append(f"collection proposals: {type(error).__name__}: {error}")
    try:
        staff.send_digests(run=run, actor=actor)
    except Exception as error:
        errors.append(f"staff digests: {type(error).__name__}: {error}")
    if errors:
        DunningRun.objects.filter(pk=run.pk).update(errors=len(errors), error_messages=errors[:100])
    with transaction.atomic():
        _finish(run, actor, DunningRun.Status.FINISHED)
    run_locks.release(RUN_LOCK, run.pk)
    return run


# The namespace of the advisory locks that tell a live dunning run from a dead one; the
# same scheme as the billing run's (core.run_locks), in a namespace of its own.
RUN_LOCK = 0x46414D


def _add(run: DunningRun, result: ChunkResult) -> None:
    run.customers_checked += result.customers
    run.invoices_overdue += result.overdue
    run.invoices_skipped += result.skipped
    run.notices_sent += result.sent
    run.notices_proposed += result.proposed
    run.fees_charged += result.fees
    run.interest_periods += result.interest_periods
