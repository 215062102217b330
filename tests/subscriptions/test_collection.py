"""Subscription invoices are collected by their payment method, end to end.

SEPA: the billing run's invoices carry the pre-notification, and ``faktura sepa-batch``
collects exactly them on the pre-notified date. Stripe: the run queues the off-session
charge, the task asks the (fake) Stripe once, and Stripe's signed event books the payment.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from faktura.collection.models import DirectDebitBatch
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.customers.services import create_customer
from faktura.documents.pdf.letterhead import DEFAULT_LETTERHEAD
from faktura.documents.pdf.qr import epc_payload, epc_qr_svg
from faktura.documents.pdf.render import build_context
from faktura.documents.pipeline import snapshot_of
from faktura.documents.snapshot import BankSnapshot, DirectDebitSnapshot
from faktura.invoicing import selectors as invoice_selectors
from faktura.invoicing.models import Invoice
from faktura.payments import services as payments
from faktura.payments.models import Payment, SavedPaymentMethod
from faktura.payments.tasks import charge_saved_payment_method
from faktura.subscriptions.models import BillingRun
from faktura.subscriptions.run import run_billing
from tests.collection.helpers import mandate, parse, texts
from tests.payments import fake_stripe
from tests.payments.helpers import IBAN, OTHER_IBAN, open_amount
from tests.payments.test_off_session import CUS, PM, post_webhook
from tests.payments.test_stripe import STRIPE
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("billing-run")
D = dt.date
# Monday 16 Nov 2026 (the tests' today): issued today, due after the 14 days' term, and
# the 14 days' pre-notification end the same day, a TARGET2 business day.
BILLED = D(2026, 11, 16)
DEBIT_DATE = D(2026, 11, 30)


def bill(day: dt.date = BILLED) -> BillingRun:
    with clock.frozen(day):
        return run_billing(billing_date=day, actor=SYSTEM)


def sepa_batch(day: dt.date, output) -> str:
    out = io.StringIO()
    call_command("sepa-batch", "--date", day.isoformat(), "--output", str(output), stdout=out)
    return out.getvalue()


def invoice_of(customer) -> Invoice:
    return Invoice.objects.get(customer=customer)


def payment_block(invoice: Invoice) -> dict:
    return build_context(snapshot_of(invoice), DEFAULT_LETTERHEAD)["payment"]


# --- SEPA direct debit --------------------------------------------------------------------


@pytest.fixture
def second_debtor(company, actor):
    return create_customer(
        actor=actor,
        kind="business",
        name="Zweite Werkstatt GmbH",
        street="Am Markt",
        house_number="2",
        postcode="04109",
        city="Leipzig",
        email="buchhaltung@werkstatt.example",
    )


def test_direct_debit_subscriptions_are_pre_notified_and_collected_on_that_date(
    company, business_customer, second_debtor, consumer, actor, tmp_path
):
    first = mandate(business_customer, actor, reference="ABO-BEISPIEL-01")
    second = mandate(second_debtor, actor, reference="ABO-WERKSTATT-01", iban=OTHER_IBAN)
    for customer in (business_customer, second_debtor):
        customer.refresh_from_db()
        assert customer.preferred_payment_method == "direct_debit"
    subscribe(
        business_customer,
        plan("monthly", price="30.00"),
        starts_on=BILLED,
        payment_method="direct_debit",
        mandate=first,
    )
    subscribe(
        second_debtor,
        plan("yearly", price="240.00", interval="year"),
        starts_on=BILLED,
        quantity="2",
        payment_method="direct_debit",
        mandate=second,
    )
    subscribe(
        consumer,
        plan("private", price="9.99", price_mode="gross"),
        starts_on=BILLED,
        payment_method="transfer",
    )

    run = bill()

    assert (run.invoices_made, run.invoices_finalized, run.errors) == (3, 3, 0)
    monthly, yearly, private = (invoice_of(c) for c in (business_customer, second_debtor, consumer))
    assert [i.status for i in (monthly, yearly, private)] == ["finalized"] * 3
    assert [i.payment_method for i in (monthly, yearly, private)] == [
        "direct_debit",
        "direct_debit",
        "transfer",
    ]
    assert (monthly.grand_total, yearly.grand_total, private.grand_total) == (
        Decimal("35.70"),
        Decimal("571.20"),
        Decimal("9.99"),
    )
    assert monthly.due_date == DEBIT_DATE

    # The pre-notification: debit date, mandate, creditor id and IBAN on the document.
    snapshot = snapshot_of(monthly)
    assert snapshot.payment_means == "direct_debit"
    assert snapshot.direct_debit == DirectDebitSnapshot(
        mandate_reference="ABO-BEISPIEL-01",
        creditor_id="DE98ZZZ09999999999",
        debtor_iban=IBAN,
        debit_date=DEBIT_DATE,
    )
    assert snapshot_of(yearly).direct_debit == DirectDebitSnapshot(
        mandate_reference="ABO-WERKSTATT-01",
        creditor_id="DE98ZZZ09999999999",
        debtor_iban=OTHER_IBAN,
        debit_date=DEBIT_DATE,
    )
    block = payment_block(monthly)
    assert block["paragraphs"] == [
        "Den Betrag von 35,70\xa0€ ziehen wir am 30.11.2026 mit der SEPA-Lastschrift zum "
        "Mandat ABO-BEISPIEL-01, Gläubiger-ID DE98ZZZ09999999999, von Ihrem Konto "
        "DE89 XXXX XXXX XXXX XX30 00 ein. Bitte sorgen Sie für ausreichende Deckung."
    ]
    assert (block["bank"], block["qr"]) == ([], None)  # no transfer details, no QR code

    # The transfer payer gets the bank details and the EPC QR code instead.
    transfer = snapshot_of(private)
    assert (transfer.payment_means, transfer.direct_debit) == ("transfer", None)
    assert transfer.bank == BankSnapshot(
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        bank_name="Musterbank",
        account_holder="Muster Software GmbH",
    )
    shown = payment_block(private)
    assert shown["paragraphs"][0] == (
        f"Bitte überweisen Sie 9,99\xa0€ bis zum 30.11.2026 unter Angabe der Rechnungsnummer "
        f"{private.number}."
    )
    assert ["IBAN", "DE02 1203 0000 0000 2020 51"] in shown["bank"]
    # The QR code is the GiroCode of exactly this transfer: payee, IBAN, amount, number.
    payload = epc_payload(
        name="Muster Software GmbH",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        amount=Decimal("9.99"),
        remittance=private.number,
    )
    assert ("EUR9.99", private.number) == (payload.splitlines()[7], payload.splitlines()[-1])
    assert shown["qr"] == epc_qr_svg(payload).decode("ascii")

    # A file for the Friday before the pre-notified date collects nothing.
    early = sepa_batch(D(2026, 11, 27), tmp_path)
    assert "CORE: nothing due for collection on 2026-11-27." in early
    assert not DirectDebitBatch.objects.exists()

    # On the pre-notified date: exactly the two direct-debit invoices, nothing else.
    sepa_batch(DEBIT_DATE, tmp_path)
    batch = DirectDebitBatch.objects.get()
    assert (batch.scheme, batch.collection_date, batch.transaction_count) == (
        "CORE",
        DEBIT_DATE,
        2,
    )
    assert batch.control_sum == Decimal("606.90")
    root = parse((tmp_path / batch.file_name).read_bytes())
    debits = sorted(
        zip(
            texts(root, ".//p:DrctDbtTxInf/p:PmtId/p:EndToEndId"),
            texts(root, ".//p:DrctDbtTxInf/p:InstdAmt"),
            texts(root, ".//p:DrctDbtTxInf/p:DrctDbtTx/p:MndtRltdInf/p:MndtId"),
            texts(root, ".//p:DrctDbtTxInf/p:DbtrAcct/p:Id/p:IBAN"),
            strict=True,
        )
    )
    assert debits == sorted(
        [
            (monthly.number, "35.70", "ABO-BEISPIEL-01", IBAN),
            (yearly.number, "571.20", "ABO-WERKSTATT-01", OTHER_IBAN),
        ]
    )
    assert texts(root, ".//p:PmtInf/p:ReqdColltnDt") == ["2026-11-30"]
    assert private.number not in (tmp_path / batch.file_name).read_text()


def test_the_subscriptions_payment_method_decides_the_invoices(
    company, business_customer, actor, tmp_path
):
    """A mandate customer's subscription paid by transfer is invoiced for transfer (and
    is not debited); the customer's direct-debit subscription is debited."""
    signed = mandate(business_customer, actor, reference="ABO-BEISPIEL-02")
    subscribe(
        business_customer,
        plan("debit", price="30.00"),
        starts_on=BILLED,
        payment_method="direct_debit",
        mandate=signed,
    )
    subscribe(
        business_customer,
        plan("transfer", price="50.00"),
        starts_on=BILLED,
        payment_method="transfer",
    )
    bill()
    by_method = {i.payment_method: i for i in Invoice.objects.filter(customer=business_customer)}
    assert sorted(by_method) == ["direct_debit", "transfer"]
    assert by_method["direct_debit"].grand_total == Decimal("35.70")
    assert by_method["transfer"].grand_total == Decimal("59.50")
    assert snapshot_of(by_method["transfer"]).direct_debit is None
    assert payment_block(by_method["transfer"])["qr"] is not None

    sepa_batch(DEBIT_DATE, tmp_path)
    batch = DirectDebitBatch.objects.get()
    root = parse(batch.file_bytes())
    assert texts(root, ".//p:DrctDbtTxInf/p:PmtId/p:EndToEndId") == [
        by_method["direct_debit"].number
    ]
    assert texts(root, ".//p:DrctDbtTxInf/p:InstdAmt") == ["35.70"]


