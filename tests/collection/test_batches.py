"""Direct-debit batches: which invoices, when, the pain.008.001.08 file, and never twice."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from faktura.collection import services as collection
from faktura.collection.models import DirectDebitBatch, DirectDebitItem
from faktura.core import clock
from faktura.core.errors import InvalidInput, StateConflict
from faktura.core.models import AuditEntry
from faktura.invoicing import services as invoicing
from faktura.payments import services as payments
from faktura.payments.models import Payment, PaymentSettings
from tests.collection.helpers import (
    NS,
    TOMORROW,
    debit_customer,
    due_invoice,
    pain008_schema,
    parse,
    texts,
)
from tests.payments.helpers import OTHER_IBAN, counts, credit, finalized, open_amount, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_notice(company):
    """Customers agreed to a pre-notification of one day."""
    return PaymentSettings.objects.create(pre_notification_days=1)


def _batch(day=TOMORROW, scheme="CORE", actor=None):
    from faktura.core.actors import Actor

    actor = actor or Actor(label="user:anna", roles=frozenset({"accountant"}))
    return collection.create_direct_debit_batch(collection_date=day, scheme=scheme, actor=actor)


def test_pre_notification_period_is_respected(business_customer, actor):
    debit_customer(business_customer, actor, payment_term_days=0)
    invoice = due_invoice(business_customer, actor)
    assert invoice.issue_date == dt.date(2026, 11, 16)
    # 14 days of pre-notification: not in a batch for 2026-11-20 …
    assert _batch(dt.date(2026, 11, 20)) is None
    assert not DirectDebitBatch.objects.exists()
    # … but with an agreed period of 3 days it is.
    PaymentSettings.objects.create(pre_notification_days=3)
    batch = _batch(dt.date(2026, 11, 20))
    assert [item.invoice_id for item in batch.items.all()] == [invoice.pk]


def test_pre_notification_of_14_days_collects_on_the_15th_day(business_customer, actor):
    debit_customer(business_customer, actor, payment_term_days=0)
    due_invoice(business_customer, actor)
    assert _batch(dt.date(2026, 11, 27)) is None
    assert _batch(dt.date(2026, 11, 30)).transaction_count == 1


def test_invoices_are_not_collected_before_their_due_date(business_customer, actor, short_notice):
    debit_customer(business_customer, actor, payment_term_days=14)
    due_invoice(business_customer, actor)
    assert _batch(dt.date(2026, 11, 27)) is None
    assert _batch(dt.date(2026, 11, 30)).transaction_count == 1


@pytest.mark.parametrize(
    ("day", "code", "text"),
    [
        (dt.date(2026, 11, 16), "collection_date_too_early", "earliest date is 2026-11-17"),
        (dt.date(2026, 11, 10), "collection_date_too_early", "earliest date is 2026-11-17"),
        (dt.date(2026, 11, 21), "collection_date_not_business_day", "TARGET2"),
        (dt.date(2026, 12, 25), "collection_date_not_business_day", "TARGET2"),
    ],
)
def test_bank_lead_time_and_business_days(business_customer, actor, short_notice, day, code, text):
    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    before = counts()
    with pytest.raises(InvalidInput) as error:
        _batch(day)
    assert error.value.code == code
    assert text in error.value.message
    assert counts() == before


def test_the_file_is_valid_pain_008_001_08_with_counts_and_invoice_numbers(
    business_customer, consumer, actor, short_notice
):
    debit_customer(business_customer, actor)
    debit_customer(consumer, actor, iban=OTHER_IBAN)
    first = due_invoice(business_customer, actor)  # 100.00 net + 19 % = 119.00
    second = due_invoice(consumer, actor, price="49.99")  # consumer: gross price
    batch = _batch()
    assert (batch.transaction_count, batch.control_sum) == (2, Decimal("168.99"))
    root = parse(batch.file_bytes())
    assert pain008_schema().validate(root), pain008_schema().error_log
    assert texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs") == ["2"]
    assert texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum") == ["168.99"]
    assert texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId") == [f"FAKTURA-DD-{batch.pk:06d}"]
    assert texts(root, ".//p:PmtInf/p:NbOfTxs") == ["2"]
    assert texts(root, ".//p:PmtInf/p:CtrlSum") == ["168.99"]
    assert texts(root, ".//p:PmtTpInf/p:LclInstrm/p:Cd") == ["CORE"]
    assert texts(root, ".//p:PmtTpInf/p:SeqTp") == ["RCUR"]
    assert texts(root, ".//p:ReqdColltnDt") == ["2026-11-17"]
    assert sorted(texts(root, ".//p:DrctDbtTxInf/p:PmtId/p:EndToEndId")) == sorted(
        [first.number, second.number]
    )
    assert sorted(texts(root, ".//p:DrctDbtTxInf/p:InstdAmt")) == ["119.00", "49.99"]
    assert sorted(texts(root, ".//p:MndtRltdInf/p:MndtId")) == sorted(
        [f"{business_customer.number}-M01", f"{consumer.number}-M01"]
    )
    assert "DE98ZZZ09999999999" in texts(root, ".//p:CdtrSchmeId//p:Id")
    # Structured addresses (EPC: no unstructured addresses from 15.11.2026).
    assert texts(root, ".//p:Dbtr/p:PstlAdr/p:StrtNm") == ["Hafenstrasse", "Lindenweg"]
    assert texts(root, ".//p:Dbtr/p:PstlAdr/p:TwnNm") == ["Hamburg", "Muenchen"]
    assert texts(root, ".//p:Cdtr/p:PstlAdr/p:StrtNm") == ["Friedrichstrasse"]
    assert not root.findall(".//p:AdrLine", NS)
    assert sorted(texts(root, ".//p:RmtInf/p:Ustrd")) == sorted(
        [f"Rechnung {first.number}", f"Rechnung {second.number}"]
    )
    assert AuditEntry.objects.filter(action="direct_debit.scheduled").count() == 2
    created = AuditEntry.objects.get(action="direct_debit_batch.created")
    assert created.data["checksum"] == batch.checksum
    assert created.data["total"] == "168.99"


def test_core_and_b2b_go_into_separate_files(business_customer, consumer, actor, short_notice):
    debit_customer(business_customer, actor, scheme="B2B")
    debit_customer(consumer, actor, iban=OTHER_IBAN)
    business = due_invoice(business_customer, actor)
    private = due_invoice(consumer, actor)
    core = _batch(scheme="CORE")
    b2b = _batch(scheme="B2B")
    assert [i.invoice_id for i in core.items.all()] == [private.pk]
    assert [i.invoice_id for i in b2b.items.all()] == [business.pk]
    assert texts(parse(core.file_bytes()), ".//p:LclInstrm/p:Cd") == ["CORE"]
    b2b_root = parse(b2b.file_bytes())
    assert pain008_schema().validate(b2b_root)
    assert texts(b2b_root, ".//p:LclInstrm/p:Cd") == ["B2B"]
    assert core.file_name.startswith("pain008-CORE-20261117-")
    assert b2b.file_name.startswith("pain008-B2B-20261117-")


def test_an_invoice_is_never_collected_twice(business_customer, actor, short_notice):
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    first = _batch()
    assert _batch(dt.date(2026, 11, 18)) is None
    # The database refuses a second open item for the invoice, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        DirectDebitItem.objects.create(
            batch=first,
            invoice=invoice,
            customer=business_customer,
            mandate=business_customer.mandates.get(),
            amount=Decimal("1.00"),
            end_to_end_id=invoice.number,
            sequence_type="RCUR",
        )
    collection.submit_direct_debit_batch(batch_id=first.pk, actor=actor)
    assert _batch(dt.date(2026, 11, 18)) is None
    with clock.frozen(dt.date(2026, 11, 17)):
        collection.settle_direct_debit_batch(batch_id=first.pk, actor=actor)
        assert _batch(dt.date(2026, 11, 18)) is None


def test_a_discarded_file_frees_its_invoices(business_customer, actor, short_notice):
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    first = _batch()
    discarded = collection.discard_direct_debit_batch(batch_id=first.pk, actor=actor)
    assert discarded.status == "discarded"
    assert discarded.file_bytes() == first.file_bytes()
    second = _batch(dt.date(2026, 11, 18))
    assert [i.invoice_id for i in second.items.all()] == [invoice.pk]
    with pytest.raises(StateConflict) as error:
        collection.submit_direct_debit_batch(batch_id=first.pk, actor=actor)
    assert error.value.code == "batch_not_submittable"


def test_the_stored_file_never_changes(business_customer, actor, short_notice):
    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    xml = batch.file_bytes()
    assert batch.checksum == hashlib.sha256(xml).hexdigest()
    again = DirectDebitBatch.objects.get(pk=batch.pk)
    assert again.file_bytes() == xml
    again.xml = b"<Document/>"
    with pytest.raises(StateConflict) as error:
        again.save()
    assert error.value.code == "batch_immutable"
    with pytest.raises(StateConflict):
        DirectDebitBatch.objects.filter(pk=batch.pk).update(xml=b"<Document/>")
    with pytest.raises(StateConflict):
        DirectDebitBatch.objects.get(pk=batch.pk).delete()
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert DirectDebitBatch.objects.get(pk=batch.pk).file_bytes() == xml


def test_submission_marks_items_and_the_mandate_and_settlement_pays(
    business_customer, actor, short_notice
):
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    batch = _batch()
    assert list(batch.items.values_list("state", flat=True)) == ["pending"]
    submitted = collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert submitted.status == "submitted"
    assert list(batch.items.values_list("state", flat=True)) == ["submitted"]
    invoice.refresh_from_db()
    assert invoice.status == "finalized"  # the frozen invoice itself is untouched
    assert business_customer.mandates.get().last_collection_date == TOMORROW
    with pytest.raises(StateConflict) as error:
        collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert error.value.code == "batch_not_due"
    with clock.frozen(TOMORROW):
        settled = collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert settled.status == "settled"
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.date) == (
        Decimal("119.00"),
        "direct_debit",
        TOMORROW,
    )
    assert open_amount(invoice) == Decimal("0.00")
    assert batch.items.get().allocation.payment == payment


def test_submission_is_refused_when_the_lead_time_has_passed(
    business_customer, actor, short_notice
):
    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    with clock.frozen(TOMORROW), pytest.raises(InvalidInput) as error:
        collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert error.value.code == "collection_date_too_early"
    assert DirectDebitBatch.objects.get().status == "created"


def test_submission_is_refused_for_a_revoked_mandate(business_customer, actor, short_notice):
    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    collection.revoke_mandate(mandate_id=business_customer.mandates.get().pk, actor=actor)
    with pytest.raises(StateConflict) as error:
        collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert error.value.code == "batch_mandate_unusable"


def test_the_open_amount_is_collected(business_customer, actor, short_notice):
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    payment = pay(actor, "19.00", business_customer)
    payments.allocate_payment(
        payment_id=payment.pk, allocations=[(invoice.pk, "19.00")], actor=actor
    )
    paid = due_invoice(business_customer, actor)
    payments.allocate_payment(
        payment_id=pay(actor, "119.00", business_customer).pk,
        allocations=[(paid.pk, "119.00")],
        actor=actor,
    )
    cancelled = due_invoice(business_customer, actor)
    invoicing.cancel_invoice(invoice_id=cancelled.pk, actor=actor)
    batch = _batch()
    assert [(i.invoice_id, i.amount) for i in batch.items.all()] == [
        (invoice.pk, Decimal("100.00"))
    ]


def test_customers_paying_otherwise_or_with_expired_mandates_are_skipped(
    business_customer, consumer, actor, short_notice
):
    debit_customer(business_customer, actor, signed=dt.date(2023, 10, 1))  # expired
    due_invoice(business_customer, actor)
    finalized(consumer, actor)  # pays by transfer
    assert _batch() is None


def test_a_one_off_mandate_collects_once(business_customer, actor, short_notice):
    debit_customer(business_customer, actor, kind="one_off")
    first = due_invoice(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    assert [i.invoice_id for i in batch.items.all()] == [first.pk]
    assert texts(parse(batch.file_bytes()), ".//p:SeqTp") == ["OOFF"]
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert _batch(dt.date(2026, 11, 18)) is None


def test_settlement_keeps_money_of_an_invoice_paid_meanwhile_as_credit(
    business_customer, actor, short_notice
):
    debit_customer(business_customer, actor)
    invoice = due_invoice(business_customer, actor)
    batch = _batch()
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    payments.allocate_payment(
        payment_id=pay(actor, "119.00", business_customer).pk,
        allocations=[(invoice.pk, "119.00")],
        actor=actor,
    )
    with clock.frozen(TOMORROW):
        collection.settle_direct_debit_batch(batch_id=batch.pk, actor=actor)
    assert open_amount(invoice) == Decimal("0.00")
    assert credit(business_customer) == Decimal("119.00")


def test_faktura_check_finds_an_altered_file(business_customer, actor, short_notice):
    from faktura.core.integrity import all_problems

    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    assert list(all_problems()) == []
    # Tampering below the model layer, as a database user could.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE collection_directdebitbatch SET xml = %s WHERE id = %s",
            [b"<Document/>", batch.pk],
        )
    name = f"direct-debit file {batch.pk} (FAKTURA-DD-{batch.pk:06d})"
    assert list(all_problems()) == [f"{name}: content differs from its SHA-256"]


def test_faktura_check_finds_a_file_replaced_together_with_its_checksum(
    business_customer, actor, short_notice
):
    from django.db import connection

    from faktura.core.integrity import all_problems

    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    created = AuditEntry.objects.get(action="direct_debit_batch.created")
    other = b"<Document>another file</Document>"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE collection_directdebitbatch SET xml = %s, checksum = %s WHERE id = %s",
            [other, hashlib.sha256(other).hexdigest(), batch.pk],
        )
    name = f"direct-debit file {batch.pk} (FAKTURA-DD-{batch.pk:06d})"
    assert list(all_problems()) == [
        f"{name}: SHA-256 differs from its creation record (audit entry #{created.pk}; "
        f"{hashlib.sha256(other).hexdigest()}, recorded {batch.checksum}): the file was replaced"
    ]


def test_faktura_check_finds_a_deleted_file(business_customer, actor, short_notice):
    from django.db import connection

    from faktura.core.integrity import all_problems

    debit_customer(business_customer, actor)
    due_invoice(business_customer, actor)
    batch = _batch()
    created = AuditEntry.objects.get(action="direct_debit_batch.created")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM collection_directdebititem WHERE batch_id = %s", [batch.pk])
        cursor.execute("DELETE FROM collection_directdebitbatch WHERE id = %s", [batch.pk])
    assert list(all_problems()) == [
        f"direct-debit file {batch.pk}: created according to audit entry #{created.pk}, "
        "but its row is missing (deleted)"
    ]
