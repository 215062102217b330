"""Matching statement lines: the pure engine's decisions and confidences, and the to-do list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from faktura.banking import matching, services
from faktura.banking.matching import (
    DebitItem,
    KnownInvoice,
    MatchContext,
    Matcher,
    OpenInvoice,
    SubmittedBatch,
)
from faktura.banking.models import BankTransaction
from faktura.banking.reasons import Reason
from faktura.banking.remittance import name_similarity
from faktura.core import clock
from faktura.core.errors import InvalidInput, StateConflict
from faktura.payments.models import Payment
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import BOOKING_DAY, PAYER_IBAN, api_client, counts, import_on
from tests.payments.helpers import OTHER_IBAN, credit, finalized, open_amount

PATTERN = "RE-{year}-{seq:05d}"
D = Decimal


@dataclass
class L:
    """A statement line as matching sees it."""

    amount: Decimal
    remittance_information: str = ""
    checksum: str = "line-1"
    direction: str = "credit"
    status: str = "booked"
    end_to_end_id: str = ""
    mandate_reference: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    is_return: bool = False
    return_reason_code: str = ""
    return_fee: Decimal | None = None
    original_amount: Decimal | None = None
    batch_reference: str = ""


def invoice(pk: int, amount: str, customer: int = 10, due: int = 1) -> OpenInvoice:
    return OpenInvoice(pk, f"RE-2026-{pk:05d}", customer, D(amount), dt.date(2026, 11, due))


def context(*invoices: OpenInvoice, **kw) -> MatchContext:
    kw.setdefault("customer_names", {10: "Beispiel Handel AG", 20: "Max Mustermann"})
    return MatchContext(
        number_patterns=(PATTERN,), open_invoices={i.number: i for i in invoices}, **kw
    )


def decide(ctx: MatchContext, *lines: L) -> list[matching.Decision]:
    numbered = [replace(line, checksum=f"line-{n}") for n, line in enumerate(lines, start=1)]
    ctx.numbers = matching.find_numbers(numbered, ctx.number_patterns)
    return Matcher(ctx).match_all(numbered)


def one(ctx: MatchContext, line: L) -> matching.Decision:
    return decide(ctx, line)[0]


def german(reason: Reason | None) -> str:
    """What a German reader reads of a stored reason."""
    assert reason is not None
    with translation.override("de"):
        return reason.text()


def parts(suggestion: matching.Suggestion | None) -> list[tuple[int, str]]:
    assert suggestion is not None
    return [(p.invoice_id, str(p.amount)) for p in suggestion.parts]


# --- invoice numbers ----------------------------------------------------------------------------


def test_the_invoice_number_and_the_open_amount_book_with_full_confidence():
    decision = one(context(invoice(1, "119.00")), L(D("119.00"), "Rechnung RE 2026 00001"))
    assert (decision.action, decision.confidence) == ("book", 1.0)
    assert decision.match is not None
    assert (decision.match.method, decision.match.customer_id, decision.match.credit) == (
        "invoice_number",
        10,
        D("0.00"),
    )
    assert parts(decision.match) == [(1, "119.00")]


def test_a_partial_payment_is_booked_and_the_next_line_pays_the_rest():
    ctx = context(invoice(1, "119.00"))
    first, second = decide(
        ctx, L(D("50.00"), "RE-2026-00001 1. Rate"), L(D("69.00"), "RE-2026-00001 Rest")
    )
    assert (first.action, first.confidence, parts(first.match)) == ("book", 0.95, [(1, "50.00")])
    assert (second.action, second.confidence, parts(second.match)) == ("book", 1.0, [(1, "69.00")])
    assert ctx.open_invoices["RE-2026-00001"].open_amount == D("0.00")


def test_an_overpayment_settles_the_invoice_and_keeps_the_rest_as_credit():
    decision = one(context(invoice(1, "119.00")), L(D("150.00"), "RE-2026-00001"))
    assert (decision.action, decision.confidence) == ("book", 0.92)
    assert decision.match is not None
    assert (parts(decision.match), decision.match.credit) == ([(1, "119.00")], D("31.00"))


def test_several_numbers_and_their_sum_pay_all_of_them():
    ctx = context(invoice(1, "119.00"), invoice(2, "59.50"))
    decision = one(ctx, L(D("178.50"), "RE-2026-00001, RE-2026-00002"))
    assert (decision.action, decision.confidence) == ("book", 0.98)
    assert parts(decision.match) == [(1, "119.00"), (2, "59.50")]


def test_several_numbers_and_too_little_money_wait_with_a_suggestion():
    ctx = context(invoice(1, "119.00"), invoice(2, "59.50"))
    decision = one(ctx, L(D("150.00"), "RE-2026-00001 RE-2026-00002"))
    assert decision.action == "unmatched"
    assert [(s.method, s.confidence) for s in decision.suggestions] == [("invoice_number", 0.85)]
    assert parts(decision.suggestions[0]) == [(1, "119.00"), (2, "31.00")]
    assert ctx.open_invoices["RE-2026-00001"].open_amount == D("119.00")  # nothing consumed


def test_an_invoice_paid_from_another_customers_account_is_only_suggested():
    ctx = context(invoice(1, "119.00"), customers_by_iban={OTHER_IBAN: frozenset({20})})
    decision = one(ctx, L(D("119.00"), "RE-2026-00001", counterparty_iban=OTHER_IBAN))
    assert decision.action == "unmatched"
    assert [(s.method, s.customer_id, s.confidence) for s in decision.suggestions] == [
        ("invoice_number", 10, 0.85),
        ("customer_credit", 20, 0.75),
    ]


def test_a_paid_invoice_named_again_suggests_the_customers_credit():
    ctx = context(known_invoices={"RE-2026-00007": KnownInvoice(7, "RE-2026-00007", 10)})
    decision = one(ctx, L(D("119.00"), "RE-2026-00007"))
    assert decision.action == "unmatched"
    (suggestion,) = decision.suggestions
    assert (suggestion.method, suggestion.confidence, suggestion.customer_id) == (
        "paid_invoice_number",
        0.8,
        10,
    )
    assert (suggestion.parts, suggestion.credit) == ((), D("119.00"))


def test_an_invoice_is_never_paid_twice_by_one_statement():
    decisions = decide(
        context(invoice(1, "119.00")),
        L(D("119.00"), "RE-2026-00001"),
        L(D("119.00"), "RE-2026-00001"),
    )
    assert [d.action for d in decisions] == ["book", "unmatched"]
    assert decisions[1].suggestions[0].method == "paid_invoice_number"


# --- mandate, amount and payer, credit -------------------------------------------------------


def test_a_mandate_reference_names_the_customer():
    ctx = context(invoice(1, "119.00"), invoice(2, "50.00"), mandates={"K00010-M01": 10})
    decision = one(ctx, L(D("50.00"), "Beitrag", mandate_reference="K00010-M01"))
    assert (decision.action, decision.confidence, decision.match.method) == (
        "book",
        0.95,
        "mandate",
    )
    assert parts(decision.match) == [(2, "50.00")]


def test_amount_and_a_known_account_book_at_the_threshold():
    ctx = context(invoice(1, "119.00"), customers_by_iban={PAYER_IBAN: frozenset({10})})
    decision = one(ctx, L(D("119.00"), "Danke", counterparty_iban=PAYER_IBAN))
    assert (decision.action, decision.confidence, decision.match.method) == (
        "book",
        0.9,
        "amount_name",
    )


def test_amount_and_the_same_name_book_but_a_similar_name_only_suggests():
    ctx = context(invoice(1, "119.00"))
    same = one(ctx, L(D("119.00"), "Danke", counterparty_name="BEISPIEL HANDEL AG"))
    assert (same.action, same.confidence) == ("book", 0.9)
    ctx = context(invoice(1, "119.00"))
    likeness = name_similarity("Beispiel Handels GmbH", "Beispiel Handel AG")
    similar = one(ctx, L(D("119.00"), "Danke", counterparty_name="Beispiel Handels GmbH"))
    assert similar.action == "unmatched"
    assert similar.suggestions[0].confidence == round(0.55 + 0.35 * likeness, 3)
    assert 0.85 < similar.suggestions[0].confidence < 0.9


def test_the_same_amount_on_several_invoices_is_ambiguous():
    ctx = context(invoice(1, "119.00", customer=10), invoice(2, "119.00", customer=20, due=5))
    decision = one(ctx, L(D("119.00"), "Zahlung"))
    assert decision.action == "unmatched"
    assert [(parts(s), s.confidence) for s in decision.suggestions] == [
        ([(1, "119.00")], 0.4),
        ([(2, "119.00")], 0.4),
    ]


def test_a_known_payer_paying_all_open_invoices_at_once():
    ctx = context(
        invoice(1, "119.00"), invoice(2, "59.50"), customers_by_iban={PAYER_IBAN: frozenset({10})}
    )
    decision = one(ctx, L(D("178.50"), "Sammelzahlung", counterparty_iban=PAYER_IBAN))
    assert (decision.action, decision.confidence) == ("book", 0.93)
    assert parts(decision.match) == [(1, "119.00"), (2, "59.50")]


def test_a_known_payer_without_a_matching_invoice_becomes_credit():
    ctx = context(invoice(1, "119.00"), customers_by_iban={PAYER_IBAN: frozenset({10})})
    decision = one(ctx, L(D("40.00"), "Vorauszahlung", counterparty_iban=PAYER_IBAN))
    assert (decision.action, decision.confidence, decision.match.method) == (
        "book",
        0.9,
        "customer_credit",
    )
    assert (decision.match.customer_id, decision.match.parts, decision.match.credit) == (
        10,
        (),
        D("40.00"),
    )


def test_a_name_alone_only_suggests_credit():
    decision = one(context(), L(D("40.00"), "Vorauszahlung", counterparty_name="Max Mustermann"))
    assert decision.action == "unmatched"
    (suggestion,) = decision.suggestions
    assert (suggestion.method, suggestion.confidence, suggestion.customer_id) == (
        "customer_credit",
        0.7,
        20,
    )


def test_a_line_nothing_points_to_waits_without_suggestions():
    decision = one(context(invoice(1, "119.00")), L(D("12.34"), "Spende"))
    assert (decision.action, decision.suggestions) == ("unmatched", ())


def test_a_higher_threshold_leaves_more_for_a_person():
    ctx = context(invoice(1, "119.00"), customers_by_iban={PAYER_IBAN: frozenset({10})})
    ctx.threshold = 0.95
    decision = one(ctx, L(D("119.00"), "Danke", counterparty_iban=PAYER_IBAN))
    assert decision.action == "unmatched"
    assert decision.suggestions[0].confidence == 0.9


def test_at_most_three_suggestions_best_first():
    invoices = [invoice(n, "10.00", customer=10 + n) for n in range(1, 6)]
    names = {10 + n: f"Kunde {n}" for n in range(1, 6)} | {13: "Erika Muster"}
    decision = one(
        context(*invoices, customer_names=names),
        L(D("10.00"), "x", counterparty_name="Erika Muster"),
    )
    assert decision.action == "book"  # the name decides: 0.55 + 0.35
    ctx = context(
        *[invoice(n, "10.00", customer=10 + n) for n in range(1, 6)], customer_names=names
    )
    decision = one(ctx, L(D("10.00"), "x", counterparty_name="Erika Musterfrau"))
    assert len(decision.suggestions) == 3
    confidences = [s.confidence for s in decision.suggestions]
    assert confidences == sorted(confidences, reverse=True)
    assert parts(decision.suggestions[0]) == [(3, "10.00")]


# --- direct debits, returns, refunds -------------------------------------------------------------


def item(pk: int, state: str = "submitted", amount: str = "119.00", batch: int = 1) -> DebitItem:
    return DebitItem(
        id=pk,
        batch_id=batch,
        invoice_id=pk,
        customer_id=10,
        amount=D(amount),
        end_to_end_id=f"RE-2026-{pk:05d}",
        mandate_reference=f"M-{pk}",
        state=state,
        payment_id=100 + pk if state == "settled" else None,
        return_event_id=200 + pk if state == "returned" else None,
    )


def debit_context(*items: DebitItem, **kw) -> MatchContext:
    batch_items = frozenset(i.id for i in items if i.state == "submitted")
    return context(
        debit_items={i.end_to_end_id: i for i in items},
        batches={1: SubmittedBatch(1, ("FAKTURA-DD-000001",), batch_items, D("357.00"))},
        batch_references={"FAKTURA-DD-000001": 1},
        **kw,
    )


def credit_of(i: DebitItem) -> L:
    return L(i.amount, i.end_to_end_id, end_to_end_id=i.end_to_end_id)


def test_a_batch_booked_completely_is_settled():
    items = [item(1), item(2), item(3)]
    decisions = decide(debit_context(*items), *[credit_of(i) for i in items])
    assert [(d.action, d.confidence, d.match.batch_id) for d in decisions] == [
        ("settle_batch", 1.0, 1)
    ] * 3


def test_a_batch_booked_in_part_settles_the_debits_booked():
    items = [item(1), item(2), item(3)]
    partial = decide(debit_context(*items), credit_of(items[0]), credit_of(items[1]))
    assert [(d.action, d.match.end_to_end_id) for d in partial] == [
        ("settle_batch", items[0].end_to_end_id),
        ("settle_batch", items[1].end_to_end_id),
    ]
    returned = L(
        D("122.00"),
        "RE-2026-00003",
        direction="debit",
        is_return=True,
        end_to_end_id="RE-2026-00003",
        return_reason_code="AM04",
        return_fee=D("3.00"),
    )
    with_return = decide(debit_context(*items), credit_of(items[0]), credit_of(items[1]), returned)
    assert [d.action for d in with_return] == ["settle_batch", "settle_batch", "return"]


def test_a_debit_credited_twice_on_one_statement_settles_once():
    items = [item(1), item(2)]
    first, second = decide(debit_context(*items), credit_of(items[0]), credit_of(items[0]))
    assert first.action == "settle_batch"
    assert (second.action, german(second.note)) == (
        "unmatched",
        f"Die Gutschrift von {items[0].end_to_end_id} steht schon auf diesem Auszug.",
    )


def test_one_booking_for_the_whole_file_settles_it_by_its_reference():
    ctx = debit_context(item(1), item(2), item(3))
    entry = L(D("357.00"), "SEPA-Sammler", batch_reference="FAKTURA-DD-000001")
    assert one(ctx, entry).action == "settle_batch"
    wrong = one(ctx, replace(entry, amount=D("300.00")))
    assert (wrong.action, wrong.suggestions[0].confidence) == ("unmatched", 0.6)


def test_a_settled_debit_links_and_an_odd_amount_waits():
    ctx = debit_context(item(1, "settled"), item(2))
    settled, odd = decide(ctx, credit_of(item(1)), replace(credit_of(item(2)), amount=D("100.00")))
    assert (settled.action, settled.match.payment_id) == ("link_payment", 101)
    assert (odd.action, odd.suggestions[0].confidence) == ("unmatched", 0.5)


def _return(e2e: str = "", mandate: str = "", code: str = "AM04", **kw) -> L:
    return L(D("122.00"), "Ruecklastschrift", direction="debit", is_return=True,
             end_to_end_id=e2e, mandate_reference=mandate, return_reason_code=code,
             return_fee=D("3.00"), original_amount=D("119.00"), **kw)  # fmt: skip


def test_returns_are_found_by_end_to_end_id_or_by_mandate_and_amount():
    ctx = debit_context(item(1, "settled"), item(2, "returned"))
    ctx.debit_items_by_mandate = {"M-1": [item(1, "settled")]}
    by_e2e, by_mandate, known, unknown = decide(
        ctx,
        _return("RE-2026-00001"),
        _return(mandate="M-1"),
        _return("RE-2026-00002"),
        _return("FREMD-1"),
    )
    assert (by_e2e.action, by_e2e.confidence, by_e2e.match.end_to_end_id) == (
        "return",
        1.0,
        "RE-2026-00001",
    )
    # The same return a second time in one file: a person looks at it.
    assert (by_mandate.action, german(by_mandate.note)) == (
        "unmatched",
        "Die Rückgabe von RE-2026-00001 steht schon auf diesem Auszug.",
    )
    assert known.action == "link_return"
    assert known.match.return_event_id == 202
    assert (unknown.action, unknown.suggestions) == ("unmatched", ())
    ctx = debit_context(item(1, "settled"))
    ctx.debit_items_by_mandate = {"M-1": [item(1, "settled")]}
    only_mandate = one(ctx, _return(mandate="M-1"))
    assert (only_mandate.action, only_mandate.confidence) == ("return", 0.95)


def test_refunds_we_paid_are_booked_and_other_debits_ignored():
    ctx = context(refunds={"ERSTATTUNG-5": 5})
    refund, rent, pending = decide(
        ctx,
        L(D("20.00"), "Erstattung", direction="debit", end_to_end_id="ERSTATTUNG-5"),
        L(D("800.00"), "Miete", direction="debit"),
        L(D("119.00"), "RE-2026-00001", status="pending"),
    )
    assert (refund.action, refund.match.refund_id) == ("refund_sent", 5)
    assert (rent.action, pending.action) == ("ignore", "ignore")


# --- properties ---------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=50_000).map(lambda cents: D(cents) / 100)


@settings(max_examples=60, deadline=None)
@given(
    open_amounts=st.lists(amounts, min_size=1, max_size=6),
    lines=st.lists(
        st.tuples(amounts, st.lists(st.integers(min_value=1, max_value=8), max_size=3)),
        min_size=1,
        max_size=8,
    ),
)
def test_bookings_never_exceed_the_open_amount_or_the_line(open_amounts, lines):
    invoices = [invoice(n, f"{a:.2f}", customer=10 + n % 2) for n, a in enumerate(open_amounts, 1)]
    before = {i.id: i.open_amount for i in invoices}
    ctx = context(*invoices, customers_by_iban={PAYER_IBAN: frozenset({10})})
    statement = [
        L(amount, " ".join(f"RE-2026-{n:05d}" for n in named), counterparty_iban=PAYER_IBAN)
        for amount, named in lines
    ]
    paid: dict[int, Decimal] = {}
    for line, decision in zip(statement, decide(ctx, *statement), strict=True):
        for suggestion in (decision.match, *decision.suggestions):
            if suggestion is None:
                continue
            assert 0.0 <= suggestion.confidence <= 1.0
            assert suggestion.allocated + suggestion.credit == line.amount
            assert all(p.amount > 0 for p in suggestion.parts)
        if decision.action == "book":
            assert decision.confidence >= ctx.threshold
            for part in decision.match.parts:
                paid[part.invoice_id] = paid.get(part.invoice_id, D(0)) + part.amount
    for invoice_id, amount in paid.items():
        assert amount <= before[invoice_id]


# --- the to-do list (database) ------------------------------------------------------------------


@pytest.fixture
def booking_day():
    """Statements of these tests are booked on BOOKING_DAY and worked on the same day."""
    with clock.frozen(dt.datetime.combine(BOOKING_DAY, dt.time(12), tzinfo=dt.UTC)):
        yield


@pytest.fixture
def waiting(business_customer, actor, booking_day):
    """Two open invoices (119.00, 59.50) and an unexplained 200.00 on the to-do list."""
    first = finalized(business_customer, actor)
    second = finalized(business_customer, actor, price="50.00")
    import_on(camt([transfer("200.00", "Danke fuer alles", name="B. Handel")]), actor)
    line = BankTransaction.objects.get()
    assert line.state == "unmatched"
    return line, first, second


@pytest.mark.django_db
def test_one_line_is_assigned_to_two_invoices_and_the_rest_is_credit(
    waiting, actor, business_customer
):
    line, first, second = waiting
    booked = services.assign_transaction(
        transaction_id=line.pk,
        allocations=[(first.pk, "119.00"), (second.pk, "59.50")],
        actor=actor,
    )
    assert (booked.state, booked.match_method, booked.customer_id) == (
        "booked",
        "manual",
        business_customer.pk,
    )
    assert (open_amount(first), open_amount(second), credit(business_customer)) == (
        D("0.00"),
        D("0.00"),
        D("21.50"),
    )
    payment = Payment.objects.get()
    assert (payment.external_id, payment.amount) == (line.checksum, D("200.00"))


@pytest.mark.django_db
def test_several_lines_pay_one_invoice(business_customer, actor, booking_day):
    invoice = finalized(business_customer, actor)
    import_on(camt([transfer("60.00", "Rate 1"), transfer("70.00", "Rate 2")]), actor)
    ids = list(BankTransaction.objects.order_by("pk").values_list("pk", flat=True))
    rows = services.assign_transactions_to_invoice(
        transaction_ids=ids, invoice_id=invoice.pk, actor=actor
    )
    assert [r.state for r in rows] == ["booked", "booked"]
    assert (open_amount(invoice), credit(business_customer)) == (D("0.00"), D("11.00"))
    allocated = [
        (p.amount, [a.amount for a in p.allocations.all()]) for p in Payment.objects.order_by("pk")
    ]
    assert allocated == [(D("60.00"), [D("60.00")]), (D("70.00"), [D("59.00")])]


@pytest.mark.django_db
def test_refused_assignments_change_nothing(waiting, actor, consumer):
    line, first, _ = waiting
    other = finalized(consumer, actor)
    before = counts()
    for allocations, error, code in [
        ([(first.pk, "200.01")], InvalidInput, "allocations_exceed_transaction"),
        ([(first.pk, "10.00"), (other.pk, "10.00")], InvalidInput, "invoices_of_several_customers"),
        ([(first.pk, "10.00"), (first.pk, "5.00")], InvalidInput, "duplicate_invoice"),
        ([(first.pk, "1.001")], InvalidInput, "too_many_decimals"),
        ([], InvalidInput, "no_allocations"),
    ]:
        with pytest.raises(error) as caught:
            services.assign_transaction(
                transaction_id=line.pk, allocations=allocations, actor=actor
            )
        assert caught.value.code == code
    assert counts() == before
    services.assign_transaction(
        transaction_id=line.pk, allocations=[(first.pk, "119.00")], actor=actor
    )
    after = counts()
    with pytest.raises(StateConflict) as caught:
        services.assign_transaction(
            transaction_id=line.pk, allocations=[(first.pk, "1.00")], actor=actor
        )
    assert caught.value.code == "bank_transaction_not_open"
    assert counts() == after


@pytest.mark.django_db
def test_an_ignored_line_can_still_be_assigned(waiting, actor, business_customer):
    line, _, _ = waiting
    ignored = services.ignore_transaction(transaction_id=line.pk, actor=actor, reason="Privat")
    assert (ignored.state, ignored.note) == ("ignored", "Privat")
    with pytest.raises(StateConflict):
        services.ignore_transaction(transaction_id=line.pk, actor=actor, reason="nochmal")
    booked = services.assign_transaction(
        transaction_id=line.pk, allocations=[], customer_id=business_customer.pk, actor=actor
    )
    assert booked.state == "booked"
    assert credit(business_customer) == D("200.00")


@pytest.mark.django_db
def test_a_payment_before_its_invoice_is_booked_by_the_next_import(
    business_customer, actor, booking_day
):
    early = import_on(camt([transfer("119.00", "RE-2026-00001")], message_id="1"), actor)
    assert (early.unmatched, early.booked) == (1, 0)
    invoice = finalized(business_customer, actor)
    later = import_on(camt([transfer("5.00", "Spende")], message_id="2"), actor)
    assert (later.new, later.rematched) == (1, 1)
    assert open_amount(invoice) == D("0.00")
    line = BankTransaction.objects.get(amount=D("119.00"))
    assert (line.state, line.match_method) == ("booked", "invoice_number")


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("tests.banking.urls")
def test_the_to_do_list_shows_suggestions_and_takes_an_assignment(
    business_customer, actor, booking_day
):
    first = finalized(business_customer, actor)
    import_on(camt([transfer("119.00", "Zahlung", name="Bsp Handel AG")]), actor)
    client = api_client("accountant")
    listed = client.get_json("/bank-transactions", state="unmatched").json()
    assert (listed["object"], listed["has_more"]) == ("list", False)
    (line,) = listed["data"]
    assert (line["state"], line["amount"], line["direction"]) == ("unmatched", "119.00", "credit")
    best = line["suggestions"][0]
    assert (best["method"], best["customer"], best["invoices"]) == (
        "amount_name",
        business_customer.pk,
        [{"id": first.pk, "number": "RE-2026-00001", "amount": "119.00"}],
    )
    assert line["match_confidence"] == best["confidence"]
    response = client.send(
        "POST",
        f"/bank-transactions/{line['id']}/assign",
        {"allocations": [{"invoice": first.pk, "amount": "119.00"}]},
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["customer"]) == (
        "booked",
        business_customer.pk,
    )
    assert client.get_json("/bank-transactions", state="unmatched").json()["data"] == []
    again = client.send(
        "POST",
        f"/bank-transactions/{line['id']}/assign",
        {"allocations": [{"invoice": first.pk, "amount": "1.00"}]},
    )
    assert (again.status_code, again.json()["code"]) == (409, "bank_transaction_not_open")
    missing = client.get("/api/v1/bank-transactions/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


@pytest.mark.django_db
@pytest.mark.urls("tests.banking.urls")
def test_lines_are_ignored_and_assigned_in_bulk_through_the_api(
    business_customer, actor, booking_day
):
    invoice = finalized(business_customer, actor)
    import_on(
        camt([transfer("100.00", "Rate"), transfer("19.00", "Rate"), transfer("1.00", "?")]), actor
    )
    first, second, third = BankTransaction.objects.order_by("pk").values_list("pk", flat=True)
    client = api_client("accountant")
    ignored = client.send("POST", f"/bank-transactions/{third}/ignore", {"reason": "Test"})
    assert (ignored.status_code, ignored.json()["state"]) == (200, "ignored")
    both = client.send(
        "POST",
        "/bank-transactions/assign-to-invoice",
        {"transactions": [first, second], "invoice": invoice.pk},
    )
    assert both.status_code == 200, both.json()
    assert [row["state"] for row in both.json()["data"]] == ["booked", "booked"]
    assert open_amount(invoice) == D("0.00")


def test_an_account_that_pays_for_many_customers_identifies_nobody():
    shared = frozenset({20, 30, 40, 50})  # a payment service's account
    ctx = context(invoice(1, "119.00"), customers_by_iban={PAYER_IBAN: shared})
    decision = one(ctx, L(D("119.00"), "RE-2026-00001", counterparty_iban=PAYER_IBAN))
    assert (decision.action, decision.confidence) == ("book", 1.0)
    ctx = context(invoice(1, "119.00"), customers_by_iban={PAYER_IBAN: shared})
    assert one(ctx, L(D("40.00"), "?", counterparty_iban=PAYER_IBAN)).action == "unmatched"