# --- Stripe, off-session ------------------------------------------------------------------


@pytest.fixture
def stripe_api():
    with (
        fake_stripe.running(STRIPE["STRIPE_SECRET_KEY"]) as fake,
        override_settings(**STRIPE, STRIPE_API_BASE=fake.url),
    ):
        yield fake


@pytest.fixture
def card(business_customer, actor) -> SavedPaymentMethod:
    return payments.save_payment_method(
        customer_id=business_customer.pk,
        actor=actor,
        provider_customer_id=CUS,
        payment_method_id=PM,
        label="Visa •••• 4242",
    )


@pytest.fixture
def card_subscription(business_customer, card):
    return subscribe(
        business_customer,
        plan("monthly", price="30.00"),
        starts_on=BILLED,
        payment_method="provider",
        saved_payment_method=card,
    )


def charge_tasks() -> list[list[int]]:
    return [
        task.args_kwargs["args"]
        for task in DBTaskResult.objects.filter(
            task_path__endswith="charge_saved_payment_method"
        ).order_by("pk")
    ]


def test_a_saved_card_pays_the_subscription_invoice_through_stripe(
    business_customer, card, card_subscription, stripe_api
):
    run = bill()

    assert (run.invoices_made, run.invoices_finalized) == (1, 1)
    invoice = invoice_of(business_customer)
    assert (invoice.status, invoice.payment_method, invoice.grand_total) == (
        "finalized",
        "provider",
        Decimal("35.70"),
    )
    assert charge_tasks() == [[invoice.pk, card.pk]]
    assert stripe_api.requests == []  # nothing is asked of Stripe inside the run

    assert charge_saved_payment_method.call(invoice.pk, card.pk) == "charged"

    (received,) = stripe_api.requests
    assert (received.method, received.path) == ("POST", "/v1/payment_intents")
    params = received.params
    assert (params["amount"], params["currency"]) == ("3570", "eur")
    assert (params["customer"], params["payment_method"]) == (CUS, PM)
    assert (params["off_session"], params["confirm"]) == ("true", "true")
    assert params["metadata"] == {"invoice_id": str(invoice.pk), "invoice_number": invoice.number}
    assert open_amount(invoice) == Decimal("35.70")  # booked only when Stripe says so

    (succeeded,) = stripe_api.events
    assert succeeded["type"] == "payment_intent.succeeded"
    assert post_webhook(succeeded)["state"] == "applied"
    payment = Payment.objects.get()
    assert (payment.amount, payment.external_id, payment.customer_id) == (
        Decimal("35.70"),
        "stripe:pi_fake0001",
        business_customer.pk,
    )
    assert open_amount(invoice) == Decimal("0.00")
    settled = invoice_selectors.settlement(invoice, today=invoice.due_date + dt.timedelta(days=1))
    assert (settled["payment_status"], settled["overdue"]) == ("paid", False)

    # The run again, the same day and later the same period: no second charge.
    assert bill().invoices_made == 0
    assert bill(BILLED + dt.timedelta(days=3)).invoices_made == 0
    assert charge_tasks() == [[invoice.pk, card.pk]]
    assert len(stripe_api.requests) == 1
    assert Payment.objects.count() == 1


