"""pain.002 rejections of our direct-debit files: recorded like returns, once, or refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from faktura.banking.statements.errors import StatementParseError
from faktura.collection import services as collection
from faktura.collection.models import DebitAnnouncement, DirectDebitBatch, DirectDebitItem, Mandate
from faktura.collection.status_reports import import_payment_status_report
from faktura.core import clock
from faktura.core.errors import DomainError
from faktura.notifications.models import OutboxMessage
from faktura.payments.models import FeeItem, PaymentSettings, ReturnEvent
from tests.banking.camt_builder import camt, debit_batch
from tests.banking.debits import Debit, debtors, submitted_batch
from tests.banking.helpers import import_on
from tests.collection.helpers import TOMORROW
from tests.payments.helpers import counts, open_amount

pytestmark = pytest.mark.django_db

REPORTED = dt.date(2026, 11, 16)


def tx(debit: Debit, status: str = "RJCT", code: str = "AM04", amount: str | None = None) -> str:
    reason = f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn><AddtlInf>Grund</AddtlInf></StsRsnInf>"
    return f"""
      <TxInfAndSts>
        <OrgnlEndToEndId>{debit.invoice.number}</OrgnlEndToEndId>
        <TxSts>{status}</TxSts>
        {reason if status == "RJCT" else ""}
        <OrgnlTxRef>
          <Amt><InstdAmt Ccy="EUR">{amount or f"{debit.amount:.2f}"}</InstdAmt></Amt>
          <ReqdColltnDt>{TOMORROW}</ReqdColltnDt>
          <MndtRltdInf><MndtId>{debit.mandate.reference}</MndtId></MndtRltdInf>
        </OrgnlTxRef>
      </TxInfAndSts>"""


def report(
    batch: DirectDebitBatch,
    *transactions: str,
    group: str = "PART",
    group_code: str = "",
    block: str = "",
    block_id: str | None = None,
    message_id: str = "STS-1",
    original: str | None = None,
    original_type: str = "pain.008.001.08",
) -> bytes:
    group_reason = f"<StsRsnInf><Rsn><Cd>{group_code}</Cd></Rsn></StsRsnInf>" if group_code else ""
    block_status = f"<PmtInfSts>{block}</PmtInfSts>" if block else ""
    block_reason = (
        f"<StsRsnInf><Rsn><Cd>{group_code}</Cd></Rsn></StsRsnInf>" if block and group_code else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-11-16T08:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>{batch.message_id if original is None else original}</OrgnlMsgId>
      <OrgnlMsgNmId>{original_type}</OrgnlMsgNmId>
      <GrpSts>{group}</GrpSts>
      {group_reason if group == "RJCT" else ""}
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>{block_id or _block_id(batch)}</OrgnlPmtInfId>
      {block_status}{block_reason}
      {"".join(transactions)}
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>""".encode()


def _block_id(batch: DirectDebitBatch) -> str:
    from lxml import etree

    root = etree.fromstring(batch.file_bytes())
    return next(e.text for e in root.iter("{*}PmtInfId"))


def imported(data: bytes, actor, day: dt.date = REPORTED):
    with clock.frozen(dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)):
        return import_payment_status_report(data=data, actor=actor, filename="pain002.xml")


def mails() -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(event=OutboxMessage.Event.DIRECT_DEBIT_RETURNED).order_by("pk")
    )


@pytest.fixture
def submitted(company, actor):
    """Three debits (119.00, 59.50, 35.70) in one submitted file."""
    return submitted_batch(debtors(company, actor, 3), actor, ["100.00", "50.00", "30.00"])


def test_a_rejected_debit_is_recorded_like_a_return_without_a_fee(submitted, actor):
    batch, (first, second, third) = submitted
    result = imported(report(batch, tx(first, code="AM04"), tx(second, "ACCP")), actor)
    assert (result.rejected, result.accepted, result.already_recorded) == (1, 1, 0)
    event = ReturnEvent.objects.get()
    assert (event.kind, event.reason_code, event.consequence) == ("returned_debit", "AM04", "retry")
    assert (event.amount, event.fee_amount) == (Decimal("119.00"), Decimal("0.00"))
    assert event.source_reference == f"pain002:{batch.message_id}:{first.invoice.number}"
    assert (event.payment_id, event.allocation_id) == (None, None)
    assert FeeItem.objects.count() == 0  # no money moved: the bank charged nothing
    assert open_amount(first.invoice) == Decimal("119.00")
    items = dict(DirectDebitItem.objects.values_list("end_to_end_id", "state"))
    assert items == {
        first.invoice.number: "returned",
        second.invoice.number: "submitted",
        third.invoice.number: "submitted",
    }
    # AM04: collected again after a new pre-notification (1 day, the next business day).
    assert DebitAnnouncement.objects.get().debit_date == dt.date(2026, 11, 17)
    assert DirectDebitItem.objects.get(end_to_end_id=first.invoice.number).may_retry
    (mail,) = mails()
    assert mail.to == [first.customer.email]
    assert "119,00" in mail.body_text
    assert "17.11.2026" in mail.body_text
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SUBMITTED


