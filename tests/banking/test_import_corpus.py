"""Every bank file of the shared corpus through the import service, twice.

Before the import, Faktura has collected six direct debits whose mandates and amounts
are the ones the corpus' return files name (the synthetic camt.054.001.08 with AC04,
AM04, MD06 and MS03, hbci4java's camt.052 Rücklastschrift MS03, OCA's camt.054 AC06),
so those returns are found by mandate reference and amount. Everything else in the
corpus belongs to other companies: it is stored, ignored (outgoing) or waits on the
to-do list, and nothing is booked by mistake.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from faktura.banking.models import BankStatement, BankTransaction
from faktura.banking.statements.errors import StatementParseError
from faktura.collection import services as collection
from faktura.customers.services import create_customer
from faktura.payments.models import FeeItem, PaymentSettings, ReturnEvent
from tests.banking.camt_builder import camt, debit_batch
from tests.banking.debits import Debit
from tests.banking.helpers import counts, import_on, summary
from tests.collection.helpers import TOMORROW, debit_customer, due_invoice
from tests.payments.helpers import open_amount

pytestmark = [pytest.mark.django_db, pytest.mark.corpus]

# Mandate reference, debtor IBAN, gross amount of the debits the corpus returns.
COLLECTED = [
    ("MANDAT-0001", "DE89370400440532013000", "1190.00"),
    ("MANDAT-0002", "DE75512108001245126199", "49.90"),
    ("MANDAT-0003", "DE02100500000054540402", "250.00"),
    ("MANDAT-0004", "DE12500105170648489890", "75.00"),
    ("TEST1234", "DE16200411330123456789", "50.00"),
    ("MANDATEID2", "DE02500105170137075030", "100.00"),
]
IMPORTED_ON = dt.date(2026, 12, 4)


def _result(**counted: object) -> dict[str, object]:
    base: dict[str, object] = {
        "duplicates": 0,
        "booked": 0,
        "unmatched": 0,
        "returns": 0,
        "ignored": 0,
        "booked_amount": "0.00",
        "already_imported": False,
    }
    base.update(counted)
    base["new"] = counted.get("new", counted["transactions"])
    return base


# In the corpus' file order (sorted by path).
EXPECTED: dict[str, dict[str, object] | str] = {
    "camt/hbci4java_camt052.001.02.xml": _result(transactions=2, unmatched=2),
    "camt/hbci4java_camt052.001.02_ruecklastschrift_MS03.xml": _result(transactions=1, returns=1),
    # An outgoing direct debit of the account holder: not ours to book.
    "camt/hbci4java_camt052.001.08.xml": _result(transactions=1, ignored=1),
    # Returns of debits another company collected (NL mandates) and a foreign credit.
    "camt/oca_camt053.001.02_returns_AC06.xml": _result(transactions=4, unmatched=3, ignored=1),
    "camt/oca_camt053.001.04_txdtls_CH.xml": "wrong_currency",
    "camt/oca_camt054.001.02_unpaid_AC06.xml": _result(transactions=1, returns=1),
    "camt/oca_camt054.001.04_credit.xml": _result(transactions=1, unmatched=1),
    "camt/synthetic_camt054.001.08_returns_AC04_AM04_MD06_MS03.xml": _result(
        transactions=4, returns=4
    ),
    # 20 accounts: 43 credits (returned transfers, donations) wait, 54 debits are outgoing.
    "mt940/betterplace_sepa_mt9401.sta": _result(transactions=97, unmatched=43, ignored=54),
    # Overlaps the file above; one line (a 0.08 return) differs.
    "mt940/betterplace_sepa_snippet.sta": _result(
        transactions=11, new=1, duplicates=10, unmatched=1
    ),
    "mt940/hbci4java_test-mt940-001.sta": _result(transactions=2, unmatched=2),
    "pain002/oca_pain.002.001.03_rejects.xml": "wrong_namespace",
}


@pytest.fixture
def collected(company, actor):
    """Six consumers' invoices collected by one file and booked on 2026-11-17."""
    PaymentSettings.objects.create(pre_notification_days=1)
    debits = []
    for number, (reference, iban, amount) in enumerate(COLLECTED, start=1):
        customer = create_customer(
            actor=actor,
            kind="consumer",
            name=f"Verbraucher {number}",
            street="Ringstraße",
            house_number=str(number),
            postcode="50667",
            city="Köln",
            email=f"v{number}@example.org",
        )
        debit_customer(customer, actor, iban=iban, reference=reference)
        debits.append(due_invoice(customer, actor, price=amount))
    batch = collection.create_direct_debit_batch(
        collection_date=TOMORROW, scheme="CORE", actor=actor
    )
    collection.submit_direct_debit_batch(batch_id=batch.pk, actor=actor)
    items = {i.invoice_id: i for i in batch.items.select_related("mandate", "customer")}
    credits = [
        Debit(items[i.pk].customer, i, items[i.pk].mandate, items[i.pk]).credit() for i in debits
    ]
    assert import_on(camt([debit_batch(credits)]), actor, day=TOMORROW).booked == 6
    return {ref: invoice for (ref, _, _), invoice in zip(COLLECTED, debits, strict=True)}