def test_a_declined_card_leaves_the_subscription_invoice_open_for_dunning(
    business_customer, card, card_subscription, stripe_api
):
    # A hard decline: never tried again, so the invoice is due for dunning at once (soft
    # declines are tried again first: tests/payments/test_off_session.py).
    stripe_api.decline(PM, decline_code="stolen_card")
    bill()
    invoice = invoice_of(business_customer)
    (args,) = charge_tasks()

    assert charge_saved_payment_method.call(*args) == "declined"

    (received,) = stripe_api.requests
    assert received.params["amount"] == "3570"
    (failed,) = stripe_api.events
    assert failed["type"] == "payment_intent.payment_failed"
    assert post_webhook(failed)["state"] == "recorded"
    assert Payment.objects.count() == 0
    assert open_amount(invoice) == invoice.grand_total == Decimal("35.70")
    assert invoice.due_date == DEBIT_DATE
    on_due = invoice_selectors.settlement(invoice, today=invoice.due_date)
    after_due = invoice_selectors.settlement(invoice, today=invoice.due_date + dt.timedelta(days=1))
    assert (on_due["payment_status"], on_due["overdue"]) == ("unpaid", False)
    assert (after_due["open_amount"], after_due["overdue"]) == (Decimal("35.70"), True)
    overdue = invoice_selectors.filter_by_payment_state(
        Invoice.objects.all(), "overdue", invoice.due_date + dt.timedelta(days=1)
    )
    assert list(overdue.values_list("pk", flat=True)) == [invoice.pk]

    # Neither the run nor a retry charges the card again.
    assert bill().invoices_made == 0
    assert charge_tasks() == [args]
    assert len(stripe_api.requests) == 1


def test_only_the_card_subscriptions_invoice_is_charged(
    business_customer, card, card_subscription, stripe_api
):
    subscribe(
        business_customer,
        plan("transfer", price="50.00"),
        starts_on=BILLED,
        payment_method="transfer",
    )
    assert bill().invoices_made == 2
    charged = Invoice.objects.get(customer=business_customer, payment_method="provider")
    by_transfer = Invoice.objects.get(customer=business_customer, payment_method="transfer")
    assert (charged.grand_total, by_transfer.grand_total) == (Decimal("35.70"), Decimal("59.50"))
    assert charge_tasks() == [[charged.pk, card.pk]]
    charge_saved_payment_method.call(charged.pk, card.pk)
    assert [r.params["amount"] for r in stripe_api.requests] == ["3570"]
