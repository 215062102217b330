"""What waits for a person: the sources of the back office's to-do inbox (Aufgaben).

Each source is one COUNT query and, for the inbox page, its first few rows. Nothing here
decides anything; the actions are the services of the apps that own the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Model, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

ROWS_PER_SOURCE = 10


@dataclass(frozen=True)
class Source:
    key: str
    title: Any  # a lazy German text
    rows: Callable[[], QuerySet[Any]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    count: int
    items: list[Model]


def _approvals() -> QuerySet[Any]:
    from faktura.invoicing.models import Invoice, Status

    return Invoice.objects.filter(status=Status.PENDING_APPROVAL).select_related("customer")


def _unmatched_bank_lines() -> QuerySet[Any]:
    from faktura.banking.models import BankTransaction

    return BankTransaction.objects.filter(
        state=BankTransaction.State.UNMATCHED, direction=BankTransaction.Direction.CREDIT
    )


def _disputes() -> QuerySet[Any]:
    from faktura.payments.models import Dispute

    return Dispute.objects.filter(cleared_at__isnull=True).select_related("invoice", "customer")


def _dunning_proposals() -> QuerySet[Any]:
    from faktura.dunning.models import DunningNotice

    return DunningNotice.objects.filter(status=DunningNotice.Status.PROPOSED).select_related(
        "customer"
    )


def _collection_proposals() -> QuerySet[Any]:
    from faktura.dunning.models import CollectionCase

    return CollectionCase.objects.filter(status=CollectionCase.Status.PROPOSED).select_related(
        "customer"
    )


def _dunning_entries() -> QuerySet[Any]:
    from faktura.dunning.models import ToDoEntry

    return ToDoEntry.objects.filter(done_at__isnull=True).select_related("customer")


def _blocked_documents() -> QuerySet[Any]:
    from faktura.documents.services import BLOCKED
    from faktura.invoicing.models import Invoice

    return Invoice.objects.finalized().filter(delivery_status=BLOCKED).select_related("customer")


# Letters by post that no print batch holds yet. Documents are dated the day they are made,
# so "up to today" needs no date here (and no query for the company's time zone).
def _print_documents() -> QuerySet[Any]:
    from faktura.documents.print_batch import waiting_invoices

    return waiting_invoices(on=None).select_related("customer")


def _print_notices() -> QuerySet[Any]:
    from faktura.documents.print_batch import waiting_notices

    return waiting_notices(on=None).select_related("customer")


def _failed_mails() -> QuerySet[Any]:
    from faktura.notifications.models import OutboxMessage

    return OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED)


def _payment_requests() -> QuerySet[Any]:
    from faktura.payments.models import PaymentRequest

    return PaymentRequest.objects.filter(status=PaymentRequest.Status.PENDING).select_related(
        "customer"
    )


def _failed_jobs() -> QuerySet[Any]:
    """Jobs whose latest run failed (a later success clears them)."""
    from faktura.scheduling.models import JobRun

    latest = (
        JobRun.objects.filter(job=OuterRef("job"))
        .order_by()
        .values("job")
        .annotate(last=Max("due_at"))
        .values("last")
    )
    return JobRun.objects.filter(state=JobRun.State.FAILED, due_at=Subquery(latest))


def _failed_webhooks() -> QuerySet[Any]:
    from faktura.webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED)


def _provider_events() -> QuerySet[Any]:
    from faktura.banking.models import ProviderEvent

    return ProviderEvent.objects.filter(state=ProviderEvent.State.FAILED)


def _billing_issues() -> QuerySet[Any]:
    from faktura.subscriptions.models import BillingIssue

    return BillingIssue.objects.filter(resolved_at__isnull=True)


def _cancellation_requests() -> QuerySet[Any]:
    from faktura.subscriptions.models import CancellationRequest

    return CancellationRequest.objects.filter(
        status=CancellationRequest.Status.OPEN
    ).select_related("customer")


SOURCES: tuple[Source, ...] = (
    Source("approvals", _("Freigaben"), _approvals),
    Source("payment_requests", _("Zahlungen zur Bestätigung"), _payment_requests),
    Source("bank", _("Nicht zugeordnete Bankumsätze"), _unmatched_bank_lines),
    Source("disputes", _("Rücklastschriften und Rückbelastungen"), _disputes),
    Source("dunning_proposals", _("Mahnungen zur Prüfung"), _dunning_proposals),
    Source("collection_proposals", _("Inkasso-Vorschläge"), _collection_proposals),
    Source("dunning_entries", _("Hinweise aus dem Mahnwesen"), _dunning_entries),
    Source("blocked_documents", _("Gesperrte Dokumente"), _blocked_documents),
    Source("print_documents", _("Dokumente für den Briefversand"), _print_documents),
    Source("print_notices", _("Mahnschreiben für den Briefversand"), _print_notices),
    Source("failed_mails", _("Nicht zugestellte E-Mails"), _failed_mails),
    Source("provider_events", _("Nicht gebuchte Zahlungsereignisse"), _provider_events),
    Source("billing_issues", _("Probleme der Abrechnung"), _billing_issues),
    Source(
        "cancellation_requests",
        _("Kündigungen zur Bearbeitung (Kündigungsbutton)"),
        _cancellation_requests,
    ),
    Source("failed_webhooks", _("Nicht zugestellte Webhooks"), _failed_webhooks),
    Source("failed_jobs", _("Fehlgeschlagene Aufträge"), _failed_jobs),
)


def source(key: str) -> Source | None:
    return next((s for s in SOURCES if s.key == key), None)


def counts() -> dict[str, int]:
    return {source.key: source.rows().count() for source in SOURCES}


def total() -> int:
    return sum(counts().values())


def sections(*, include_empty: bool = False) -> list[Section]:
    """Each source with its count and its first rows (oldest first)."""
    result = []
    for source in SOURCES:
        rows = source.rows()
        count = rows.count()
        if not count and not include_empty:
            continue
        items = list(rows.order_by("pk")[:ROWS_PER_SOURCE])
        result.append(Section(source.key, str(source.title), count, items))
    return result