def test_every_corpus_bank_file_imports_once_with_the_expected_counts(corpus_dir, collected, actor):
    files = sorted(p for p in (corpus_dir / "bank").rglob("*") if p.is_file())
    assert [p.relative_to(corpus_dir / "bank").as_posix() for p in files] == list(EXPECTED)
    for path in files:
        expected = EXPECTED[path.relative_to(corpus_dir / "bank").as_posix()]
        if isinstance(expected, str):
            before = counts()
            with pytest.raises(StatementParseError) as error:
                import_on(path.read_bytes(), actor, day=IMPORTED_ON, filename=path.name)
            assert error.value.code == expected, path.name
            assert counts() == before, path.name
            continue
        result = import_on(path.read_bytes(), actor, day=IMPORTED_ON, filename=path.name)
        assert summary(result) == expected, path.name

    # The returns: found by mandate and amount, with the files' reason codes and fees.
    events = ReturnEvent.objects.select_related("invoice").order_by("pk")
    assert [(e.invoice.number, e.reason_code, e.amount, e.fee_amount) for e in events] == [
        (collected["TEST1234"].number, "MS03", Decimal("50.00"), Decimal("3.00")),
        (collected["MANDATEID2"].number, "AC06", Decimal("100.00"), Decimal("3.00")),
        (collected["MANDAT-0001"].number, "AC04", Decimal("1190.00"), Decimal("3.00")),
        (collected["MANDAT-0002"].number, "AM04", Decimal("49.90"), Decimal("3.00")),
        (collected["MANDAT-0003"].number, "MD06", Decimal("250.00"), Decimal("3.00")),
        (collected["MANDAT-0004"].number, "MS03", Decimal("75.00"), Decimal("3.00")),
    ]
    assert [e.consequence for e in events] == [
        "retry",
        "mandate_unusable",
        "mandate_unusable",
        "retry",
        "dispute",
        "retry",
    ]
    assert [open_amount(i) for i in collected.values()] == [
        Decimal("1190.00"),
        Decimal("49.90"),
        Decimal("250.00"),
        Decimal("75.00"),
        Decimal("50.00"),
        Decimal("100.00"),
    ]
    assert FeeItem.objects.count() == 6
    fees_in_files = BankTransaction.objects.filter(state="returned").order_by("pk")
    assert [(t.return_reason_code, t.return_fee, t.amount) for t in fees_in_files] == [
        ("MS03", Decimal("3.00"), Decimal("53.00")),
        ("AC06", None, Decimal("100.00")),
        ("AC04", Decimal("3.00"), Decimal("1193.00")),
        ("AM04", Decimal("3.00"), Decimal("52.90")),
        ("MD06", None, Decimal("250.00")),
        ("MS03", Decimal("3.00"), Decimal("78.00")),
    ]
    waiting = BankTransaction.objects.filter(state="unmatched", is_return=True)
    # Returned transfers of betterplace (DTA codes 901/903/914), two MT940 returns without a
    # code, and the NL direct debits of another creditor: a person looks at them.
    assert Counter(waiting.values_list("return_reason_code", flat=True)) == {
        "": 2,
        "901": 1,
        "903": 2,
        "914": 15,
        "AC06": 2,
    }
    mt940 = BankTransaction.objects.filter(statement__format="mt940")
    assert mt940.count() == 97 + 1 + 2
    assert sum(
        t.amount for t in mt940.filter(statement__filename__startswith="betterplace_sepa_mt")
    ) == (Decimal("19646085.78"))
    assert BankStatement.objects.filter(filename="betterplace_sepa_mt9401.sta").count() == 20

    # Everything again: nothing changes.
    before = counts()
    for path in files:
        if isinstance(EXPECTED[path.relative_to(corpus_dir / "bank").as_posix()], str):
            continue
        again = import_on(path.read_bytes(), actor, day=IMPORTED_ON, filename=path.name)
        assert (again.already_imported, again.new) == (True, 0), path.name
    assert counts() == before