def test_the_rest_of_the_file_is_settled_and_the_file_is_done(submitted, actor):
    batch, debits = submitted
    imported(report(batch, tx(debits[2], code="MS03")), actor)
    statement = camt([debit_batch([d.credit() for d in debits[:2]], booked=TOMORROW)])
    result = import_on(statement, actor, day=TOMORROW)
    assert (result.booked, result.unmatched) == (2, 0)
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("35.70"),
    ]


def test_an_account_reject_ends_the_mandate_and_is_not_collected_again(submitted, actor):
    batch, (first, *_) = submitted
    imported(report(batch, tx(first, code="AC04")), actor)
    assert ReturnEvent.objects.get().consequence == "mandate_unusable"
    assert Mandate.objects.get(pk=first.mandate.pk).status == Mandate.Status.UNUSABLE
    assert DebitAnnouncement.objects.count() == 0
    assert not DirectDebitItem.objects.get(end_to_end_id=first.invoice.number).may_retry
    (mail,) = mails()
    assert mail.to == [first.customer.email]
    assert open_amount(first.invoice) == Decimal("119.00")


def test_am04_is_collected_again_at_most_twice(company, actor):
    batch, (debit,) = submitted_batch(debtors(company, actor, 1), actor, ["100.00"])
    imported(report(batch, tx(debit, code="AM04")), actor)
    for attempt, day in enumerate((dt.date(2026, 11, 18), dt.date(2026, 11, 20)), start=2):
        with clock.frozen(dt.datetime.combine(day - dt.timedelta(days=1), dt.time(9), dt.UTC)):
            again = collection.create_direct_debit_batch(
                collection_date=day, scheme="CORE", actor=actor
            )
            assert again is not None, attempt
            collection.submit_direct_debit_batch(batch_id=again.pk, actor=actor)
        imported(report(again, tx(debit, code="AM04"), message_id=f"STS-{attempt}"), actor, day)
    assert DirectDebitItem.objects.filter(state="returned").count() == 3
    assert DebitAnnouncement.objects.count() == 2  # the third reject announces nothing
    with clock.frozen(dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)):
        assert (
            collection.create_direct_debit_batch(
                collection_date=dt.date(2026, 12, 1), scheme="CORE", actor=actor
            )
            is None
        )
    assert len(mails()) == 3
    assert open_amount(debit.invoice) == Decimal("119.00")


def test_a_fee_is_charged_for_a_reject_only_when_the_settings_say_so(submitted, actor):
    PaymentSettings.objects.update(charge_fee_on_rejected_debit=True)
    batch, (first, *_) = submitted
    imported(report(batch, tx(first)), actor)
    assert FeeItem.objects.get().amount == Decimal("3.00")
    assert ReturnEvent.objects.get().fee_amount == Decimal("3.00")


def test_a_whole_file_rejected_returns_every_debit(submitted, actor):
    batch, debits = submitted
    result = imported(report(batch, group="RJCT", group_code="MS03"), actor)
    assert result.rejected == 3
    assert sorted(ReturnEvent.objects.values_list("reason_code", flat=True)) == ["MS03"] * 3
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("119.00"),
        Decimal("59.50"),
        Decimal("35.70"),
    ]
    assert len(mails()) == 3
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.RETURNED


def test_a_rejected_payment_block_returns_its_debits(submitted, actor):
    batch, _ = submitted
    result = imported(report(batch, block="RJCT", group_code="AM04"), actor)
    assert result.rejected == 3
    assert set(ReturnEvent.objects.values_list("reason_code", flat=True)) == {"AM04"}


def test_importing_the_same_report_again_changes_nothing(submitted, actor):
    batch, (first, second, _) = submitted
    data = report(batch, tx(first), tx(second, code="AC01"))
    assert imported(data, actor).rejected == 2
    before = counts()
    mailed = len(mails())
    again = imported(data, actor)
    assert (again.rejected, again.already_recorded, again.changed_nothing) == (0, 2, True)
    assert counts() == before
    assert len(mails()) == mailed == 2


def test_a_debit_returned_by_the_statement_first_is_not_rejected_twice(submitted, actor):
    from tests.banking.camt_builder import returned

    batch, (first, *_) = submitted
    notice = camt([returned(first.returned("AM04", fee="3.00"), booked=TOMORROW)], kind="054")
    import_on(notice, actor, day=TOMORROW)
    before = counts()
    result = imported(report(batch, tx(first)), actor, TOMORROW)
    assert (result.rejected, result.already_returned) == (0, 1)
    assert counts() == before


