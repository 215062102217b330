"""Notices to subscribers: the trial ends, a yearly contract renews, the price changes.

Each notice is sent at most once: a ``Notice`` row (unique on subscription, kind and the
date it is about) and its outbox message are written in one transaction, so a crash
leaves both or neither, and a second run finds the row and sends nothing. The mail is
sent after the commit by the outbox's workers, with its retries and sweeps.

Notices are selected by a window that ends on the date they are about ("trial ends on or
after today, within the notice days"), not by an exact day before it: a job that missed
days sends what is still in time on its next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Q

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.models import Company
from faktura.core.money import round_money
from faktura.customers.models import Customer
from faktura.documents.models import Letterhead
from faktura.documents.pdf import texts
from faktura.documents.snapshot import PartySnapshot
from faktura.invoicing.parties import buyer_data, seller_data
from faktura.notifications import customer_mail, mail, mail_texts
from faktura.notifications import services as outbox
from faktura.notifications.models import OutboxMessage
from faktura.subscriptions import billing, periods, terms
from faktura.subscriptions.models import (
    BillingSettings,
    Notice,
    Plan,
    PriceChange,
    Subscription,
)

CHUNK_CUSTOMERS = 200
CURRENCY = "EUR"
ONE_DAY = dt.timedelta(days=1)
RUNNING = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAUSED,
    Subscription.Status.CANCELLING,
)
EVENTS = {
    Notice.Kind.TRIAL_ENDING: OutboxMessage.Event.TRIAL_ENDING,
    Notice.Kind.RENEWAL: OutboxMessage.Event.RENEWAL_UPCOMING,
    Notice.Kind.PRICE_CHANGE: OutboxMessage.Event.PRICE_CHANGE,
}
_INTERVAL_WORDS = {
    "de": {
        "week": "Woche",
        "month": "Monat",
        "quarter": "Quartal",
        "half_year": "Halbjahr",
        "year": "Jahr",
    },
    "en": {
        "week": "week",
        "month": "month",
        "quarter": "quarter",
        "half_year": "half-year",
        "year": "year",
    },
}
_TAX_WORDS = {
    "de": {"gross": "inkl. USt.", "net": "zzgl. USt."},
    "en": {"gross": "incl. VAT", "net": "plus VAT"},
}
_PARTY_FIELDS = set(PartySnapshot.__dataclass_fields__)


@dataclass(frozen=True)
class Due:
    """A notice to send: its subscription, kind, date, and (price changes) the change."""

    subscription_id: int
    customer_id: int
    kind: str
    about: dt.date
    price_change: PriceChange | None = None


@dataclass
class _Counts:
    values: dict[str, int] = field(
        default_factory=lambda: {
            "trial_ending": 0,
            "renewal": 0,
            "price_change": 0,
            "no_recipient": 0,
            "announced_late": 0,
        }
    )


def send_notices(*, on: dt.date, actor: Actor, warnings: list[str] | None = None) -> dict[str, int]:
    """Queue every notice due on ``on`` that was not sent yet; return the counts by kind.

    Idempotent: a second run for the day, or a run on a later day, queues nothing that was
    queued before. A customer without an e-mail address gets no notice (counted as
    ``no_recipient``); one added later still gets it while the notice is in time.
    ``warnings`` collects what staff should know: price changes announced later than
    their notice days.
    """
    permissions.require(actor, "billing.notices")
    counts = _Counts().values
    customer_ids = sorted({due.customer_id for due in due_notices(on)})
    late: set[int] = set()
    for start in range(0, len(customer_ids), CHUNK_CUSTOMERS):
        chunk = customer_ids[start : start + CHUNK_CUSTOMERS]
        with transaction.atomic():
            _send_chunk(chunk, on=on, actor=actor, counts=counts, late=late)
    counts["announced_late"] = len(late)
    if warnings is not None:
        for change in PriceChange.objects.select_related("plan").filter(pk__in=late):
            warnings.append(
                f"Preisänderung {change.plan.code} ab {change.effective_from:%d.%m.%Y} "
                f"später angekündigt als {change.notice_days} Tage vorher "
                f"(angelegt am {_local_date(change.created_at):%d.%m.%Y})."
            )
    return counts


def due_notices(on: dt.date, customer_ids: list[int] | None = None) -> list[Due]:
    """Every notice in its window on ``on``, sent or not (pure reads)."""
    return [
        *_trial_endings(on, customer_ids),
        *_renewals(on, customer_ids),
        *_price_changes(on, customer_ids),
    ]


def _scope(query: Any, customer_ids: list[int] | None) -> Any:
    return query if customer_ids is None else query.filter(customer_id__in=customer_ids)


def _trial_endings(on: dt.date, customer_ids: list[int] | None) -> Iterator[Due]:
    days = BillingSettings.load().trial_notice_days
    query = Subscription.objects.filter(
        status=Subscription.Status.TRIALING,
        plan__isnull=False,
        trial_ends_on__gte=on,
        trial_ends_on__lte=on + dt.timedelta(days=days),
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=F("trial_ends_on")))
    for sub in _scope(query, customer_ids).order_by("pk"):
        yield Due(sub.pk, sub.customer_id, Notice.Kind.TRIAL_ENDING, sub.trial_ends_on)


def next_renewal(subscription: Subscription, plan: Plan, on: dt.date) -> dt.date | None:
    """The start of the first period after the first one that starts on or after ``on``."""
    interval = periods.Interval(plan.interval)
    anchor = subscription.billing_anchor
    index = subscription.next_period_index
    if on > anchor:
        current = periods.period_index_on(anchor, interval, on)
        starts = periods.period_start(anchor, interval, current)
        index = max(index, current if starts == on else current + 1)
    if index == 0:
        return None  # the first period is the start of the contract, not a renewal
    return periods.period_start(anchor, interval, index)


def _renewals(on: dt.date, customer_ids: list[int] | None) -> Iterator[Due]:
    plans = {p.pk: p for p in Plan.objects.filter(renewal_notice_days__gt=0)}
    if not plans:
        return
    query = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE, ends_on__isnull=True, plan_id__in=list(plans)
    )
    for sub in _scope(query, customer_ids).order_by("pk"):
        plan = plans[sub.plan_id]
        renews_on = next_renewal(sub, plan, on)
        if renews_on is None or renews_on > on + dt.timedelta(days=plan.renewal_notice_days):
            continue
        if sub.paused_from is not None and sub.paused_from <= renews_on:
            continue
        yield Due(sub.pk, sub.customer_id, Notice.Kind.RENEWAL, renews_on)


def _price_changes(on: dt.date, customer_ids: list[int] | None) -> Iterator[Due]:
    changes = [
        change
        for change in PriceChange.objects.select_related("plan").filter(effective_from__gt=on)
        if change.announce_on <= on
    ]
    for change in sorted(changes, key=lambda c: (c.effective_from, c.pk)):
        query = Subscription.objects.filter(plan_id=change.plan_id, status__in=RUNNING).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=change.effective_from)
        )
        for sub in _scope(query, customer_ids).order_by("pk"):
            yield Due(
                sub.pk, sub.customer_id, Notice.Kind.PRICE_CHANGE, change.effective_from, change
            )


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(Company.time_zone_or_default())).date()


def _send_chunk(
    customer_ids: list[int],
    *,
    on: dt.date,
    actor: Actor,
    counts: dict[str, int],
    late: set[int],
) -> None:
    """Lock the customers, re-read what is due under the lock, write notices and mails."""
    customers = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk")
    }
    subscriptions = {
        s.pk: s
        for s in Subscription.objects.select_for_update()
        .filter(customer_id__in=customer_ids)
        .order_by("pk")
    }
    due = due_notices(on, customer_ids)
    sent = set(
        Notice.objects.filter(subscription_id__in=[d.subscription_id for d in due]).values_list(
            "subscription_id", "kind", "about"
        )
    )
    due = [d for d in due if (d.subscription_id, d.kind, d.about) not in sent]
    if not due:
        return
    context = billing.Context.load(subscriptions[d.subscription_id] for d in due)
    company = Company.get()
    seller = _party(seller_data(company))
    letterhead = Letterhead.current()
    accent = letterhead.accent_colour if letterhead else mail.DEFAULT_ACCENT
    own_texts = mail_texts.saved_all()
    now = clock.now()
    notices: list[Notice] = []
    messages: list[OutboxMessage] = []
    for item in due:
        customer = customers[item.customer_id]
        to, cc = outbox.customer_recipients(customer)
        if not to:
            counts["no_recipient"] += 1
            continue
        subscription = subscriptions[item.subscription_id]
        ctx = _context(
            item,
            subscription=subscription,
            customer=customer,
            context=context,
            seller=seller,
            small_business=company.small_business,
            accent=accent,
            on=on,
        )
        if ctx.get("late"):
            assert item.price_change is not None
            late.add(item.price_change.pk)
        composed = mail.render(EVENTS[Notice.Kind(item.kind)], ctx, own_texts=own_texts)
        messages.append(
            customer_mail.outbox_message(composed, seller=seller, to=to, cc=cc, actor=actor)
        )
        notices.append(
            Notice(
                subscription_id=item.subscription_id,
                kind=item.kind,
                about=item.about,
                price_change=item.price_change,
                sent_at=now,
            )
        )
        counts[item.kind] += 1
    # The unique constraint refuses a notice another run wrote meanwhile: the chunk
    # rolls back whole, message included, and nothing is sent twice.
    Notice.objects.bulk_create(notices)
    outbox.queue_messages_locked(messages)
    audit.record_many(
        actor=actor,
        entries=[
            audit.PendingEntry(
                chain=audit.customer_chain(subscriptions[notice.subscription_id].customer_id),
                action="subscription.notice_queued",
                object_type="subscription",
                object_id=notice.subscription_id,
                data={
                    "kind": notice.kind,
                    "about": notice.about.isoformat(),
                    "price_change": notice.price_change_id,
                    "message": message.pk,
                    "to": message.to,
                },
            )
            for notice, message in zip(notices, messages, strict=True)
        ],
    )


def _party(data: dict[str, Any]) -> PartySnapshot:
    return PartySnapshot(**{k: v for k, v in data.items() if k in _PARTY_FIELDS and v is not None})


def _money(value: Decimal, lang: str) -> str:
    return texts.money(value, CURRENCY, lang).replace(texts.NBSP, " ")


def _date(value: dt.date, lang: str) -> str:
    return texts.date(value, lang)


def _price_text(
    unit_price: Decimal,
    *,
    plan: Plan,
    quantity: Decimal,
    mode: str,
    small_business: bool,
    lang: str,
) -> str:
    """ "10,99 € je Monat (inkl. USt.)": the amount per interval for the quantity."""
    price = billing.convert_price(
        unit_price, from_mode=plan.price_mode, to_mode=mode, product=plan.product
    )
    amount = _money(round_money(quantity * price), lang)
    per = _INTERVAL_WORDS[lang][plan.interval]
    text = f"{amount} je {per}" if lang == "de" else f"{amount} per {per}"
    if not small_business:
        text = f"{text} ({_TAX_WORDS[lang][mode]})"
    return text


def _span_text(span: terms.Span, lang: str) -> str:
    if lang == "de":
        if span.unit == terms.Unit.MONTHS:
            return "einem Monat" if span.value == 1 else f"{span.value} Monaten"
        return "einem Tag" if span.value == 1 else f"{span.value} Tagen"
    if span.unit == terms.Unit.MONTHS:
        return "one month" if span.value == 1 else f"{span.value} months"
    return "one day" if span.value == 1 else f"{span.value} days"


def last_notice_day(
    contract: terms.ContractTerms, *, start: dt.date, on: dt.date, before: dt.date
) -> dt.date | None:
    """The last day from ``on`` a notice may be received to end the contract before
    ``before``; None if none is left. ``earliest_end`` never falls as notice comes later,
    so the last such day is found by bisection."""

    def ends_in_time(day: dt.date) -> bool:
        return terms.earliest_end(contract, start=start, notice_received=day) < before

    if before <= on or not ends_in_time(on):
        return None
    low, high = on, before - ONE_DAY
    while low < high:
        middle = low + dt.timedelta(days=(high - low).days // 2 + 1)
        if ends_in_time(middle):
            low = middle
        else:
            high = middle - ONE_DAY
    return low


def _context(
    item: Due,
    *,
    subscription: Subscription,
    customer: Customer,
    context: billing.Context,
    seller: PartySnapshot,
    small_business: bool,
    accent: str,
    on: dt.date,
) -> dict[str, Any]:
    lang = "en" if customer.language == "en" else "de"
    words = texts.TEXT[lang]
    plan = context.plans[subscription.plan_id]  # type: ignore[index]
    mode = billing.price_mode_for(customer.is_consumer)

    def price(unit_price: Decimal) -> str:
        return _price_text(
            unit_price,
            plan=plan,
            quantity=subscription.quantity,
            mode=mode,
            small_business=small_business,
            lang=lang,
        )

    ctx: dict[str, Any] = {
        "lang": lang,
        "accent": accent,
        "greeting": texts.party_salutation(_party(buyer_data(customer)), lang),
        "closing": words["closing"],
        "seller": seller,
        "footer": mail.seller_footer_lines(seller, lang),
        "customer_name": customer.name,
        "plan": plan.name,
        "about": _date(item.about, lang),
        "number": "",
    }
    if item.kind == Notice.Kind.TRIAL_ENDING:
        interval = periods.Interval(plan.interval)
        first = periods.period(
            subscription.billing_anchor, interval, subscription.next_period_index
        )
        billing_on = max(first.due_on(periods.Timing(plan.timing)), item.about + ONE_DAY)
        ctx |= {
            "document_title": "Testphase" if lang == "de" else "Trial",
            "price": price(context.price_on(plan, subscription.pk, first.start)),
            "first_billing": _date(billing_on, lang),
        }
    elif item.kind == Notice.Kind.RENEWAL:
        contract = plan.contract_terms
        last_day = last_notice_day(contract, start=subscription.starts_on, on=on, before=item.about)
        minimum_end = terms.minimum_term_end(contract, subscription.starts_on)
        any_time = contract.after_minimum_term == terms.AfterMinimumTerm.INDEFINITE and (
            minimum_end is None or minimum_end < item.about
        )
        ctx |= {
            "document_title": "Verlängerung" if lang == "de" else "Renewal",
            "price": price(context.price_on(plan, subscription.pk, item.about)),
            "last_notice_day": _date(last_day, lang) if last_day else "",
            "earliest_end": ""
            if last_day
            else _date(
                terms.earliest_end(contract, start=subscription.starts_on, notice_received=on),
                lang,
            ),
            "any_time": any_time,
            "consumer": customer.is_consumer,
            "notice_span": _span_text(contract.notice, lang),
        }
    else:
        change = item.price_change
        assert change is not None
        late = _local_date(change.created_at) > change.announce_on
        ctx |= {
            "document_title": "Preisänderung" if lang == "de" else "Price change",
            "old_price": price(
                context.price_on(plan, subscription.pk, change.effective_from - ONE_DAY)
            ),
            "new_price": price(change.price),
            "needs_consent": change.needs_consent,
            "last_day": _date(change.effective_from - ONE_DAY, lang),
            "late": late,
        }
    return ctx
