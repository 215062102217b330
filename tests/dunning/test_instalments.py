"""Instalment agreements (Ratenzahlung): dunning paused while instalments come in, resumed
at the level reached when one is missed; time-travel scenarios with exact figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.errors import DomainError, PermissionRefused
from faktura.core.models import AuditEntry
from faktura.dunning import instalments as service
from faktura.dunning import run as dunning_run
from faktura.dunning.models import (
    DunningCase,
    DunningFee,
    DunningNotice,
    Instalment,
    InstalmentAgreement,
    InstalmentAgreementInvoice,
)
from faktura.invoicing.models import Invoice
from faktura.payments.services import record_payment
from tests.banking.camt_builder import camt, transfer
from tests.banking.helpers import import_on
from tests.dunning.helpers import fees, figures, notices, overdue, run
from tests.payments.helpers import counts, pay

D = dt.date
E = Decimal
DUE = D(2026, 10, 1)

pytestmark = pytest.mark.django_db


def at(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC))


def agree(customer, invoices, actor, *, on: dt.date, **kwargs) -> InstalmentAgreement:
    kwargs.setdefault("instalments", 3)
    kwargs.setdefault("first_due_date", D(2026, 11, 1))
    with at(on):
        return service.create_instalment_agreement(
            customer_id=customer.pk, invoice_ids=[i.pk for i in invoices], actor=actor, **kwargs
        )


def schedule(agreement) -> list[tuple[int, str, dt.date, Decimal, Decimal]]:
    return list(
        Instalment.objects.filter(agreement=agreement)
        .order_by("number")
        .values_list("number", "reference", "due_date", "amount", "paid_amount")
    )


def status(agreement) -> str:
    agreement.refresh_from_db()
    return agreement.status


def pay_by_reference(customer, actor, amount: str, reference: str, day: dt.date) -> None:
    """A payment recorded by hand with the instalment reference, then allocated by it."""
    with at(day):
        payment = record_payment(
            actor=actor,
            amount=amount,
            date=day,
            method="transfer",
            source="manual",
            reference=f"Rate {reference}",
            customer_id=customer.pk,
        )
        service.allocate_instalment_payment(payment_id=payment.pk, actor=actor)


def test_agreement_pauses_dunning_and_a_missed_instalment_resumes_it_at_the_level_reached(
    consumer, actor
):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))  # the payment reminder
    run(D(2026, 10, 22))  # the 1st notice: 2.50 fee, interest 2.–22.10.
    assert [figures(n) for n in notices(consumer)] == [
        (0, D(2026, 10, 8), E("100.00"), E("0.00"), E("0.00"), E("100.00")),
        (1, D(2026, 10, 22), E("100.00"), E("2.50"), E("0.36"), E("102.86")),
    ]
    agreement = agree(consumer, [invoice], actor, on=D(2026, 10, 23), note="Kunde arbeitslos")
    ref = agreement.reference
    assert (ref, agreement.status, agreement.total, agreement.grace_days) == (
        f"RZ-{agreement.pk:05d}",
        "active",
        E("100.00"),
        7,
    )
    # Three monthly instalments; the last takes the cent left over.
    assert schedule(agreement) == [
        (1, f"{ref}-1", D(2026, 11, 1), E("33.33"), E("0.00")),
        (2, f"{ref}-2", D(2026, 12, 1), E("33.33"), E("0.00")),
        (3, f"{ref}-3", D(2027, 1, 1), E("33.34"), E("0.00")),
    ]
    # The 1st instalment comes in by transfer naming its reference.
    with at(D(2026, 10, 30)):
        data = camt([transfer("33.33", f"Rate {ref}-1 Mustermann", booked=D(2026, 10, 30))])
    import_on(data, actor, day=D(2026, 10, 30))
    assert schedule(agreement)[0][4] == E("33.33")
    # Without the agreement the 2nd notice would go out on 5.11.; the runs send nothing.
    for day in (D(2026, 11, 5), D(2026, 11, 19), D(2026, 12, 3), D(2026, 12, 8)):
        assert run(day).notices_sent == 0
    assert len(notices(consumer)) == 2
    assert status(agreement) == "active"
    # The 2nd instalment (due 1.12.) is not paid; 8.12. was the last day of grace.
    result = run(D(2026, 12, 9))
    assert status(agreement) == "broken"
    assert (agreement.ended_on, agreement.end_reason) == (
        D(2026, 12, 9),
        "Rate 2 fällig am 01.12.2026 über 33.33 EUR: 33.33 EUR offen.",
    )
    assert result.notices_sent == 1
    second = notices(consumer)[2]
    # The 2nd level, not the reminder again: 66.67 open; the 1st fee (open) + 2.50; interest
    # only for 9.12. (1 day, 66.67 × 6.27 % / 365 = 0.011): the agreement's days bear none.
    assert figures(second) == (2, D(2026, 12, 9), E("66.67"), E("5.00"), E("0.37"), E("72.04"))
    assert fees(consumer, DunningFee.Kind.INTEREST) == [
        (E("0.36"), D(2026, 10, 2), D(2026, 10, 22)),
        (E("0.01"), D(2026, 12, 9), D(2026, 12, 9)),
    ]
    assert DunningCase.objects.get(invoice=invoice).level == 2
    # Idempotent: again for the day, nothing new and the agreement is broken once.
    assert run(D(2026, 12, 9)).notices_sent == 0
    assert AuditEntry.objects.filter(action="dunning.instalment_agreement_broken").count() == 1
    # An instalment paid late changes nothing any more: dunning goes on.
    assert [n.level for n in notices(consumer)] == [0, 1, 2]
    run(D(2026, 12, 23))
    assert [n.level for n in notices(consumer)] == [0, 1, 2, 3]


def test_paid_in_full_completes_the_agreement_and_invoice_payments_count_in_due_order(
    consumer, actor
):
    first = overdue(consumer, actor, due=DUE, price="60.00")
    second = overdue(consumer, actor, due=D(2026, 10, 15), price="40.00")
    run(D(2026, 10, 8))
    agreement = agree(
        consumer,
        [second, first],
        actor,
        on=D(2026, 10, 20),
        instalments=None,
        first_due_date=None,
        schedule=[(D(2026, 11, 1), "50.00"), (D(2026, 11, 15), "30.00"), (D(2026, 12, 1), "20")],
        grace_days=3,
    )
    # The 2nd instalment paid first by its reference: it counts for the 2nd, and the money
    # goes to the oldest invoice.
    pay_by_reference(consumer, actor, "30.00", f"{agreement.reference}-2", D(2026, 10, 25))
    assert [row[4] for row in schedule(agreement)] == [E("0.00"), E("30.00"), E("0.00")]
    assert _open(first) == E("30.00")
    # A payment naming an invoice counts towards the instalments in due order.
    with at(D(2026, 10, 28)):
        payment = pay(actor, "55.00", consumer, day=D(2026, 10, 28))
        from faktura.payments.services import allocate_payment

        allocate_payment(
            payment_id=payment.pk,
            allocations=[(first.pk, "30.00"), (second.pk, "25.00")],
            actor=actor,
        )
    assert [row[4] for row in schedule(agreement)] == [E("50.00"), E("30.00"), E("5.00")]
    assert status(agreement) == "active"
    assert run(D(2026, 11, 20)).notices_sent == 0  # nothing missed
    pay_by_reference(consumer, actor, "15.00", f"{agreement.reference}-3", D(2026, 11, 16))
    assert [row[4] for row in schedule(agreement)] == [E("50.00"), E("30.00"), E("20.00")]
    assert status(agreement) == "completed"
    assert agreement.ended_on == D(2026, 11, 16)
    assert not InstalmentAgreementInvoice.objects.filter(active=True).exists()
    assert run(D(2026, 12, 31)).notices_sent == 0  # paid: nothing to dun
    assert [n.level for n in notices(consumer)] == [0]


def _open(invoice) -> Decimal:
    from tests.payments.helpers import open_amount

    return open_amount(invoice)


def test_cancelled_agreement_resumes_dunning_at_the_level_reached(consumer, approver, actor):
    invoice = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    agreement = agree(consumer, [invoice], actor, on=D(2026, 10, 10))
    assert run(D(2026, 10, 22)).notices_sent == 0
    with pytest.raises(DomainError) as refused:
        service.cancel_instalment_agreement(agreement_id=agreement.pk, reason=" ", actor=actor)
    assert refused.value.code == "dunning_reason_required"
    with at(D(2026, 10, 25)):
        service.cancel_instalment_agreement(
            agreement_id=agreement.pk, reason="Kunde zahlt nicht", actor=actor
        )
    assert (status(agreement), agreement.ended_on, agreement.end_reason) == (
        "cancelled",
        D(2026, 10, 25),
        "Kunde zahlt nicht",
    )
    with pytest.raises(DomainError) as again:
        service.cancel_instalment_agreement(agreement_id=agreement.pk, reason="x", actor=actor)
    assert again.value.code == "instalment_agreement_not_active"
    run(D(2026, 10, 26))
    # The 1st notice; interest for 2.–9.10. and 25.–26.10. (10 days), not while agreed.
    # 100 × 6.27 % × 10 / 365 = 0.1718 → 0.17 (8 days 0.14 + 2 days 0.03)
    assert figures(notices(consumer)[1]) == (
        1,
        D(2026, 10, 26),
        E("100.00"),
        E("2.50"),
        E("0.17"),
        E("102.67"),
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"invoice_ids": []}, "instalment_no_invoices"),
        ({"instalments": 0}, "invalid_instalment_count"),
        ({"instalments": None}, "instalment_schedule_required"),
        ({"first_due_date": D(2026, 11, 15)}, "instalment_due_in_past"),
        ({"grace_days": 61}, "invalid_grace_days"),
        (
            {
                "instalments": None,
                "schedule": [(D(2026, 12, 1), "50.00"), (D(2026, 12, 1), "50.00")],
            },
            "instalment_dates_not_ascending",
        ),
        (
            {
                "instalments": None,
                "schedule": [(D(2026, 12, 1), "50.00"), (D(2027, 1, 1), "49.99")],
            },
            "instalment_sum_mismatch",
        ),
        (
            {"instalments": None, "schedule": [(D(2026, 12, 1), "0.00")]},
            "instalment_amount_not_positive",
        ),
    ],
)
def test_invalid_schedules_change_nothing(consumer, actor, change, code):
    invoice = overdue(consumer, actor, due=DUE)
    before = _counts()
    arguments = {
        "customer_id": consumer.pk,
        "invoice_ids": [invoice.pk],
        "instalments": 2,
        "first_due_date": D(2026, 12, 1),
        "actor": actor,
        **change,
    }
    with pytest.raises(DomainError) as previewed:
        service.preview_instalment_agreement(**arguments)
    assert previewed.value.code == code
    with pytest.raises(DomainError) as refused:
        service.create_instalment_agreement(**arguments)
    assert refused.value.code == code
    assert _counts() == before


def test_the_preview_shows_what_the_agreement_will_be_and_writes_nothing(consumer, actor):
    first = overdue(consumer, actor, due=DUE)
    second = overdue(consumer, actor, due=D(2026, 10, 15), price="0.03")
    before = _counts()
    arguments = {
        "customer_id": consumer.pk,
        "invoice_ids": [second.pk, first.pk],
        "instalments": 3,
        "first_due_date": D(2026, 11, 30),
        "actor": actor,
    }
    plan = service.preview_instalment_agreement(**arguments)
    assert plan.open_amounts == {second.pk: E("0.03"), first.pk: E("100.00")}
    assert plan.total == E("100.03")
    assert plan.instalments == [
        (D(2026, 11, 30), E("33.34")),
        (D(2026, 12, 30), E("33.34")),
        (D(2027, 1, 30), E("33.35")),
    ]
    assert _counts() == before
    agreement = service.create_instalment_agreement(**arguments)
    assert [(due, amount) for _n, _r, due, amount, _p in schedule(agreement)] == plan.instalments
    assert agreement.total == plan.total


@pytest.mark.parametrize(
    ("total", "count", "amounts"),
    [
        ("100.00", 3, ["33.33", "33.33", "33.34"]),
        ("0.05", 2, ["0.02", "0.03"]),
        ("59.50", 1, ["59.50"]),
        ("1000.00", 4, ["250.00", "250.00", "250.00", "250.00"]),
    ],
)
def test_the_schedule_splits_evenly_and_the_last_takes_the_rest(total, count, amounts):
    rows = service.instalment_schedule(
        E(total), count=count, first_due=D(2027, 1, 31), schedule=None, today=D(2026, 11, 16)
    )
    assert [amount for _due, amount in rows] == [E(a) for a in amounts]
    assert [due for due, _amount in rows][:2] == [D(2027, 1, 31), D(2027, 2, 28)][:count]


def _counts() -> dict[str, int]:
    return {
        **counts(),
        "agreements": InstalmentAgreement.objects.count(),
        "instalments": Instalment.objects.count(),
        "covered": InstalmentAgreementInvoice.objects.count(),
    }


def test_invoices_that_cannot_be_agreed_are_refused(consumer, business_customer, actor):
    own = overdue(consumer, actor, due=DUE)
    foreign = overdue(business_customer, actor, due=DUE)
    paid = overdue(consumer, actor, due=DUE)
    with at(D(2026, 11, 1)):
        payment = pay(actor, "100.00", consumer, day=D(2026, 11, 1))
    from faktura.payments.services import allocate_payment

    allocate_payment(payment_id=payment.pk, allocations=[(paid.pk, "100.00")], actor=actor)
    handed = overdue(consumer, actor, due=DUE)
    run(D(2026, 10, 8))
    DunningCase.objects.filter(invoice=handed).update(handed_to_collection=True)
    agreed = overdue(consumer, actor, due=DUE)
    service.create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[agreed.pk],
        instalments=1,
        first_due_date=D(2026, 12, 1),
        actor=actor,
    )
    before = _counts()
    for invoice_ids, code in [
        ([own.pk, foreign.pk], "invoice_of_other_customer"),
        ([own.pk, paid.pk], "invoice_not_open"),
        ([own.pk, handed.pk], "invoice_in_collection"),
        ([own.pk, agreed.pk], "invoice_in_instalment_agreement"),
        ([own.pk, own.pk], "duplicate_invoice"),
        ([own.pk, 999999], "invoice_not_found"),
    ]:
        arguments = {
            "customer_id": consumer.pk,
            "invoice_ids": invoice_ids,
            "instalments": 2,
            "first_due_date": D(2026, 12, 1),
            "actor": actor,
        }
        with pytest.raises(DomainError) as previewed:
            service.preview_instalment_agreement(**arguments)
        assert previewed.value.code == code, invoice_ids
        with pytest.raises(DomainError) as refused:
            service.create_instalment_agreement(**arguments)
        assert refused.value.code == code, invoice_ids
    assert _counts() == before
    viewer = Actor(label="user:vera", roles=frozenset({"viewer"}))
    with pytest.raises(PermissionRefused):
        service.preview_instalment_agreement(
            customer_id=consumer.pk,
            invoice_ids=[own.pk],
            instalments=2,
            first_due_date=D(2026, 12, 1),
            actor=viewer,
        )
    with pytest.raises(PermissionRefused):
        service.create_instalment_agreement(
            customer_id=consumer.pk,
            invoice_ids=[own.pk],
            instalments=2,
            first_due_date=D(2026, 12, 1),
            actor=viewer,
        )
    assert _counts() == before


def test_the_run_query_leaves_covered_invoices_out(consumer, business_customer, actor):
    covered = overdue(consumer, actor, due=DUE)
    free = overdue(consumer, actor, due=DUE)
    only_covered = overdue(business_customer, actor, due=DUE)
    service.create_instalment_agreement(
        customer_id=consumer.pk,
        invoice_ids=[covered.pk],
        instalments=2,
        first_due_date=D(2026, 12, 1),
        actor=actor,
    )
    service.create_instalment_agreement(
        customer_id=business_customer.pk,
        invoice_ids=[only_covered.pk],
        instalments=2,
        first_due_date=D(2026, 12, 1),
        actor=actor,
    )
    on = D(2026, 11, 16)
    query = dunning_run._overdue(on)
    assert "EXISTS" in str(query.query).upper()
    assert set(query.values_list("pk", flat=True)) == {free.pk}
    # A customer whose overdue invoices are all covered is no candidate at all.
    assert dunning_run.candidate_customers(on) == [consumer.pk]
    run(on)
    (notice,) = DunningNotice.objects.all()
    assert [i.invoice_id for i in notice.items.all()] == [free.pk]
    assert not DunningCase.objects.filter(invoice_id__in=[covered.pk, only_covered.pk]).exists()


def test_a_statement_line_naming_an_instalment_is_matched_like_an_invoice(consumer, actor):
    invoice = overdue(consumer, actor, due=DUE)
    agreement = agree(consumer, [invoice], actor, on=D(2026, 10, 20), instalments=2)
    with at(D(2026, 10, 30)):
        data = camt(
            [
                transfer("50.00", f"RATE rz {agreement.pk:05d}/2", booked=D(2026, 10, 30)),
                transfer("20.00", f"RZ{agreement.pk}-1 Teil", booked=D(2026, 10, 30)),
            ]
        )
    import_on(data, actor, day=D(2026, 10, 30))
    from faktura.banking.models import BankTransaction

    lines = BankTransaction.objects.order_by("pk")
    assert [(t.state, t.match_method, t.match_confidence) for t in lines] == [
        ("booked", "instalment_reference", E("1.000")),
        ("booked", "instalment_reference", E("0.950")),
    ]
    # Each counts for the instalment it names.
    assert [row[4] for row in schedule(agreement)] == [E("20.00"), E("50.00")]
    assert Invoice.objects.get(pk=invoice.pk).pk == invoice.pk
    assert _open(invoice) == E("30.00")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Rate RZ-00012-2", ("RZ-00012-2",)),
        ("rz 12/2 und RZ00012-3", ("RZ-00012-2", "RZ-00012-3")),
        ("RZ-00012", ()),  # the agreement alone names no instalment
        ("RE-2026-00012", ()),
        ("ABCRZ-00012-1", ()),
    ],
)
def test_instalment_references_in_remittance_text(text, found):
    from faktura.dunning.references import find_instalment_references

    assert find_instalment_references(text) == found


def test_interest_stretches_leave_out_the_paused_days():
    from faktura.dunning.interest import outside

    assert outside(D(2026, 10, 1), D(2026, 12, 31), [(D(2026, 10, 10), D(2026, 12, 8))]) == [
        (D(2026, 10, 1), D(2026, 10, 9)),
        (D(2026, 12, 9), D(2026, 12, 31)),
    ]
    assert outside(D(2026, 11, 1), D(2026, 11, 30), [(D(2026, 10, 10), D(2026, 12, 8))]) == []
    assert outside(D(2026, 11, 2), D(2026, 11, 1), []) == []