def test_a_report_for_an_unknown_file_is_refused(submitted, actor):
    batch, (first, *_) = submitted
    before = counts()
    with pytest.raises(DomainError) as error:
        imported(report(batch, tx(first), original="FREMD-4711"), actor)
    assert error.value.code == "status_report_unknown_message"
    assert "FREMD-4711" in error.value.message
    assert counts() == before


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda data: b"", "empty_file"),
        (lambda data: data[: len(data) // 2], "truncated_xml"),
        (lambda data: data.replace(b"<TxSts>", b"<TxSts><"), "malformed_xml"),
        (lambda data: data.replace(b"pain.002.001.10", b"camt.053.001.08"), "wrong_namespace"),
        (lambda data: data.replace(b"pain.002.001.10", b"pain.002.001.99"), "unknown_version"),
        (lambda data: data.replace(b"119.00", b"11x.00"), "invalid_amount"),
        (lambda data: data.replace(b"119.00", b"118.00"), "status_report_amount_mismatch"),
        (
            lambda data: data.replace(b"<OrgnlEndToEndId>", b"<OrgnlEndToEndId>X"),
            "status_report_unknown_debit",
        ),
        (
            lambda data: data.replace(b"pain.008.001.08", b"pain.001.001.09"),
            "status_report_not_direct_debit",
        ),
        (
            lambda data: data.replace(b"<ReqdColltnDt>2026", b"<ReqdColltnDt>20x6"),
            "invalid_statement",
        ),
    ],
)
def test_broken_reports_are_refused_and_change_nothing(submitted, actor, mutate, code):
    batch, (first, *_) = submitted
    data = mutate(report(batch, tx(first)))
    before = counts()
    with pytest.raises(DomainError) as error:
        imported(data, actor)
    assert error.value.code == code
    assert counts() == before


def test_a_report_without_the_original_message_id_is_refused(submitted, actor):
    batch, (first, *_) = submitted
    data = report(batch, tx(first), original="")
    with pytest.raises(StatementParseError) as error:
        imported(data, actor)
    assert error.value.code == "invalid_statement"


def test_a_report_for_a_file_never_submitted_is_refused(company, actor):
    from tests.collection.helpers import due_invoice

    (customer,) = debtors(company, actor, 1)
    due_invoice(customer, actor)
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    assert batch is not None
    with pytest.raises(DomainError) as error:
        imported(report(batch, group="RJCT", group_code="FF01"), actor)
    assert error.value.code == "status_report_batch_not_submitted"
    assert ReturnEvent.objects.count() == 0


def test_the_command_imports_and_reports_errors(submitted, actor, tmp_path):
    batch, (first, *_) = submitted
    path = tmp_path / "pain002.xml"
    path.write_bytes(report(batch, tx(first)))
    out = StringIO()
    with clock.frozen(dt.datetime.combine(REPORTED, dt.time(9), tzinfo=dt.UTC)):
        call_command("import-status-report", str(path), stdout=out)
        assert f"file {batch.message_id} (status PART): 1 rejected debits recorded" in (
            out.getvalue()
        )
        out = StringIO()
        call_command("import-status-report", str(path), stdout=out)
        assert "Nothing new." in out.getvalue()
        path.write_bytes(report(batch, tx(first), original="FREMD"))
        with pytest.raises(CommandError) as error:
            call_command("import-status-report", str(path))
    assert "status_report_unknown_message" in str(error.value)
    assert ReturnEvent.objects.count() == 1


def test_the_api_takes_the_report_and_answers_what_it_did(submitted, actor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.banking.helpers import api_client

    batch, (first, *_) = submitted
    client = api_client("accountant")
    data = report(batch, tx(first, code="MS03"))
    url = "/api/v1/direct-debit-batches/status-reports"
    with clock.frozen(dt.datetime.combine(REPORTED, dt.time(9), tzinfo=dt.UTC)):
        response = client.post(url, {"file": SimpleUploadedFile("pain002.xml", data)})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["batch"], body["rejected"], body["group_status"]) == (batch.pk, 1, "PART")
        assert body["return_events"] == [ReturnEvent.objects.get().pk]
        again = client.post(url, {"file": SimpleUploadedFile("pain002.xml", data)})
        assert (again.status_code, again.json()["already_recorded"]) == (200, 1)
        broken = client.post(url, {"file": SimpleUploadedFile("pain002.xml", data[:100])})
        assert (broken.status_code, broken.json()["code"]) == (422, "truncated_xml")
        viewer = api_client("viewer", name="viewer")
        refused = viewer.post(url, {"file": SimpleUploadedFile("pain002.xml", data)})
        assert refused.status_code == 403
    assert ReturnEvent.objects.count() == 1
