"""The cancellation button (§ 312k BGB): without signing in, a form, a confirmation page
with "Jetzt kündigen", the declaration recorded and confirmed by mail at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User

from faktura.core.models import AuditEntry
from faktura.notifications.models import OutboxMessage
from faktura.reporting import inbox
from faktura.subscriptions import cancellation
from faktura.subscriptions.models import CancellationRequest, Subscription
from faktura.web.portal.views import cancellation as cancellation_view
from tests.portal.contract_helpers import mails, monthly, sign_in

pytestmark = pytest.mark.django_db
URL = "/portal/kuendigen/"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def form(**changes: str) -> dict[str, str]:
    data = {
        "name": "Max Mustermann",
        "customer_number": "",
        "email": "max@example.org",
        "contract": "",
        "kind": "ordinary",
        "reason": "",
        "when": "asap",
        "desired_end": "",
    }
    return {**data, **changes}


def declare(client, **changes: str):
    """Fill in the form, look at the confirmation page, press "Jetzt kündigen"."""
    data = form(**changes)
    review = client.post(URL, data)
    assert review.status_code == 200, review.content.decode()
    page = review.content.decode()
    assert ">Jetzt kündigen</button>" in page
    return client.post(URL, {**data, "step": "confirm"}, follow=True)


def test_the_page_opens_without_signing_in_and_every_portal_page_links_it(client, company):
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Vor- und Nachname oder Firma", "Kundennummer", "E-Mail-Adresse",
                  "Vertrag, den Sie kündigen", "Außerordentliche (fristlose) Kündigung",
                  "Zum nächstmöglichen Zeitpunkt", "Gewünschtes Vertragsende"):  # fmt: skip
        assert label in html
    assert f'href="{URL}"' in client.get("/portal/anmelden/").content.decode()


def test_a_consumer_cancels_without_login_to_the_earliest_date(client, consumer):
    subscription = monthly(consumer)
    done = declare(client, customer_number=consumer.number)

    subscription.refresh_from_db()
    # One month's notice received on 16 November 2026 (§ 188 (2) BGB): 16 December 2026.
    assert subscription.ends_on == dt.date(2026, 12, 16)
    assert subscription.status == Subscription.Status.CANCELLING
    page = done.content.decode()
    assert "Kündigung eingegangen" in page
    assert "16.11.2026" in page  # when it was received
    assert "16.12.2026" not in page  # the page tells nothing the person did not enter

    (mail,) = mails(OutboxMessage.Event.CONTRACT_CANCELLED)
    assert mail.to == ["max@example.org"]
    assert "16.12.2026" in mail.subject
    assert "Ihr Vertrag „Abo-Nr." in mail.body_text
    assert "endet am 16.12.2026" in mail.body_text
    assert not mails(OutboxMessage.Event.CANCELLATION_RECEIVED)  # same address: one mail

    declared = CancellationRequest.objects.get()
    assert declared.status == CancellationRequest.Status.DONE
    assert (declared.subscription, declared.ends_on) == (subscription, dt.date(2026, 12, 16))
    entry = AuditEntry.objects.filter(action="cancellation_request.received").get()
    assert entry.data["customer_number"] == consumer.number
    assert entry.data["email"] == "max@example.org"
    cancelled = AuditEntry.objects.filter(action="subscription.cancelled").get()
    assert cancelled.actor.startswith(f"customer:{consumer.number}")
    assert inbox.counts()["cancellation_requests"] == 0


def test_a_later_date_is_taken_and_an_earlier_one_moves_to_the_earliest(client, consumer):
    later = monthly(consumer, code="a", name="Yoga")
    sooner = monthly(consumer, code="b", name="Sauna")
    declare(client, contract="Yoga", when="date", desired_end="2027-03-31")
    declare(client, contract="sauna", when="date", desired_end="2026-11-30")
    later.refresh_from_db()
    sooner.refresh_from_db()
    assert later.ends_on == dt.date(2027, 3, 31)
    assert sooner.ends_on == dt.date(2026, 12, 16)
    second = mails(OutboxMessage.Event.CONTRACT_CANCELLED)[1]
    assert "Zum gewünschten Termin (30.11.2026) war eine Kündigung" in second.body_text


def test_an_unknown_contract_is_recorded_for_staff_and_receipt_confirmed(client, consumer):
    subscription = monthly(consumer)
    done = declare(
        client,
        name="Erika Musterfrau",
        email="erika@example.net",
        contract="Premium-Abo 2019",
        kind="extraordinary",
        reason="Umzug ins Ausland",
        when="date",
        desired_end="2026-12-31",
    )
    subscription.refresh_from_db()
    assert subscription.ends_on is None  # nothing of anyone else changed

    declared = CancellationRequest.objects.get()
    assert declared.status == CancellationRequest.Status.OPEN
    assert declared.customer is None
    assert declared.subscription is None
    assert (declared.name, declared.email, declared.contract) == (
        "Erika Musterfrau", "erika@example.net", "Premium-Abo 2019"
    )  # fmt: skip
    assert declared.reason == "Umzug ins Ausland"
    assert declared.desired_end == dt.date(2026, 12, 31)
    assert declared.submitted_at is not None

    (mail,) = mails(OutboxMessage.Event.CANCELLATION_RECEIVED)
    assert mail.to == ["erika@example.net"]
    assert "Eingang Ihrer Kündigung vom 16.11.2026" in mail.body_text
    assert "Premium-Abo 2019" in mail.body_text
    assert "31.12.2026" in mail.body_text
    assert not mails(OutboxMessage.Event.CONTRACT_CANCELLED)
    assert "Kündigung eingegangen" in done.content.decode()

    assert inbox.counts()["cancellation_requests"] == 1
    staff = User.objects.create_user("buchhaltung", password="geheim-123", is_staff=True)
    staff.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(staff)
    section = (
        client.get("/aufgaben/").content.decode().split('data-source="cancellation_requests"')[1]
    )
    assert "Erika Musterfrau" in section.split("</section>")[0]


def test_a_customer_number_alone_cancels_nothing(client, consumer):
    """Someone who knows a customer number but not the name or address cancels nothing."""
    subscription = monthly(consumer)
    declare(
        client, name="Fremde Person", email="fremd@example.com", customer_number=consumer.number
    )
    subscription.refresh_from_db()
    assert subscription.ends_on is None
    assert CancellationRequest.objects.get().status == CancellationRequest.Status.OPEN
    (mail,) = OutboxMessage.objects.all()
    assert mail.to == ["fremd@example.com"]
    assert consumer.name not in mail.body_text


def test_a_receipt_also_goes_to_another_address_given(client, consumer):
    monthly(consumer)
    declare(client, customer_number=consumer.number, email="max.privat@example.com")
    (cancelled,) = mails(OutboxMessage.Event.CONTRACT_CANCELLED)
    (receipt,) = mails(OutboxMessage.Event.CANCELLATION_RECEIVED)
    assert cancelled.to == ["max@example.org"]
    assert receipt.to == ["max.privat@example.com"]
    assert "16.12.2026" not in receipt.body_text  # no contract detail to an unknown address


def test_an_extraordinary_notice_ends_the_contract_ordinarily_and_waits_for_staff(client, consumer):
    subscription = monthly(consumer)
    declare(client, kind="extraordinary", reason="Leistung seit Monaten nicht erbracht")
    subscription.refresh_from_db()
    assert subscription.ends_on == dt.date(2026, 12, 16)
    declared = CancellationRequest.objects.get()
    assert declared.status == CancellationRequest.Status.OPEN
    assert inbox.counts()["cancellation_requests"] == 1
    (mail,) = mails(OutboxMessage.Event.CONTRACT_CANCELLED)
    assert "Sie haben außerordentlich gekündigt" in mail.body_text


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": ""}, "Bitte geben Sie Ihren Namen an."),
        ({"email": "max(at)example"}, "Bitte geben Sie eine gültige E-Mail-Adresse an."),
        (
            {"kind": "extraordinary"},
            "Bitte nennen Sie den Grund Ihrer außerordentlichen Kündigung.",
        ),
        ({"when": "date"}, "Bitte geben Sie das gewünschte Datum an."),
        (
            {"when": "date", "desired_end": "2026-01-01"},
            "Das gewünschte Vertragsende darf nicht in der Vergangenheit liegen.",
        ),
    ],
)
def test_bad_input_is_refused_in_german_and_nothing_is_recorded(client, consumer, changes, error):
    subscription = monthly(consumer)
    for step in ("review", "confirm"):
        response = client.post(URL, {**form(**changes), "step": step})
        assert response.status_code == 422
        assert error in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.ends_on is None
    assert not CancellationRequest.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_too_many_submissions_are_refused_in_german(client, consumer, monkeypatch):
    monkeypatch.setattr(cancellation_view, "RATE_LIMIT", 2)
    client.post(URL, form())
    client.post(URL, form())
    refused = client.post(URL, {**form(), "step": "confirm"})
    assert refused.status_code == 429
    assert "Bitte warten Sie zehn Minuten" in refused.content.decode()
    assert not CancellationRequest.objects.exists()


def test_a_signed_in_customer_finds_their_data_filled_in(client, consumer):
    sign_in(client, consumer)
    html = client.get(URL).content.decode()
    assert 'value="Max Mustermann"' in html
    assert f'value="{consumer.number}"' in html


def test_staff_mark_a_request_processed(consumer, actor):
    monthly(consumer)
    declared = cancellation.declare_cancellation(
        declaration=cancellation.Declaration(name="Unbekannt", email="u@example.com")
    )
    done = cancellation.process_request(actor=actor, request_id=declared.pk, note="Kein Vertrag.")
    assert done.status == CancellationRequest.Status.DONE
    assert done.processed_by == "user:anna"
    assert inbox.counts()["cancellation_requests"] == 0
