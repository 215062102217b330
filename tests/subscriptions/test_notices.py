"""Notices to subscribers: each queued once, with the right dates and amounts, sent by the
outbox; a price change that needs consent applies only with it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail as django_mail

from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.models import AuditEntry
from faktura.invoicing.models import Invoice
from faktura.notifications.models import OutboxMessage
from faktura.scheduling import jobs
from faktura.scheduling.registry import Occurrence
from faktura.subscriptions.models import BillingIssue, Notice, PriceChange, Subscription
from faktura.subscriptions.notices import last_notice_day, send_notices
from faktura.subscriptions.run import run_billing
from faktura.subscriptions.terms import AfterMinimumTerm, ContractTerms, Span, Unit
from tests.documents.pipeline_helpers import pending_tasks, run_tasks
from tests.subscriptions.helpers import plan, subscribe

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("notices")
D = dt.date


def notify(day: dt.date, warnings: list[str] | None = None) -> dict[str, int]:
    with clock.frozen(day):
        return send_notices(on=day, actor=SYSTEM, warnings=warnings)


def bill(day: dt.date) -> None:
    with clock.frozen(day):
        run_billing(billing_date=day, actor=SYSTEM)


def trialing(customer, on_plan, *, trial_ends_on: dt.date) -> Subscription:
    return subscribe(
        customer,
        on_plan,
        starts_on=D(2026, 11, 5),
        anchor=trial_ends_on + dt.timedelta(days=1),
        status=Subscription.Status.TRIALING,
        trial_ends_on=trial_ends_on,
    )


def the_message() -> OutboxMessage:
    return OutboxMessage.objects.get()


# trial ending ----------------------------------------------------------------------------


def test_trial_ending_three_days_ahead_is_queued_once(company, business_customer):
    trialing(business_customer, plan(price="30.00"), trial_ends_on=D(2026, 11, 19))
    assert notify(D(2026, 11, 15))["trial_ending"] == 0  # four days ahead: not yet
    assert notify(D(2026, 11, 16))["trial_ending"] == 1
    assert notify(D(2026, 11, 16))["trial_ending"] == 0
    assert notify(D(2026, 11, 17))["trial_ending"] == 0
    notice = Notice.objects.get()
    assert (notice.kind, notice.about) == ("trial_ending", D(2026, 11, 19))
    message = the_message()
    assert message.subject == "Ihre Testphase endet am 19.11.2026 – Mitgliedschaft monthly"
    assert message.to == ["buchhaltung@beispiel.de"]
    assert message.event == "trial_ending"
    assert "Ihre Testphase endet am 19.11.2026." in message.body_text
    assert "zum Preis von 30,00 € je Monat (zzgl. USt.)" in message.body_text
    assert "die erste Abrechnung erfolgt am 20.11.2026" in message.body_text
    assert "kündigen Sie bitte bis zum 19.11.2026" in message.body_text
    # Signed like the document mails: the company and its legal data below "-- ".
    assert "Mit freundlichen Grüßen\nMuster Software GmbH" in message.body_text
    assert "\n-- \nMuster Software GmbH" in message.body_text
    assert "<strong>19.11.2026</strong>" in message.body_html
    entry = AuditEntry.objects.get(action="subscription.notice_queued")
    assert entry.data["kind"] == "trial_ending"
    assert entry.data["message"] == message.pk


def test_a_trial_notice_missed_by_an_outage_is_sent_on_the_next_run(company, consumer):
    cheap = plan(price="9.99", price_mode="gross")
    trialing(consumer, cheap, trial_ends_on=D(2026, 11, 19))
    # The job did not run on the 16th and 17th.
    assert notify(D(2026, 11, 18))["trial_ending"] == 1
    assert "9,99 € je Monat (inkl. USt.)" in the_message().body_text
    assert notify(D(2026, 11, 20))["trial_ending"] == 0  # trial over: nothing to announce


def test_an_english_customer_gets_the_english_mail(company, actor):
    from faktura.customers.services import create_customer

    customer = create_customer(
        actor=actor,
        kind="business",
        name="Example Ltd",
        street="High Street",
        house_number="1",
        postcode="SW1A 1AA",
        city="London",
        country="GB",
        email="accounts@example.co.uk",
        language="en",
    )
    trialing(customer, plan(price="30.00"), trial_ends_on=D(2026, 11, 19))
    notify(D(2026, 11, 16))
    message = the_message()
    assert message.language == "en"
    assert message.subject == "Your trial ends on 19 November 2026 – Mitgliedschaft monthly"
    assert "€30.00 per month (plus VAT)" in message.body_text
    assert "the first billing date is 20 November 2026" in message.body_text
    assert "Kind regards" in message.body_text


def test_a_customer_without_address_gets_no_notice_until_one_is_added(company, consumer):
    trialing(consumer, plan(), trial_ends_on=D(2026, 11, 19))
    type(consumer).objects.filter(pk=consumer.pk).update(email="")
    assert notify(D(2026, 11, 16))["no_recipient"] == 1
    assert not Notice.objects.exists()
    type(consumer).objects.filter(pk=consumer.pk).update(email="max@example.org")
    assert notify(D(2026, 11, 17))["trial_ending"] == 1


# renewal -----------------------------------------------------------------------------------


def test_yearly_renewal_30_days_ahead_with_the_last_day_for_notice(company, business_customer):
    yearly = plan(
        "yearly",
        price="120.00",
        interval="year",
        renewal_notice_days=30,
        minimum_term_months=12,
        notice_value=14,
        notice_unit="days",
        after_minimum_term="renews",
    )
    subscribe(business_customer, yearly, starts_on=D(2026, 1, 1), next_period_index=1)
    assert notify(D(2026, 12, 1))["renewal"] == 0  # 31 days ahead
    assert notify(D(2026, 12, 2))["renewal"] == 1
    assert notify(D(2026, 12, 3))["renewal"] == 0
    assert Notice.objects.get().about == D(2027, 1, 1)
    message = the_message()
    assert message.subject == "Ihr Vertrag verlängert sich am 01.01.2027 – Mitgliedschaft yearly"
    assert "Der Preis für den neuen Zeitraum beträgt 120,00 € je Jahr (zzgl. USt.)" in (
        message.body_text
    )
    # 14 days' notice before the end of the term on 31 December.
    assert "muss Ihre Kündigung spätestens am 17.12.2026 bei uns eingehen" in message.body_text
    assert "jederzeit" not in message.body_text


def test_consumer_renewal_after_the_minimum_term_says_notice_any_time(company, consumer):
    yearly = plan(
        "yearly",
        price="119.00",
        price_mode="gross",
        interval="year",
        renewal_notice_days=30,
        minimum_term_months=12,
    )
    subscribe(consumer, yearly, starts_on=D(2025, 12, 1), next_period_index=1)
    PriceChange.objects.create(
        plan=yearly,
        effective_from=D(2026, 12, 1),
        price=Decimal("129.00"),
        notice_days=10,
        created_at=clock.now(),
        created_by="test",
    )
    assert notify(D(2026, 11, 16))["renewal"] == 1
    assert Notice.objects.get().about == D(2026, 12, 1)
    text = the_message().body_text
    assert "verlängert sich am 01.12.2026" in text
    assert "129,00 € je Jahr (inkl. USt.)" in text  # the price of that period
    assert "eine Kündigung, die heute eingeht, beendet den Vertrag zum 16.12.2026" in text
    assert (
        "Sie können den Vertrag nach Ablauf der Mindestlaufzeit jederzeit mit einer Frist "
        "von einem Monat kündigen." in text
    )


def test_the_last_day_for_notice():
    business = ContractTerms(
        minimum_term_months=12,
        notice=Span(3, Unit.MONTHS),
        after_minimum_term=AfterMinimumTerm.RENEWS,
    )
    start = D(2026, 1, 1)
    assert last_notice_day(business, start=start, on=D(2026, 9, 1), before=D(2027, 1, 1)) == D(
        2026, 9, 30
    )
    assert last_notice_day(business, start=start, on=D(2026, 10, 1), before=D(2027, 1, 1)) is None


# price changes ----------------------------------------------------------------------------


def _consumer_price_change(consumer) -> tuple[Subscription, PriceChange]:
    cheap = plan(price="9.99", price_mode="gross")
    subscription = subscribe(consumer, cheap, starts_on=D(2026, 12, 1))
    change = PriceChange.objects.create(
        plan=cheap,
        effective_from=D(2027, 1, 1),
        price=Decimal("10.99"),
        needs_consent=True,
        notice_days=42,  # announced on 20 November
        created_at=clock.now(),
        created_by="test",
    )
    return subscription, change


def test_a_price_change_needing_consent_is_announced_once(company, consumer):
    subscription, change = _consumer_price_change(consumer)
    assert notify(D(2026, 11, 19))["price_change"] == 0
    assert notify(D(2026, 11, 20))["price_change"] == 1
    assert notify(D(2026, 11, 20))["price_change"] == 0
    assert notify(D(2026, 12, 31))["price_change"] == 0
    assert notify(D(2027, 1, 1))["price_change"] == 0
    notice = Notice.objects.get()
    assert (notice.subscription, notice.price_change, notice.about) == (
        subscription,
        change,
        D(2027, 1, 1),
    )
    message = the_message()
    assert message.subject == "Neuer Preis ab 01.01.2027 – Mitgliedschaft monthly"
    text = message.body_text
    assert (
        "ab dem 01.01.2027 ändert sich der Preis Ihres Abonnements „Mitgliedschaft monthly“ "
        "von 9,99 € je Monat (inkl. USt.) auf 10,99 € je Monat (inkl. USt.)." in text
    )
    assert (
        "Die Änderung gilt für Sie nur, wenn Sie ihr bis zum 31.12.2026 zustimmen: antworten "
        "Sie auf diese E-Mail oder bestätigen Sie im Kundenportal." in text
    )
    assert "Ohne Ihre Zustimmung läuft Ihr Abonnement zum bisherigen Preis weiter." in text
    assert "Sonderkündigungsrecht" not in text


def test_without_consent_the_next_invoice_keeps_the_old_price(company, consumer):
    _consumer_price_change(consumer)
    notify(D(2026, 11, 20))
    bill(D(2026, 12, 1))
    bill(D(2027, 1, 1))
    january = Invoice.objects.get(lines__service_date_start=D(2027, 1, 1))
    assert january.grand_total == Decimal("9.99")


def test_with_consent_the_next_invoice_has_the_new_price(company, consumer):
    _consumer_price_change(consumer)
    notify(D(2026, 11, 20))
    Notice.objects.update(consented_at=clock.now())
    bill(D(2026, 12, 1))
    bill(D(2027, 1, 1))
    december = Invoice.objects.get(lines__service_date_start=D(2026, 12, 1))
    january = Invoice.objects.get(lines__service_date_start=D(2027, 1, 1))
    assert (december.grand_total, january.grand_total) == (Decimal("9.99"), Decimal("10.99"))


def test_a_price_change_without_consent_names_the_special_termination_right(
    company, business_customer
):
    monthly = plan(price="30.00")
    subscribe(business_customer, monthly, starts_on=D(2026, 1, 1), next_period_index=11)
    ended = subscribe(business_customer, monthly, starts_on=D(2026, 1, 1), ends_on=D(2026, 12, 31))
    PriceChange.objects.create(
        plan=monthly,
        effective_from=D(2027, 1, 1),
        price=Decimal("35.00"),
        notice_days=42,
        created_at=clock.now(),
        created_by="test",
    )
    assert notify(D(2026, 11, 20))["price_change"] == 1
    assert not Notice.objects.filter(subscription=ended).exists()  # ends before the change
    text = the_message().body_text
    assert "von 30,00 € je Monat (zzgl. USt.) auf 35,00 € je Monat (zzgl. USt.)" in text
    assert "bis zum 31.12.2026 zum Inkrafttreten der Preisänderung kündigen" in text
    assert "(Sonderkündigungsrecht)" in text
    assert "zustimmen" not in text


def test_a_price_change_created_too_late_is_announced_and_warned_about(company, consumer):
    cheap = plan(price="9.99", price_mode="gross")
    subscribe(consumer, cheap, starts_on=D(2026, 11, 1))
    PriceChange.objects.create(
        plan=cheap,
        effective_from=D(2026, 12, 1),
        price=Decimal("10.99"),
        notice_days=42,  # should have been announced on 20 October
        created_at=clock.now(),  # 16 November
        created_by="test",
    )
    warnings: list[str] = []
    counts = notify(D(2026, 11, 16), warnings)
    assert (counts["price_change"], counts["announced_late"]) == (1, 1)
    assert warnings == [
        "Preisänderung monthly ab 01.12.2026 später angekündigt als 42 Tage vorher "
        "(angelegt am 16.11.2026)."
    ]
    text = the_message().body_text
    assert "ab dem 01.12.2026 ändert sich der Preis" in text
    assert "42" not in text
    assert not BillingIssue.objects.exists()


# the outbox and the job --------------------------------------------------------------------


def test_the_notice_is_sent_by_the_outbox(company, consumer):
    trialing(consumer, plan(), trial_ends_on=D(2026, 11, 19))
    notify(D(2026, 11, 16))
    [task] = pending_tasks("send_outbox_messages")
    assert task.args_kwargs["args"] == [[the_message().pk]]
    with clock.frozen(D(2026, 11, 16)):
        run_tasks("send_outbox_messages")
    assert the_message().state == "sent"
    [sent] = django_mail.outbox
    assert sent.to == ["max@example.org"]
    assert sent.subject == "Ihre Testphase endet am 19.11.2026 – Mitgliedschaft monthly"
    assert "Guten Tag Max Mustermann," in sent.body
    assert sent.attachments == []


def test_the_scheduled_job_sends_the_notices(company, business_customer):
    assert "subscription-notices" in {job.name for job in jobs.declared()}
    trialing(business_customer, plan(), trial_ends_on=D(2026, 11, 19))
    occurrence = Occurrence(
        job="subscription-notices",
        due_at=dt.datetime(2026, 11, 16, 5, 30, tzinfo=dt.UTC),
        as_of=D(2026, 11, 16),
        trigger="schedule",
        attempt=1,
    )
    summary = jobs.send_subscription_notices(occurrence)
    assert summary["trial_ending"] == 1
    assert "warnings" not in summary
    assert jobs.send_subscription_notices(occurrence)["trial_ending"] == 0
