"""Pre-due reminders: transfer payers hear N days before an invoice falls due, once."""

from __future__ import annotations

import datetime as dt

import pytest

from faktura.core.actors import Actor
from faktura.core.errors import PermissionRefused
from faktura.customers.services import update_customer
from faktura.dunning.models import NoticeSettings, PreDueReminder
from faktura.dunning.pre_due import send_pre_due_reminders
from faktura.notifications.models import OutboxMessage
from faktura.payments.services import allocate_payment
from tests.collection.helpers import debit_customer
from tests.dunning.helpers import SYSTEM, overdue
from tests.payments.helpers import pay

D = dt.date
DUE = D(2026, 11, 30)  # issued 16.11.2026 (14 days)

pytestmark = pytest.mark.django_db


def remind(on: dt.date) -> dict[str, int]:
    return send_pre_due_reminders(on=on, actor=SYSTEM)


def reminders() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(event="payment_due_soon").order_by("pk"))


def three_days() -> None:
    NoticeSettings.objects.create(pre_due_reminder_days=3)


def test_off_by_default_nothing_is_sent(consumer, actor):
    overdue(consumer, actor, due=DUE)
    for day in range(16, 31):
        assert remind(D(2026, 11, day)) == {"sent": 0, "no_recipient": 0}
    assert NoticeSettings.load().pre_due_reminder_days == 0
    assert reminders() == []


def test_three_days_before_the_due_date_exactly_one_mail(consumer, actor):
    three_days()
    invoice = overdue(consumer, actor, due=DUE)
    assert remind(D(2026, 11, 26))["sent"] == 0  # 4 days before
    assert remind(D(2026, 11, 27)) == {"sent": 1, "no_recipient": 0}
    assert remind(D(2026, 11, 27))["sent"] == 0
    assert remind(D(2026, 11, 28))["sent"] == 0
    [mail] = reminders()
    assert mail.to == ["max@example.org"]
    assert mail.subject == f"Zahlungshinweis: Rechnung {invoice.number} fällig am 30.11.2026"
    body = mail.body_text
    assert f"unsere Rechnung {invoice.number} vom 16.11.2026 am 30.11.2026 fällig" in body
    assert "Offen sind noch 100,00 €." in body
    assert "IBAN: DE02 1203 0000 0000 2020 51" in body
    assert "BIC: BYLADEM1001" in body
    assert f"Verwendungszweck: {invoice.number}" in body
    assert "Bitte überweisen Sie 100,00 € bis zum 30.11.2026" in body
    reminder = PreDueReminder.objects.get()
    assert (reminder.invoice_id, reminder.sent_on, reminder.message_id) == (
        invoice.pk,
        D(2026, 11, 27),
        mail.pk,
    )


def test_catch_up_after_missed_days_but_never_once_due(consumer, business_customer, actor):
    three_days()
    late = overdue(consumer, actor, due=DUE)
    gone = overdue(business_customer, actor, due=D(2026, 11, 28))
    # The job did not run on 25–28 November: on the 29th the invoice due on the 30th still
    # gets its reminder; the one due on the 28th is due already and gets none.
    assert remind(D(2026, 11, 29)) == {"sent": 1, "no_recipient": 0}
    assert [m.subject for m in reminders()] == [
        f"Zahlungshinweis: Rechnung {late.number} fällig am 30.11.2026"
    ]
    assert remind(D(2026, 11, 30))["sent"] == 0
    assert not PreDueReminder.objects.filter(invoice=gone).exists()


def test_on_the_due_date_itself_no_reminder(consumer, actor):
    three_days()
    overdue(consumer, actor, due=DUE)
    assert remind(DUE)["sent"] == 0


def test_direct_debit_payers_get_none(consumer, actor):
    three_days()
    debit_customer(consumer, actor, payment_term_days=14)
    invoice = overdue(consumer, actor, due=DUE)
    assert invoice.payment_method == "direct_debit"
    assert remind(D(2026, 11, 27))["sent"] == 0
    assert reminders() == []


def test_paid_invoices_and_short_payment_terms_get_none(consumer, business_customer, actor):
    three_days()
    paid = overdue(consumer, actor, due=DUE)
    payment = pay(actor, "100.00", consumer)
    allocate_payment(payment_id=payment.pk, allocations=[(paid.pk, "100.00")], actor=actor)
    update_customer(customer_id=business_customer.pk, actor=actor, payment_term_days=3)
    with_short_term = overdue_with_term(business_customer, actor)
    assert remind(D(2026, 11, 27))["sent"] == 0
    assert not PreDueReminder.objects.filter(invoice__in=[paid, with_short_term]).exists()


def overdue_with_term(customer, actor):
    from faktura.core import clock
    from tests.payments.helpers import finalized

    with clock.frozen(dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)):
        invoice = finalized(customer, actor)
    assert invoice.due_date == D(2026, 11, 27)
    return invoice


def test_english_customers_get_it_in_english(consumer, actor):
    three_days()
    update_customer(customer_id=consumer.pk, actor=actor, language="en")
    consumer.refresh_from_db()
    invoice = overdue(consumer, actor, due=DUE)
    remind(D(2026, 11, 28))
    [mail] = reminders()
    assert mail.language == "en"
    assert mail.subject == f"Payment reminder: invoice {invoice.number} due on 30 November 2026"
    assert (
        f"our invoice {invoice.number} of 16 November 2026 falls due on 30 November 2026"
        in mail.body_text
    )
    assert "IBAN: DE02 1203 0000 0000 2020 51" in mail.body_text


def test_a_viewer_may_not_send_them(consumer, actor):
    three_days()
    overdue(consumer, actor, due=DUE)
    with pytest.raises(PermissionRefused):
        send_pre_due_reminders(
            on=D(2026, 11, 27), actor=Actor(label="user:vera", roles=frozenset({"viewer"}))
        )
    assert reminders() == []
