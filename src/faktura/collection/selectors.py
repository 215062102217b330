"""Which mandate, which date, which invoices: the reads behind direct-debit batches.

The planned debit date of an invoice is its due date, but never earlier than issue
date + pre-notification days (14, or the shorter period agreed with the customers),
moved to the next TARGET2 business day. It is printed on the invoice
(pre-notification) and a batch only collects invoices whose planned date has come.

A dispute pauses the mandate, not only the invoice. A return with reason MD06 ("refund
request by end customer") means the debtor used the refund right of the SEPA Core
rulebook (eight weeks after the debit, no questions asked, § 675x (2) BGB): the debtor
objected to being debited. Collecting the next invoice with the same mandate is what the
debtor objected to; the bank would refund it on request again, the creditor would pay
another return fee, and the debtor's trust is gone. So while a dispute that came from a
return of a debit under a mandate is open, no invoice of that customer is collected with
that mandate (the disputed invoice and any new one), until staff clear the dispute
(``payments.returns.clear_dispute``) after talking to the customer. Disputes without a
mandate (card chargebacks) block only their own invoice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q

from faktura.collection.calendar import is_business_day, next_business_day, on_or_after
from faktura.collection.models import DebitAnnouncement, DirectDebitItem, Mandate
from faktura.core import clock
from faktura.core.errors import InvalidInput
from faktura.core.models import BankAccount, Company
from faktura.core.money import round_money
from faktura.documents.snapshot import DirectDebitSnapshot
from faktura.invoicing import selectors as invoice_selectors
from faktura.invoicing.models import Invoice, Kind, Status
from faktura.payments.models import Dispute, PaymentSettings

DIRECT_DEBIT = "direct_debit"


def usable_mandate(customer_id: int, *, on: dt.date) -> Mandate | None:
    """The customer's newest mandate that may be used on ``on`` (any scheme)."""
    for mandate in Mandate.objects.filter(
        customer_id=customer_id, status=Mandate.Status.ACTIVE
    ).order_by("-signature_date", "-pk"):
        if mandate.is_usable(on):
            return mandate
    return None


def paused_mandates(mandate_ids: list[int] | None = None) -> dict[int, list[Dispute]]:
    """The mandates whose collection an open dispute pauses, with those disputes (oldest first).

    A dispute pauses the mandate of the direct debit whose return opened it (see above).
    """
    items = DirectDebitItem.objects.filter(
        return_event__disputes__isnull=False, return_event__disputes__cleared_at__isnull=True
    )
    if mandate_ids is not None:
        items = items.filter(mandate_id__in=mandate_ids)
    mandates_of_event: dict[int, set[int]] = {}
    for mandate_id, event_id in items.values_list("mandate_id", "return_event_id").distinct():
        mandates_of_event.setdefault(event_id, set()).add(mandate_id)
    paused: dict[int, list[Dispute]] = {}
    disputes = Dispute.objects.filter(
        cleared_at__isnull=True, return_event_id__in=mandates_of_event
    ).select_related("invoice")
    for dispute in disputes.order_by("opened_at", "pk"):
        assert dispute.return_event_id is not None
        for mandate_id in sorted(mandates_of_event[dispute.return_event_id]):
            paused.setdefault(mandate_id, []).append(dispute)
    return paused


def planned_debit_date(
    invoice: Invoice,
    *,
    pre_notification_days: int | None = None,
    announced: dt.date | bool | None = True,
) -> dt.date:
    """Due date, not before issue date + pre-notification days, on a business day; after a
    returned debit, the new date announced to the customer (never earlier).

    ``announced``: the latest announced date when the caller read it already (None: none),
    or True to read it here.
    """
    assert invoice.issue_date is not None
    days = (
        PaymentSettings.load().pre_notification_days
        if pre_notification_days is None
        else pre_notification_days
    )
    earliest = invoice.issue_date + dt.timedelta(days=days)
    planned = on_or_after(max(invoice.due_date or earliest, earliest))
    if announced is True:
        announced = latest_announcements([invoice.pk]).get(invoice.pk)
    if isinstance(announced, dt.date) and announced > planned:
        return announced
    return planned


def latest_announcements(invoice_ids: list[int]) -> dict[int, dt.date]:
    """The latest debit date announced after a return, per invoice (one query)."""
    latest: dict[int, dt.date] = {}
    for invoice_id, day in DebitAnnouncement.objects.filter(invoice_id__in=invoice_ids).values_list(
        "invoice_id", "debit_date"
    ):
        latest[invoice_id] = max(day, latest.get(invoice_id, day))
    return latest


def direct_debit_snapshot_for(invoice: Invoice) -> DirectDebitSnapshot | None:
    """Pre-notification data for the invoice's PDF and e-invoice, or None (pays by transfer).

    None when the invoice is not paid by direct debit, the customer has no usable mandate
    or the company has no creditor identifier.
    """
    if (
        invoice.payment_method != DIRECT_DEBIT
        or invoice.kind != Kind.INVOICE
        or invoice.issue_date is None
    ):
        return None
    creditor_id = (invoice.seller or {}).get("creditor_id") or ""
    if not creditor_id:
        return None
    debit_date = planned_debit_date(invoice)
    mandate = usable_mandate(invoice.customer_id, on=debit_date)
    if mandate is None:
        return None
    return DirectDebitSnapshot(
        mandate_reference=mandate.reference,
        creditor_id=creditor_id,
        debtor_iban=mandate.iban,
        debit_date=debit_date,
    )


@dataclass(frozen=True)
class Collectable:
    invoice: Invoice
    mandate: Mandate
    amount: Decimal


