"""Every daily and periodic job of Faktura, declared in one place.

A job is one line in ``JOBS``; its function takes the :class:`Occurrence` (due time and
business date) and returns a JSON-able summary that ``faktura jobs`` shows. Every job is
idempotent (DESIGN invariant 6): running it twice for one date does what running it once
does, so a run taken over from a dead worker or retried after an error is safe.

Schedules are cron expressions in the company's time zone. Each can be changed or
switched off with the environment variable ``FAKTURA_JOB_<NAME>`` (e.g.
``FAKTURA_JOB_DIRECT_DEBIT_BATCHES=off`` or ``="0 8 * * 1-5"``); see the README.
Avoid 02:00–03:00 for daily jobs: that hour is skipped or doubled when summer time
starts or ends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.scheduling.registry import Job, Occurrence, configured

M = dt.timedelta(minutes=1)

JOBS: tuple[Job, ...] = (
    # The sweeps behind DESIGN invariant 9: what fell through after a crash moves again.
    Job(
        name="outbox-sweep",
        schedule="* * * * *",
        target="faktura.scheduling.jobs.sweep_outbox",
        description=(
            "Release the mails of dead senders and queue a send task for every due mail "
            "that no task will send"
        ),
        lease=5 * M,
        retry_delay=1 * M,
    ),
    Job(
        name="webhook-sweep",
        schedule="* * * * *",
        target="faktura.scheduling.jobs.sweep_webhooks",
        description=(
            "Release the webhook deliveries of dead senders and queue a send task for every "
            "due delivery (first attempt or retry) that no task will send"
        ),
        lease=5 * M,
        retry_delay=1 * M,
    ),
    Job(
        name="document-sweep",
        schedule="* * * * *",
        target="faktura.scheduling.jobs.sweep_documents",
        description=(
            "Queue the pipeline again for finalized documents left unarchived or without "
            "their mail for FAKTURA_SWEEP_AFTER_MINUTES"
        ),
        lease=5 * M,
        retry_delay=1 * M,
    ),
    Job(
        name="worker-cleanup",
        schedule="17 * * * *",
        target="faktura.scheduling.jobs.forget_dead_workers",
        description="Remove the heartbeat rows of workers dead for a day whose work was recovered",
    ),
    Job(
        name="billing-run",
        schedule="0 6 * * *",
        target="faktura.scheduling.jobs.run_billing",
        description=(
            "Invoice every subscription period and charge due by the day, once; finalize "
            "drafts whose review window ended (before the direct-debit file is made)"
        ),
        # Each missed day is billed on its own date, so each period gets its own invoice.
        catch_up="each",
        # Idempotent: a run taken over after its worker died bills only what is still due.
        lease=60 * M,
    ),
    Job(
        name="dunning-run",
        schedule="30 6 * * *",
        target="faktura.scheduling.jobs.run_dunning",
        description=(
            "Send the payment reminders and dunning notices due by the day, once each, "
            "with their fees and default interest; proposals needing review wait"
        ),
        # Each missed day is run with its own date; an invoice moves on one level per run
        # and the levels' waiting times count from the last notice, so nothing doubles.
        catch_up="each",
        lease=60 * M,
    ),
    Job(
        name="pre-due-reminders",
        schedule="15 6 * * *",
        target="faktura.scheduling.jobs.send_pre_due_reminders",
        description=(
            "Remind transfer payers N days before an invoice falls due, once per invoice "
            "(off unless set in the notice settings)"
        ),
        # Each reminder is sent while its invoice is not yet due: the latest day finds
        # whatever missed days would have sent.
        lease=30 * M,
    ),
    Job(
        name="subscription-notices",
        schedule="30 5 * * *",
        target="faktura.scheduling.jobs.send_subscription_notices",
        description=(
            "Mail subscribers, once each: their trial ends, their yearly contract renews, "
            "a price change is coming"
        ),
        # Each notice looks ahead to a date and is sent while that date lies ahead: the
        # latest day finds whatever missed days would have sent.
        lease=30 * M,
    ),
    Job(
        name="direct-debit-batches",
        schedule="0 7 * * 1-5",
        target="faktura.scheduling.jobs.create_direct_debit_batches",
        description=(
            "On TARGET2 business days, announce arrears that the next regular debits collect "
            "(dunning policy), make the SEPA direct-debit files (CORE, B2B) for the next "
            "business day if anything is due; submit them to the bank the same day"
        ),
    ),
    Job(
        name="print-batch",
        schedule="0 15 * * 1-5",
        target="faktura.scheduling.jobs.create_print_batch",
        description=(
            "On working days, join the archived documents of customers with delivery by "
            "post that no batch holds yet into one duplex-ready PDF with a cover list"
        ),
        # The latest run takes every paper document up to its date: nothing is left out,
        # nothing printed twice.
        lease=30 * M,
    ),
    Job(
        name="mandate-expiry",
        schedule="30 4 * * *",
        target="faktura.scheduling.jobs.expire_mandates",
        description="Mark SEPA mandates unused for 36 months as expired (SEPA rulebook)",
    ),
    Job(
        name="idempotency-purge",
        schedule="15 4 * * *",
        target="faktura.scheduling.jobs.purge_idempotency_keys",
        description="Delete stored API idempotency keys older than their retention",
    ),
    Job(
        name="job-run-purge",
        schedule="45 4 * * *",
        target="faktura.scheduling.jobs.purge_job_runs",
        description="Delete records of finished job runs older than 90 days",
    ),
)


def declared() -> list[Job]:
    """The declared jobs with the schedules of this installation (FAKTURA_JOB_<NAME>)."""
    return configured(JOBS, settings.FAKTURA_JOB_OVERRIDES)


def _actor(occurrence: Occurrence) -> Actor:
    return Actor.system(f"job:{occurrence.job}")


def sweep_outbox(occurrence: Occurrence) -> dict[str, int]:
    from faktura.notifications.services import resume_outbox

    return resume_outbox()


def sweep_webhooks(occurrence: Occurrence) -> dict[str, int]:
    from faktura.webhooks.services import resume_deliveries

    return resume_deliveries()


def sweep_documents(occurrence: Occurrence) -> dict[str, int]:
    from faktura.documents.services import requeue_unprocessed
    from faktura.dunning.letter import resume_letters

    after = dt.timedelta(minutes=float(settings.FAKTURA_SWEEP_AFTER_MINUTES))
    return {
        "requeued": requeue_unprocessed(older_than=after),
        # Sent dunning notices whose letter task was lost: letter and mail follow.
        "letters": resume_letters(older_than=after),
    }


def forget_dead_workers(occurrence: Occurrence) -> dict[str, int]:
    from faktura.workers.lease import forget_dead_workers

    return {"forgotten": forget_dead_workers()}


def purge_idempotency_keys(occurrence: Occurrence) -> dict[str, int]:
    from faktura.api.idempotency import purge_expired

    return {"deleted": purge_expired()}


def purge_job_runs(occurrence: Occurrence) -> dict[str, int]:
    from faktura.scheduling.services import purge_job_runs

    return {"deleted": purge_job_runs(before=clock.now() - dt.timedelta(days=90))}


def run_billing(occurrence: Occurrence) -> dict[str, Any]:
    from faktura.subscriptions.run import run_billing

    # The chunks are billed by the workers in parallel; the run's record shows its end.
    run = run_billing(billing_date=occurrence.as_of, actor=_actor(occurrence), in_workers=True)
    return {
        "run": run.pk,
        "chunks": run.chunks_total,
        "periods": run.periods_found,
        "charges": run.charges_found,
        "invoices": run.invoices_made,
        "finalized": run.invoices_finalized,
        "errors": run.errors,
    }


def run_dunning(occurrence: Occurrence) -> dict[str, Any]:
    from faktura.dunning.run import run_dunning

    run = run_dunning(on=occurrence.as_of, actor=_actor(occurrence))
    return {
        "run": run.pk,
        "sent": run.notices_sent,
        "proposed": run.notices_proposed,
        "fees": run.fees_charged,
        "interest_periods": run.interest_periods,
        "errors": run.errors,
    }


def expire_mandates(occurrence: Occurrence) -> dict[str, int]:
    from faktura.collection.services import expire_mandates

    return {"expired": expire_mandates(as_of=occurrence.as_of, actor=_actor(occurrence))}


def create_direct_debit_batches(occurrence: Occurrence) -> dict[str, Any]:
    from faktura.collection import arrears, selectors, services
    from faktura.collection.calendar import is_business_day, next_business_day
    from faktura.collection.models import Scheme

    # A late run (after downtime) cannot collect in the past: the file is made today, so
    # the earliest collection date is the next TARGET2 business day after today.
    day = max(occurrence.as_of, clock.today())
    if not is_business_day(day):
        return {"skipped": f"{day} is not a TARGET2 business day"}
    # SDD rulebook: the file reaches the bank at least one TARGET2 business day before
    # the collection date, so a file made (and submitted) today collects tomorrow.
    collection_date = next_business_day(day)
    # Arrears (per dunning policy) are announced ahead of the regular debit they join.
    announced = arrears.announce_arrears_debits(actor=_actor(occurrence), on=day)
    batches: dict[str, Any] = {}
    for scheme in Scheme.values:
        # Nothing due: no file, and no error for a company without a creditor identifier.
        if not selectors.collectable_invoices(
            collection_date=collection_date, scheme=scheme
        ) and not arrears.collectable_arrears(collection_date=collection_date, scheme=scheme):
            continue
        batch = services.create_direct_debit_batch(
            collection_date=collection_date, scheme=scheme, actor=_actor(occurrence)
        )
        if batch is not None:
            batches[scheme] = {
                "batch": batch.pk,
                "count": batch.transaction_count,
                "total": str(batch.control_sum),
            }
    return {
        "collection_date": collection_date.isoformat(),
        "arrears_announced": announced,
        "batches": batches,
    }


def create_print_batch(occurrence: Occurrence) -> dict[str, Any]:
    from faktura.documents.print_batch import create_print_batch

    batch = create_print_batch(on=occurrence.as_of, actor=_actor(occurrence))
    if batch is None:
        return {"documents": 0}
    return {"batch": batch.pk, "documents": batch.document_count, "sheets": batch.sheet_count}


def send_subscription_notices(occurrence: Occurrence) -> dict[str, Any]:
    from faktura.subscriptions.notices import send_notices

    warnings: list[str] = []
    counts: dict[str, Any] = dict(
        send_notices(on=occurrence.as_of, actor=_actor(occurrence), warnings=warnings)
    )
    if warnings:
        counts["warnings"] = warnings
    return counts


def send_pre_due_reminders(occurrence: Occurrence) -> dict[str, Any]:
    from faktura.dunning.pre_due import send_pre_due_reminders

    return send_pre_due_reminders(on=occurrence.as_of, actor=_actor(occurrence))
