"""Acceptance: direct debits collected, booked from camt.053, two returned by camt.054.

Five customers with SEPA mandates get an invoice each; one pain.008.001.08 file collects
them on 2026-11-17. The bank's camt.053 of that day books four of them as one batch entry
(one TxDtls per debit, EndToEndId = invoice number) and the fifth on its own line; the
camt.054 of 2026-11-19 returns two (AM04 with a 3.00 fee, MD06). Afterwards three
invoices are paid, the two returned ones are open again with a fee each, the AM04
mandate is still used by the next file, and the MD06 invoice is disputed and never
collected automatically. Importing both files again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.banking.models import BankTransaction
from faktura.collection import services as collection
from faktura.collection.models import DirectDebitBatch, DirectDebitItem, Mandate
from faktura.core import audit, clock
from faktura.payments.models import Allocation, Dispute, FeeItem, Payment, ReturnEvent
from tests.banking.camt_builder import Entry, Tx, camt, debit_batch, returned
from tests.banking.debits import debtors, submitted_batch
from tests.banking.helpers import counts, import_on, summary
from tests.collection.helpers import NS, pain008_schema, parse, texts
from tests.payments.helpers import open_amount

pytestmark = pytest.mark.django_db

COLLECTED = dt.date(2026, 11, 17)
RETURNED = dt.date(2026, 11, 19)
PRICES = ["100.00", "200.00", "50.00", "80.00", "30.00"]  # + 19 % VAT


def test_collect_book_return_and_collect_again(company, actor):
    customers = debtors(company, actor, 5)
    batch, debits = submitted_batch(customers, actor, PRICES)

    # The pain.008.001.08 file: XSD-valid, counts and control sum of the five debits.
    root = parse(batch.file_bytes())
    assert pain008_schema().validate(root), pain008_schema().error_log
    assert texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs") == ["5"]
    assert texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum") == ["547.40"]
    assert sorted(texts(root, ".//p:DrctDbtTxInf/p:PmtId/p:EndToEndId")) == [
        f"RE-2026-0000{n}" for n in range(1, 6)
    ]
    assert [d.amount for d in debits] == [
        Decimal("119.00"),
        Decimal("238.00"),
        Decimal("59.50"),
        Decimal("95.20"),
        Decimal("35.70"),
    ]
    assert NS["p"].endswith("pain.008.001.08")

    # Collection day: the camt.053 books the file (4 debits in one entry, 1 alone).
    statement = camt(
        [
            debit_batch([d.credit() for d in debits[:4]], reference="SAMMLER-1", booked=COLLECTED),
            debit_batch([debits[4].credit()], reference="EINZEL-5", booked=COLLECTED),
            Entry(txs=(Tx("12.50", remittance="Kontofuehrung"),), credit=False, booked=COLLECTED),
        ],
        message_id="STMT-20261117",
        created=COLLECTED,
    )
    booked = import_on(statement, actor, day=COLLECTED, filename="camt053-20261117.xml")
    assert summary(booked) == {
        "transactions": 6,
        "new": 6,
        "duplicates": 0,
        "booked": 5,
        "unmatched": 0,
        "returns": 0,
        "ignored": 1,
        "booked_amount": "547.40",
        "already_imported": False,
    }
    batch.refresh_from_db()
    assert batch.status == DirectDebitBatch.Status.SETTLED
    assert [open_amount(d.invoice) for d in debits] == [Decimal("0.00")] * 5
    lines = BankTransaction.objects.filter(direction="credit").order_by("pk")
    assert [(line.state, line.match_method, line.end_to_end_id) for line in lines] == [
        ("booked", "direct_debit", d.invoice.number) for d in debits
    ]
    assert [line.payment.amount for line in lines] == [d.amount for d in debits]
    assert {line.payment.method for line in lines} == {"direct_debit"}

    # Two days later the camt.054 returns two: AM04 with a 3.00 fee, MD06 without one.
    am04, md06 = debits[0], debits[1]
    notice = camt(
        [
            returned(am04.returned("AM04", fee="3.00"), reference="RTRN-1", booked=RETURNED),
            returned(md06.returned("MD06"), reference="RTRN-2", booked=RETURNED),
        ],
        kind="054",
        message_id="NTFCTN-20261119",
        created=RETURNED,
    )
    returns = import_on(notice, actor, day=RETURNED, filename="camt054-20261119.xml")
    assert (returns.new, returns.returns, returns.booked, returns.unmatched) == (2, 2, 0, 0)
    assert [open_amount(d.invoice) for d in debits] == [
        Decimal("119.00"),
        Decimal("238.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    events = {e.reason_code: e for e in ReturnEvent.objects.all()}
    assert {
        code: (e.invoice_id, e.amount, e.fee_amount, e.consequence) for code, e in events.items()
    } == {
        "AM04": (am04.invoice.pk, Decimal("119.00"), Decimal("3.00"), "retry"),
        "MD06": (md06.invoice.pk, Decimal("238.00"), Decimal("3.00"), "dispute"),
    }
    fees = FeeItem.objects.order_by("pk")
    assert [(f.invoice_id, f.amount, f.state) for f in fees] == [
        (am04.invoice.pk, Decimal("3.00"), "open"),
        (md06.invoice.pk, Decimal("3.00"), "open"),  # no fee in the file: the default
    ]
    return_lines = BankTransaction.objects.filter(is_return=True).order_by("pk")
    assert [(r.state, r.return_event.reason_code, r.return_fee) for r in return_lines] == [
        ("returned", "AM04", Decimal("3.00")),
        ("returned", "MD06", None),
    ]
    assert Allocation.objects.filter(reversed_at__isnull=False).count() == 2
    items = {i.invoice_id: i for i in DirectDebitItem.objects.all()}
    assert (items[am04.invoice.pk].state, items[am04.invoice.pk].may_retry) == ("returned", True)
    assert items[md06.invoice.pk].state == "returned"
    assert Mandate.objects.get(pk=am04.mandate.pk).status == Mandate.Status.ACTIVE
    assert Dispute.objects.filter(invoice=md06.invoice, cleared_at__isnull=True).count() == 1

    # Importing both files again changes nothing at all.
    before = counts()
    with clock.frozen(RETURNED):
        again_statement = import_on(statement, actor, day=RETURNED)
        again_notice = import_on(notice, actor, day=RETURNED)
    assert counts() == before
    assert (again_statement.already_imported, again_notice.already_imported) == (True, True)

    # The next file collects the AM04 invoice again with its mandate; MD06 is disputed.
    with clock.frozen(RETURNED):
        next_batch = collection.create_direct_debit_batch(
            collection_date=dt.date(2026, 11, 20), scheme="CORE", actor=actor
        )
    assert next_batch is not None
    assert [(i.invoice_id, i.mandate_id, i.amount) for i in next_batch.items.all()] == [
        (am04.invoice.pk, am04.mandate.pk, Decimal("119.00"))
    ]
    assert Payment.objects.count() == 5
    assert list(audit.verify_chains()) == []
