"""pain.002 payment status reports: the bank's answer to a direct-debit file we sent.

The bank checks a pain.008 file before the collection date and answers with a pain.002:
per file (GrpSts), per payment information block (PmtInfSts) and per debit (TxSts)
whether it was accepted. A rejected debit (RJCT) never reached the debtor's account, so
no money moved, but the invoice was not paid either: it goes through the same
returned-debit service as a return from the statement (``payments.returns``), with the
same consequences by reason code (AM04/MS03 collected again after a new pre-notification,
at most twice; account and mandate codes end the mandate; the rest waits for a person),
the same customer mail and the same dunning. The bank charges nothing for a rejection,
so no return fee is billed unless the payment settings say so
(``PaymentSettings.charge_fee_on_rejected_debit``).

Importing is all or nothing and idempotent: every rejection is recorded with the source
reference ``pain002:<MsgId of our file>:<EndToEndId>``, so the same report twice (or two
reports repeating a rejection) records it once. A report about a file we did not send,
or naming a debit the file does not hold, is refused and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from lxml import etree

from faktura.banking.sepa.pain002 import PaymentStatusReport, parse_pain002
from faktura.banking.statements.errors import INVALID_STATEMENT, StatementParseError
from faktura.collection.models import DirectDebitBatch, DirectDebitItem
from faktura.core import audit, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.payments import locks
from faktura.payments.models import PaymentSettings, ReturnEvent
from faktura.payments.returns import record_returned_debit

REJECTED = "RJCT"
ZERO_FEE = Decimal("0.00")


@dataclass(frozen=True)
class Rejection:
    """One debit of the file that the bank refused, and why."""

    end_to_end_id: str
    reason_code: str
    reason_text: str


@dataclass
class StatusReportResult:
    """What importing a report did (counts of debits)."""

    batch_id: int
    message_id: str
    original_message_id: str
    group_status: str
    rejected: int = 0  # recorded now as rejected (returned-debit service)
    already_recorded: int = 0  # rejected by an earlier import of this or another report
    already_returned: int = 0  # returned by a statement before the report came
    accepted: int = 0  # reported as accepted or pending: nothing to do
    return_event_ids: list[int] = field(default_factory=list)

    @property
    def changed_nothing(self) -> bool:
        return self.rejected == 0


def source_reference(batch: DirectDebitBatch, end_to_end_id: str) -> str:
    return f"pain002:{batch.message_id}:{end_to_end_id}"


def import_payment_status_report(
    *, data: bytes, actor: Actor, filename: str = ""
) -> StatusReportResult:
    """Read a pain.002 for one of our direct-debit files and record its rejections.

    Raises StatementParseError (the parser's codes: empty_file, truncated_xml,
    malformed_xml, wrong_namespace, unknown_version, not_a_statement, invalid_statement,
    invalid_amount) for a file that cannot be read; InvalidInput
    status_report_not_direct_debit, status_report_unknown_debit,
    status_report_amount_mismatch; NotFound status_report_unknown_message; StateConflict
    status_report_batch_not_submitted. Nothing is written unless every check passes.
    """
    permissions.require(actor, "statement.import")
    report = parse_pain002(data)
    batch = _batch_of(report)
    items = {
        item.end_to_end_id: item
        for item in DirectDebitItem.objects.filter(batch=batch).exclude(
            state=DirectDebitItem.State.DISCARDED
        )
    }
    rejections = _rejections(report, batch, items)
    result = StatusReportResult(
        batch_id=batch.pk,
        message_id=report.message_id,
        original_message_id=report.original_message_id,
        group_status=report.group_status,
        accepted=sum(
            1
            for block in report.payment_information
            for tx in block.transactions
            if tx.status != REJECTED and tx.original_end_to_end_id not in rejections
        ),
    )
    if not rejections:
        return result
    charge_fee = PaymentSettings.load().charge_fee_on_rejected_debit
    with transaction.atomic():
        # Every customer of the rejections first, in id order (DESIGN invariant 4); the
        # returned-debit service locks each again (a no-op inside this transaction).
        locks.lock_customers(items[e2e].customer_id for e2e in rejections)
        for end_to_end_id in sorted(rejections, key=lambda e2e: items[e2e].pk):
            rejection = rejections[end_to_end_id]
            item = DirectDebitItem.objects.get(pk=items[end_to_end_id].pk)
            reference = source_reference(batch, end_to_end_id)
            if ReturnEvent.objects.filter(source_reference=reference).exists():
                result.already_recorded += 1
                continue
            if item.state == DirectDebitItem.State.RETURNED:
                result.already_returned += 1
                continue
            event = record_returned_debit(
                actor=actor,
                reason_code=rejection.reason_code,
                source_reference=reference,
                end_to_end_id=end_to_end_id,
                return_fee=None if charge_fee else ZERO_FEE,
            )
            result.rejected += 1
            result.return_event_ids.append(event.pk)
        if result.rejected:
            audit.record(
                chain=audit.COMPANY_CHAIN,
                actor=actor,
                action="direct_debit_batch.status_report",
                object_type="direct_debit_batch",
                object_id=batch.pk,
                data={
                    "filename": filename[:200],
                    "message_id": report.message_id,
                    "group_status": report.group_status,
                    "rejected": result.rejected,
                    "return_events": result.return_event_ids,
                },
            )
    return result


def _batch_of(report: PaymentStatusReport) -> DirectDebitBatch:
    if not report.original_message_id:
        raise StatementParseError(
            "The status report does not name the file it answers (OrgnlMsgId)",
            code=INVALID_STATEMENT,
        )
    kind = report.original_message_type
    if kind and not kind.startswith("pain.008"):
        raise InvalidInput(
            f"The status report answers a {kind} file, not a direct-debit file (pain.008).",
            code="status_report_not_direct_debit",
        )
    batch = DirectDebitBatch.objects.filter(message_id=report.original_message_id).first()
    if batch is None:
        raise NotFound(
            f"No direct-debit file with message id {report.original_message_id!r}; the "
            "status report belongs to a file Faktura did not make.",
            code="status_report_unknown_message",
        )
    if batch.status in (DirectDebitBatch.Status.CREATED, DirectDebitBatch.Status.DISCARDED):
        raise StateConflict(
            f"Direct-debit file {batch.pk} ({batch.message_id}) is {batch.status}: it was "
            "never submitted to the bank.",
            code="status_report_batch_not_submitted",
        )
    return batch


def _blocks(batch: DirectDebitBatch) -> dict[str, list[str]]:
    """The end-to-end ids of each payment information block of the stored file."""
    root = etree.fromstring(batch.file_bytes())
    blocks: dict[str, list[str]] = {}
    for block in root.iter("{*}PmtInf"):
        block_id = block.findtext("{*}PmtInfId") or ""
        blocks[block_id] = [e.text or "" for e in block.iter("{*}EndToEndId")]
    return blocks


def _rejections(
    report: PaymentStatusReport, batch: DirectDebitBatch, items: dict[str, DirectDebitItem]
) -> dict[str, Rejection]:
    """The debits the report rejects (end-to-end id → why); checks every debit it names."""
    rejected: dict[str, Rejection] = {}
    blocks: dict[str, list[str]] | None = None
    for block in report.payment_information:
        for tx in block.transactions:
            item = items.get(tx.original_end_to_end_id)
            if item is None:
                raise InvalidInput(
                    f"The status report names the debit {tx.original_end_to_end_id!r}, which "
                    f"is not in direct-debit file {batch.message_id}.",
                    code="status_report_unknown_debit",
                )
            if tx.amount is not None and tx.amount != item.amount:
                raise InvalidInput(
                    f"The status report gives {tx.amount} for the debit "
                    f"{tx.original_end_to_end_id}; the file collected {item.amount}.",
                    code="status_report_amount_mismatch",
                )
            if tx.status == REJECTED:
                rejected[item.end_to_end_id] = Rejection(
                    item.end_to_end_id,
                    tx.reason_code or block.reason_code or report.group_reason_code,
                    tx.reason_text or block.reason_text or report.group_reason_text,
                )
        if block.status == REJECTED:
            # The whole block was refused (often without listing its debits).
            if blocks is None:
                blocks = _blocks(batch)
            if block.original_payment_information_id not in blocks:
                raise InvalidInput(
                    f"The status report rejects the payment block "
                    f"{block.original_payment_information_id!r}, which is not in "
                    f"direct-debit file {batch.message_id}.",
                    code="status_report_unknown_debit",
                )
            for end_to_end_id in blocks[block.original_payment_information_id]:
                if end_to_end_id in items:
                    rejected.setdefault(
                        end_to_end_id,
                        Rejection(
                            end_to_end_id,
                            block.reason_code or report.group_reason_code,
                            block.reason_text or report.group_reason_text,
                        ),
                    )
    if report.group_status == REJECTED:
        # The whole file was refused: every debit in it.
        for end_to_end_id in items:
            rejected.setdefault(
                end_to_end_id,
                Rejection(end_to_end_id, report.group_reason_code, report.group_reason_text),
            )
    return rejected