def holding_items() -> Q:
    """Items that keep an invoice from being collected (again)."""
    return Q(state__in=DirectDebitItem.HOLDING) | Q(
        state=DirectDebitItem.State.RETURNED, may_retry=False
    )


def collectable_invoices(
    *,
    collection_date: dt.date,
    scheme: str,
    customer_ids: list[int] | None = None,
    pre_notification_days: int | None = None,
) -> list[Collectable]:
    """Finalized, open, undisputed invoices of direct-debit customers due for collection.

    Nothing is collected with a mandate that an open dispute pauses.

    Each invoice once: none with a pending, submitted or settled item, none whose last
    return forbids a new attempt. Only customers whose newest usable mandate has
    ``scheme``; a one-off mandate collects one invoice, once.
    """
    days = (
        PaymentSettings.load().pre_notification_days
        if pre_notification_days is None
        else pre_notification_days
    )
    queryset = Invoice.objects.filter(
        status=Status.FINALIZED,
        kind=Kind.INVOICE,
        payment_method=DIRECT_DEBIT,
        customer__preferred_payment_method=DIRECT_DEBIT,
        issue_date__lte=collection_date - dt.timedelta(days=days),
        due_date__lte=collection_date,
    )
    if customer_ids is not None:
        queryset = queryset.filter(customer_id__in=customer_ids)
    queryset = queryset.filter(
        ~Exists(DirectDebitItem.objects.filter(holding_items(), invoice=OuterRef("pk"))),
        ~Exists(Dispute.objects.filter(invoice=OuterRef("pk"), cleared_at__isnull=True)),
    )
    rows = list(
        invoice_selectors.with_open_amounts(queryset).filter(open_amount__gt=0).order_by("pk")
    )
    mandates: dict[int, Mandate | None] = {}
    paused = set(paused_mandates())
    announced = latest_announcements([invoice.pk for invoice in rows])
    one_off_taken: set[int] = set()
    result = []
    for invoice in rows:
        # SQLite computes the annotation in floating point: 2e-15 must not count as open.
        amount = round_money(invoice.open_amount)
        if amount <= 0:
            continue
        if (
            planned_debit_date(
                invoice, pre_notification_days=days, announced=announced.get(invoice.pk)
            )
            > collection_date
        ):
            continue
        if invoice.customer_id not in mandates:
            mandates[invoice.customer_id] = usable_mandate(invoice.customer_id, on=collection_date)
        mandate = mandates[invoice.customer_id]
        if mandate is None or mandate.scheme != scheme:
            continue
        if mandate.pk in paused:
            continue  # a dispute pauses the mandate (see the module docstring)
        if mandate.kind == Mandate.Kind.ONE_OFF:
            if mandate.pk in one_off_taken or (
                mandate.items.exclude(state=DirectDebitItem.State.DISCARDED).exists()
            ):
                continue
            one_off_taken.add(mandate.pk)
        result.append(Collectable(invoice=invoice, mandate=mandate, amount=amount))
    return result


# --- the collection date and the preview of a batch ------------------------------------------


def earliest_collection_date(today: dt.date | None = None) -> dt.date:
    """The first date a new file may collect on: one TARGET2 business day after today.

    SDD Core and B2B since 2016: the file reaches the bank at least one TARGET2 business
    day before the collection date (D-1).
    """
    return next_business_day(today if today is not None else clock.today())


def check_collection_date(collection_date: dt.date) -> None:
    """Refuse a collection date no file may have; the message names the earliest valid date.

    Raises InvalidInput collection_date_too_early, collection_date_not_business_day.
    """
    earliest = earliest_collection_date()
    if collection_date < earliest:
        raise InvalidInput(
            f"collection_date: {collection_date} is too early; the bank needs the file one "
            f"TARGET2 business day before collection, so the earliest date is {earliest}.",
            code="collection_date_too_early",
            field="collection_date",
        )
    if not is_business_day(collection_date):
        raise InvalidInput(
            f"collection_date: {collection_date} is not a TARGET2 business day "
            "(weekend, 1 Jan, Good Friday, Easter Monday, 1 May, 25/26 Dec); the next "
            f"valid date is {on_or_after(collection_date)} (the earliest valid date is "
            f"{earliest}).",
            code="collection_date_not_business_day",
            field="collection_date",
        )


def batch_blockers() -> list[str]:
    """Why no file could be made at all, as error codes (empty: nothing in the way)."""
    company = Company.objects.order_by("pk").first()
    if company is None:
        return ["company_missing"]
    blockers = []
    if not company.creditor_id:
        blockers.append("creditor_id_missing")
    if not BankAccount.objects.filter(company=company).exists():
        blockers.append("bank_account_missing")
    return blockers


# How far ahead next_collection_date looks for a date with something to collect.
PREVIEW_HORIZON_DAYS = 92


def next_collection_date(*, scheme: str, start: dt.date | None = None) -> dt.date | None:
    """The first valid date from ``start`` on which a file of ``scheme`` would collect anything.

    Decided by :func:`collectable_invoices` itself (the batch's own selection), tried on
    each date an invoice becomes due; None when nothing falls due within the horizon.
    """
    first = max(start or earliest_collection_date(), earliest_collection_date())
    first = on_or_after(first)
    horizon = first + dt.timedelta(days=PREVIEW_HORIZON_DAYS)
    days = PaymentSettings.load().pre_notification_days
    candidates = sorted(
        {
            max(planned_debit_date(c.invoice, pre_notification_days=days), first)
            for c in collectable_invoices(collection_date=horizon, scheme=scheme)
        }
    )
    for day in candidates[:10]:
        if collectable_invoices(collection_date=day, scheme=scheme):
            return day
    return None
